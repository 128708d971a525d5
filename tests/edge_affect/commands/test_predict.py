import json

import cv2
import numpy as np
import pytest

from edge_affect.app.scenes import real_face_sprites, render_scene, write_video
from edge_affect.cli import main

MODEL = "mini_xception_fer2013"


@pytest.fixture(scope="module")
def astronaut_jpg(tmp_path_factory):
    from skimage import data

    path = tmp_path_factory.mktemp("inputs") / "astronaut.jpg"
    cv2.imwrite(str(path), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    return path


@pytest.fixture(scope="module")
def face_video(tmp_path_factory):
    """8 frames with two real faces, then 3 without: a short MJPG clip."""
    frames = [f for f, _ in render_scene(real_face_sprites(110, 2), 8)] + [next(render_scene([], 1))[0]] * 3
    return write_video(tmp_path_factory.mktemp("inputs") / "faces.avi", frames)


@pytest.fixture
def cache_env(bundles_dir, tmp_path, monkeypatch):
    """EDGE_AFFECT_CACHE holding the session's bundles (linked), so no backend rebuilds."""
    models = tmp_path / "cache" / "bundles" / MODEL
    models.mkdir(parents=True)
    for bundle in bundles_dir.iterdir():
        (models / bundle.name).symlink_to(bundle, target_is_directory=True)
    monkeypatch.setenv("EDGE_AFFECT_CACHE", str(tmp_path / "cache"))


def _json_lines(text):
    return [json.loads(line) for line in text.splitlines()]


def test_image_json_and_annotated_output(astronaut_jpg, tmp_path, capsys):
    out = tmp_path / "annotated.png"
    assert main(["predict", str(astronaut_jpg), "--backend", "torch", "--json", "--out", str(out)]) == 0
    face, summary = _json_lines(capsys.readouterr().out)
    assert face["type"] == "face" and face["frame"] == 0 and face["label"] == "happy"
    assert face["probabilities"]["happy"] > 0.9 and len(face["box"]) == 4
    assert summary["type"] == "summary" and summary["frames"] == 1 and summary["outputs"]["annotated"] == str(out)
    annotated, original = cv2.imread(str(out)), cv2.imread(str(astronaut_jpg))
    assert annotated.shape == original.shape and np.abs(annotated.astype(int) - original).max() > 100


def test_image_text_output_names_each_face(astronaut_jpg, capsys):
    assert main(["predict", str(astronaut_jpg), "--backend", "torch"]) == 0
    out = capsys.readouterr().out
    assert "face 0 (box [" in out and "happy" in out


@pytest.mark.parametrize("backend", ["executorch", "onnx"])
def test_each_bundle_backend_on_one_image(astronaut_jpg, cache_env, backend, capsys):
    assert main(["predict", str(astronaut_jpg), "--backend", backend, "--json", "--threads", "1"]) == 0
    face, summary = _json_lines(capsys.readouterr().out)
    assert face["label"] == "happy" and summary["backend"] == backend
    assert summary["precision"] == ("int8" if backend == "executorch" else "fp32")


def test_video_writes_annotated_video_timeline_and_json_per_face_per_frame(face_video, tmp_path, capsys):
    out = tmp_path / "annotated.avi"
    assert main(["predict", str(face_video), "--backend", "torch", "--json", "--out", str(out),
                 "--detect-every", "3"]) == 0
    rows = _json_lines(capsys.readouterr().out)
    faces = [r for r in rows if r["type"] == "face"]
    assert len(faces) == 16 and {r["track"] for r in faces} == {0, 1}
    assert [r["frame"] for r in rows if r["type"] == "no_face"] == [8, 9, 10]
    summary = rows[-1]
    assert summary["frames"] == 11 and summary["frames_without_face"] == 3 and summary["detect_every"] == 3
    timeline = tmp_path / "annotated_timeline.png"
    assert summary["outputs"] == {"annotated": str(out), "timeline": str(timeline)}
    assert cv2.imread(str(timeline)) is not None
    capture = cv2.VideoCapture(str(out))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 11
    capture.release()


def test_video_summary_table(face_video, capsys):
    assert main(["predict", str(face_video), "--backend", "torch", "--max-frames", "4"]) == 0
    out = capsys.readouterr().out
    assert "4 frames" in out and "detect" in out and "infer" in out and "ms per face" in out


def test_no_face_is_a_normal_outcome(tmp_path, capsys):
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), next(render_scene([], 1))[0])
    assert main(["predict", str(blank), "--backend", "torch", "--json"]) == 0
    no_face, summary = _json_lines(capsys.readouterr().out)
    assert no_face == {"type": "no_face", "frame": 0, "time": 0.0} and summary["frames_without_face"] == 1
    assert main(["predict", str(blank), "--backend", "torch"]) == 0
    assert "no face found" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["predict", "{tmp}/missing.mp4"], "missing.mp4: no such file"),
    (["predict", "{tmp}/corrupt.jpg"], "cannot decode the image"),
    (["predict", "--camera", "99"], "camera 99: cannot be opened"),
    (["predict"], "not both or neither"),
    (["predict", "{tmp}/corrupt.jpg", "--camera", "0"], "not both or neither"),
    (["predict", "{video}", "--out", "{tmp}/out.png", "--backend", "torch"], "a video input writes a video"),
])
def test_errors_are_one_line(argv, message, tmp_path, face_video, capsys):
    (tmp_path / "corrupt.jpg").write_bytes(b"\xff\xd8 definitely not a jpeg")
    argv = [a.format(tmp=tmp_path, video=face_video) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
