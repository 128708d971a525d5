"""GENKI-4K (MPLab, UC San Diego): 4000 faces labelled smile / no smile
with head pose.

Layout: a labels file with one line per image, ``smile yaw pitch roll``
(smile 0 or 1, pose in radians), and the images ``files/file0001.jpg``,
``files/file0002.jpg``, ... numbered from 1 in line order, beside it. The
labels file is ``labels.txt``, ``GENKI4K/labels.txt`` or the original
``GENKI-4K_Labels.txt``. Pose goes to ``extra["pose"]`` as (yaw, pitch, roll).
"""

from __future__ import annotations

from pathlib import Path

from edge_affect.data.loaders._fields import find_first, parse_float, parse_int, read_text
from edge_affect.data.records import Dataset, FaceRecord, Labels, Source, dataset_error

LABEL_FILES = ("labels.txt", "GENKI4K/labels.txt", "GENKI-4K_Labels.txt", "GENKI4K/GENKI-4K_Labels.txt")


def load_genki4k(path: str | Path) -> Dataset:
    """Records of the GENKI-4K copy at ``path`` (its folder or labels file)."""
    given = Path(path)
    if given.is_file():
        labels_path = given
    else:
        labels_path = find_first([given / name for name in LABEL_FILES], "labels file", given, False)
    files_dir = labels_path.parent / "files"
    records = []
    lines = read_text(labels_path, "labels file").splitlines()
    while lines and not lines[-1].strip():
        lines.pop()  # a trailing newline is not an image
    for line, text in enumerate(lines, start=1):
        fields = text.split()
        if len(fields) != 4:
            raise dataset_error(labels_path, line, "row", "4 fields: smile yaw pitch roll", text)
        smile = parse_int(fields[0], labels_path, line, "smile", 0, 1)
        pose = tuple(parse_float(v, labels_path, line, name) for v, name in zip(fields[1:], ("yaw", "pitch", "roll")))
        records.append(FaceRecord(
            labels=Labels(smile=smile),
            source=Source(str(labels_path), line),
            image_path=files_dir / f"file{line:04d}.jpg",
            extra={"pose": pose},
        ))
    return Dataset("genki4k", records)
