"""Index layout of dlib's 68-point facial landmarks (iBUG 300-W markup).

"Right" and "left" are the subject's: the right eye (36-41) appears on the
image's left in an unmirrored frontal photo. Each region is a ``slice`` so
it indexes a ``(68, 2)`` array directly: ``pts[RIGHT_EYE]`` is ``(6, 2)``.
"""

import numpy as np

from edge_affect.errors import InputError

NUM_LANDMARKS = 68

JAW = slice(0, 17)  # 0 at the subject's right ear level, 8 the chin, 16 the left ear level
RIGHT_BROW = slice(17, 22)  # outer (17) to inner (21)
LEFT_BROW = slice(22, 27)  # inner (22) to outer (26)
NOSE_BRIDGE = slice(27, 31)  # between the eyes (27) down to the tip (30)
LOWER_NOSE = slice(31, 36)  # right nostril wing (31), base centre (33), left wing (35)
RIGHT_EYE = slice(36, 42)  # outer corner 36, upper lid 37-38, inner corner 39, lower lid 40-41
LEFT_EYE = slice(42, 48)  # inner corner 42, upper lid 43-44, outer corner 45, lower lid 46-47
OUTER_LIP = slice(48, 60)  # right corner 48, upper lip 49-53, left corner 54, lower lip 55-59
INNER_LIP = slice(60, 68)  # right corner 60, upper 61-63, left corner 64, lower 65-67

NOSE = slice(27, 36)
MOUTH = slice(48, 68)

# Single points other modules refer to by meaning.
CHIN = 8
NOSE_TIP = 30
RIGHT_EYE_OUTER, RIGHT_EYE_INNER = 36, 39
LEFT_EYE_INNER, LEFT_EYE_OUTER = 42, 45
MOUTH_RIGHT_CORNER, MOUTH_LEFT_CORNER = 48, 54

REGIONS: dict[str, slice] = {
    "jaw": JAW,
    "right_brow": RIGHT_BROW,
    "left_brow": LEFT_BROW,
    "nose_bridge": NOSE_BRIDGE,
    "lower_nose": LOWER_NOSE,
    "right_eye": RIGHT_EYE,
    "left_eye": LEFT_EYE,
    "outer_lip": OUTER_LIP,
    "inner_lip": INNER_LIP,
}
"""The nine disjoint regions, in index order; together they cover 0..67."""


def indices(region: slice) -> range:
    """The landmark indices of a region slice, e.g. ``list(indices(RIGHT_EYE))``."""
    return range(region.start, region.stop)


def inter_ocular_distance(points: np.ndarray) -> np.ndarray:
    """Distance between the two eye centres (means of 36-41 and 42-47) of
    ``(..., 68, 2)`` landmarks: the usual scale for landmark errors."""
    pts = np.asarray(points, dtype=np.float64)
    return np.linalg.norm(pts[..., LEFT_EYE, :].mean(axis=-2) - pts[..., RIGHT_EYE, :].mean(axis=-2), axis=-1)


def normalized_mean_error(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Mean point-to-point distance over the 68 points divided by the true
    inter-ocular distance (300-W's NME with eye-centre normalisation), per face
    of ``(..., 68, 2)`` arrays. 0.1 is an error of a tenth of the eye spacing."""
    predicted, truth = np.asarray(predicted, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    if predicted.shape != truth.shape or predicted.shape[-2:] != (NUM_LANDMARKS, 2):
        raise InputError(f"landmarks: expected two (..., {NUM_LANDMARKS}, 2) arrays of one shape, "
                         f"got {predicted.shape} and {truth.shape}")
    return np.linalg.norm(predicted - truth, axis=-1).mean(axis=-1) / inter_ocular_distance(truth)
