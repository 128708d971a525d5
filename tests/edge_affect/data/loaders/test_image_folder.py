import cv2
import numpy as np
import pytest

from edge_affect.data.loaders import load_dataset
from edge_affect.data.loaders.image_folder import load_image_folder
from edge_affect.data.records import DatasetError
from edge_affect.errors import InputError


def populate(root, layout):
    for folder, count in layout.items():
        (root / folder).mkdir(parents=True)
        for i in range(count):
            cv2.imwrite(str(root / folder / f"{i}.png"), np.full((8, 8), i, dtype=np.uint8))
    return root


def test_fer2013_names_use_fer2013_order(tmp_path):
    populate(tmp_path, {"happy": 2, "sad": 1, "neutral": 1})
    (tmp_path / "happy" / "notes.txt").write_text("not an image")
    data = load_dataset(f"folder:{tmp_path}")
    assert [r.labels.expression for r in data] == [3, 3, 6, 4]  # happy, happy, neutral, sad (folder order)
    assert data.class_names[3] == "happy" and data[0].image().shape == (8, 8)


def test_other_names_sorted_or_given(tmp_path):
    populate(tmp_path, {"dog": 1, "cat": 2})
    data = load_image_folder(tmp_path)
    assert data.class_names == ("cat", "dog") and [r.labels.expression for r in data] == [0, 0, 1]
    given = load_image_folder(tmp_path, labels=["dog", "cat", "bird"])
    assert [r.labels.expression for r in given] == [1, 1, 0]
    with pytest.raises(DatasetError, match=r"label folders: expected names from \['cat'\], got \['dog'\]"):
        load_image_folder(tmp_path, labels=["cat"])


def test_smile_task(tmp_path):
    populate(tmp_path, {"no_smile": 1, "smile": 2})
    data = load_image_folder(tmp_path, labels=["no_smile", "smile"], task="smile")
    assert [r.labels.smile for r in data] == [0, 1, 1] and data[0].labels.expression is None
    with pytest.raises(InputError, match="2 labels"):
        load_image_folder(tmp_path, labels=["no_smile", "smile", "maybe"], task="smile")


def test_empty_or_missing_root(tmp_path):
    with pytest.raises(DatasetError, match="at least one <label>/ folder"):
        load_image_folder(tmp_path)
    with pytest.raises(DatasetError, match="not a directory"):
        load_image_folder(tmp_path / "missing")
