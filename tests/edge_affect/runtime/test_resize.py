import cv2
import numpy as np
import pytest

from edge_affect.runtime.resize import bilinear_taps, resize_bilinear, resize_nearest


def test_same_size_is_identity():
    img = np.arange(64 * 48, dtype=np.uint8).reshape(64, 48)
    assert np.array_equal(resize_bilinear(img, (64, 48)), img)
    assert np.array_equal(resize_nearest(img, (64, 48)), img)


def test_constant_image_stays_constant_up_and_down():
    img = np.full((37, 53), 200, np.uint8)
    for size in [(64, 64), (5, 7), (100, 3)]:
        assert np.all(resize_bilinear(img, size) == 200)


def test_two_to_one_downscale_averages_pixel_pairs():
    # Half-pixel centres: output pixel d samples source position 2d + 0.5.
    img = np.array([[0, 100, 50, 51]], dtype=np.uint8).repeat(2, axis=0)
    assert resize_bilinear(img, (1, 2)).tolist() == [[50, 51]]  # (0+100)/2, (50+51)/2 = 50.5 -> 51


def test_taps_stay_in_range_when_upscaling():
    for src, dst in [(1, 7), (2, 64), (25, 64), (64, 25), (324, 64)]:
        x0, x1, frac = bilinear_taps(src, dst)
        assert x0.min() >= 0 and x1.max() <= src - 1 and frac.min() >= 0 and frac.max() < 2048


@pytest.mark.parametrize("shape", [(200, 180), (25, 25), (130, 97), (244, 324)])
def test_bilinear_is_within_one_level_of_opencv(shape, ):
    img = cv2.GaussianBlur(np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8), (5, 5), 0)
    ours = resize_bilinear(img, (64, 64)).astype(int)
    theirs = cv2.resize(img, (64, 64), interpolation=cv2.INTER_LINEAR).astype(int)
    assert np.abs(ours - theirs).max() <= 1


def test_rgb_resizes_each_channel_like_gray():
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (31, 45, 3), dtype=np.uint8)
    out = resize_bilinear(rgb, (20, 17))
    for c in range(3):
        assert np.array_equal(out[..., c], resize_bilinear(rgb[..., c], (20, 17)))
