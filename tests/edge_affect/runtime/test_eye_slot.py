import dataclasses
import math

import numpy as np
import pytest

from edge_affect.data import landmarks as lm
from edge_affect.data.synthetic import FaceParams, render_face
from edge_affect.errors import InputError
from edge_affect.runtime.eye_slot import (
    EYE_SLOT_INPUT_SIZE, EyeSlot, RejectedSample, crop_eye_slot, cut_eye_slot, eye_slot_geometry,
    fit_to_input, preprocess_eye_slot,
)
from edge_affect.spec import InputSpec

RGB_SPEC = InputSpec(source="eye_slot", color="rgb", size=EYE_SLOT_INPUT_SIZE, resize="bilinear",
                     pad="keep_aspect", pad_value=0, scale=(1 / 255,) * 3, offset=(0.0,) * 3)
GRAY_SPEC = dataclasses.replace(RGB_SPEC, color="gray", scale=(1 / 255,), offset=(0.0,))

# light hair gives light brows, so the darkest pixels of a face are its pupils
FACE = FaceParams(scale=0.25, hair_tone=1.0, eye_open=0.9)


def slot_coordinates(slot: EyeSlot, points: np.ndarray) -> np.ndarray:
    """Where source points land in the cut slot (the inverse of its sampling map)."""
    along = np.array([math.cos(slot.angle), math.sin(slot.angle)])
    across = np.array([-math.sin(slot.angle), math.cos(slot.angle)])
    rel = points - np.array(slot.center)
    h, w = slot.size
    return np.stack([rel @ along + (w - 1) / 2, rel @ across + (h - 1) / 2], axis=1)


def test_slot_holds_eyes_and_brows_but_not_the_mouth():
    face = render_face(FACE, size=(256, 256), color="rgb")
    slot = eye_slot_geometry(face.landmarks)
    h, w = slot.size
    assert slot.nose_index == 27  # the top of the bridge is the nose point nearest the eyes
    inside = slot_coordinates(slot, face.landmarks[np.r_[17:27, 36:48]])
    assert np.all((inside >= 0) & (inside <= [w - 1, h - 1]))
    mouth = slot_coordinates(slot, face.landmarks[lm.MOUTH])
    assert np.all(mouth[:, 1] > h - 1)
    # grown by 10% / 25%: the outermost points sit inside the margins, not on the edge
    assert inside[:, 0].min() > 0.03 * w and inside[:, 1].min() > 0.08 * h


def test_frontal_slot_is_a_bilinear_shift_of_the_source():
    face = render_face(FACE, size=(256, 256), color="rgb")
    slot = eye_slot_geometry(face.landmarks)
    assert abs(slot.angle) < 1e-6  # level eyes: the cut is a sub-pixel shift, no rotation
    h, w = slot.size
    x0 = math.floor(slot.center[0] - (w - 1) / 2)
    y0 = math.floor(slot.center[1] - (h - 1) / 2)
    src = face.image.astype(int)
    corners = np.stack([src[y0 + dy:y0 + dy + h, x0 + dx:x0 + dx + w] for dy in (0, 1) for dx in (0, 1)])
    cut = cut_eye_slot(face.image, slot).astype(int)
    # bilinear: every pixel lies between the four source pixels around its sample point
    assert np.all(corners.min(axis=0) <= cut) and np.all(cut <= corners.max(axis=0))


def _pupil_rows(slot_image: np.ndarray) -> tuple[float, float]:
    gray = slot_image.mean(axis=2)
    half = gray.shape[1] // 2
    rows = []
    for part in (gray[:, :half], gray[:, half:]):
        ys, _ = np.nonzero(part <= np.percentile(part, 1.5))
        rows.append(float(ys.mean()))
    return rows[0], rows[1]


def test_rolled_face_comes_out_level():
    rolled = dataclasses.replace(FACE, roll=15.0)
    face = render_face(rolled, size=(256, 256), color="rgb")
    slot = eye_slot_geometry(face.landmarks)
    assert math.degrees(slot.angle) == pytest.approx(15.0, abs=1.0)  # positive roll = clockwise on screen
    eyes = slot_coordinates(slot, np.stack([face.landmarks[lm.RIGHT_EYE].mean(0), face.landmarks[lm.LEFT_EYE].mean(0)]))
    assert abs(eyes[0, 1] - eyes[1, 1]) < 1e-4  # float32 landmarks
    right, left = _pupil_rows(cut_eye_slot(face.image, slot))
    assert abs(right - left) < 1.5
    # without the rotation the pupils sit sin(15 deg) * eye distance apart vertically
    unrotated = cut_eye_slot(face.image, dataclasses.replace(slot, angle=0.0))
    right0, left0 = _pupil_rows(unrotated)
    assert abs(right0 - left0) > 8


def test_mirrored_landmark_order_does_not_turn_the_slot_over():
    face = render_face(FACE, size=(256, 256), color="rgb")
    swapped = face.landmarks.copy()
    swapped[np.r_[36:42, 42:48]] = face.landmarks[np.r_[42:48, 36:42]]
    assert eye_slot_geometry(swapped).angle == pytest.approx(eye_slot_geometry(face.landmarks).angle)


def test_zero_angle_cut_is_an_exact_copy():
    image = np.arange(20 * 30, dtype=np.int64).reshape(20, 30).astype(np.uint8)
    slot = EyeSlot(center=(10.0, 8.0), size=(5, 7), angle=0.0, nose_index=27)
    np.testing.assert_array_equal(cut_eye_slot(image, slot), image[6:11, 7:14])


def test_quarter_turn_cut_is_an_exact_rotation():
    image = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    slot = EyeSlot(center=(12.0, 9.0), size=(5, 7), angle=math.pi / 2, nose_index=27)
    # slot pixel (u, v) samples (cx - v', cy + u'): the 7x5 source block turned a quarter
    block = image[9 - 3:9 + 4, 12 - 2:12 + 3]
    np.testing.assert_array_equal(cut_eye_slot(image, slot), np.rot90(block))


def test_outside_pixels_are_black():
    image = np.full((10, 10), 200, dtype=np.uint8)
    cut = cut_eye_slot(image, EyeSlot(center=(9.0, 5.0), size=(3, 5), angle=0.0, nose_index=27))
    np.testing.assert_array_equal(cut[:, :3], 200)
    np.testing.assert_array_equal(cut[:, 3:], 0)


def test_output_sizes_are_exact():
    face = render_face(dataclasses.replace(FACE, roll=-10.0), size=(200, 240), color="rgb")
    assert crop_eye_slot(face.image, face.landmarks, RGB_SPEC).shape == (170, 520, 3)
    assert crop_eye_slot(face.image, face.landmarks, GRAY_SPEC).shape == (170, 520)
    x = preprocess_eye_slot(face.image, face.landmarks, RGB_SPEC)
    assert x.shape == (1, 3, 170, 520) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0


def test_fit_pads_black_to_keep_the_aspect():
    square = np.full((10, 10), 255, dtype=np.uint8)
    out = fit_to_input(square, GRAY_SPEC)
    # 10x10 -> 10x31 box (21 pad columns, 10 left / 11 right), then 31 -> 520 columns
    assert out.shape == (170, 520)
    assert np.all(out[:, :150] == 0) and np.all(out[:, -150:] == 0) and np.all(out[:, 200:320] == 255)
    wide = np.full((10, 100), 255, dtype=np.uint8)
    out = fit_to_input(wide, GRAY_SPEC)
    assert np.all(out[0] == 0) and np.all(out[-1] == 0) and np.all(out[85] == 255)


def test_rejections_say_why():
    pts = render_face(FACE, size=(256, 256)).landmarks.astype(np.float64)
    flat = pts.copy()
    flat[:, 1] = 100.0
    with pytest.raises(RejectedSample, match="zero-size") as info:
        eye_slot_geometry(flat)
    assert isinstance(info.value, InputError) and "zero-size" in info.value.reason

    narrow = pts.copy()
    centre_x = pts[lm.NOSE_TIP, 0]
    narrow[:, 0] = centre_x + (pts[:, 0] - centre_x) * 0.1
    with pytest.raises(RejectedSample, match="taller than wide"):
        eye_slot_geometry(narrow)

    collapsed = pts.copy()
    collapsed[36:48] = pts[36:48].mean(axis=0)
    with pytest.raises(RejectedSample, match="eye centres coincide"):
        eye_slot_geometry(collapsed)

    image = np.zeros((256, 256), dtype=np.uint8)
    with pytest.raises(RejectedSample, match="outside"):
        crop_eye_slot(image, pts + 1000.0, GRAY_SPEC)


def test_bad_inputs():
    with pytest.raises(InputError, match="68 finite"):
        eye_slot_geometry(np.zeros((5, 2)))
    face = render_face(FACE)
    with pytest.raises(InputError, match="eye_slot"):
        crop_eye_slot(face.image, face.landmarks, dataclasses.replace(GRAY_SPEC, source="face_box"))
    with pytest.raises(InputError, match="uint8"):
        crop_eye_slot(face.image.astype(np.float32), face.landmarks, GRAY_SPEC)
