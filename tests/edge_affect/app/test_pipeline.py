import dataclasses
import io
import json

import cv2
import numpy as np
import pytest

from edge_affect.app.backends import Backend
from edge_affect.app.detect import HaarFaceDetector
from edge_affect.app.pipeline import AffectPipeline, check_output_path, face_input, records, run
from edge_affect.app.scenes import real_face_sprites, render_scene, write_video
from edge_affect.app.sources import Frame, open_source
from edge_affect.app.track import iou
from edge_affect.errors import EdgeAffectError, InputError
from edge_affect.models import get_spec
from edge_affect.runtime.preprocess import preprocess

FER_INPUT = get_spec("mini_xception_fer2013").input
RGB_INPUT = dataclasses.replace(FER_INPUT, color="rgb", scale=(1 / 255,) * 3, offset=(0.0,) * 3)
PADDED_INPUT = dataclasses.replace(FER_INPUT, size=(48, 64), pad="keep_aspect", pad_value=7, crop_margin=0.25)


@pytest.mark.parametrize("spec", [FER_INPUT, RGB_INPUT, PADDED_INPUT], ids=["gray", "rgb", "keep_aspect"])
@pytest.mark.parametrize("box", [(60, 40, 50, 70), (0, 0, 30, 30), (150, 100, 50, 40), (-10, 90, 40, 40),
                                 (0, 0, 200, 140)])
def test_face_input_equals_the_reference_on_the_whole_frame(spec, box):
    frame_bgr = np.random.default_rng(1).integers(0, 256, (140, 200, 3), dtype=np.uint8)
    expected = preprocess(np.ascontiguousarray(frame_bgr[..., ::-1]), spec, box)[0]
    np.testing.assert_array_equal(face_input(frame_bgr, spec, box), expected)


def test_face_input_rejects_a_box_outside_the_frame():
    with pytest.raises(InputError, match="outside the image"):
        face_input(np.zeros((50, 50, 3), np.uint8), FER_INPUT, (60, 0, 10, 10))


@pytest.fixture(scope="module")
def two_face_frames():
    return list(render_scene(real_face_sprites(110, 2), 12, drift=15, period=24))


def _frames(scene):
    return [Frame(i, i / 30, frame.copy()) for i, (frame, _) in enumerate(scene)]


@pytest.mark.parametrize("detect_every", [1, 4])
def test_faces_are_found_tracked_and_classified_every_frame(torch_backend, two_face_frames, detect_every):
    pipeline = AffectPipeline(torch_backend, HaarFaceDetector(), detect_every=detect_every)
    results = [pipeline.process(f) for f in _frames(two_face_frames)]
    assert [r.detected for r in results] == [i % detect_every == 0 for i in range(len(results))]
    ids = {r.faces[0].track_id for r in results} | {r.faces[1].track_id for r in results}
    assert ids == {0, 1} and all(len(r.faces) == 2 for r in results)
    for result, (_, truth) in zip(results, two_face_frames):
        for face in result.faces:
            assert max(iou(face.box, t) for t in truth) > 0.5  # boxes follow the drift between detections too
            assert face.values.shape == (7,) and abs(face.values.sum() - 1) < 1e-9
        assert result.faces[0].box[2] * result.faces[0].box[3] >= result.faces[1].box[2] * result.faces[1].box[3]
    astronaut = next(f for f in results[0].faces if iou(f.box, two_face_frames[0][1][0]) > 0.5)
    assert get_spec("mini_xception_fer2013").output.labels[int(np.argmax(astronaut.values))] == "happy"


def test_outputs_are_smoothed_per_track(torch_backend, two_face_frames):
    pipeline = AffectPipeline(torch_backend, HaarFaceDetector())
    frames = _frames(two_face_frames)[:2]
    first, second = pipeline.process(frames[0]), pipeline.process(frames[1])
    alpha = torch_backend.spec.output.smooth_alpha
    by_track = {f.track_id: f for f in first.faces}
    for face in second.faces:
        raw = torch_backend.infer(face_input(frames[1].image, torch_backend.spec.input, face.box)[None])[0]
        expected = alpha * raw + (1 - alpha) * by_track[face.track_id].values
        np.testing.assert_allclose(face.values, expected, atol=1e-6)  # batch of 2 vs 1: float sums reorder


def test_records_for_faces_and_for_frames_without_one(torch_backend, two_face_frames):
    pipeline = AffectPipeline(torch_backend, HaarFaceDetector())
    result = pipeline.process(_frames(two_face_frames)[0])
    rows = records(result, torch_backend)
    assert [r["face"] for r in rows] == [0, 1] and all(r["type"] == "face" and r["frame"] == 0 for r in rows)
    assert set(rows[0]["probabilities"]) == set(torch_backend.spec.output.labels)
    assert rows[0]["label"] == max(rows[0]["probabilities"], key=rows[0]["probabilities"].get)
    empty, _ = next(render_scene([], 1))
    assert records(pipeline.process(Frame(5, 0.5, empty)), torch_backend) == [
        {"type": "no_face", "frame": 5, "time": 0.5}]


def test_valence_arousal_records_name_the_values(torch_backend, va_spec):
    backend = Backend("torch", "va", "fp32", va_spec, runner=lambda x: np.tile([[0.3, -0.4]], (len(x), 1)))
    frame, _ = next(render_scene(real_face_sprites(110, 1), 1))
    (row,) = records(AffectPipeline(backend, HaarFaceDetector()).process(Frame(0, 0.0, frame)), backend)
    assert row["arousal"] == pytest.approx(0.3) and row["valence"] == pytest.approx(-0.4)
    assert "probabilities" not in row


def test_a_landmark_model_without_landmarks_names_the_extra(torch_backend):
    spec = dataclasses.replace(torch_backend.spec, input=dataclasses.replace(torch_backend.spec.input,
                                                                             source="landmarks68"))
    with pytest.raises(EdgeAffectError, match="dlib"):
        AffectPipeline(dataclasses.replace(torch_backend, spec=spec), HaarFaceDetector())


def test_run_writes_json_lines_annotated_video_and_timeline(torch_backend, two_face_frames, tmp_path):
    frames = [f for f, _ in two_face_frames[:6]] + [next(render_scene([], 1))[0]] * 2
    video = write_video(tmp_path / "in.avi", frames)
    stream = io.StringIO()
    with open_source(video) as source:
        summary = run(source, AffectPipeline(torch_backend, HaarFaceDetector()), out=tmp_path / "out.avi",
                      timeline=tmp_path / "timeline.png", json_stream=stream)
    rows = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [r["type"] for r in rows] == ["face"] * 12 + ["no_face"] * 2 + ["summary"]
    assert rows[-1]["frames"] == 8 and rows[-1]["faces"] == 12 and rows[-1]["frames_without_face"] == 2
    assert summary.fps > 0 and set(summary.stage_ms_per_frame()) == {"decode", "detect", "preprocess", "infer",
                                                                       "draw", "write"}
    with open_source(tmp_path / "out.avi") as annotated:
        out_frames = [f.image for f in annotated]
    assert len(out_frames) == 8 and np.abs(out_frames[0].astype(int) - frames[0]).max() > 100  # boxes drawn
    assert cv2.imread(str(tmp_path / "timeline.png")) is not None
    assert summary.outputs == {"annotated": str(tmp_path / "out.avi"), "timeline": str(tmp_path / "timeline.png")}


def test_output_paths_must_suit_the_input(tmp_path):
    with pytest.raises(InputError, match="an image input writes an image"):
        check_output_path(tmp_path / "x.avi", "image")
    with pytest.raises(InputError, match="a video input writes a video"):
        check_output_path(tmp_path / "x.png", "video")
    with pytest.raises(InputError, match="no such directory"):
        check_output_path(tmp_path / "missing" / "x.png", "image")
    assert check_output_path(tmp_path / "x.mp4", "camera") == tmp_path / "x.mp4"
