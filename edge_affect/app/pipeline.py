"""The frame loop: decode -> detect -> preprocess -> infer -> smooth -> draw.

Every face of a frame goes through the reference preprocessing
(``edge_affect.runtime``, bit-exact with the device C) and all of a frame's
faces run as one batch in the chosen backend. Per-stage wall times are
accumulated for the FPS summary.

Detection cadence: the full-frame detector runs on every ``detect_every``-th
frame (k; 1 = every frame), and finds new faces. On the frames in between,
each tracked face is re-found by ``detect_near`` in a window around its last
box (a fraction of the frame, at sizes near the face's own). A face not found
there is left out of that frame rather than classified on pixels it has left;
its track lives on until the next full-frame detection. A full-frame Haar pass at 640x480 costs
tens of ms on one core and a window a millisecond or two, so k trades how
soon a new face is noticed (k - 1 frames at most) for frame rate.

JSON lines (``records``): one ``{"type": "face", ...}`` record per face per
frame; a frame without a face gives one ``{"type": "no_face", "frame", "time"}``
record, so every frame appears in the stream and "no face" is explicit; the
run ends with one ``{"type": "summary", ...}`` record.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Iterator

import cv2
import numpy as np

from edge_affect.app.backends import Backend
from edge_affect.app.detect import Box, DlibLandmarks, HaarFaceDetector
from edge_affect.app.draw import draw_frame, is_valence_arousal
from edge_affect.app.sources import IMAGE_SUFFIXES, Frame, FrameSource
from edge_affect.app.timeline import Timeline
from edge_affect.app.track import FaceTracker
from edge_affect.errors import InputError
from edge_affect.runtime.eye_slot import RejectedSample, preprocess_eye_slot
from edge_affect.runtime.preprocess import box_from_landmarks, check_box, grow_box, keep_aspect_box, preprocess
from edge_affect.spec import InputSpec

STAGES = ("decode", "detect", "preprocess", "infer", "draw", "write")
VIDEO_CODECS = {".avi": "MJPG", ".mp4": "mp4v", ".mkv": "MJPG", ".mov": "mp4v"}


# ---------------------------------------------------------------------------- preprocessing

def face_input(frame_bgr: np.ndarray, spec: InputSpec, box: Box, landmarks: np.ndarray | None = None) -> np.ndarray:
    """One face of a BGR frame -> float32 model input (C, H, W), by the reference preprocessing.

    Only the pixels the crop reads are converted (BGR -> RGB -> the spec's
    colour), not the whole frame: the reference works pixel by pixel, so the
    result equals ``preprocess(whole RGB frame, spec, box)`` exactly, at a
    fraction of the cost of converting 640x480 pixels per face."""
    if spec.source == "eye_slot":
        if landmarks is None:
            raise InputError("input.source 'eye_slot' needs 68 landmarks per face")
        return preprocess_eye_slot(np.ascontiguousarray(frame_bgr[..., ::-1]), landmarks, spec)[0]
    if spec.source == "full_frame":
        return preprocess(np.ascontiguousarray(frame_bgr[..., ::-1]), spec)[0]
    if spec.source == "landmarks68":
        if landmarks is None:
            raise InputError("input.source 'landmarks68' needs 68 landmarks per face")
        box = box_from_landmarks(landmarks)
    height, width = frame_bgr.shape[:2]
    box = check_box(box, frame_bgr.shape)
    rx, ry, rw, rh = grow_box(box, spec)
    if spec.pad == "keep_aspect":
        rx, ry, rw, rh = keep_aspect_box((rx, ry, rw, rh), spec.size)
    x0, y0, x1, y1 = max(rx, 0), max(ry, 0), min(rx + rw, width), min(ry + rh, height)
    region = np.ascontiguousarray(frame_bgr[y0:y1, x0:x1, ::-1])
    return preprocess(region, spec, (box[0] - x0, box[1] - y0, box[2], box[3]))[0]


# ---------------------------------------------------------------------------- timing

class StageTimer:
    """Wall time per stage, summed over a run."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - start


# ---------------------------------------------------------------------------- results

@dataclass(frozen=True)
class FaceResult:
    index: int  # 0 = the largest face of the frame
    track_id: int
    box: Box
    values: np.ndarray  # smoothed outputs: probabilities, or valence/arousal


@dataclass(frozen=True)
class FrameResult:
    index: int
    time: float
    faces: list[FaceResult]
    detected: bool  # whether the full-frame detector ran on this frame (see detect_every)
    rejected: int = 0  # faces found but dropped (e.g. an eye slot the spec's rules reject)


def face_record(frame: FrameResult, face: FaceResult, backend: Backend) -> dict[str, Any]:
    spec = backend.spec
    record: dict[str, Any] = {"type": "face", "frame": frame.index, "time": round(frame.time, 4),
                              "face": face.index, "track": face.track_id, "box": list(face.box)}
    values = [round(float(v), 6) for v in face.values]
    if is_valence_arousal(spec) or spec.output.post in ("clamp", "none"):
        record.update(zip(spec.output.labels, values))
    else:
        if spec.output.post == "softmax":
            record["label"] = spec.output.labels[int(np.argmax(face.values))]
        record["probabilities"] = dict(zip(spec.output.labels, values))
    return record


def records(frame: FrameResult, backend: Backend) -> list[dict[str, Any]]:
    if not frame.faces:
        return [{"type": "no_face", "frame": frame.index, "time": round(frame.time, 4)}]
    return [face_record(frame, face, backend) for face in frame.faces]


# ---------------------------------------------------------------------------- the pipeline

class AffectPipeline:
    """Per-frame processing; keeps the face tracks between frames of one video."""

    def __init__(self, backend: Backend, detector: HaarFaceDetector, detect_every: int = 1,
                 landmarks: DlibLandmarks | None = None, timer: StageTimer | None = None):
        if detect_every < 1:
            raise InputError(f"detect_every: expected >= 1, got {detect_every}")
        spec = backend.spec
        if spec.input.source in ("landmarks68", "eye_slot") and landmarks is None:
            from edge_affect.app.detect import landmarks_provider

            landmarks_provider(None, spec.input.source)  # raises, naming the optional extra
        self.backend, self.detector, self.landmarks = backend, detector, landmarks
        self.detect_every = detect_every
        self.tracker = FaceTracker(spec.output.smooth_alpha)
        self.timer = timer or StageTimer()
        self.last_result: FrameResult | None = None
        self._frames = 0

    def process(self, frame: Frame) -> FrameResult:
        image = frame.image
        detected = self._frames % self.detect_every == 0
        self._frames += 1
        with self.timer.stage("detect"):
            gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
            if detected:
                tracks = self.tracker.update(self.detector.detect(gray))
            else:
                tracks = []
                for track in self.tracker.current():
                    box = self.detector.detect_near(gray, track.box)
                    if box is not None:
                        track.box = box
                        tracks.append(track)
                tracks.sort(key=lambda t: (-t.box[2] * t.box[3], t.box[1], t.box[0]))  # face 0 = largest
            points = [self.landmarks(gray, t.box) for t in tracks] if self.landmarks is not None else None
        with self.timer.stage("preprocess"):
            inputs, kept = [], []
            for i, track in enumerate(tracks):
                try:
                    inputs.append(face_input(image, self.backend.spec.input, track.box,
                                             None if points is None else points[i]))
                    kept.append(track)
                except RejectedSample:
                    pass
        with self.timer.stage("infer"):
            if kept:
                outputs = self.backend.infer(np.stack(inputs))
                smoothed = [track.smooth(values) for track, values in zip(kept, outputs)]
        faces = [FaceResult(i, t.id, t.box, smoothed[i]) for i, t in enumerate(kept)]
        self.last_result = FrameResult(frame.index, frame.time, faces, detected, rejected=len(tracks) - len(kept))
        return self.last_result


# ---------------------------------------------------------------------------- running a source

@dataclass
class RunSummary:
    source: str
    kind: str
    backend: str
    precision: str
    model: str
    frames: int = 0
    faces: int = 0  # face detections summed over frames
    frames_without_face: int = 0
    faces_rejected: int = 0
    detect_every: int = 1
    wall_s: float = 0.0
    stage_s: dict[str, float] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0

    def stage_ms_per_frame(self) -> dict[str, float]:
        return {k: 1e3 * v / self.frames for k, v in self.stage_s.items()} if self.frames else {}

    def infer_ms_per_face(self) -> float | None:
        return 1e3 * self.stage_s.get("infer", 0.0) / self.faces if self.faces else None

    def to_json(self) -> dict[str, Any]:
        return {"type": "summary", "source": self.source, "kind": self.kind, "model": self.model,
                "backend": self.backend, "precision": self.precision, "frames": self.frames,
                "faces": self.faces, "frames_without_face": self.frames_without_face,
                "faces_rejected": self.faces_rejected, "detect_every": self.detect_every,
                "fps": round(self.fps, 2), "wall_s": round(self.wall_s, 4),
                "stage_ms_per_frame": {k: round(v, 3) for k, v in self.stage_ms_per_frame().items()},
                "infer_ms_per_face": None if self.faces == 0 else round(self.infer_ms_per_face(), 4),
                "outputs": self.outputs}


def check_output_path(path: str | Path, kind: str) -> Path:
    """An annotated output path whose suffix suits the source (image vs video)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if kind == "image" and suffix not in IMAGE_SUFFIXES:
        raise InputError(f"{path}: an image input writes an image; use one of {sorted(IMAGE_SUFFIXES)}")
    if kind != "image" and suffix not in VIDEO_CODECS:
        raise InputError(f"{path}: a video input writes a video; use one of {sorted(VIDEO_CODECS)}")
    if path.parent and not path.parent.exists():
        raise InputError(f"{path.parent}: no such directory for the output")
    return path


class VideoSink:
    def __init__(self, path: Path, fps: float):
        self.path, self.fps = Path(path), fps
        self.writer: cv2.VideoWriter | None = None

    def write(self, frame: np.ndarray) -> None:
        if self.writer is None:
            fourcc = cv2.VideoWriter_fourcc(*VIDEO_CODECS[self.path.suffix.lower()])
            self.writer = cv2.VideoWriter(str(self.path), fourcc, self.fps, (frame.shape[1], frame.shape[0]))
            if not self.writer.isOpened():
                raise InputError(f"{self.path}: OpenCV cannot write this video (codec "
                                 f"{VIDEO_CODECS[self.path.suffix.lower()]})")
        self.writer.write(frame)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()


def run(source: FrameSource, pipeline: AffectPipeline, *, out: str | Path | None = None,
        timeline: str | Path | None = None, json_stream: IO[str] | None = None, draw: bool | None = None,
        max_frames: int | None = None) -> RunSummary:
    """Process every frame of `source`.

    out          annotated image (image source) or video (video / camera)
    timeline     PNG of person 0's outputs over time (videos and cameras)
    json_stream  JSON lines: per-face records, no-face records, then the summary
    draw         annotate frames even without `out` (benchmarks); default: only when writing
    """
    backend = pipeline.backend
    summary = RunSummary(source.name, source.kind, backend.name, backend.precision, backend.model,
                         detect_every=pipeline.detect_every)
    out_path = check_output_path(out, source.kind) if out is not None else None
    draw = out_path is not None if draw is None else draw
    video = VideoSink(out_path, source.fps or 30.0) if out_path is not None and source.kind != "image" else None
    plot = Timeline(backend.spec) if timeline is not None else None
    timer = pipeline.timer
    start = time.perf_counter()
    frames = iter(source)
    try:
        while max_frames is None or summary.frames < max_frames:
            with timer.stage("decode"):
                frame = next(frames, None)
            if frame is None:
                break
            result = pipeline.process(frame)
            summary.frames += 1
            summary.faces += len(result.faces)
            summary.frames_without_face += not result.faces
            summary.faces_rejected += result.rejected
            if draw:
                with timer.stage("draw"):
                    draw_frame(frame.image, result.faces, backend.spec)
            if plot is not None:
                plot.add(frame.time, result.faces)
            if json_stream is not None:
                for record in records(result, backend):
                    json_stream.write(json.dumps(record) + "\n")
                json_stream.flush()
            if out_path is not None:
                with timer.stage("write"):
                    if video is not None:
                        video.write(frame.image)
                    elif not cv2.imwrite(str(out_path), frame.image):
                        raise InputError(f"{out_path}: OpenCV could not write the image")
    except KeyboardInterrupt:
        if source.kind != "camera":
            raise
        # Ctrl-C is how a camera run ends: finish the video, timeline and summary as usual.
    finally:
        if video is not None:
            video.close()
    summary.wall_s = time.perf_counter() - start
    summary.stage_s = {k: timer.seconds[k] for k in STAGES if k in timer.seconds}
    if out_path is not None:
        summary.outputs["annotated"] = str(out_path)
    if plot is not None and summary.frames:
        plot.save(timeline, title=f"{backend.model} ({backend.name}): person 0 (largest face)")
        summary.outputs["timeline"] = str(timeline)
    if json_stream is not None:
        json_stream.write(json.dumps(summary.to_json()) + "\n")
        json_stream.flush()
    return summary
