"""A generic labelled image folder: ``root/<label>/*.png|jpg|...``.

The class of an image is its folder's name. Without a ``labels`` list: if
every folder is named after a FER-2013 class (angry, disgust, fear, happy,
sad, surprise, neutral; e.g. the image-folder copies of FER-2013) the
FER-2013 order is used, otherwise the sorted folder names. With ``labels``,
the index is the position in that list and an unknown folder is an error.
``task="smile"`` stores the index as the smile flag (labels must then be
two names, not-smiling first, e.g. ``["no_smile", "smile"]``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from edge_affect.data.loaders._fields import is_image_file
from edge_affect.data.records import Dataset, FaceRecord, Labels, Source, dataset_error
from edge_affect.data.synthetic import EXPRESSIONS
from edge_affect.errors import InputError

FOLDER_TASKS = ("expression", "smile")


def load_image_folder(path: str | Path, labels: Sequence[str] | None = None, task: str = "expression") -> Dataset:
    root = Path(path)
    if task not in FOLDER_TASKS:
        raise InputError(f"image_folder task: expected one of {list(FOLDER_TASKS)}, got {task!r}")
    if not root.is_dir():
        raise dataset_error(root, None, "directory", "a folder of <label>/ image folders", "not a directory")
    folders = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise dataset_error(root, None, "label folders", "at least one <label>/ folder", "none")
    names = _class_names(folders, labels)
    if task == "smile" and len(names) != 2:
        raise InputError(f"image_folder task 'smile': expected 2 labels (no smile, smile), got {list(names)}")
    unknown = [f for f in folders if f not in names]
    if unknown:
        raise dataset_error(root, None, "label folders", f"names from {list(names)}", f"{unknown}")
    records = []
    for folder in folders:
        index = names.index(folder)
        label = Labels(smile=index) if task == "smile" else Labels(expression=index)
        for image_path in sorted(p for p in (root / folder).iterdir() if is_image_file(p)):
            records.append(FaceRecord(labels=label, source=Source(str(image_path)), image_path=image_path,
                                      extra={"folder": folder}))
    return Dataset(f"image_folder[{root.name}]", records, class_names=tuple(names))


def _class_names(folders: list[str], labels: Sequence[str] | None) -> list[str]:
    if labels is not None:
        names = list(labels)
        if not names or len(set(names)) != len(names):
            raise InputError(f"image_folder labels: expected distinct names, got {names}")
        return names
    if set(folders) <= set(EXPRESSIONS):
        return list(EXPRESSIONS)
    return folders
