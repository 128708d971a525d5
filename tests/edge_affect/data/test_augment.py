import math

import cv2
import numpy as np
import pytest

from edge_affect.data import landmarks as lm
from edge_affect.data.augment import (
    MIRROR_68, ACTING_MIRROR_NOISE_SIGMA, GaussianNoise, HlsBrightness, KerasAffine, Multiply, Policy,
    SaltAndPepper, SmallAffine, Step, acting_mirror_policy, augment, ocular_policy, smile_policy,
)
from edge_affect.data.synthetic import FaceParams, render_face
from edge_affect.errors import InputError

POLICIES = (ocular_policy, acting_mirror_policy, smile_policy)


def flat(value, shape=(32, 32, 3)):
    return np.full(shape, value, dtype=np.uint8)


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
def test_policies_are_deterministic_under_a_seed(policy):
    face = render_face(FaceParams(), size=(64, 64), color="rgb")
    outputs = [augment(face.image, policy, seed, face.landmarks) for seed in (7, 7, 8)]
    a, b, c = outputs
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.landmarks, b.landmarks)
    assert a.applied == b.applied
    differs = [not np.array_equal(augment(face.image, policy, s).image, a.image) for s in range(8, 14)]
    assert any(differs), f"{policy.name}: six other seeds all gave the seed-7 image"
    assert c.image.shape == face.image.shape and c.image.dtype == np.uint8


def test_hls_brightness_factor_stays_in_range():
    image = flat((100, 120, 140))  # HLS lightness (max + min) / 2 = 120
    rng = np.random.default_rng(0)
    ratios = []
    for _ in range(300):
        out, _ = HlsBrightness(0.5, 1.5)(image, None, rng)
        lightness = cv2.cvtColor(out, cv2.COLOR_RGB2HLS)[..., 1].mean()
        ratios.append(lightness / 120)
    assert 0.5 - 0.01 <= min(ratios) < 0.55 and 1.45 < max(ratios) <= 1.5 + 0.01
    gray, _ = HlsBrightness(0.5, 1.5)(flat(100, (8, 8)), None, np.random.default_rng(1))
    assert 50 <= gray.mean() <= 150 and gray.ndim == 2


def test_multiply_and_noise_and_salt_and_pepper_strengths():
    rng = np.random.default_rng(0)
    values = [Multiply(0.25, 1.5)(flat(100), None, rng)[0].mean() for _ in range(200)]
    assert 25 <= min(values) < 32 and 143 < max(values) <= 150
    noisy, _ = GaussianNoise(ACTING_MIRROR_NOISE_SIGMA, ACTING_MIRROR_NOISE_SIGMA)(flat(128, (128, 128, 3)), None, rng)
    assert np.std(noisy[..., 0].astype(float)) == pytest.approx(0.07 * 255, rel=0.05)
    np.testing.assert_array_equal(noisy[..., 0], noisy[..., 2])  # one draw per pixel, as imgaug
    peppered, _ = SaltAndPepper(0.03)(flat(128, (200, 200)), None, rng)
    hit = (peppered == 0) | (peppered == 255)
    assert hit.mean() == pytest.approx(0.03, abs=0.005)
    assert (peppered == 0).sum() == pytest.approx((peppered == 255).sum(), rel=0.2)


def _application_rates(policy, draws=3000):
    rng = np.random.default_rng(123)
    image = flat(128, (16, 16))
    counts: dict[str, int] = {}
    for _ in range(draws):
        for name in policy(image, rng).applied:
            counts[name] = counts.get(name, 0) + 1
    return {name: n / draws for name, n in counts.items()}


def test_smile_policy_probabilities():
    rates = _application_rates(smile_policy)
    # 3000 draws: the binomial standard error at p = 0.2 is 0.0073, so +-0.03 is about 4 sigma
    for name in ("occlusion", "affine", "blur", "noise", "emboss"):
        assert rates[name] == pytest.approx(0.2, abs=0.03), name
    assert rates["weak_motion_blur"] == pytest.approx(0.85, abs=0.03)
    assert rates["strong_motion_blur"] == pytest.approx(0.10, abs=0.03)


def test_acting_mirror_policy_picks_one_of_six():
    rates = _application_rates(acting_mirror_policy)
    assert set(rates) == {"identity", "noise", "multiply", "salt_and_pepper", "blur", "clouds"}
    for name, rate in rates.items():
        assert rate == pytest.approx(1 / 6, abs=0.03), name
    assert sum(rates.values()) == pytest.approx(1.0)


def test_ocular_policy_always_applies_both_steps():
    rates = _application_rates(ocular_policy, draws=200)
    assert rates == {"brightness": 1.0, "affine": 1.0}


def test_keras_affine_ranges():
    rng = np.random.default_rng(4)
    h, w = 40, 120
    image = flat(0, (h, w))
    cx, cy = (w - 1) / 2, (h - 1) / 2
    pts = np.array([[cx, cy], [cx + 30, cy]])
    angles, shifts, flips = [], [], 0
    for _ in range(500):
        _, moved = KerasAffine()(image, pts, rng)
        # rotation and shear act about the centre, so the centre moves by the shift only
        shifts.append(abs(moved[0, 1] - cy) / h)
        shifts.append(abs(moved[0, 0] - cx) / w)
        dx, dy = moved[1] - moved[0]
        flips += dx < 0
        # a horizontal vector is untouched by Keras' shear, so its angle is the rotation
        angles.append(math.degrees(math.atan2(dy, abs(dx))) * (-1 if dx < 0 else 1))
    assert max(abs(a) for a in angles) <= 5.0 + 1e-3 and max(abs(a) for a in angles) > 4.5
    assert max(shifts) <= 0.10 + 1e-6 and max(shifts) > 0.09
    assert flips / 500 == pytest.approx(0.5, abs=0.07)


@pytest.mark.parametrize("op", [KerasAffine(), SmallAffine(flip_p=0.5)], ids=["ocular", "smile"])
def test_landmarks_move_with_the_pixels(op):
    rng = np.random.default_rng(9)
    for _ in range(20):
        image = np.zeros((60, 90), dtype=np.uint8)
        point = np.array([[30.0, 22.0]])
        cv2.circle(image, (30, 22), 2, 255, -1)
        out, moved = op(image, point, rng)
        ys, xs = np.nonzero(out > 0)
        weights = out[ys, xs].astype(float)
        centroid = np.array([np.average(xs, weights=weights), np.average(ys, weights=weights)])
        assert np.linalg.norm(centroid - moved[0]) < 0.5


def test_flip_keeps_the_dlib_layout_meaningful():
    face = render_face(FaceParams(yaw=10.0), size=(96, 96))
    flip_only = KerasAffine(rotation=0.0, shift=0.0, shear=0.0, flip_p=1.0)
    out, moved = flip_only(face.image, face.landmarks, np.random.default_rng(0))
    np.testing.assert_array_equal(out, face.image[:, ::-1])
    # index 36 is still the eye corner on the image's left (the subject's right)
    assert moved[lm.RIGHT_EYE, 0].mean() < moved[lm.LEFT_EYE, 0].mean()
    np.testing.assert_allclose(moved[36], [95 - face.landmarks[45, 0], face.landmarks[45, 1]], atol=1e-4)
    assert sorted(MIRROR_68.tolist()) == list(range(68))


def test_photometric_ops_leave_landmarks_alone():
    face = render_face(FaceParams(), size=(64, 64), color="rgb")
    out = augment(face.image, acting_mirror_policy, 3, face.landmarks)
    np.testing.assert_array_equal(out.landmarks, face.landmarks)


def test_bad_inputs():
    with pytest.raises(InputError, match="uint8"):
        augment(np.zeros((8, 8), dtype=np.float32), ocular_policy, 0)
    with pytest.raises(InputError, match="landmarks"):
        augment(flat(0), ocular_policy, 0, np.zeros((3, 3)))
    with pytest.raises(InputError, match="policy"):
        augment(flat(0), "nope", 0)
    with pytest.raises(InputError, match="p must be"):
        Policy("bad", (Step(Multiply(), 1.5),))
