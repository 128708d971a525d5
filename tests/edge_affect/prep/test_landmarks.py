import dataclasses

import pytest

from edge_affect.data.loaders import load_dataset
from edge_affect.models import get_spec
from edge_affect.prep.landmarks import DlibLandmarker, LandmarksUnavailable, check_landmarker, detect_landmarks
from edge_affect.prep.pipeline import prepare_dataset
from edge_affect.prep.record import PrepConfig, Rejection, prepare_record


@pytest.fixture
def garbage_predictor(tmp_path):
    """A .dat file that is not a shape predictor (dlib is needed to find that out)."""
    pytest.importorskip("dlib", reason="dlib is not installed (the test extra installs dlib-bin)")
    path = tmp_path / "not_a_predictor.dat"
    path.write_bytes(b"\0" * 64)
    return str(path)


@pytest.mark.usefixtures("without_dlib")
def test_missing_dlib_is_named_with_its_extra():
    with pytest.raises(LandmarksUnavailable, match=r"dlib.*optional extra 'landmarks'.*edge-affect\[landmarks\]"):
        check_landmarker("shape_predictor_68_face_landmarks.dat")


@pytest.mark.usefixtures("without_dlib")
def test_detection_without_dlib_raises(affectnet_data):
    record = load_dataset(affectnet_data).records[0]
    with pytest.raises(LandmarksUnavailable, match="not importable"):
        detect_landmarks(record.image(), record.box, None)


@pytest.mark.usefixtures("without_dlib")
def test_landmarks_task_refuses_to_start(affectnet_data, tmp_path):
    with pytest.raises(LandmarksUnavailable, match="optional extra 'landmarks'"):
        prepare_dataset(affectnet_data, "landmarks", tmp_path / "out")
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_a_file_that_is_not_a_predictor_is_named(garbage_predictor):
    with pytest.raises(LandmarksUnavailable) as info:
        DlibLandmarker(garbage_predictor)
    message = str(info.value)
    assert message.startswith(f"{garbage_predictor}: not a dlib shape predictor (") and "\n" not in message


def test_a_record_needing_landmarks_from_a_bad_predictor_is_rejected(affectnet_data, garbage_predictor):
    bare = dataclasses.replace(load_dataset(affectnet_data).records[0], landmarks=None)
    config = PrepConfig("eye_slot", get_spec("ocular_va_m1").input, landmark_model=garbage_predictor)
    result = prepare_record(bare, "k", config)
    assert isinstance(result, Rejection) and result.stage == "landmarks"
    assert f"{garbage_predictor}: not a dlib shape predictor" in result.reason and "\n" not in result.reason
