"""FER-2013 (Goodfellow et al., 2013): one CSV, a 48x48 gray face per row.

Format: header ``emotion,pixels,Usage``; ``emotion`` is 0..6 in FER-2013's
own order (which is the project's expression order); ``pixels`` is 2304
space-separated integers 0..255, row-major; ``Usage`` is Training,
PublicTest or PrivateTest. Kaggle's later ``train.csv`` has no Usage column:
every row is then treated as Training. The pixels are parsed (and checked)
at load time and kept in memory (about 82 MB for the full set).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from edge_affect.data.loaders._fields import parse_int, read_csv_rows
from edge_affect.data.records import Dataset, FaceRecord, Labels, Source, dataset_error
from edge_affect.data.synthetic import EXPRESSIONS
from edge_affect.errors import InputError

FER2013_SIZE = 48
FER2013_USAGES = ("Training", "PublicTest", "PrivateTest")


def load_fer2013(path: str | Path, usage: str | Sequence[str] | None = None) -> Dataset:
    """Records of ``fer2013.csv`` (or a directory holding it), optionally only
    the rows whose Usage is ``usage`` (one name or several)."""
    csv_path = Path(path)
    if csv_path.is_dir():
        csv_path = csv_path / "fer2013.csv"
    wanted = _usages(usage)
    records = []
    for line, row in read_csv_rows(csv_path, ("emotion", "pixels")):
        row_usage = row.get("Usage", "Training").strip()
        if row_usage not in FER2013_USAGES:
            raise dataset_error(csv_path, line, "Usage", f"one of {list(FER2013_USAGES)}", row_usage)
        if wanted is not None and row_usage not in wanted:
            continue
        emotion = parse_int(row["emotion"], csv_path, line, "emotion", 0, len(EXPRESSIONS) - 1)
        records.append(FaceRecord(
            labels=Labels(expression=emotion),
            source=Source(str(csv_path), line),
            pixels=_pixels(row["pixels"], csv_path, line),
            box=(0, 0, FER2013_SIZE, FER2013_SIZE),
            extra={"usage": row_usage},
        ))
    name = "fer2013" if wanted is None else f"fer2013[{'+'.join(sorted(wanted))}]"
    return Dataset(name, records)


def _usages(usage: str | Sequence[str] | None) -> set[str] | None:
    if usage is None:
        return None
    names = {usage} if isinstance(usage, str) else set(usage)
    unknown = sorted(names - set(FER2013_USAGES))
    if unknown or not names:
        raise InputError(f"fer2013 usage: expected names from {list(FER2013_USAGES)}, got {sorted(names)}")
    return names


def _pixels(text: str, path: Path, line: int) -> np.ndarray:
    n = FER2013_SIZE * FER2013_SIZE
    pixels = _fast_parse(text)
    if pixels is None or pixels.size != n:  # find the precise fault the slow way
        values = text.split()
        if len(values) != n:
            raise dataset_error(path, line, "pixels", f"{n} space-separated integers (48x48)", f"{len(values)} values")
        bad = next((v for v in values if not v.lstrip("-").isdigit()), None)
        if bad is not None:
            raise dataset_error(path, line, "pixels", "integers in [0, 255]", bad)
        pixels = np.array(values, dtype=np.int64)
    if pixels.min() < 0 or pixels.max() > 255:
        bad = pixels[(pixels < 0) | (pixels > 255)][0]
        raise dataset_error(path, line, "pixels", "integers in [0, 255]", str(bad))
    return pixels.astype(np.uint8).reshape(FER2013_SIZE, FER2013_SIZE)


def _fast_parse(text: str) -> np.ndarray | None:
    """numpy's C text parser (5x faster than int() per token: the full set
    loads in seconds); None where it stops early on a bad token, which numpy
    reports as a warning that this turns into an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return np.fromstring(text, dtype=np.int64, sep=" ")
        except (ValueError, DeprecationWarning):
            return None
