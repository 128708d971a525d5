import cv2
import numpy as np
import pytest

from edge_affect.app.detect import (DlibLandmarks, HaarFaceDetector, default_cascade_path, landmarks_provider,
                                    largest_first)
from edge_affect.app.scenes import real_face_sprites, render_scene
from edge_affect.app.track import iou
from edge_affect.data.samples import ASTRONAUT_FACE_BOX
from edge_affect.errors import EdgeAffectError, InputError


@pytest.fixture(scope="module")
def detector():
    return HaarFaceDetector()


def _gray(frame):
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def test_cascade_ships_with_opencv():
    assert default_cascade_path().is_file()


@pytest.mark.parametrize("width", [None, 320])
def test_finds_the_astronaut_face_at_full_and_reduced_resolution(width):
    from skimage import data

    boxes = HaarFaceDetector(detect_width=width).detect(_gray(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)))
    assert len(boxes) == 1
    assert iou(boxes[0], ASTRONAUT_FACE_BOX) > 0.5, boxes


def test_background_has_no_face(detector):
    frame, _ = next(render_scene([], 1))
    assert detector.detect(_gray(frame)) == []


def test_several_faces_come_largest_first(detector):
    sprites = real_face_sprites(60, 3)
    big = real_face_sprites(95, 1)
    frame, boxes = next(render_scene([sprites[1], big[0], sprites[2]], 1, drift=0))
    found = detector.detect(_gray(frame))
    assert len(found) == 3
    areas = [w * h for _, _, w, h in found]
    assert areas == sorted(areas, reverse=True)
    assert iou(found[0], boxes[1]) > 0.5  # the astronaut, drawn largest


def test_largest_first_is_deterministic_on_ties():
    assert largest_first([(50, 0, 10, 10), (0, 0, 10, 10), (5, 5, 20, 20)]) == [
        (5, 5, 20, 20), (0, 0, 10, 10), (50, 0, 10, 10)]


def test_detect_near_follows_a_moved_face_and_gives_up_on_an_empty_window(detector):
    frames = list(render_scene(real_face_sprites(110, 1), 30, drift=20))
    first_frame, [first] = frames[0]
    last_frame, [moved] = frames[15]
    start = detector.detect(_gray(first_frame))[0]
    assert iou(start, first) > 0.5
    found = detector.detect_near(_gray(last_frame), start)
    assert found is not None and iou(found, moved) > iou(start, moved)
    blank, _ = next(render_scene([], 1))
    assert detector.detect_near(_gray(blank), start) is None


def test_bad_inputs(tmp_path, detector):
    with pytest.raises(InputError, match="uint8 gray frame"):
        detector.detect(np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(InputError, match="cascade not found"):
        HaarFaceDetector(cascade=tmp_path / "none.xml")
    bad = tmp_path / "bad.xml"
    bad.write_text("<opencv_storage></opencv_storage>")
    with pytest.raises(InputError, match="not an OpenCV cascade"):
        HaarFaceDetector(cascade=bad)
    with pytest.raises(InputError, match="detect_width"):
        HaarFaceDetector(detect_width=8)


def test_landmarks_without_a_predictor_name_the_optional_extra():
    with pytest.raises(EdgeAffectError, match="dlib") as info:
        landmarks_provider(None)
    assert "--landmarks" in str(info.value) and "commercial" in str(info.value)


@pytest.mark.usefixtures("without_dlib")
def test_dlib_provider_without_dlib_names_the_extra(tmp_path):
    with pytest.raises(EdgeAffectError, match="dlib is not installed: .*pip install dlib-bin"):
        DlibLandmarks(tmp_path / "shape_predictor_68_face_landmarks.dat")


def test_dlib_provider_names_a_missing_predictor(tmp_path):
    pytest.importorskip("dlib", reason="dlib is not installed (the test extra installs dlib-bin)")
    with pytest.raises(InputError, match="shape predictor file not found"):
        DlibLandmarks(tmp_path / "shape_predictor_68_face_landmarks.dat")
