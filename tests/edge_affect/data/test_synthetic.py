import dataclasses
import math

import numpy as np
import pytest

from edge_affect.data import landmarks as lm
from edge_affect.data import synthetic as S
from edge_affect.errors import InputError

# A plain face: no noise, flat light and background, nothing in front of it,
# so a pixel's value says what was drawn there.
CLEAN = S.FaceParams(eye_open=0.9, mouth_open=0.8, skin_tone=0.7, background_rgb=(0.3, 0.6, 0.3))


def _pixel(image: np.ndarray, xy) -> float:
    x, y = (int(round(v)) for v in xy)
    return float(image[y, x])


@pytest.fixture(scope="module")
def faces() -> list[S.SyntheticFace]:
    return S.generate(70, seed=11)


def test_same_seed_gives_identical_bytes():
    a, b = S.generate(6, seed=3, color="rgb"), S.generate(6, seed=3, color="rgb")
    for fa, fb in zip(a, b):
        assert fa.image.tobytes() == fb.image.tobytes()
        assert fa.landmarks.tobytes() == fb.landmarks.tobytes()
        assert fa.box == fb.box and fa.labels == fb.labels and fa.params == fb.params


def test_different_seed_gives_different_faces():
    a, b = S.generate(3, seed=3), S.generate(3, seed=4)
    assert all(fa.image.tobytes() != fb.image.tobytes() for fa, fb in zip(a, b))


def test_render_is_a_pure_function_of_params():
    params = S.sample_params(np.random.default_rng(0))
    assert S.render_face(params).image.tobytes() == S.render_face(params).image.tobytes()


@pytest.mark.parametrize("size, color, shape", [
    ((128, 128), "gray", (128, 128)),
    ((128, 128), "rgb", (128, 128, 3)),
    ((48, 48), "gray", (48, 48)),
    ((96, 160), "rgb", (96, 160, 3)),
])
def test_shapes_and_dtypes(size, color, shape):
    for face in S.generate(4, seed=1, size=size, color=color):
        assert face.image.shape == shape and face.image.dtype == np.uint8
        assert face.landmarks.shape == (lm.NUM_LANDMARKS, 2) and face.landmarks.dtype == np.float32
        assert all(isinstance(v, int) for v in face.box)


def test_landmarks_and_box_lie_inside_the_image(faces):
    for face in faces:
        h, w = face.image.shape
        x, y, bw, bh = face.box
        assert 0 <= x and 0 <= y and x + bw <= w and y + bh <= h
        # The face fills a sensible part of the frame, not a sliver or all of it.
        assert 0.25 * w < bw < 0.8 * w and 0.3 * h < bh < 0.9 * h
        pts = face.landmarks
        assert (pts >= 0).all() and (pts[:, 0] <= w - 1).all() and (pts[:, 1] <= h - 1).all()
        inside = (pts[:, 0] >= x) & (pts[:, 0] <= x + bw) & (pts[:, 1] >= y) & (pts[:, 1] <= y + bh)
        assert inside.all()


def test_landmarks_follow_dlib_layout_on_a_frontal_face():
    p = S.render_face(CLEAN).landmarks
    x, y = p[:, 0], p[:, 1]
    assert x[0] < x[lm.CHIN] < x[16] and y[lm.CHIN] == y[lm.JAW].max()
    assert x[17] < x[21] < x[22] < x[26]
    assert x[lm.RIGHT_EYE_OUTER] < x[lm.RIGHT_EYE_INNER] < x[lm.LEFT_EYE_INNER] < x[lm.LEFT_EYE_OUTER]
    assert y[37] < y[41] and y[43] < y[47]  # upper lids above lower lids
    assert y[27] < y[lm.NOSE_TIP] and x[31] < x[33] < x[35]
    assert x[lm.MOUTH_RIGHT_CORNER] < x[51] < x[lm.MOUTH_LEFT_CORNER] and y[51] < y[62] < y[66] < y[57]
    assert y[lm.RIGHT_BROW].max() < y[lm.RIGHT_EYE].min() and y[lm.RIGHT_EYE].max() < y[lm.NOSE_TIP]
    assert y[lm.NOSE_TIP] < y[lm.OUTER_LIP].min() and y[lm.OUTER_LIP].max() < y[lm.CHIN]
    # A frontal face is mirror-symmetric about its vertical axis.
    mirrored = 2 * x[lm.CHIN] - x[[16, 26, 45, 35, 54]]
    np.testing.assert_allclose(mirrored, x[[0, 17, 36, 31, 48]], atol=1e-3)


@pytest.mark.parametrize("pose", [{}, {"yaw": 18.0}, {"yaw": -18.0}, {"roll": 14.0}, {"pitch": -10.0}])
def test_landmarks_sit_on_the_drawn_features(pose):
    face = S.render_face(dataclasses.replace(CLEAN, **pose))
    img, p = face.image, face.landmarks
    skin = _pixel(img, (p[1] + p[31]) / 2)  # mid-cheek
    for eye in (lm.RIGHT_EYE, lm.LEFT_EYE):
        assert _pixel(img, p[eye].mean(axis=0)) < 0.5 * skin  # iris/pupil
    for brow in (19, 24):
        assert _pixel(img, p[brow]) < 0.6 * skin
    assert _pixel(img, (p[62] + p[66]) / 2) < 0.4 * skin  # inside the open mouth
    assert _pixel(img, p[57] - [0, 1]) != pytest.approx(skin, abs=5)  # lower lip is not skin


def test_roll_rotates_landmarks_about_the_face_centre():
    upright = S.render_face(CLEAN, size=(100, 120)).landmarks
    rolled = S.render_face(dataclasses.replace(CLEAN, roll=12.0), size=(100, 120)).landmarks
    centre = np.array([CLEAN.center_x * 119, CLEAN.center_y * 99])
    a = math.radians(12.0)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    np.testing.assert_allclose(rolled, (upright - centre) @ rot.T + centre, atol=1e-3)


def test_yaw_turns_the_nose_towards_its_sign():
    for yaw, side in ((15.0, 1), (-15.0, -1)):
        p = S.render_face(dataclasses.replace(CLEAN, yaw=yaw)).landmarks
        jaw_mid = (p[0, 0] + p[16, 0]) / 2
        assert side * (p[lm.NOSE_TIP, 0] - jaw_mid) > 2.0


def test_labels_follow_the_documented_rules(faces):
    for face in faces:
        params, labels = face.params, face.labels
        assert labels["expression"] == S.expression_of(params)
        assert labels["smile"] == int(params.mouth_curve > S.SMILE_THRESHOLD)
        assert (labels["valence"], labels["arousal"]) == S.valence_arousal(params)
        assert (labels["ocular_valence"], labels["ocular_arousal"]) == S.ocular_valence_arousal(params)
        for name in ("valence", "arousal", "ocular_valence", "ocular_arousal"):
            assert -1.0 <= labels[name] <= 1.0


def test_balanced_generation_reaches_every_expression_equally(faces):
    counts = np.bincount([f.labels["expression"] for f in faces], minlength=7)
    assert counts.tolist() == [10] * 7


def test_unbalanced_generation_still_labels_by_the_rule():
    faces = S.generate(30, seed=2, expression_balanced=False)
    assert all(f.labels["expression"] == S.expression_of(f.params) for f in faces)
    assert len({f.labels["expression"] for f in faces}) >= 4


@pytest.mark.parametrize("expression", S.EXPRESSIONS)
def test_sampled_expressions_look_like_their_name(expression):
    rng = np.random.default_rng(7)
    typical = {
        "angry": lambda p: p.brow_height < -0.4 and p.brow_tilt < -0.4,
        "disgust": lambda p: p.lip_raise > 0.5 and p.brow_height < 0,
        "fear": lambda p: p.brow_height > 0.3 and p.brow_tilt > 0.3 and 0.1 < p.mouth_open < 0.6,
        "happy": lambda p: p.mouth_curve > 0.5,
        "sad": lambda p: p.mouth_curve < 0 and p.brow_tilt > 0,
        "surprise": lambda p: p.mouth_open > 0.5 and p.brow_height > 0.5 and p.eye_open > 0.8,
        "neutral": lambda p: max(abs(p.mouth_curve), p.mouth_open, abs(p.brow_height), abs(p.brow_tilt)) < 0.2,
    }[expression]
    for _ in range(40):
        params = S.sample_params(rng, expression)
        assert S.EXPRESSIONS[S.expression_of(params)] == expression
        assert typical(params)


def test_prototypes_label_themselves():
    for i, name in enumerate(S.EXPRESSIONS):
        fields = dict(zip(S.EXPRESSION_FIELDS, S.EXPRESSION_PROTOTYPES[name]))
        assert S.expression_of(S.FaceParams(**fields)) == i


def test_valence_and_arousal_move_the_right_way():
    def va(**fields):
        return S.valence_arousal(S.FaceParams(**fields))

    assert va(mouth_curve=0.8)[0] > va()[0] > va(mouth_curve=-0.8)[0]
    assert va(mouth_open=0.9, eye_open=1.0, brow_height=0.8)[1] > va()[1] > va(eye_open=0.1)[1]
    protos = {n: S.FaceParams(**dict(zip(S.EXPRESSION_FIELDS, v))) for n, v in S.EXPRESSION_PROTOTYPES.items()}
    valence = {n: S.valence_arousal(p)[0] for n, p in protos.items()}
    assert valence["happy"] > valence["neutral"] > max(valence[n] for n in ("angry", "disgust", "fear", "sad"))


def test_ocular_labels_ignore_the_mouth():
    base = S.FaceParams(brow_height=0.4, brow_tilt=0.5, eye_open=0.9)
    changed = dataclasses.replace(base, mouth_curve=-0.9, mouth_open=1.0, lip_raise=1.0)
    assert S.ocular_valence_arousal(base) == S.ocular_valence_arousal(changed)
    assert S.valence_arousal(base) != S.valence_arousal(changed)


def test_smile_label_tracks_mouth_curve():
    assert S.labels_of(S.FaceParams(mouth_curve=S.SMILE_THRESHOLD + 0.05))["smile"] == 1
    assert S.labels_of(S.FaceParams(mouth_curve=S.SMILE_THRESHOLD))["smile"] == 0
    assert S.labels_of(S.FaceParams(mouth_curve=-0.8))["smile"] == 0


@pytest.mark.parametrize("occlusion, box", [
    ("glasses", (0.0, 0.0, 0.0, 0.0)),
    ("hand", (-0.4, 0.3, 0.4, 1.0)),
    ("bar", (-0.8, -0.5, 0.8, -0.1)),
])
def test_occlusion_covers_part_of_the_face(occlusion, box):
    plain = S.render_face(CLEAN)
    covered = S.render_face(dataclasses.replace(CLEAN, occlusion=occlusion, occlusion_box=box, occlusion_tone=0.1))
    changed = plain.image != covered.image
    x, y, w, h = plain.box
    assert changed.sum() > 40
    margin = w // 8  # glasses arms reach past the cheeks to the ears
    assert not changed[: y - margin].any() and not changed[:, : x - margin].any()
    assert not changed[:, x + w + margin :].any()
    np.testing.assert_array_equal(plain.landmarks, covered.landmarks)  # ground truth stays under the occluder


def test_noise_and_lighting_change_pixels_not_geometry():
    lit = dataclasses.replace(CLEAN, noise_sigma=6.0, brightness=1.2, light_strength=0.4, light_angle=1.0)
    a, b = S.render_face(CLEAN), S.render_face(lit)
    assert np.abs(a.image.astype(int) - b.image.astype(int)).mean() > 3
    np.testing.assert_array_equal(a.landmarks, b.landmarks)
    assert a.box == b.box


def test_stack_faces_builds_arrays():
    batch = S.generate_arrays(9, seed=5, size=(48, 48))
    assert len(batch) == 9
    assert batch.images.shape == (9, 48, 48) and batch.images.dtype == np.uint8
    assert batch.landmarks.shape == (9, 68, 2) and batch.boxes.shape == (9, 4)
    assert batch.expression.dtype == np.int64 and batch.valence.dtype == np.float32
    assert set(batch.smile.tolist()) <= {0, 1}


def test_bad_arguments_raise_input_errors():
    with pytest.raises(InputError, match="mouth_curve"):
        S.FaceParams(mouth_curve=1.5)
    with pytest.raises(InputError, match="occlusion"):
        S.FaceParams(occlusion="scarf")
    with pytest.raises(InputError, match="color"):
        S.render_face(CLEAN, color="bgr")
    with pytest.raises(InputError, match="size"):
        S.render_face(CLEAN, size=(8, 8))
    with pytest.raises(InputError, match="expression"):
        S.sample_params(np.random.default_rng(0), "bored")
    with pytest.raises(InputError, match="empty"):
        S.stack_faces([])
