"""The 68-point layout's error measure, and the SDK's dlib landmark paths run
for real: a small shape predictor is trained here on synthetic faces (dlib's
own iBUG-trained model excludes commercial use and is not a test dependency),
then the predict path (app.detect) and the preparation path (prep) use it."""

import math

import numpy as np
import pytest

from edge_affect.data import landmarks as lm
from edge_affect.data.records import FaceRecord, Labels, Source
from edge_affect.data.synthetic import generate
from edge_affect.errors import InputError
from edge_affect.models import get_spec
from edge_affect.runtime.eye_slot import eye_slot_geometry

# ---------------------------------------------------------------------------- error measure


def test_inter_ocular_distance_is_between_the_eye_centres():
    pts = np.zeros((68, 2))
    pts[lm.RIGHT_EYE] = [[9, 20], [11, 20], [10, 19], [10, 21], [10, 20], [10, 20]]  # centre (10, 20)
    pts[lm.LEFT_EYE] = [40, 60]
    assert lm.inter_ocular_distance(pts) == pytest.approx(50.0)  # a 30-40-50 triangle
    assert lm.inter_ocular_distance(np.stack([pts, 2 * pts])) == pytest.approx([50.0, 100.0])


def test_normalized_mean_error_by_hand():
    truth = np.zeros((68, 2))
    truth[lm.LEFT_EYE] = [20, 0]  # eye spacing 20
    shifted = truth + [3, 4]  # every point 5 px off
    assert lm.normalized_mean_error(shifted, truth) == pytest.approx(0.25)
    half = truth.copy()
    half[:34] += [6, 8]  # half the points 10 px off, half exact
    assert lm.normalized_mean_error(half, truth) == pytest.approx(0.25)
    assert lm.normalized_mean_error(truth, truth) == 0


def test_normalized_mean_error_names_mismatched_shapes():
    with pytest.raises(InputError, match=r"\(5, 2\)"):
        lm.normalized_mean_error(np.zeros((5, 2)), np.zeros((5, 2)))
    with pytest.raises(InputError, match=r"\(68, 2\) and \(1, 68, 2\)"):
        lm.normalized_mean_error(np.zeros((68, 2)), np.zeros((1, 68, 2)))


# ---------------------------------------------------------------------------- dlib, for real

FACE_SIZE = (128, 128)


@pytest.fixture(scope="module")
def dlib():
    return pytest.importorskip("dlib", reason="dlib is not installed (the test extra installs dlib-bin)")


def _training_options(dlib, cascades: int, trees: int):
    options = dlib.shape_predictor_training_options()
    options.cascade_depth = cascades
    options.num_trees_per_cascade_level = trees
    options.tree_depth = 3
    options.oversampling_amount = 8
    options.feature_pool_size = 200
    options.num_test_splits = 10
    options.num_threads = 1  # CI has 2 shared cores
    options.random_seed = "0"
    return options


def _train(dlib, faces, points: slice, options, path):
    """A shape predictor for the ``points`` of each face, saved to ``path``."""
    def annotation(face):
        x, y, w, h = face.box
        parts = [dlib.point(round(float(px)), round(float(py))) for px, py in face.landmarks[points]]
        return [dlib.full_object_detection(dlib.rectangle(x, y, x + w - 1, y + h - 1), parts)]

    dlib.train_shape_predictor([f.image for f in faces], [annotation(f) for f in faces], options).save(str(path))
    return path


@pytest.fixture(scope="module")
def predictor_path(dlib, tmp_path_factory):
    """A 68-point predictor trained on 200 synthetic faces (about a second)."""
    faces = generate(200, seed=11, size=FACE_SIZE)
    return _train(dlib, faces, slice(0, 68), _training_options(dlib, cascades=8, trees=60),
                  tmp_path_factory.mktemp("dlib") / "synthetic_68.dat")


@pytest.fixture(scope="module")
def held_out():
    return generate(40, seed=12, size=FACE_SIZE)


def _mean_shape_error(faces) -> float:
    """The error of placing the average box-relative shape in each box: what a
    predictor that learned nothing about the image would reach."""
    rel = np.stack([(f.landmarks - f.box[:2]) / f.box[2:] for f in faces])
    guess = rel.mean(axis=0) * np.array([f.box[2:] for f in faces])[:, None] + np.array(
        [f.box[:2] for f in faces])[:, None]
    return float(lm.normalized_mean_error(guess, np.stack([f.landmarks for f in faces])).mean())


def test_predict_path_finds_held_out_landmarks(predictor_path, held_out):
    from edge_affect.app.detect import landmarks_provider

    landmarks = landmarks_provider(predictor_path)
    predicted = np.stack([landmarks(f.image, f.box) for f in held_out])
    truth = np.stack([f.landmarks for f in held_out])
    errors = lm.normalized_mean_error(predicted, truth)
    baseline = _mean_shape_error(held_out)
    print(f"NME on {len(held_out)} held-out synthetic faces: mean {errors.mean():.3f}, "
          f"median {np.median(errors):.3f}, max {errors.max():.3f}; mean-shape baseline {baseline:.3f}")
    assert errors.mean() < 0.07 and np.median(errors) < 0.05
    assert errors.mean() < 0.35 * baseline


def test_prep_path_agrees_with_the_predict_path(predictor_path, held_out):
    from edge_affect.app.detect import DlibLandmarks
    from edge_affect.prep.landmarks import detect_landmarks

    app = DlibLandmarks(predictor_path)
    for face in held_out[:5]:
        np.testing.assert_array_equal(detect_landmarks(face.image, face.box, str(predictor_path)),
                                      app(face.image, face.box))


def test_eye_slot_from_detected_landmarks(predictor_path, held_out):
    """Preparation of records without landmark annotations: dlib fills them in
    and the eye slot is cut where the true landmarks would put it."""
    from edge_affect.prep.record import PrepConfig, prepare_record

    spec = get_spec("ocular_va_mobile").input
    config = PrepConfig("eye_slot", spec, encoding="raw", landmark_model=str(predictor_path))
    angle_deg, centre_off, width_off = [], [], []
    for i, face in enumerate(held_out):
        record = FaceRecord(Labels(valence=0.0, arousal=0.0), Source("synthetic", i), pixels=face.image, box=face.box)
        sample = prepare_record(record, f"{i:09d}", config)
        assert sample.meta["landmarks_from"] == "dlib", getattr(sample, "reason", "")
        assert sample.raw.shape == spec.size and sample.raw.dtype == np.uint8
        found, true = eye_slot_geometry(np.array(sample.meta["landmarks"])), eye_slot_geometry(face.landmarks)
        width = true.size[1]
        angle_deg.append(abs(math.degrees(found.angle - true.angle)))
        centre_off.append(math.dist(found.center, true.center) / width)
        width_off.append(abs(found.size[1] - width) / width)
    # The slot's angle comes from two eye centres ~22 px apart here, so a pixel
    # of landmark error tilts it by ~2.5 degrees; the worst faces are occluded.
    assert np.median(angle_deg) < 2 and max(angle_deg) < 12
    assert max(centre_off) < 0.1 and max(width_off) < 0.1


def test_predict_path_feeds_an_eye_slot_model(predictor_path, held_out):
    from edge_affect.app.detect import DlibLandmarks
    from edge_affect.app.pipeline import face_input

    spec = get_spec("ocular_va_mobile").input
    face = held_out[0]
    bgr = np.repeat(face.image[..., None], 3, axis=2)
    x = face_input(bgr, spec, face.box, DlibLandmarks(predictor_path)(face.image, face.box))
    assert x.shape == spec.shape[1:] and x.dtype == np.float32 and np.isfinite(x).all()


def test_a_predictor_without_68_points_is_refused(dlib, tmp_path):
    from edge_affect.app.detect import DlibLandmarks
    from edge_affect.prep.landmarks import detect_landmarks

    faces = generate(12, seed=13, size=FACE_SIZE)
    path = _train(dlib, faces, lm.RIGHT_EYE, _training_options(dlib, cascades=2, trees=5), tmp_path / "eye6.dat")
    face = faces[0]
    with pytest.raises(InputError, match="returned 6 points, expected 68"):
        DlibLandmarks(path)(face.image, face.box)
    with pytest.raises(InputError, match="expected 68 points, got 6"):
        detect_landmarks(face.image, face.box, str(path))


def test_a_file_that_is_not_a_predictor_is_named(dlib, tmp_path):
    from edge_affect.app.detect import DlibLandmarks

    path = tmp_path / "not_a_predictor.dat"
    path.write_bytes(b"\0" * 64)
    with pytest.raises(InputError, match="not_a_predictor.dat: not a dlib shape predictor"):
        DlibLandmarks(path)


def test_prep_without_a_box_reports_no_face(predictor_path):
    from edge_affect.prep.landmarks import NoFaceFound, detect_landmarks

    with pytest.raises(NoFaceFound, match="no face"):
        detect_landmarks(np.full((96, 96), 128, np.uint8), None, str(predictor_path))
