"""The one record type every dataset loader produces.

A :class:`FaceRecord` is one labelled face: where its pixels come from (an
image file, decoded only when asked, or an array already in memory), where
the face is (box and/or 68 landmarks, either may be absent), its labels for
the four tasks (absent ones are ``None``) and the file and line it was read
from, so that any later error can point back at the annotation.

Labels use one convention across datasets:

* ``expression``: index into FER-2013's order, ``EXPRESSIONS`` (0 angry,
  1 disgust, 2 fear, 3 happy, 4 sad, 5 surprise, 6 neutral); loaders map
  their dataset's own codes to it and keep the original in ``extra``.
* ``valence`` / ``arousal``: floats in [-1, 1].
* ``smile``: 0 or 1.

A :class:`Dataset` is the records of one load plus the rows the loader
dropped *on purpose* (counted per reason, never silently), e.g. AffectNet's
"no face" rows. Malformed input is not dropped: it raises
:class:`DatasetError` naming file, line, field, expected and got.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edge_affect.data.synthetic import EXPRESSIONS
from edge_affect.errors import InputError

logger = logging.getLogger(__name__)

Box = tuple[int, int, int, int]  # x, y, width, height in pixels

LABEL_FIELDS = ("expression", "valence", "arousal", "smile")

# Which label fields a model task needs (tasks as in edge_affect.spec.TASKS).
TASK_LABELS: dict[str, tuple[str, ...]] = {
    "expression": ("expression",),
    "valence_arousal": ("valence", "arousal"),
    "ocular_va": ("valence", "arousal"),
    "smile": ("smile",),
}


class DatasetError(InputError):
    """A dataset file that does not match its published format, or an image
    that cannot be decoded. The message names file, line and field."""


def dataset_error(path: str | Path, line: int | None, field_name: str, expected: str, got: Any) -> DatasetError:
    """A DatasetError with the project's message layout:
    ``file:line: field: expected ..., got ...``."""
    where = f"{path}:{line}" if line is not None else str(path)
    shown = got if isinstance(got, str) else repr(got)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return DatasetError(f"{where}: {field_name}: expected {expected}, got {shown}")


@dataclass(frozen=True)
class Source:
    """The annotation a record was read from: file and 1-based line (None
    for formats without lines, e.g. a JSON document or a file name)."""

    path: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line is not None else self.path


@dataclass(frozen=True)
class Labels:
    expression: int | None = None
    valence: float | None = None
    arousal: float | None = None
    smile: int | None = None

    def has(self, task: str) -> bool:
        """Whether every label the task (see TASK_LABELS) needs is present."""
        if task not in TASK_LABELS:
            raise InputError(f"task: expected one of {list(TASK_LABELS)}, got {task!r}")
        return all(getattr(self, name) is not None for name in TASK_LABELS[task])


@dataclass(frozen=True, eq=False)
class FaceRecord:
    """One labelled face. Exactly one of ``image_path`` / ``pixels`` is set."""

    labels: Labels
    source: Source
    image_path: Path | None = None
    pixels: np.ndarray | None = None  # uint8 (H, W) gray or (H, W, 3) RGB
    box: Box | None = None
    landmarks: np.ndarray | None = None  # float32 (68, 2) x, y in pixels, dlib layout
    extra: Mapping[str, Any] = field(default_factory=dict)  # dataset-specific: raw codes, pose, clip...

    def __post_init__(self) -> None:
        if (self.image_path is None) == (self.pixels is None):
            raise InputError(f"{self.source}: a record needs exactly one of image_path / pixels")

    def image(self) -> np.ndarray:
        """The pixels as uint8: (H, W) for gray files, (H, W, 3) RGB otherwise."""
        if self.pixels is not None:
            return self.pixels
        return decode_image(self.image_path)


def decode_image(path: Path) -> np.ndarray:
    """Read an image file as uint8 gray (H, W) or RGB (H, W, 3).

    Reads the bytes with numpy and decodes with cv2.imdecode so that paths
    OpenCV's own file I/O mishandles (non-ASCII on Windows) still work. Alpha
    is dropped and 16-bit images are reduced to 8 bits (IMREAD_ANYCOLOR)."""
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read image file ({exc.strerror or exc})") from None
    declared = _png_declared_size(data)
    if declared is not None and declared[0] * declared[1] > MAX_IMAGE_PIXELS:
        raise DatasetError(f"{path}: image of {declared[0]} x {declared[1]} pixels exceeds the limit of "
                           f"{MAX_IMAGE_PIXELS} pixels")
    try:
        image = cv2.imdecode(data, cv2.IMREAD_ANYCOLOR) if data.size else None
    except cv2.error as exc:  # e.g. a header claiming more than OpenCV's pixel limit (2^30)
        raise DatasetError(f"{path}: not a decodable image ({str(exc).strip().splitlines()[-1]})") from None
    if image is None:
        raise DatasetError(f"{path}: not a decodable image ({data.size} bytes)")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return image


# Larger than any face photo or video frame (16384 x 16384). OpenCV's own limit
# (2^30 pixels) does not hold for a PNG whose header claims a huge size and
# whose chunks are damaged: it allocates the full image first (3.6 GB for a
# 58-byte file claiming 60000 x 60000), so PNG sizes are checked here.
MAX_IMAGE_PIXELS = 1 << 28
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_declared_size(data: np.ndarray) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR chunk, None for other formats."""
    head = data[:24].tobytes()
    if len(head) < 24 or not head.startswith(_PNG_SIGNATURE) or head[12:16] != b"IHDR":
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


@dataclass
class Dataset:
    """The records of one load and the rows deliberately left out.

    ``dropped`` counts skipped rows per human-readable reason (e.g.
    ``"expression 8 (none)"``); ``class_names`` names the expression indices.
    """

    name: str
    records: list[FaceRecord]
    dropped: Counter[str] = field(default_factory=Counter)
    class_names: tuple[str, ...] = EXPRESSIONS

    def __post_init__(self) -> None:
        if self.dropped:  # a loader never shrinks a dataset silently
            logger.warning(self.summary())

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[FaceRecord]:
        return iter(self.records)

    def __getitem__(self, index: int) -> FaceRecord:
        return self.records[index]

    def labelled(self, task: str) -> list[FaceRecord]:
        """The records that carry every label ``task`` needs."""
        return [r for r in self.records if r.labels.has(task)]

    def summary(self) -> str:
        """One line: how many records were kept and why others were dropped."""
        text = f"{self.name}: {len(self.records)} records"
        if self.dropped:
            reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(self.dropped.items()))
            text += f"; dropped {sum(self.dropped.values())} ({reasons})"
        return text


__all__ = [
    "Box", "Dataset", "DatasetError", "FaceRecord", "Labels", "LABEL_FIELDS", "Source",
    "TASK_LABELS", "dataset_error", "decode_image",
]
