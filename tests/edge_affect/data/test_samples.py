import sys

import cv2
import numpy as np
import pytest

from edge_affect.data import samples
from edge_affect.errors import EdgeAffectError, InputError

skimage_data = pytest.importorskip("skimage.data", reason="scikit-image (test extra) is not installed")


@pytest.fixture(scope="module")
def gray() -> list[samples.FaceImage]:
    return samples.real_face_images("gray")


@pytest.fixture(scope="module")
def rgb() -> list[samples.FaceImage]:
    return samples.real_face_images("rgb")


def test_every_real_face_is_served(gray):
    assert len(gray) == samples.LFW_FACE_COUNT + 2
    for image, (x, y, w, h) in gray:
        assert image.dtype == np.uint8 and image.ndim == 2
        assert 0 <= x and 0 <= y and x + w <= image.shape[1] and y + h <= image.shape[0]
        assert min(w, h) >= 20  # big enough to be a face crop worth calibrating on


def test_rgb_images_have_three_channels(rgb):
    assert len(rgb) == samples.LFW_FACE_COUNT + 2
    for image, _ in rgb:
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    lfw_rgb = rgb[0][0]
    assert (lfw_rgb[..., 0] == lfw_rgb[..., 1]).all() and (lfw_rgb[..., 1] == lfw_rgb[..., 2]).all()


def test_lfw_faces_are_rounded_from_the_shipped_floats(gray):
    shipped = np.asarray(skimage_data.lfw_subset()[: samples.LFW_FACE_COUNT], dtype=np.float64)
    ours = np.stack([image for image, _ in gray[: samples.LFW_FACE_COUNT]])
    assert ours.shape == (100, 25, 25)
    assert np.abs(ours - shipped * 255.0).max() <= 0.5 + 1e-9
    assert all(box == (0, 0, 25, 25) for _, box in gray[: samples.LFW_FACE_COUNT])


def test_photos_keep_their_colour_and_boxes(gray, rgb):
    astronaut_rgb, box = rgb[samples.LFW_FACE_COUNT]
    np.testing.assert_array_equal(astronaut_rgb, skimage_data.astronaut())
    assert box == samples.ASTRONAUT_FACE_BOX
    np.testing.assert_array_equal(gray[samples.LFW_FACE_COUNT][0], cv2.cvtColor(astronaut_rgb, cv2.COLOR_RGB2GRAY))
    camera_gray, box = gray[samples.LFW_FACE_COUNT + 1]
    np.testing.assert_array_equal(camera_gray, skimage_data.camera())
    assert box == samples.CAMERA_FACE_BOX


def test_astronaut_box_frames_skin_not_background():
    image = skimage_data.astronaut().astype(np.float64)
    x, y, w, h = samples.ASTRONAUT_FACE_BOX
    face = image[y + h // 4 : y + 3 * h // 4, x + w // 4 : x + 3 * w // 4].reshape(-1, 3).mean(axis=0)
    background = image[:40, 60:140].reshape(-1, 3).mean(axis=0)  # the studio backdrop
    r, g, b = face
    assert r > g > b  # warm skin tone in the middle of the box
    assert (face[0] - face[2]) > (background[0] - background[2]) + 30  # the grey backdrop is not


def test_crops_match_their_boxes():
    crops = samples.real_face_crops("rgb")
    assert len(crops) == samples.LFW_FACE_COUNT + 2
    x, y, w, h = samples.CAMERA_FACE_BOX
    assert crops[-1].shape == (h, w, 3)
    x, y, w, h = samples.ASTRONAUT_FACE_BOX
    assert crops[-2].shape == (h, w, 3)


def test_synthetic_pairs_have_the_same_form():
    pairs = samples.synthetic_face_images(5, seed=0, color="rgb", size=(64, 64))
    assert len(pairs) == 5
    for image, (x, y, w, h) in pairs:
        assert image.shape == (64, 64, 3) and image.dtype == np.uint8
        assert 0 <= x and 0 <= y and x + w <= 64 and y + h <= 64
    again = samples.synthetic_face_images(5, seed=0, color="rgb", size=(64, 64))
    assert all(a[0].tobytes() == b[0].tobytes() and a[1] == b[1] for a, b in zip(pairs, again))


def test_bad_color_is_an_input_error():
    with pytest.raises(InputError, match="color"):
        samples.real_face_images("bgr")


def test_missing_scikit_image_names_the_fix(monkeypatch):
    monkeypatch.setitem(sys.modules, "skimage", None)  # makes `import skimage` raise ImportError
    with pytest.raises(EdgeAffectError, match="pip install scikit-image"):
        samples.real_face_images()
