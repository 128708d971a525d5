"""Procedural synthetic faces: expression parameters -> image + 68 landmarks + labels.

These faces are SYNTHETIC and cartoon-like (flat-shaded ellipses and
polygons). They exist so that training can be smoke-tested, int8 models can
be calibrated and device builds can be parity-checked without downloading a
licensed dataset. They are not a substitute for real data: a model trained
on them learns cartoon faces, and no accuracy measured on them says anything
about real faces.

How a face is made
------------------
1. ``sample_params`` draws a :class:`FaceParams`: six expression parameters,
   head pose, placement, lighting, skin/hair/background, occlusion, noise.
2. ``render_face`` builds every shape (face outline, brows, eyes, nose, lips,
   hair, ...) as points in a canonical frontal frame whose unit is half the
   face width, gives each point a depth on a head ellipsoid, rotates the
   points by yaw and pitch (orthographic), then rolls, scales and translates
   them into pixels. The 68 landmarks are points of those same shapes and go
   through the same transform, so they stay on what is drawn. Pixel
   coordinates follow OpenCV: (0, 0) is the centre of the top-left pixel.
3. Labels are pure functions of the parameters (``expression_of``,
   ``valence_arousal``, ``ocular_valence_arousal``, ``smile_of``), so a label
   always agrees with the face that the same parameters drew.

Everything is deterministic: ``render_face`` is a pure function of its
arguments (the noise and background texture come from ``params.seed``), and
``generate(n, seed)`` returns identical bytes for identical arguments.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from edge_affect.data import landmarks as lm
from edge_affect.errors import InputError

EXPRESSIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
"""FER-2013 class order: the label of a face is an index into this tuple."""

SMILE_THRESHOLD = 0.35
"""``smile`` is 1 exactly when ``mouth_curve > SMILE_THRESHOLD``."""

OCCLUSIONS: tuple[str, ...] = ("none", "glasses", "hand", "bar")

EXPRESSION_FIELDS: tuple[str, ...] = (
    "mouth_curve", "mouth_open", "brow_height", "brow_tilt", "eye_open", "lip_raise",
)
"""The parameters that carry expression; the label rule looks at these only."""

_FIELD_SPANS = np.array([2.0, 1.0, 2.0, 2.0, 1.0, 1.0])  # width of each field's valid range

# Per-expression sampling boxes (lo, hi) over EXPRESSION_FIELDS. Their centres
# are the prototypes of the nearest-prototype label rule.
_EXPRESSION_BOXES: dict[str, tuple[tuple[float, float], ...]] = {
    #            mouth_curve    mouth_open   brow_height    brow_tilt     eye_open     lip_raise
    "angry":    ((-0.6, 0.0), (0.0, 0.15), (-1.0, -0.45), (-1.0, -0.5), (0.35, 0.75), (0.0, 0.25)),
    "disgust":  ((-0.7, -0.1), (0.0, 0.25), (-0.8, -0.2), (-0.5, 0.1), (0.2, 0.55), (0.55, 1.0)),
    "fear":     ((-0.5, 0.0), (0.2, 0.55), (0.4, 1.0), (0.4, 1.0), (0.8, 1.0), (0.0, 0.2)),
    "happy":    ((0.55, 1.0), (0.0, 0.5), (-0.1, 0.4), (-0.2, 0.2), (0.3, 0.7), (0.0, 0.15)),
    "sad":      ((-1.0, -0.3), (0.0, 0.15), (-0.3, 0.3), (0.45, 1.0), (0.2, 0.55), (0.0, 0.15)),
    "surprise": ((-0.2, 0.2), (0.6, 1.0), (0.55, 1.0), (-0.2, 0.25), (0.85, 1.0), (0.0, 0.1)),
    "neutral":  ((-0.15, 0.15), (0.0, 0.1), (-0.15, 0.15), (-0.15, 0.15), (0.5, 0.75), (0.0, 0.1)),
}

EXPRESSION_PROTOTYPES: dict[str, tuple[float, ...]] = {
    name: tuple((lo + hi) / 2 for lo, hi in box) for name, box in _EXPRESSION_BOXES.items()
}
"""Centre of each expression's sampling box, over EXPRESSION_FIELDS."""

_PROTOTYPE_MATRIX = np.array([EXPRESSION_PROTOTYPES[e] for e in EXPRESSIONS]) / _FIELD_SPANS

# Valid ranges of the scalar fields; FaceParams rejects anything outside.
PARAM_RANGES: dict[str, tuple[float, float]] = {
    "mouth_curve": (-1.0, 1.0),
    "mouth_open": (0.0, 1.0),
    "brow_height": (-1.0, 1.0),
    "brow_tilt": (-1.0, 1.0),
    "eye_open": (0.0, 1.0),
    "lip_raise": (0.0, 1.0),
    "yaw": (-30.0, 30.0),
    "pitch": (-20.0, 20.0),
    "roll": (-25.0, 25.0),
    "center_x": (0.3, 0.7),
    "center_y": (0.3, 0.7),
    "scale": (0.1, 0.3),
    "brightness": (0.4, 1.6),
    "light_angle": (-math.pi, math.pi),
    "light_strength": (0.0, 0.8),
    "skin_tone": (0.0, 1.0),
    "hair_tone": (0.0, 1.0),
    "occlusion_tone": (0.0, 1.0),
    "noise_sigma": (0.0, 30.0),
}

_HAIR_STYLES = 4  # 0 short, 1 long, 2 bald, 3 fringe
_BACKGROUND_STYLES = 3  # 0 flat, 1 vertical gradient, 2 stripes


@dataclass(frozen=True)
class FaceParams:
    """Everything that determines one synthetic face (see PARAM_RANGES).

    Expression: ``mouth_curve`` -1 frown .. +1 smile; ``mouth_open`` 0..1
    (jaw drop); ``brow_height`` -1 lowered .. +1 raised; ``brow_tilt`` -1
    inner ends down (angry) .. +1 inner ends up (sad); ``eye_open`` 0 shut ..
    1 wide; ``lip_raise`` 0..1 one-sided upper-lip raise with a nose wrinkle
    (the disgust sneer).
    Pose in degrees: positive ``yaw`` turns the nose towards image right,
    positive ``pitch`` tilts the chin up, positive ``roll`` rotates clockwise
    on screen. Placement: face centre as a fraction of width/height, and
    ``scale`` = half the face width as a fraction of min(H, W).
    Lighting: global ``brightness`` gain, and a linear gain ramp of
    ``light_strength`` rising towards ``light_angle`` (radians, image axes).
    Appearance: ``skin_tone``/``hair_tone`` 0 dark .. 1 light, ``hair_style``
    0 short / 1 long / 2 bald / 3 fringe, ``background_rgb`` in [0, 1],
    ``background_style`` 0 flat / 1 gradient / 2 stripes, ``clothing_rgb``.
    Occlusion: ``occlusion`` in OCCLUSIONS; ``occlusion_box`` (x0, y0, x1, y1)
    in the canonical face frame (unit = half the face width, origin = face
    centre, y down); ``occlusion_tone`` its grey level or skin shade.
    ``noise_sigma`` is the std of additive Gaussian noise in grey levels and
    ``seed`` drives that noise and the background texture.
    """

    mouth_curve: float = 0.0
    mouth_open: float = 0.0
    brow_height: float = 0.0
    brow_tilt: float = 0.0
    eye_open: float = 0.6
    lip_raise: float = 0.0
    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    center_x: float = 0.5
    center_y: float = 0.5
    scale: float = 0.24
    brightness: float = 1.0
    light_angle: float = 0.0
    light_strength: float = 0.0
    skin_tone: float = 0.6
    hair_tone: float = 0.2
    hair_style: int = 0
    background_rgb: tuple[float, float, float] = (0.5, 0.5, 0.5)
    background_style: int = 0
    clothing_rgb: tuple[float, float, float] = (0.2, 0.3, 0.5)
    occlusion: str = "none"
    occlusion_box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    occlusion_tone: float = 0.5
    noise_sigma: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name, (lo, hi) in PARAM_RANGES.items():
            value = getattr(self, name)
            if not lo <= value <= hi:
                raise InputError(f"FaceParams.{name}: expected a value in [{lo}, {hi}], got {value}")
        if self.hair_style not in range(_HAIR_STYLES):
            raise InputError(f"FaceParams.hair_style: expected 0..{_HAIR_STYLES - 1}, got {self.hair_style}")
        if self.background_style not in range(_BACKGROUND_STYLES):
            raise InputError(
                f"FaceParams.background_style: expected 0..{_BACKGROUND_STYLES - 1}, got {self.background_style}"
            )
        if self.occlusion not in OCCLUSIONS:
            raise InputError(f"FaceParams.occlusion: expected one of {OCCLUSIONS}, got {self.occlusion!r}")
        for name in ("background_rgb", "clothing_rgb"):
            rgb = getattr(self, name)
            if len(rgb) != 3 or not all(0.0 <= v <= 1.0 for v in rgb):
                raise InputError(f"FaceParams.{name}: expected 3 values in [0, 1], got {rgb}")
        x0, y0, x1, y1 = self.occlusion_box
        if self.occlusion in ("hand", "bar") and not (x0 < x1 and y0 < y1):
            raise InputError(f"FaceParams.occlusion_box: expected x0 < x1 and y0 < y1, got {self.occlusion_box}")

    def expression_vector(self) -> np.ndarray:
        """The EXPRESSION_FIELDS values as a float64 vector."""
        return np.array([getattr(self, f) for f in EXPRESSION_FIELDS], dtype=np.float64)


# ----------------------------------------------------------------------------
# Labels: documented functions of the parameters.
# ----------------------------------------------------------------------------


def expression_of(params: FaceParams) -> int:
    """FER-2013 class index of the face: the nearest EXPRESSION_PROTOTYPES entry.

    Distance is Euclidean over EXPRESSION_FIELDS, each field divided by the
    width of its valid range so that all six weigh alike; ties go to the
    lower index.
    """
    x = params.expression_vector() / _FIELD_SPANS
    return int(np.argmin(((_PROTOTYPE_MATRIX - x) ** 2).sum(axis=1)))


def _clip1(v: float) -> float:
    return float(min(1.0, max(-1.0, v)))


def valence_arousal(params: FaceParams) -> tuple[float, float]:
    """Whole-face valence and arousal in [-1, 1] (c curve, o open, h brow
    height, t brow tilt, e eye open, r lip raise)::

        valence = clip(0.75c - 0.25|t| - 0.35r - 0.15 max(0, -h))
        arousal = clip(-0.5 + 0.6o + 0.5e + 0.25|h| + 0.3 max(0, -t) + 0.2|c| + 0.15r)
    """
    c, o, h, t, e, r = params.expression_vector()
    valence = 0.75 * c - 0.25 * abs(t) - 0.35 * r - 0.15 * max(0.0, -h)
    arousal = -0.5 + 0.6 * o + 0.5 * e + 0.25 * abs(h) + 0.3 * max(0.0, -t) + 0.2 * abs(c) + 0.15 * r
    return _clip1(valence), _clip1(arousal)


def ocular_valence_arousal(params: FaceParams) -> tuple[float, float]:
    """Valence and arousal seen from the eye region alone (brows and eyes)::

        ocular_valence = clip(0.2 - 0.7|t| - 0.4 max(0, -h))
        ocular_arousal = clip(-0.6 + 0.9e + 0.3|h| + 0.3 max(0, -t))
    """
    h, t, e = params.brow_height, params.brow_tilt, params.eye_open
    valence = 0.2 - 0.7 * abs(t) - 0.4 * max(0.0, -h)
    arousal = -0.6 + 0.9 * e + 0.3 * abs(h) + 0.3 * max(0.0, -t)
    return _clip1(valence), _clip1(arousal)


def smile_of(params: FaceParams) -> int:
    """1 when the mouth corners are clearly up (mouth_curve > SMILE_THRESHOLD)."""
    return int(params.mouth_curve > SMILE_THRESHOLD)


def labels_of(params: FaceParams) -> dict[str, float | int]:
    """Every task's label for a face: expression, valence, arousal,
    ocular_valence, ocular_arousal, smile."""
    valence, arousal = valence_arousal(params)
    ocular_valence, ocular_arousal = ocular_valence_arousal(params)
    return {
        "expression": expression_of(params),
        "valence": valence,
        "arousal": arousal,
        "ocular_valence": ocular_valence,
        "ocular_arousal": ocular_arousal,
        "smile": smile_of(params),
    }


# ----------------------------------------------------------------------------
# Sampling.
# ----------------------------------------------------------------------------

_MAX_EXPRESSION_TRIES = 64


def _sample_expression_fields(rng: np.random.Generator, expression: str | None) -> dict[str, float]:
    if expression is None:
        return {f: float(rng.uniform(*PARAM_RANGES[f])) for f in EXPRESSION_FIELDS}
    box = _EXPRESSION_BOXES[expression]
    target = EXPRESSIONS.index(expression)
    for _ in range(_MAX_EXPRESSION_TRIES):
        fields = {f: float(rng.uniform(lo, hi)) for f, (lo, hi) in zip(EXPRESSION_FIELDS, box)}
        # Boxes overlap a little; keep only draws the label rule agrees with.
        if expression_of(FaceParams(**fields)) == target:
            return fields
    return dict(zip(EXPRESSION_FIELDS, EXPRESSION_PROTOTYPES[expression]))


def _sample_occlusion(rng: np.random.Generator) -> dict:
    kind = OCCLUSIONS[int(rng.choice(len(OCCLUSIONS), p=[0.6, 0.15, 0.15, 0.1]))]
    box = (0.0, 0.0, 0.0, 0.0)
    if kind == "hand":  # over the mouth or a cheek
        x0, y0 = rng.uniform(-0.9, 0.2), rng.uniform(0.05, 0.6)
        box = (x0, y0, x0 + rng.uniform(0.5, 0.9), y0 + rng.uniform(0.4, 0.8))
    elif kind == "bar":  # anywhere on the face
        x0, y0 = rng.uniform(-1.0, 0.6), rng.uniform(-1.2, 1.0)
        box = (x0, y0, x0 + rng.uniform(0.3, 1.2), y0 + rng.uniform(0.15, 0.6))
    return {
        "occlusion": kind,
        "occlusion_box": tuple(float(v) for v in box),
        "occlusion_tone": float(rng.uniform(0.0, 1.0)),
    }


def sample_params(rng: np.random.Generator, expression: str | None = None) -> FaceParams:
    """Random face parameters.

    With ``expression=None`` the six expression fields are uniform over their
    valid ranges (the label then follows from ``expression_of``). With one of
    EXPRESSIONS they are drawn from that expression's box (happy: mouth_curve
    > 0.5; surprise: mouth open, brows up, eyes wide; angry: brows low with
    inner ends down; sad: mouth_curve < 0, brow_tilt > 0; fear: brows raised
    and tilted up, mouth slightly open; disgust: lip_raise high, brows low;
    neutral: all near rest) until ``expression_of`` returns that expression.
    Pose, placement, lighting, appearance, occlusion and noise are drawn the
    same way in both cases.
    """
    if expression is not None and expression not in EXPRESSIONS:
        raise InputError(f"sample_params: expression must be one of {EXPRESSIONS} or None, got {expression!r}")
    fields = _sample_expression_fields(rng, expression)
    fields.update(
        yaw=float(rng.uniform(-20.0, 20.0)),
        pitch=float(rng.uniform(-12.0, 12.0)),
        roll=float(rng.uniform(-15.0, 15.0)),
        center_x=float(rng.uniform(0.44, 0.56)),
        center_y=float(rng.uniform(0.46, 0.54)),
        scale=float(rng.uniform(0.2, 0.27)),
        brightness=float(rng.uniform(0.7, 1.25)),
        light_angle=float(rng.uniform(-math.pi, math.pi)),
        light_strength=float(rng.uniform(0.0, 0.5)),
        skin_tone=float(rng.uniform(0.0, 1.0)),
        hair_tone=float(rng.uniform(0.0, 1.0)),
        hair_style=int(rng.integers(_HAIR_STYLES)),
        background_rgb=tuple(float(v) for v in rng.uniform(0.0, 1.0, 3)),
        background_style=int(rng.integers(_BACKGROUND_STYLES)),
        clothing_rgb=tuple(float(v) for v in rng.uniform(0.0, 1.0, 3)),
        noise_sigma=float(rng.uniform(0.0, 8.0)),
        seed=int(rng.integers(2**31)),
        **_sample_occlusion(rng),
    )
    return FaceParams(**fields)


# ----------------------------------------------------------------------------
# Geometry in the canonical frame (unit = half the face width, y down).
# ----------------------------------------------------------------------------

_FACE_HALF_HEIGHT = 1.3
_HEAD_DEPTH = 0.8  # ellipsoid depth, in face half-widths, used for yaw/pitch parallax
_EYE_CX, _EYE_CY, _EYE_HALF_W = 0.42, -0.28, 0.19
_MOUTH_CY = 0.62


def _mirror(pts: np.ndarray) -> np.ndarray:
    return pts * np.array([-1.0, 1.0])


def _jaw_drop(params: FaceParams) -> float:
    return 0.18 * params.mouth_open


def _outline_point(theta: np.ndarray, params: FaceParams) -> np.ndarray:
    """Face outline: an ellipse whose lower half narrows towards the chin and
    drops with the jaw. theta = 0 is image right, pi/2 the chin."""
    below = np.clip(np.sin(theta), 0.0, None)
    x = np.cos(theta) * (1.0 - 0.12 * below**2)
    y = _FACE_HALF_HEIGHT * np.sin(theta) + _jaw_drop(params) * below**2
    return np.stack([x, y], axis=-1)


def _jaw_landmarks(params: FaceParams) -> np.ndarray:
    # From the subject's right ear level (image left, slightly above the eye
    # corners) under the chin to the left ear level.
    theta = np.pi + 0.25 - np.linspace(0.0, np.pi + 0.5, 17)
    return _outline_point(theta, params)


def _brow_centreline(params: FaceParams) -> np.ndarray:
    """Right brow (image left), outer end first, five points."""
    u = np.linspace(0.0, 1.0, 5)  # 0 outer .. 1 inner
    x = -0.8 + 0.63 * u
    y = (
        -0.62
        - 0.16 * params.brow_height
        - 0.07 * np.sin(np.pi * u)
        - 0.2 * params.brow_tilt * u
        + 0.06 * params.brow_tilt * (1.0 - u)
    )
    return np.stack([x, y], axis=-1)


def _eye_shape(params: FaceParams) -> tuple[float, float]:
    """Upper and lower lid half-heights of the eye ellipse."""
    return 0.025 + 0.115 * params.eye_open, 0.02 + 0.05 * params.eye_open


def _eye_lid(x: np.ndarray, cx: float, half_height: float, sign: float) -> np.ndarray:
    """Lid curve: half of an ellipse centred at (cx, _EYE_CY); sign -1 upper, +1 lower."""
    inside = np.clip(1.0 - ((x - cx) / _EYE_HALF_W) ** 2, 0.0, None)
    return _EYE_CY + sign * half_height * np.sqrt(inside)


def _eye_landmarks(params: FaceParams, cx: float) -> np.ndarray:
    """Six points of the eye centred at cx, in dlib's order for the RIGHT eye
    (outer corner at image left). The left eye is built by mirroring."""
    up, low = _eye_shape(params)
    xs = cx + _EYE_HALF_W * np.array([-1.0, -1 / 3, 1 / 3, 1.0, 1 / 3, -1 / 3])
    ys = np.array([
        _EYE_CY,
        _eye_lid(xs[1], cx, up, -1), _eye_lid(xs[2], cx, up, -1),
        _EYE_CY,
        _eye_lid(xs[4], cx, low, 1), _eye_lid(xs[5], cx, low, 1),
    ])
    return np.stack([xs, ys], axis=-1)


def _nose_landmarks(params: FaceParams) -> tuple[np.ndarray, np.ndarray]:
    bridge = np.stack([np.zeros(4), np.linspace(-0.3, 0.1, 4)], axis=-1)
    wing_lift = 0.04 * params.lip_raise
    lower = np.array([[-0.16, 0.2], [-0.08, 0.23], [0.0, 0.25], [0.08, 0.23], [0.16, 0.2]])
    lower[:, 1] -= wing_lift
    return bridge, lower


# Extra depth of nose points over the head ellipsoid, so the nose swings
# further than the cheeks when the head turns.
_NOSE_BRIDGE_DEPTH = np.array([0.05, 0.15, 0.25, 0.35])
_LOWER_NOSE_DEPTH = np.array([0.1, 0.18, 0.22, 0.18, 0.1])


@dataclass(frozen=True)
class _Mouth:
    """Lip curves of one mouth as functions of canonical x."""

    half_width: float
    inner_half_width: float
    curve: float
    opening: float
    raise_amount: float

    def mid(self, x: np.ndarray) -> np.ndarray:
        # Smile lifts the corners, frown drops them: a parabola through the centre.
        return _MOUTH_CY - 0.2 * self.curve * (x / self.half_width) ** 2

    def _inner_profile(self, x: np.ndarray) -> np.ndarray:
        return np.clip(1.0 - (x / self.inner_half_width) ** 2, 0.0, None)

    def _thickness_profile(self, x: np.ndarray) -> np.ndarray:
        return np.sqrt(np.clip(1.0 - (x / self.half_width) ** 2, 0.0, None))

    def _raise(self, x: np.ndarray) -> np.ndarray:
        # One-sided sneer: strongest on the subject's left (image right).
        return 0.1 * self.raise_amount * np.clip(0.35 + 0.65 * x / self.half_width, 0.0, 1.0)

    def inner_upper(self, x: np.ndarray) -> np.ndarray:
        u = self._inner_profile(x)
        return self.mid(x) - 0.3 * self.opening * u - self._raise(x) * u

    def inner_lower(self, x: np.ndarray) -> np.ndarray:
        return self.mid(x) + 0.7 * self.opening * self._inner_profile(x)

    def outer_upper(self, x: np.ndarray) -> np.ndarray:
        cupid = 0.025 * np.exp(-((x / 0.08) ** 2))
        return self.inner_upper(x) - 0.075 * self._thickness_profile(x) + cupid

    def outer_lower(self, x: np.ndarray) -> np.ndarray:
        return self.inner_lower(x) + 0.1 * self._thickness_profile(x)


def _mouth(params: FaceParams) -> _Mouth:
    half_width = 0.34 + 0.07 * max(params.mouth_curve, 0.0) - 0.12 * params.mouth_open
    return _Mouth(
        half_width=half_width,
        inner_half_width=0.88 * half_width,
        curve=params.mouth_curve,
        opening=0.38 * params.mouth_open,
        raise_amount=params.lip_raise,
    )


def _mouth_landmarks(m: _Mouth) -> tuple[np.ndarray, np.ndarray]:
    w, wi = m.half_width, m.inner_half_width
    ox = w * np.array([-1.0, -2 / 3, -1 / 3, 0.0, 1 / 3, 2 / 3, 1.0, 2 / 3, 1 / 3, 0.0, -1 / 3, -2 / 3])
    oy = np.concatenate([m.mid(ox[:1]), m.outer_upper(ox[1:6]), m.mid(ox[6:7]), m.outer_lower(ox[7:])])
    ix = wi * np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 0.5, 0.0, -0.5])
    iy = np.concatenate([m.mid(ix[:1]), m.inner_upper(ix[1:4]), m.mid(ix[4:5]), m.inner_lower(ix[5:])])
    return np.stack([ox, oy], axis=-1), np.stack([ix, iy], axis=-1)


def canonical_landmarks(params: FaceParams) -> np.ndarray:
    """The 68 landmarks of a frontal, unposed face in the canonical frame (68, 2)."""
    pts = np.zeros((lm.NUM_LANDMARKS, 2))
    pts[lm.JAW] = _jaw_landmarks(params)
    right_brow = _brow_centreline(params)
    pts[lm.RIGHT_BROW] = right_brow
    pts[lm.LEFT_BROW] = _mirror(right_brow)[::-1]
    bridge, lower = _nose_landmarks(params)
    pts[lm.NOSE_BRIDGE] = bridge
    pts[lm.LOWER_NOSE] = lower
    right_eye = _eye_landmarks(params, -_EYE_CX)
    pts[lm.RIGHT_EYE] = right_eye
    # Mirroring the right eye gives inner corner, upper lid (inner->outer),
    # outer corner, lower lid (outer->inner): dlib's left-eye order.
    pts[lm.LEFT_EYE] = _mirror(right_eye)[[3, 2, 1, 0, 5, 4]]
    outer, inner = _mouth_landmarks(_mouth(params))
    pts[lm.OUTER_LIP] = outer
    pts[lm.INNER_LIP] = inner
    return pts


# ----------------------------------------------------------------------------
# Pose: canonical frame -> pixels.
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pose:
    """Canonical (x, y, depth) -> pixels.

    Each point sits on the head ellipsoid (plus an extra depth for the nose).
    Yaw then pitch rotate it orthographically; roll, scale and the shift to
    the face centre are the 2D affine that follows. All of it folds into one
    2x3 matrix applied to (x, y, z).
    """

    matrix: np.ndarray  # (2, 3)
    centre: np.ndarray  # (2,) pixels
    px_per_unit: float

    @staticmethod
    def of(params: FaceParams, size: tuple[int, int]) -> _Pose:
        h, w = size
        scale = params.scale * min(h, w)
        cr, sr = math.cos(math.radians(params.roll)), math.sin(math.radians(params.roll))
        cy, sy = math.cos(math.radians(params.yaw)), math.sin(math.radians(params.yaw))
        cp, sp = math.cos(math.radians(params.pitch)), math.sin(math.radians(params.pitch))
        # yaw: x' = x cos + z sin, z' = -x sin + z cos; pitch (chin up): y' = y cos - z' sin.
        turn = np.array([[cy, 0.0, sy], [sy * sp, cp, -cy * sp]])
        roll = scale * np.array([[cr, -sr], [sr, cr]])
        centre = np.array([params.center_x * (w - 1), params.center_y * (h - 1)])
        return _Pose(roll @ turn, centre, scale)

    def __call__(self, pts: np.ndarray, extra_depth: np.ndarray | float = 0.0) -> np.ndarray:
        """Canonical points (N, 2) -> pixel coordinates (N, 2)."""
        x, y = pts[:, 0], pts[:, 1]
        z = _HEAD_DEPTH * np.sqrt(np.maximum(1.0 - x * x - (y * (1.0 / _FACE_HALF_HEIGHT)) ** 2, 0.0))
        z += extra_depth
        m = self.matrix
        out = np.empty((len(pts), 2))
        out[:, 0] = m[0, 0] * x + m[0, 1] * y + m[0, 2] * z + self.centre[0]
        out[:, 1] = m[1, 0] * x + m[1, 1] * y + m[1, 2] * z + self.centre[1]
        return out


# ----------------------------------------------------------------------------
# Rendering.
# ----------------------------------------------------------------------------

_SUBPIXEL_BITS = 4
_SUBPIXEL = float(1 << _SUBPIXEL_BITS)

_SKIN_DARK = np.array([88.0, 58.0, 44.0])
_SKIN_LIGHT = np.array([240.0, 206.0, 180.0])
_HAIR_DARK = np.array([22.0, 16.0, 14.0])
_HAIR_LIGHT = np.array([222.0, 190.0, 120.0])
_LIP_RED = np.array([165.0, 60.0, 70.0])
_MOUTH_INSIDE = (45.0, 18.0, 24.0)
_TEETH = (236.0, 232.0, 220.0)
_EYE_WHITE = (238.0, 236.0, 232.0)
_PUPIL = (12.0, 10.0, 10.0)


def _lerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    return a + (b - a) * t


def _shade(colour: np.ndarray, k: float) -> tuple[float, float, float]:
    return tuple(float(v) for v in np.clip(colour * k, 0, 255))


def _fixed(pts: np.ndarray) -> np.ndarray:
    return np.round(pts * _SUBPIXEL).astype(np.int32)


def _fill(img: np.ndarray, pts: np.ndarray, colour) -> None:
    cv2.fillPoly(img, [_fixed(pts)], colour, cv2.LINE_AA, _SUBPIXEL_BITS)


def _line(img: np.ndarray, pts: np.ndarray, colour, thickness: int, closed: bool = False) -> None:
    cv2.polylines(img, [_fixed(pts)], closed, colour, thickness, cv2.LINE_AA, _SUBPIXEL_BITS)


def _ellipse(cx: float, cy: float, ax: float, ay: float, n: int = 28) -> np.ndarray:
    t = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    return np.stack([cx + ax * np.cos(t), cy + ay * np.sin(t)], axis=-1)


@functools.lru_cache(maxsize=8)
def _unit_grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates scaled to [-1, 1]: xs (1, W) and ys (H, 1), to broadcast."""
    xs = np.linspace(-1.0, 1.0, w, dtype=np.float32)[None, :]
    ys = np.linspace(-1.0, 1.0, h, dtype=np.float32)[:, None]
    return xs, ys


def _draw_background(img: np.ndarray, params: FaceParams, rng: np.random.Generator) -> None:
    h, w = img.shape[:2]
    base = np.array(params.background_rgb) * 255.0
    img[:] = np.rint(base).astype(np.uint8)
    if params.background_style == 1:
        ys = np.linspace(-1.0, 1.0, h)[:, None, None]
        gain = 1.0 + 0.35 * ys * rng.choice([-1.0, 1.0])
        img[:] = np.clip(np.rint(base * gain), 0, 255).astype(np.uint8)
    elif params.background_style == 2:
        xs, ys = _unit_grid(h, w)
        angle = rng.uniform(0.0, np.pi)
        period = rng.uniform(0.15, 0.5)
        phase = (xs * math.cos(angle) + ys * math.sin(angle)) / period
        stripes = (np.floor(phase) % 2).astype(bool)
        alt = rng.uniform(0.0, 255.0, 3)
        img[stripes] = np.rint((base + alt) / 2).astype(np.uint8)


def _draw_hair_back(img, pose: _Pose, params: FaceParams, hair) -> None:
    if params.hair_style == 0:
        _fill(img, pose(_ellipse(0.0, -0.35, 1.12, 1.12, 36)), hair)
    elif params.hair_style == 1:
        _fill(img, pose(_ellipse(0.0, 0.05, 1.3, 1.55, 36)), hair)
    elif params.hair_style == 3:
        _fill(img, pose(_ellipse(0.0, -0.3, 1.15, 1.2, 36)), hair)


def _draw_hair_front(img, pose: _Pose, params: FaceParams, hair, face_outline: np.ndarray) -> None:
    """Hair over the forehead: the part of the outline above a hairline arc."""
    if params.hair_style == 2:
        return
    hairline = -0.95 if params.hair_style != 3 else -0.8
    # Slightly outside the outline so the hair covers its anti-aliased edge.
    top = 1.03 * face_outline[face_outline[:, 1] < hairline]
    if len(top) < 3:
        return
    # top runs along the outline from image left over the crown to image
    # right; close it with an arc back across the forehead (a fringe dips in
    # the middle, a hairline recedes there).
    xs = np.linspace(top[-1, 0], top[0, 0], 12)
    bulge = 0.08 if params.hair_style == 3 else -0.1
    arc = np.stack([xs, hairline + bulge * (1.0 - (xs / max(abs(xs).max(), 1e-6)) ** 2)], axis=-1)
    _fill(img, pose(np.concatenate([top, arc])), hair)


def _draw_eye(img, pose: _Pose, params: FaceParams, cx: float, iris_colour, skin) -> None:
    up, low = _eye_shape(params)
    xs = cx + _EYE_HALF_W * np.cos(np.linspace(np.pi, 0.0, 14))
    upper = np.stack([xs, _eye_lid(xs, cx, up, -1)], axis=-1)
    lower = np.stack([xs[::-1], _eye_lid(xs[::-1], cx, low, 1)], axis=-1)
    _fill(img, pose(np.concatenate([upper, lower])), _EYE_WHITE)
    # Iris and pupil: circles clipped to the lids so a half-shut eye covers them.
    for radius, colour in ((0.075, iris_colour), (0.034, _PUPIL)):
        circle = _ellipse(cx, _EYE_CY, radius, radius, 20)
        circle[:, 1] = np.clip(
            circle[:, 1], _eye_lid(circle[:, 0], cx, up, -1), _eye_lid(circle[:, 0], cx, low, 1)
        )
        _fill(img, pose(circle), colour)
    lid_px = max(1, int(round(0.02 * pose.px_per_unit)))
    _line(img, pose(upper), _shade(skin, 0.3), lid_px + 1)
    _line(img, pose(lower), _shade(skin, 0.55), lid_px)


def _draw_brow(img, pose: _Pose, centre: np.ndarray, colour) -> None:
    u = np.linspace(0.0, 1.0, len(centre))[:, None]  # centre runs outer end -> inner end
    half = 0.04 + 0.03 * u
    upper = centre - np.hstack([np.zeros_like(half), half])
    lower = centre + np.hstack([np.zeros_like(half), half])
    _fill(img, pose(np.concatenate([upper, lower[::-1]])), colour)


def _draw_nose(img, pose: _Pose, params: FaceParams, skin) -> None:
    bridge, lower = _nose_landmarks(params)
    dark = _shade(skin, 0.62)
    # One side line down the bridge into the nostril wings is enough to read as a nose.
    side = np.array([[-0.07, -0.18], [-0.1, 0.08]])
    _line(img, pose(np.concatenate([side, lower]), np.concatenate([[0.2, 0.3], _LOWER_NOSE_DEPTH])), dark, 1)
    for sx in (-1.0, 1.0):
        nostril = _ellipse(sx * 0.075, lower[1, 1] - 0.015, 0.04, 0.018, 12)
        _fill(img, pose(nostril, 0.15), _shade(skin, 0.35))
    if params.lip_raise > 0.3:  # disgust wrinkles across the bridge
        for dy in (-0.16, -0.09):
            wrinkle = np.array([[-0.09, dy], [0.0, dy - 0.02], [0.09, dy]])
            _line(img, pose(wrinkle, 0.25), _shade(skin, 0.7), 1)


def _draw_mouth(img, pose: _Pose, params: FaceParams, skin) -> None:
    m = _mouth(params)
    lip = _shade(_lerp(skin, _LIP_RED, 0.45), 0.9)
    xo = m.half_width * np.cos(np.linspace(np.pi, 0.0, 24))
    lips = np.concatenate([
        np.stack([xo, m.outer_upper(xo)], -1),
        np.stack([xo[::-1], m.outer_lower(xo[::-1])], -1),
    ])
    _fill(img, pose(lips), lip)
    xi = m.inner_half_width * np.cos(np.linspace(np.pi, 0.0, 20))
    upper, lower = m.inner_upper(xi), m.inner_lower(xi)
    gap_px = (lower - upper).max() * pose.px_per_unit
    if gap_px > 0.6:
        inside = np.concatenate([np.stack([xi, upper], -1), np.stack([xi[::-1], lower[::-1]], -1)])
        _fill(img, pose(inside), _MOUTH_INSIDE)
        teeth_bottom = np.minimum(upper + 0.07, lower)
        teeth = np.concatenate([np.stack([xi, upper], -1), np.stack([xi[::-1], teeth_bottom[::-1]], -1)])
        _fill(img, pose(teeth), _TEETH)
    seam = np.concatenate([[[-m.half_width, m.mid(np.array(-m.half_width))]],
                           np.stack([xi, upper], -1),
                           [[m.half_width, m.mid(np.array(m.half_width))]]])
    _line(img, pose(seam), _shade(_lerp(skin, _LIP_RED, 0.45), 0.45), 1)


def _draw_occlusion(img, pose: _Pose, params: FaceParams) -> None:
    tone = params.occlusion_tone
    if params.occlusion == "glasses":  # dark sunglasses: lenses, bridge and arms
        frame = (38.0 * tone,) * 3
        frame_px = max(1, int(round(0.05 * pose.px_per_unit)))
        for sx in (-1.0, 1.0):
            lens = pose(_ellipse(sx * _EYE_CX, _EYE_CY, 0.27, 0.19, 24))
            _fill(img, lens, (13.0 + 51.0 * tone,) * 3)
            _line(img, lens, frame, frame_px, closed=True)
        _line(img, pose(np.array([[-0.15, _EYE_CY - 0.04], [0.15, _EYE_CY - 0.04]])), frame, frame_px)
        _line(img, pose(np.array([[-0.69, _EYE_CY], [-1.0, _EYE_CY - 0.05]])), frame, frame_px)
        _line(img, pose(np.array([[0.69, _EYE_CY], [1.0, _EYE_CY - 0.05]])), frame, frame_px)
        return
    x0, y0, x1, y1 = params.occlusion_box
    if params.occlusion == "hand":
        skin = _lerp(_SKIN_DARK, _SKIN_LIGHT, tone)
        blob = _ellipse((x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2, 28)
        _fill(img, pose(blob, 0.4), _shade(skin, 1.0))
        for k in range(1, 4):  # finger gaps
            y = y0 + (y1 - y0) * k / 4
            _line(img, pose(np.array([[x0 + 0.1 * (x1 - x0), y], [x1 - 0.05 * (x1 - x0), y]]), 0.4),
                  _shade(skin, 0.7), 1)
    elif params.occlusion == "bar":
        rect = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
        _fill(img, pose(rect, 0.3), (tone * 255.0,) * 3)


def _apply_light_and_noise(img: np.ndarray, params: FaceParams, rng: np.random.Generator) -> np.ndarray:
    """Per-pixel gain ramp, then additive Gaussian noise; uint8 in and out."""
    h, w = img.shape[:2]
    xs, ys = _unit_grid(h, w)
    ramp = xs * math.cos(params.light_angle) + ys * math.sin(params.light_angle)
    gain = params.brightness * (1.0 + params.light_strength * ramp)
    out = img.astype(np.float32) * (gain if img.ndim == 2 else gain[..., None])
    if params.noise_sigma > 0:
        out += np.float32(params.noise_sigma) * rng.standard_normal(out.shape, dtype=np.float32)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class SyntheticFace:
    """One rendered face.

    image: uint8 (H, W) gray or (H, W, 3) RGB. landmarks: float32 (68, 2)
    x, y pixel coordinates in dlib's layout. box: (x, y, w, h) tight integer
    box around the face outline (forehead to chin) and the landmarks,
    clipped to the image.
    labels: see ``labels_of``. params: what drew it.
    """

    image: np.ndarray
    landmarks: np.ndarray
    box: tuple[int, int, int, int]
    labels: dict[str, float | int]
    params: FaceParams


Color = Literal["gray", "rgb"]


def _check_size_color(size: tuple[int, int], color: str) -> tuple[int, int]:
    if len(size) != 2 or not all(isinstance(v, (int, np.integer)) and v >= 16 for v in size):
        raise InputError(f"synthetic face size: expected (H, W) integers >= 16, got {size}")
    if color not in ("gray", "rgb"):
        raise InputError(f"synthetic face color: expected 'gray' or 'rgb', got {color!r}")
    return int(size[0]), int(size[1])


def _box_of(pts: np.ndarray, h: int, w: int) -> tuple[int, int, int, int]:
    x0 = max(0, int(math.floor(pts[:, 0].min())))
    y0 = max(0, int(math.floor(pts[:, 1].min())))
    x1 = min(w - 1, int(math.ceil(pts[:, 0].max())))
    y1 = min(h - 1, int(math.ceil(pts[:, 1].max())))
    return x0, y0, x1 - x0 + 1, y1 - y0 + 1


def render_face(params: FaceParams, size: tuple[int, int] = (128, 128), color: Color = "gray") -> SyntheticFace:
    """Draw the face that ``params`` describes; a pure function of its arguments."""
    h, w = _check_size_color(size, color)
    rng = np.random.default_rng(params.seed)
    pose = _Pose.of(params, (h, w))
    skin = _lerp(_SKIN_DARK, _SKIN_LIGHT, params.skin_tone)
    hair = _shade(_lerp(_HAIR_DARK, _HAIR_LIGHT, params.hair_tone), 1.0)
    iris = _shade(_lerp(np.array([70.0, 45.0, 30.0]), np.array([80.0, 120.0, 150.0]), params.hair_tone), 1.0)

    # Draw on uint8: OpenCV anti-aliases 8-bit images only.
    img = np.empty((h, w, 3), dtype=np.uint8)
    _draw_background(img, params, rng)
    _fill(img, pose(_ellipse(0.0, 2.7, 2.3, 1.0, 32)), tuple(float(v) * 255.0 for v in params.clothing_rgb))
    _fill(img, pose(np.array([[-0.45, 0.7], [0.45, 0.7], [0.55, 2.1], [-0.55, 2.1]])), _shade(skin, 0.78))
    _draw_hair_back(img, pose, params, hair)
    for sx in (-1.0, 1.0):
        _fill(img, pose(_ellipse(sx * 0.98, -0.12, 0.13, 0.26, 16)), _shade(skin, 0.88))

    outline = _outline_point(np.linspace(0.0, 2 * np.pi, 64, endpoint=False), params)
    outline_px = pose(outline)
    _fill(img, outline_px, _shade(skin, 1.0))
    _line(img, outline_px, _shade(skin, 0.8), 1, closed=True)
    _draw_hair_front(img, pose, params, hair, outline)

    pts = canonical_landmarks(params)
    # Brows darker than both hair and skin, so they read on every combination.
    brow_colour = _shade(np.minimum(_lerp(_HAIR_DARK, np.array(hair), 0.3), 0.45 * skin), 1.0)
    _draw_brow(img, pose, pts[lm.RIGHT_BROW], brow_colour)
    _draw_brow(img, pose, pts[lm.LEFT_BROW][::-1], brow_colour)
    for cx in (-_EYE_CX, _EYE_CX):
        _draw_eye(img, pose, params, cx, iris, skin)
    _draw_nose(img, pose, params, skin)
    _draw_mouth(img, pose, params, skin)
    _draw_occlusion(img, pose, params)

    if color == "gray":
        img = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    # Lighting is a per-pixel gain, so applying it after the grey conversion
    # is equivalent and a third of the work.
    image = _apply_light_and_noise(img, params, rng)

    depth = np.zeros(lm.NUM_LANDMARKS)
    depth[lm.NOSE_BRIDGE] = _NOSE_BRIDGE_DEPTH
    depth[lm.LOWER_NOSE] = _LOWER_NOSE_DEPTH
    landmarks = pose(pts, depth)
    box = _box_of(np.concatenate([outline_px, landmarks]), h, w)
    return SyntheticFace(image, landmarks.astype(np.float32), box, labels_of(params), params)


# ----------------------------------------------------------------------------
# Batches.
# ----------------------------------------------------------------------------


def iter_faces(
    n: int,
    seed: int,
    size: tuple[int, int] = (128, 128),
    color: Color = "gray",
    expression_balanced: bool = True,
) -> Iterator[SyntheticFace]:
    """Yield ``n`` faces from one seeded stream.

    With ``expression_balanced`` every consecutive block of 7 faces holds each
    expression once (in a seeded random order); otherwise the expression
    fields are sampled freely and labelled by ``expression_of``.
    """
    if n < 0:
        raise InputError(f"iter_faces: n must be >= 0, got {n}")
    _check_size_color(size, color)
    rng = np.random.default_rng(seed)
    order: list[int] = []
    for _ in range(n):
        expression = None
        if expression_balanced:
            if not order:
                order = [int(i) for i in rng.permutation(len(EXPRESSIONS))]
            expression = EXPRESSIONS[order.pop()]
        yield render_face(sample_params(rng, expression), size, color)


def generate(
    n: int,
    seed: int,
    size: tuple[int, int] = (128, 128),
    color: Color = "gray",
    expression_balanced: bool = True,
) -> list[SyntheticFace]:
    """``n`` faces as a list; same arguments give byte-identical faces."""
    return list(iter_faces(n, seed, size, color, expression_balanced))


@dataclass(frozen=True)
class FaceBatch:
    """Faces stacked into arrays: images (N, H, W[, 3]) uint8, landmarks
    (N, 68, 2) float32, boxes (N, 4) int32 and one array per label
    (expression and smile int64, the rest float32)."""

    images: np.ndarray
    landmarks: np.ndarray
    boxes: np.ndarray
    expression: np.ndarray
    valence: np.ndarray
    arousal: np.ndarray
    ocular_valence: np.ndarray
    ocular_arousal: np.ndarray
    smile: np.ndarray

    def __len__(self) -> int:
        return len(self.images)


_INT_LABELS = ("expression", "smile")


def stack_faces(faces: list[SyntheticFace]) -> FaceBatch:
    """Stack same-size faces into a FaceBatch."""
    if not faces:
        raise InputError("stack_faces: got an empty list of faces")
    shapes = {f.image.shape for f in faces}
    if len(shapes) != 1:
        raise InputError(f"stack_faces: faces must share one image shape, got {sorted(shapes)}")
    label_names = [f.name for f in dataclasses.fields(FaceBatch)][3:]
    labels = {
        name: np.array([f.labels[name] for f in faces], dtype=np.int64 if name in _INT_LABELS else np.float32)
        for name in label_names
    }
    return FaceBatch(
        images=np.stack([f.image for f in faces]),
        landmarks=np.stack([f.landmarks for f in faces]),
        boxes=np.array([f.box for f in faces], dtype=np.int32),
        **labels,
    )


def generate_arrays(
    n: int,
    seed: int,
    size: tuple[int, int] = (128, 128),
    color: Color = "gray",
    expression_balanced: bool = True,
) -> FaceBatch:
    """``generate`` followed by ``stack_faces``."""
    return stack_faces(generate(n, seed, size, color, expression_balanced))
