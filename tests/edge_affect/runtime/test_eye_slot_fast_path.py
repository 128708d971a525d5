"""The eye slot's fast paths (one flat gather for the cut, a separable int32
bilinear for the fit) against the plain int64 formulas of its docstring and
against resize.resize_bilinear: equal bit for bit, not merely close."""

import dataclasses
import math

import numpy as np
import pytest

from edge_affect.data.synthetic import generate
from edge_affect.errors import InputError
from edge_affect.runtime import eye_slot
from edge_affect.runtime.eye_slot import EyeSlot, RejectedSample, crop_eye_slot, cut_eye_slot, eye_slot_geometry
from edge_affect.runtime.preprocess import convert_color, extract, keep_aspect_box
from edge_affect.runtime.resize import resize, resize_bilinear
from edge_affect.spec import InputSpec

RGB_SPEC = InputSpec(source="eye_slot", color="rgb", size=(170, 520), resize="bilinear", pad="keep_aspect",
                     pad_value=0, scale=(1 / 255,) * 3, offset=(0.0,) * 3)


def reference_cut(image: np.ndarray, slot: EyeSlot, fill: int = 0) -> np.ndarray:
    """Step 6 exactly as written: int64, four clipped taps, fill outside."""
    x, y = eye_slot.sample_coordinates(slot)
    x0, y0, fx, fy = x >> 11, y >> 11, x & 2047, y & 2047
    rows, cols = image.shape[:2]
    src = image.astype(np.int64)

    def tap(yi, xi):
        inside = (xi >= 0) & (xi < cols) & (yi >= 0) & (yi < rows)
        value = src[np.clip(yi, 0, rows - 1), np.clip(xi, 0, cols - 1)]
        return np.where(inside[..., None] if src.ndim == 3 else inside, value, fill)

    if src.ndim == 3:
        fx, fy = fx[..., None], fy[..., None]
    top = (2048 - fx) * tap(y0, x0) + fx * tap(y0, x0 + 1)
    bottom = (2048 - fx) * tap(y0 + 1, x0) + fx * tap(y0 + 1, x0 + 1)
    return (((2048 - fy) * top + fy * bottom + (1 << 21)) >> 22).astype(np.uint8)


def reference_crop(image: np.ndarray, landmarks: np.ndarray, spec: InputSpec) -> np.ndarray:
    slot = reference_cut(image, eye_slot_geometry(landmarks), spec.pad_value)
    slot = convert_color(slot, spec.color)
    if spec.pad == "keep_aspect":
        slot = extract(slot, keep_aspect_box((0, 0, slot.shape[1], slot.shape[0]), spec.size), spec.pad_value)
    return resize(slot, spec.size, spec.resize)


@pytest.mark.parametrize("color", ["rgb", "gray"])
def test_crops_of_synthetic_faces_are_bit_identical(color):
    specs = [RGB_SPEC, dataclasses.replace(RGB_SPEC, color="gray", scale=(1 / 255,), offset=(0.0,)),
             dataclasses.replace(RGB_SPEC, pad_value=37, size=(40, 41)), dataclasses.replace(RGB_SPEC, pad="none")]
    compared = 0
    for face in generate(12, 3, size=(200, 240), color=color):
        for spec in specs:
            try:
                expected = reference_crop(face.image, face.landmarks, spec)
            except RejectedSample:
                continue
            np.testing.assert_array_equal(crop_eye_slot(face.image, face.landmarks, spec), expected)
            compared += 1
    assert compared >= 40


def test_cuts_at_random_places_fills_and_angles_are_bit_identical():
    rng = np.random.default_rng(1)
    for i in range(150):
        rows, cols = (int(v) for v in rng.integers(1, 50, 2))
        image = rng.integers(0, 256, (rows, cols) + ((3,) if i % 2 else ()), dtype=np.uint8)
        slot = EyeSlot(center=(float(rng.uniform(-10, cols + 10)), float(rng.uniform(-10, rows + 10))),
                       size=(int(rng.integers(1, 25)), int(rng.integers(1, 40))),
                       angle=float(rng.uniform(-math.pi, math.pi)), nose_index=27)
        fill = int(rng.integers(0, 256))
        expected = reference_cut(image, slot, fill)
        try:
            got = cut_eye_slot(image, slot, fill)
        except RejectedSample:  # wholly outside the image: the reference gives nothing but fill
            assert np.all(expected == fill)
            continue
        np.testing.assert_array_equal(got, expected)


def test_separable_fit_equals_resize_bilinear():
    rng = np.random.default_rng(2)
    for i in range(60):
        shape = tuple(int(v) for v in rng.integers(1, 80, 2)) + ((3,) if i % 2 else ())
        image = rng.integers(0, 256, shape, dtype=np.uint8)
        size = tuple(int(v) for v in rng.integers(1, 300, 2))
        np.testing.assert_array_equal(eye_slot._resize_bilinear_separable(image, size), resize_bilinear(image, size))
    white = np.full((3, 5, 3), 255, dtype=np.uint8)  # the largest intermediate values
    np.testing.assert_array_equal(eye_slot._resize_bilinear_separable(white, (170, 520)),
                                  resize_bilinear(white, (170, 520)))


def test_fill_must_be_a_grey_level():
    with pytest.raises(InputError, match="fill"):
        cut_eye_slot(np.zeros((8, 8), np.uint8), EyeSlot((4.0, 4.0), (2, 3), 0.0, 27), fill=256)
