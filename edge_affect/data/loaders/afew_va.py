"""AFEW-VA (Kossaifi et al., 2017): 600 movie clips, per-frame valence,
arousal and 68 landmarks.

Layout: one directory per clip, e.g. ``001/``, holding its frames
(``00000.png``, ...) and ``001.json``::

    {"actor": "...", "frames": {"00000": {"valence": -3, "arousal": 5,
                                          "landmarks": [[x, y], ... 68 pairs]}}}

Valence and arousal are integers in [-10, 10]; records carry them divided
by 10, in [-1, 1]. Every record keeps its clip id in ``extra["clip"]`` so
that cross-validation can keep a clip's frames in one fold
(``split.kfold(..., groups=...)``). A labelled frame whose image file is
missing is dropped and counted.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from edge_affect.data.loaders._fields import is_image_file, read_text
from edge_affect.data.records import Dataset, FaceRecord, Labels, Source, dataset_error

AFEW_VA_RANGE = 10


def load_afew_va(path: str | Path) -> Dataset:
    """Records of every clip directory under ``path`` (hidden and ``__*``
    directories, e.g. ``__MACOSX``, are not clips)."""
    root = Path(path)
    if not root.is_dir():
        raise dataset_error(root, None, "directory", "the AFEW-VA root (one folder per clip)", "not a directory")
    records, dropped = [], Counter()
    for clip_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "__"))):
        json_path = clip_dir / f"{clip_dir.name}.json"
        if not json_path.is_file():
            raise dataset_error(clip_dir, None, "annotation", f"{json_path.name} in the clip directory", "no such file")
        frames_on_disk = {p.stem: p for p in clip_dir.iterdir() if is_image_file(p)}
        for frame_id, labels, landmarks, actor in _frames(json_path):
            image_path = frames_on_disk.get(frame_id)
            if image_path is None:
                dropped["frame image missing"] += 1
                continue
            records.append(FaceRecord(
                labels=labels,
                source=Source(str(json_path)),
                image_path=image_path,
                landmarks=landmarks,
                extra={"clip": clip_dir.name, "frame": frame_id, "actor": actor},
            ))
    return Dataset("afew_va", records, dropped)


def _frames(json_path: Path):
    """Yield (frame id, labels, landmarks, actor) of one clip's annotation."""
    try:
        doc = json.loads(read_text(json_path, "annotation"))
    except json.JSONDecodeError as exc:
        raise dataset_error(json_path, exc.lineno, "json", "a JSON document", exc.msg) from None
    except RecursionError:
        raise dataset_error(json_path, None, "json", "a JSON document", "arrays or objects nested too deep") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("frames"), dict):
        raise dataset_error(json_path, None, "frames", "an object of frame id -> annotation", _kind(doc, "frames"))
    actor = doc.get("actor")
    for frame_id in sorted(doc["frames"]):
        frame = doc["frames"][frame_id]
        where = f"frames.{frame_id}"
        if not isinstance(frame, dict):
            raise dataset_error(json_path, None, where, "an object", type(frame).__name__)
        valence = _score(frame, "valence", json_path, where)
        arousal = _score(frame, "arousal", json_path, where)
        yield frame_id, Labels(valence=valence, arousal=arousal), _landmarks(frame, json_path, where), actor


def _score(frame: dict[str, Any], key: str, path: Path, where: str) -> float:
    value = frame.get(key)
    # Range first: it also keeps math.isfinite from an int too large for a float.
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and -AFEW_VA_RANGE <= value <= AFEW_VA_RANGE
    if not ok or not math.isfinite(value):
        raise dataset_error(path, None, f"{where}.{key}", "a number in [-10, 10]", repr(value))
    return float(value) / AFEW_VA_RANGE


def _landmarks(frame: dict[str, Any], path: Path, where: str) -> np.ndarray:
    value = frame.get("landmarks")
    try:
        pts = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        pts = None
    if pts is not None:
        with np.errstate(over="ignore"):  # finite in float64 but not in float32 is caught below
            pts = pts.astype(np.float32)
    if pts is None or pts.shape != (68, 2) or not np.all(np.isfinite(pts)):
        got = f"shape {pts.shape}" if pts is not None else repr(value)
        raise dataset_error(path, None, f"{where}.landmarks", "68 [x, y] pairs of finite numbers", got)
    return pts


def _kind(doc: Any, key: str) -> str:
    if not isinstance(doc, dict):
        return f"a JSON {type(doc).__name__}"
    return "no such key" if key not in doc else type(doc[key]).__name__
