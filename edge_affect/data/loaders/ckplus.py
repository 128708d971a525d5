"""CK+ (Extended Cohn-Kanade, Lucey et al., 2010): posed sequences from
neutral to peak expression; the peak frame of 327 sequences is labelled.

Layout::

    cohn-kanade-images/S005/001/S005_001_00000011.png
    Emotion/S005/001/S005_001_00000011_emotion.txt    one float, 0..7
    Landmarks/S005/001/S005_001_00000011_landmarks.txt  (optional) 68 lines "x y"

Codes: 0 neutral, 1 anger, 2 contempt, 3 disgust, 4 fear, 5 happy,
6 sadness, 7 surprise, mapped to FER-2013 classes. Contempt has no FER-2013
class and expression is CK+'s only label, so contempt sequences are dropped
and counted (the raw code stays available by reading the files). The
distribution's nesting (``extended-cohn-kanade-images/``,
``Emotion_labels/``, ``Landmarks/Landmarks/``) is also accepted.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from edge_affect.data.loaders._fields import find_first, parse_float, parse_landmarks, read_text
from edge_affect.data.records import Dataset, FaceRecord, Labels, Source, dataset_error

CKPLUS_EXPRESSIONS = ("neutral", "anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise")
CKPLUS_TO_FER2013: dict[int, int | None] = {
    0: 6,  # neutral
    1: 0,  # anger -> angry
    2: None,  # contempt: no FER-2013 class, dropped
    3: 1,  # disgust
    4: 2,  # fear
    5: 3,  # happy
    6: 4,  # sadness -> sad
    7: 5,  # surprise
}


def load_ckplus(path: str | Path, include_neutral: bool = False) -> Dataset:
    """The labelled peak frame of every sequence; with ``include_neutral``
    also each labelled sequence's first frame, as neutral."""
    root = Path(path)
    images = find_first([root / "cohn-kanade-images", root / "extended-cohn-kanade-images" / "cohn-kanade-images"],
                        "image directory", root, True)
    emotions = find_first([root / "Emotion", root / "Emotion_labels" / "Emotion"], "label directory", root, True)
    landmark_dirs = [d for d in (root / "Landmarks", root / "Landmarks" / "Landmarks") if d.is_dir()]
    records, dropped = [], Counter()
    for label_path in sorted(emotions.glob("*/*/*_emotion.txt")):
        code = _read_code(label_path)
        if CKPLUS_TO_FER2013[code] is None:
            dropped[f"{CKPLUS_EXPRESSIONS[code]} (no FER-2013 class)"] += 1
            continue
        subject, sequence = label_path.parent.parent.name, label_path.parent.name
        stem = label_path.name[: -len("_emotion.txt")]
        sequence_dir = images / subject / sequence
        peak = sequence_dir / f"{stem}.png"
        if not peak.is_file():
            raise dataset_error(label_path, None, "image", f"the labelled frame {peak}", "no such file")
        source = Source(str(label_path), 1)
        records.append(FaceRecord(
            labels=Labels(expression=CKPLUS_TO_FER2013[code]), source=source, image_path=peak,
            landmarks=_landmarks(landmark_dirs, subject, sequence, stem),
            extra={"ckplus_expression": code, "subject": subject, "sequence": sequence, "frame": "peak"},
        ))
        if include_neutral:
            first = sorted(sequence_dir.glob("*.png"))[0]
            records.append(FaceRecord(
                labels=Labels(expression=CKPLUS_TO_FER2013[0]), source=source, image_path=first,
                landmarks=_landmarks(landmark_dirs, subject, sequence, first.stem),
                extra={"ckplus_expression": 0, "subject": subject, "sequence": sequence, "frame": "first"},
            ))
    return Dataset("ckplus", records, dropped)


def _read_code(path: Path) -> int:
    lines = [(n, t) for n, t in enumerate(read_text(path, "emotion").splitlines(), start=1) if t.strip()]
    if len(lines) != 1:
        raise dataset_error(path, None, "emotion", "one number 0..7", f"{len(lines)} non-empty lines")
    line, text = lines[0]
    value = parse_float(text, path, line, "emotion")
    if value != int(value) or not 0 <= value <= 7:
        raise dataset_error(path, line, "emotion", "a whole number in [0, 7]", text.strip())
    return int(value)


def _landmarks(dirs: list[Path], subject: str, sequence: str, stem: str) -> np.ndarray | None:
    for d in dirs:
        path = d / subject / sequence / f"{stem}_landmarks.txt"
        if path.is_file():
            rows = [t.split() for t in read_text(path, "landmarks").splitlines() if t.strip()]
            if any(len(r) != 2 for r in rows):
                bad = next(n for n, r in enumerate(rows, start=1) if len(r) != 2)
                raise dataset_error(path, bad, "landmark", "two numbers: x y", " ".join(rows[bad - 1]))
            return parse_landmarks([v for r in rows for v in r], path, None, "landmarks")
    return None
