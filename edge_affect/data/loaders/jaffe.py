"""JAFFE (Lyons et al., 1998): 213 posed images of 10 Japanese women.

Each file name encodes its label: ``KA.AN1.39.tiff`` is subject KA, the
first angry pose, image 39. The second token's first two letters are the
expression: AN angry, DI disgust, FE fear, HA happy, NE neutral, SA sad,
SU surprise. Image files are found anywhere under the given folder; other
files (README, ...) are ignored; an image whose name does not follow the
pattern is an error.
"""

from __future__ import annotations

from pathlib import Path

from edge_affect.data.loaders._fields import is_image_file
from edge_affect.data.records import Dataset, FaceRecord, Labels, Source, dataset_error

JAFFE_TO_FER2013 = {"AN": 0, "DI": 1, "FE": 2, "HA": 3, "SA": 4, "SU": 5, "NE": 6}


def load_jaffe(path: str | Path) -> Dataset:
    root = Path(path)
    if not root.is_dir():
        raise dataset_error(root, None, "directory", "the JAFFE image folder", "not a directory")
    records = []
    for image_path in sorted(p for p in root.rglob("*") if is_image_file(p)):
        tokens = image_path.stem.split(".")
        code = tokens[1][:2].upper() if len(tokens) == 3 else ""
        if code not in JAFFE_TO_FER2013:
            raise dataset_error(image_path, None, "file name",
                                f"SUBJECT.CODEn.NUMBER with CODE in {sorted(JAFFE_TO_FER2013)}", image_path.name)
        records.append(FaceRecord(
            labels=Labels(expression=JAFFE_TO_FER2013[code]),
            source=Source(str(image_path)),
            image_path=image_path,
            extra={"subject": tokens[0], "jaffe_code": tokens[1]},
        ))
    return Dataset("jaffe", records)
