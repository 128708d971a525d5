import numpy as np
import pytest

from edge_affect.errors import InputError
from edge_affect.models import get_spec
from edge_affect.runtime.preprocess import (box_from_landmarks, convert_color, crop_face, grow_box, keep_aspect_box,
                                            normalize, preprocess, preprocess_crops)
from edge_affect.spec import InputSpec

SPEC = get_spec("mini_xception_fer2013").input


def test_gray_conversion_uses_bt601_q14_weights():
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]]], dtype=np.uint8)
    # 4899*255/16384 = 76.2 -> 76 ; 9617*255/16384 = 149.7 -> 150 ; 1868*255/16384 = 29.07 -> 29
    assert convert_color(rgb, "gray").tolist() == [[76, 150, 29, 255]]


def test_margin_grows_the_box_on_every_side():
    assert grow_box((10, 20, 100, 50), SPEC) == (0, 15, 120, 60)  # 10% of 100 and of 50


def test_keep_aspect_pads_the_short_side_centrally():
    assert keep_aspect_box((0, 0, 100, 20), (170, 520)) == (0, -6, 100, 33)
    assert keep_aspect_box((0, 0, 10, 10), (170, 520)) == (-10, 0, 31, 10)


def test_pixels_outside_the_frame_take_the_pad_value():
    image = np.full((40, 40), 255, np.uint8)
    spec = InputSpec(source="face_box", color="gray", size=(4, 4), resize="nearest", pad_value=0)
    crop = crop_face(image, spec, box=(-20, 0, 40, 40))  # left half is outside
    assert crop[:, :2].max() == 0 and crop[:, 2:].min() == 255


def test_normalisation_maps_pixels_to_minus_one_one():
    crop = np.array([[0, 255], [127, 128]], np.uint8)
    spec = InputSpec(source="face_box", color="gray", size=(2, 2), resize="bilinear",
                     scale=(2 / 255,), offset=(-1.0,))
    out = normalize(crop, spec)
    assert out.dtype == np.float32 and out.shape == (1, 2, 2)
    np.testing.assert_allclose(out[0], [[-1, 1], [127 * 2 / 255 - 1, 128 * 2 / 255 - 1]], atol=1e-6)


def test_preprocess_of_a_real_face_gives_the_model_shape():
    from skimage.data import astronaut

    x = preprocess(astronaut(), SPEC, box=(170, 40, 100, 130))
    assert x.shape == (1, 1, 64, 64) and x.dtype == np.float32
    assert -1.0 <= x.min() < x.max() <= 1.0


def test_landmarks_give_the_extreme_point_box():
    pts = np.stack([np.linspace(10, 50, 68), np.linspace(20, 90, 68)], axis=1)
    assert box_from_landmarks(pts) == (10, 20, 40, 70)
    with pytest.raises(InputError, match="68 finite"):
        box_from_landmarks(pts[:10])


def test_crops_stack_matches_one_by_one():
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 256, (3, 80, 70), dtype=np.uint8)
    batch = preprocess_crops(crops, SPEC)
    assert batch.shape == (3, 1, 64, 64)
    assert np.array_equal(batch[1], preprocess(crops[1], SPEC)[0])


@pytest.mark.parametrize("bad, message", [
    (np.zeros((8, 8), np.float32), "dtype uint8"),
    (np.zeros((8, 8, 4), np.uint8), "shape (H, W) or (H, W, 3)"),
    (np.zeros((0, 8), np.uint8), "empty image"),
    ([[1, 2]], "numpy array"),
])
def test_bad_images_are_rejected(bad, message):
    with pytest.raises(InputError) as info:
        preprocess(bad, SPEC)
    assert message in str(info.value)


@pytest.mark.parametrize("box", [(0, 0, 0, 10), (500, 0, 10, 10), (0, 0, "a", 1), (1, 2)])
def test_bad_boxes_are_rejected(box):
    with pytest.raises(InputError, match="box"):
        preprocess(np.zeros((100, 100), np.uint8), SPEC, box=box)


def test_bad_crop_stacks_are_rejected():
    with pytest.raises(InputError, match="uint8"):
        preprocess_crops(np.zeros((2, 8, 8), np.float64), SPEC)
    with pytest.raises(InputError, match=r"\(N, H, W\)"):
        preprocess_crops(np.zeros((8, 8), np.uint8), SPEC)
