"""The one per-record function of dataset preparation.

``prepare_record(record, key, config)`` is pure: the same record and config
give the same bytes on any machine, so every engine (a local process pool,
Ray Data on a cluster) runs exactly this function and their shards agree.
It decodes the image, detects landmarks when the task needs them and the
annotation has none, cuts the face crop or eye slot the spec describes, and
encodes it. A record that cannot be prepared (undecodable image, no face,
an eye slot the paper's rules drop) comes back as a :class:`Rejection` with
the reason; only bugs raise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from edge_affect.data.records import LABEL_FIELDS, FaceRecord
from edge_affect.errors import InputError
from edge_affect.prep.landmarks import LandmarksUnavailable, detect_landmarks
from edge_affect.runtime.eye_slot import crop_eye_slot
from edge_affect.runtime.preprocess import crop_face
from edge_affect.spec import InputSpec

TASKS = ("face_crop", "eye_slot", "landmarks")
IMAGE_ENCODINGS = ("png", "raw")
# zlib level 1 with the "sub" row filter: as small as OpenCV's default (level 1,
# adaptive filter choice per row) on slots and face crops, in about 60% of the time
# (OpenCV < 4.10 has no filter option and keeps its default).
PNG_PARAMS = (cv2.IMWRITE_PNG_COMPRESSION, 1) + (
    (cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_SUB) if hasattr(cv2, "IMWRITE_PNG_FILTER") else ())
KEY_DIGITS = 9


@dataclass(frozen=True)
class PrepConfig:
    """What the per-record function needs; small and picklable, so it travels
    to every worker. ``spec`` is None for the ``landmarks`` task."""

    task: str
    spec: InputSpec | None
    encoding: str = "png"  # "png": encoded bytes (tar shards), "raw": the uint8 array (npz shards)
    landmark_model: str | None = None

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise InputError(f"task: expected one of {list(TASKS)}, got {self.task!r}")
        if self.encoding not in IMAGE_ENCODINGS:
            raise InputError(f"encoding: expected one of {list(IMAGE_ENCODINGS)}, got {self.encoding!r}")
        if self.task == "landmarks":
            if self.spec is not None:
                raise InputError("the landmarks task makes no image, so it takes no input spec")
        elif self.spec is None:
            raise InputError(f"task {self.task!r} needs an input spec")
        elif (self.spec.source == "eye_slot") != (self.task == "eye_slot"):
            raise InputError(f"task {self.task!r} cannot use a spec whose input.source is {self.spec.source!r}")

    @property
    def needs_landmarks(self) -> bool:
        return self.task in ("eye_slot", "landmarks") or (
            self.spec is not None and self.spec.source == "landmarks68")


@dataclass(frozen=True, eq=False)
class Sample:
    """A prepared record: ``meta`` is JSON-ready (key, source, labels, box,
    landmarks in the source image's pixels); the image is ``png`` bytes or a
    ``raw`` uint8 array at the spec's size, per the config's encoding, and
    neither for the landmarks task."""

    key: str
    meta: dict[str, Any]
    png: bytes | None = None
    raw: np.ndarray | None = None


@dataclass(frozen=True)
class Rejection:
    """A record left out, and why. ``stage`` is decode, landmarks or crop."""

    key: str
    source: str
    image: str | None
    stage: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "source": self.source, "image": self.image, "stage": self.stage,
                "reason": self.reason}


def record_key(index: int) -> str:
    """The sample key of the dataset's ``index``-th record: digits only, as
    WebDataset splits a member name into key and extension at the first dot."""
    return f"{index:0{KEY_DIGITS}d}"


def prepare_record(record: FaceRecord, key: str, config: PrepConfig) -> Sample | Rejection:
    """Decode -> landmarks if missing -> crop / eye slot per the spec -> encode."""

    def rejected(stage: str, reason: str) -> Rejection:
        image = str(record.image_path) if record.image_path is not None else None
        return Rejection(key, str(record.source), image, stage, reason)

    try:
        image = record.image()
    except InputError as exc:
        return rejected("decode", str(exc))

    landmarks, landmarks_from = record.landmarks, "annotation" if record.landmarks is not None else None
    if landmarks is None and config.needs_landmarks:
        try:
            landmarks, landmarks_from = detect_landmarks(image, record.box, config.landmark_model), "dlib"
        except (LandmarksUnavailable, InputError) as exc:
            return rejected("landmarks", f"no landmarks in the annotation, and {exc}")

    crop = None
    try:
        if config.task == "eye_slot":
            crop = crop_eye_slot(image, landmarks, config.spec)
        elif config.task == "face_crop":
            crop = crop_face(image, config.spec, box=record.box,
                             landmarks=landmarks if _box_from_landmarks(record, config.spec) else None)
    except InputError as exc:  # includes the eye slot's RejectedSample
        return rejected("crop", str(exc))

    meta = {
        "key": key,
        "source": str(record.source),
        "image": str(record.image_path) if record.image_path is not None else None,
        "labels": {name: getattr(record.labels, name) for name in LABEL_FIELDS},
        "box": list(record.box) if record.box is not None else None,
        "landmarks": landmarks.tolist() if landmarks is not None else None,
        "landmarks_from": landmarks_from,
        "extra": _jsonable(dict(record.extra)),
    }
    if crop is None:
        return Sample(key, meta)
    if config.encoding == "raw":
        return Sample(key, meta, raw=crop)
    return Sample(key, meta, png=encode_png(crop))


def _box_from_landmarks(record: FaceRecord, spec: InputSpec) -> bool:
    """Whether a face crop takes its box from the landmarks: always for
    ``landmarks68`` specs, and for ``face_box`` specs when the annotation has
    landmarks but no box. A face-box record with neither is already a face
    crop (as crop_face treats it): the whole image is the face."""
    if spec.source == "landmarks68":
        return True
    return spec.source == "face_box" and record.box is None and record.landmarks is not None


def encode_png(image: np.ndarray) -> bytes:
    """uint8 gray (H, W) or RGB (H, W, 3) -> PNG bytes (OpenCV wants BGR)."""
    pixels = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(".png", pixels, list(PNG_PARAMS))
    if not ok:  # pragma: no cover - OpenCV encodes every uint8 gray/BGR image
        raise RuntimeError(f"cv2.imencode failed on a {image.shape} image")
    return data.tobytes()


def decode_png(data: bytes) -> np.ndarray:
    """PNG bytes -> uint8 gray (H, W) or RGB (H, W, 3); inverse of encode_png."""
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise InputError(f"not a decodable PNG ({len(data)} bytes)")
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _jsonable(value: Any) -> Any:
    """Dataset ``extra`` values as JSON: numpy scalars and arrays become
    numbers and lists, anything else unknown its str()."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


__all__ = ["IMAGE_ENCODINGS", "TASKS", "PrepConfig", "Rejection", "Sample", "decode_png", "encode_png",
           "prepare_record", "record_key"]
