"""Golden and calibration face crops for a pipeline spec.

Goldens are real face crops (LFW faces and two public-domain photographs
shipped with scikit-image) plus synthetic faces, never random noise alone:
random-input parity has passed in projects whose device builds then diverged
on real images. The calibration set is disjoint from the goldens: augmented copies of the
real faces (mirrored, brightness/contrast, shifted box) plus synthetic faces
from another seed, so int8 agreement is not measured on the very images that
set the scales.
"""

from __future__ import annotations

import numpy as np

from edge_affect.runtime.preprocess import crop_face, preprocess_crops
from edge_affect.spec import InputSpec

GOLDEN_SYNTHETIC = 32
GOLDEN_SEED = 1
CALIBRATION_VARIANTS = 4  # augmented copies of each real face
CALIBRATION_SYNTHETIC = 16
CALIBRATION_SEED = 2


def _crops(images: list[tuple[np.ndarray, tuple[int, int, int, int]]], spec: InputSpec) -> list[np.ndarray]:
    if spec.source == "eye_slot":
        return [_eye_band(image, box, spec) for image, box in images]
    return [crop_face(image, spec, box=box) for image, box in images]


# Rows of a face box (fractions of its height) that hold a frontal face's brows and eyes.
EYE_BAND = (0.15, 0.55)


def _eye_band(image: np.ndarray, box: tuple[int, int, int, int], spec: InputSpec) -> np.ndarray:
    """Eye-slot models on photographs without landmarks: the brow-and-eye band
    of the face box, fitted to the input like a slot. An approximation of the
    slot; the synthetic goldens use the exact landmark-driven one."""
    from edge_affect.runtime.eye_slot import fit_to_input
    from edge_affect.runtime.preprocess import extract

    x, y, w, h = box
    top, bottom = (int(round(h * f)) for f in EYE_BAND)
    return fit_to_input(extract(image, (x, y + top, w, max(1, bottom - top)), spec.pad_value), spec)


def _synthetic_crops(n: int, seed: int, spec: InputSpec) -> list[np.ndarray]:
    from edge_affect.data.samples import synthetic_face_images

    if spec.source != "eye_slot":
        return _crops(synthetic_face_images(n, seed=seed, color=spec.color), spec)
    from edge_affect.data.synthetic import generate
    from edge_affect.runtime.eye_slot import RejectedSample, crop_eye_slot

    crops = []
    for face in generate(n, seed, color=spec.color):
        try:
            crops.append(crop_eye_slot(face.image, face.landmarks, spec))
        except RejectedSample:  # e.g. a slot taller than wide under strong pose: the paper drops it too
            continue
    return crops


def golden_crops(spec: InputSpec, n_synthetic: int = GOLDEN_SYNTHETIC) -> tuple[np.ndarray, list[str]]:
    """uint8 crops at the model size (N, H, W[, 3]) and where each came from."""
    from edge_affect.data.samples import real_face_images

    real = _crops(real_face_images(color=spec.color), spec)
    synthetic = _synthetic_crops(n_synthetic, GOLDEN_SEED, spec)
    sources = ["real"] * len(real) + ["synthetic"] * len(synthetic)
    return np.stack(real + synthetic), sources


def calibration_crops(spec: InputSpec, variants: int = CALIBRATION_VARIANTS,
                      n_synthetic: int = CALIBRATION_SYNTHETIC) -> np.ndarray:
    """Augmented real faces (what a deployed camera sees) plus a few synthetic ones.

    Activation ranges should come from the deployment distribution: with the
    cartoon-like synthetic faces dominating, the scales widen for content real
    faces never produce and real-face top-1 agreement drops (measured: 94%
    vs 99% on the real goldens for mini_xception_fer2013)."""
    from edge_affect.data.samples import real_face_images

    rng = np.random.default_rng(CALIBRATION_SEED)
    augmented = [_augment(image, box, k, rng) for image, box in real_face_images(color=spec.color)
                 for k in range(variants)]
    return np.stack(_crops(augmented, spec) + _synthetic_crops(n_synthetic, CALIBRATION_SEED, spec))


def _augment(image: np.ndarray, box: tuple[int, int, int, int], k: int,
             rng: np.random.Generator) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Variant k of a real face: mirrored on odd k; contrast, brightness and a
    small box shift always, so no calibration crop equals a golden crop."""
    x, y, w, h = box
    gain, bias = rng.uniform(0.7, 1.3), rng.uniform(-20, 20)
    out = np.clip(image.astype(np.float32) * gain + bias, 0, 255).astype(np.uint8)
    if k % 2:
        out = np.ascontiguousarray(out[:, ::-1])
        x = image.shape[1] - x - w
    dx, dy = (int(v) for v in rng.integers(-max(1, w // 12), max(1, w // 12) + 1, size=2))
    return out, (x + dx, y + dy, w, h)


def model_inputs(crops: np.ndarray, spec: InputSpec) -> np.ndarray:
    return preprocess_crops(crops, spec)
