"""AffectNet (Mollahosseini et al., 2017), manually annotated part.

Format: ``training.csv`` / ``validation.csv`` with header
``subDirectory_filePath,face_x,face_y,face_width,face_height,
facial_landmarks,expression,valence,arousal``; ``facial_landmarks`` is 136
semicolon-separated numbers x1;y1;x2;y2;... in dlib's 68-point order;
``expression`` is 0 neutral, 1 happy, 2 sad, 3 surprise, 4 fear, 5 disgust,
6 anger, 7 contempt, 8 none, 9 uncertain, 10 no-face; valence and arousal
are in [-1, 1], with -2 meaning "not annotated". Image paths are relative
to ``Manually_Annotated_Images/``.

Rows dropped on purpose (counted in ``Dataset.dropped``, never silently):
codes 8-10 (no usable expression, usually no face) and rows whose valence
or arousal is outside [-1, 1] (seed 1's rule).

Contempt (7) has no FER-2013 class. Such rows are kept, with
``labels.expression = None``: their valence/arousal are valid training data
for the regression tasks, and folding contempt into another class (disgust
is the usual pick) would put label noise into the expression task. The raw
code is always in ``extra["affectnet_expression"]``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from edge_affect.data.loaders._fields import parse_float, parse_int, parse_landmarks, read_csv_rows
from edge_affect.data.records import Dataset, FaceRecord, Labels, Source, dataset_error
from edge_affect.errors import InputError

AFFECTNET_EXPRESSIONS = (
    "neutral", "happy", "sad", "surprise", "fear", "disgust", "anger", "contempt", "none", "uncertain", "no-face",
)
AFFECTNET_TO_FER2013: dict[int, int | None] = {
    0: 6,  # neutral
    1: 3,  # happy
    2: 4,  # sad
    3: 5,  # surprise
    4: 2,  # fear
    5: 1,  # disgust
    6: 0,  # anger -> angry
    7: None,  # contempt: no FER-2013 class (see module docstring)
}
"""AffectNet expression code -> FER-2013 class index; codes 8-10 are dropped."""

AFFECTNET_COLUMNS = (
    "subDirectory_filePath", "face_x", "face_y", "face_width", "face_height",
    "facial_landmarks", "expression", "valence", "arousal",
)
AFFECTNET_SPLITS = ("training", "validation")
IMAGES_DIR = "Manually_Annotated_Images"


def load_affectnet(path: str | Path, split: str | None = None, images_root: str | Path | None = None) -> Dataset:
    """Records of one AffectNet CSV.

    ``path`` is the CSV itself or a directory holding ``{split}.csv`` (split
    defaults to "training"; also looked up under
    ``Manually_Annotated_file_lists/``). Images resolve against
    ``images_root``, else the first existing of ``Manually_Annotated_Images``
    beside the CSV or beside its folder, else the CSV's folder.
    """
    csv_path = _csv_path(Path(path), split)
    root = Path(images_root) if images_root is not None else _images_root(csv_path)
    records, dropped = [], Counter()
    for line, row in read_csv_rows(csv_path, AFFECTNET_COLUMNS):
        code = parse_int(row["expression"], csv_path, line, "expression", 0, len(AFFECTNET_EXPRESSIONS) - 1)
        if code not in AFFECTNET_TO_FER2013:
            dropped[f"expression {code} ({AFFECTNET_EXPRESSIONS[code]})"] += 1
            continue
        valence = parse_float(row["valence"], csv_path, line, "valence")
        arousal = parse_float(row["arousal"], csv_path, line, "arousal")
        if not (-1.0 <= valence <= 1.0 and -1.0 <= arousal <= 1.0):
            dropped["valence/arousal outside [-1, 1]"] += 1
            continue
        records.append(FaceRecord(
            labels=Labels(expression=AFFECTNET_TO_FER2013[code], valence=valence, arousal=arousal),
            source=Source(str(csv_path), line),
            image_path=root / _relative_image_path(row["subDirectory_filePath"], csv_path, line),
            box=_box(row, csv_path, line),
            landmarks=parse_landmarks(row["facial_landmarks"].split(";"), csv_path, line, "facial_landmarks"),
            extra={"affectnet_expression": code},
        ))
    return Dataset(f"affectnet[{csv_path.stem}]", records, dropped)


def _csv_path(path: Path, split: str | None) -> Path:
    if split is not None and split not in AFFECTNET_SPLITS:
        raise InputError(f"affectnet split: expected one of {list(AFFECTNET_SPLITS)}, got {split!r}")
    if not path.is_dir():
        return path
    name = f"{split or 'training'}.csv"
    for candidate in (path / name, path / "Manually_Annotated_file_lists" / name):
        if candidate.is_file():
            return candidate
    raise dataset_error(path, None, "split file", f"{name} in it or in Manually_Annotated_file_lists/", "none")


def _images_root(csv_path: Path) -> Path:
    folder = csv_path.parent
    for candidate in (folder / IMAGES_DIR, folder.parent / IMAGES_DIR):
        if candidate.is_dir():
            return candidate
    return folder


def _relative_image_path(text: str, path: Path, line: int) -> Path:
    rel = Path(text.strip())
    if not text.strip() or rel.is_absolute() or ".." in rel.parts or "\0" in text:
        raise dataset_error(path, line, "subDirectory_filePath", "a relative image path without NUL bytes", text)
    return rel


def _box(row: dict[str, str], path: Path, line: int) -> tuple[int, int, int, int]:
    x = parse_int(row["face_x"], path, line, "face_x")
    y = parse_int(row["face_y"], path, line, "face_y")
    w = parse_int(row["face_width"], path, line, "face_width", 1, None)
    h = parse_int(row["face_height"], path, line, "face_height", 1, None)
    return x, y, w, h
