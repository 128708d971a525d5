import pytest

from edge_affect.data.loaders import load_dataset
from edge_affect.prep.landmarks import LandmarksUnavailable, check_landmarker, detect_landmarks, dlib_available
from edge_affect.prep.pipeline import prepare_dataset


@pytest.fixture(autouse=True)
def without_dlib():
    if dlib_available():
        pytest.skip("dlib is installed here; these check the behaviour without the optional extra")


def test_missing_dlib_is_named_with_its_extra():
    with pytest.raises(LandmarksUnavailable, match=r"dlib.*optional extra 'landmarks'.*edge-affect\[landmarks\]"):
        check_landmarker("shape_predictor_68_face_landmarks.dat")


def test_detection_without_dlib_raises(affectnet_data):
    record = load_dataset(affectnet_data).records[0]
    with pytest.raises(LandmarksUnavailable, match="not importable"):
        detect_landmarks(record.image(), record.box, None)


def test_landmarks_task_refuses_to_start(affectnet_data, tmp_path):
    with pytest.raises(LandmarksUnavailable, match="optional extra 'landmarks'"):
        prepare_dataset(affectnet_data, "landmarks", tmp_path / "out")
    assert not (tmp_path / "out").exists()  # refused before anything was written
