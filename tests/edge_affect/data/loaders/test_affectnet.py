import cv2
import numpy as np
import pytest

from edge_affect.data.loaders import load_dataset
from edge_affect.data.loaders.affectnet import (
    AFFECTNET_COLUMNS, AFFECTNET_EXPRESSIONS, AFFECTNET_TO_FER2013, load_affectnet,
)
from edge_affect.data.records import DatasetError
from edge_affect.data.synthetic import EXPRESSIONS

LANDMARKS = np.arange(136, dtype=np.float64).reshape(68, 2) * 0.5 + 10


def row(path="1/a.jpg", box=(5, 6, 30, 32), landmarks=None, expression=1, valence=0.5, arousal=-0.25):
    lms = ";".join(f"{v:.2f}" for v in (LANDMARKS if landmarks is None else landmarks).ravel())
    return [path, *map(str, box), lms, str(expression), str(valence), str(arousal)]


def write_affectnet(root, rows, name="training"):
    lists = root / "Manually_Annotated_file_lists"
    lists.mkdir(parents=True, exist_ok=True)
    csv = lists / f"{name}.csv"
    lines = [",".join(AFFECTNET_COLUMNS)] + [",".join(r) for r in rows]
    csv.write_text("\n".join(lines) + "\n")
    return csv


def test_loads_and_drops_with_reasons(tmp_path):
    images = tmp_path / "Manually_Annotated_Images" / "1"
    images.mkdir(parents=True)
    cv2.imwrite(str(images / "a.jpg"), np.full((40, 50, 3), 90, dtype=np.uint8))
    csv = write_affectnet(tmp_path, [
        row(),  # happy
        row(path="1/b.jpg", expression=7, valence=-0.3, arousal=0.4),  # contempt, kept for VA
        row(expression=8, valence=-2, arousal=-2),  # none
        row(expression=10, valence=-2, arousal=-2),  # no-face
        row(expression=2, valence=-2),  # sad but not annotated for valence
        row(expression=3, arousal=1.5),  # out of range
    ])
    data = load_affectnet(csv)
    assert len(data) == 2
    assert dict(data.dropped) == {"expression 8 (none)": 1, "expression 10 (no-face)": 1,
                                  "valence/arousal outside [-1, 1]": 2}
    assert "dropped 4" in data.summary()
    happy, contempt = data
    assert happy.labels.expression == 3 and happy.labels.valence == 0.5 and happy.labels.arousal == -0.25
    assert contempt.labels.expression is None and contempt.extra["affectnet_expression"] == 7
    assert contempt.labels.has("valence_arousal") and not contempt.labels.has("expression")
    assert happy.box == (5, 6, 30, 32) and happy.source.line == 2
    np.testing.assert_allclose(happy.landmarks, LANDMARKS, atol=1e-6)
    assert happy.image_path == tmp_path / "Manually_Annotated_Images" / "1" / "a.jpg"
    assert happy.image().shape == (40, 50, 3)
    with pytest.raises(DatasetError, match="b.jpg"):
        contempt.image()  # decoded lazily: the error names the missing file


def test_folder_and_split_lookup(tmp_path):
    write_affectnet(tmp_path, [row()], "training")
    write_affectnet(tmp_path, [row(), row()], "validation")
    assert len(load_affectnet(tmp_path)) == 1
    assert len(load_dataset(f"affectnet[validation]:{tmp_path}")) == 2
    with pytest.raises(DatasetError, match="test.csv"):
        load_affectnet(tmp_path / "Manually_Annotated_file_lists" / "test.csv")


def test_label_mapping_to_fer2013():
    renamed = {"anger": "angry"}
    for code, fer in AFFECTNET_TO_FER2013.items():
        name = AFFECTNET_EXPRESSIONS[code]
        if fer is None:
            assert name == "contempt"
        else:
            assert EXPRESSIONS[fer] == renamed.get(name, name)
    assert sorted(v for v in AFFECTNET_TO_FER2013.values() if v is not None) == list(range(7))


@pytest.mark.parametrize("bad, message", [
    ([*row()[:5], "1;2;3", *row()[6:]], r"training.csv:3: facial_landmarks: expected 136 numbers .*, got 3 values"),
    ([*row()[:5], row()[5].replace("10.00", "ten", 1), *row()[6:]], r"training.csv:3: facial_landmarks: .*got ten"),
    (row(expression=11), r"training.csv:3: expression: expected an integer in \[0, 10\], got 11"),
    (row(valence="high"), r"training.csv:3: valence: expected a number, got high"),
    (row(box=(1, 2, 0, 5)), r"training.csv:3: face_width: expected an integer >= 1, got 0"),
    (row(path="../escape.jpg"), r"training.csv:3: subDirectory_filePath: expected a relative image path"),
    (row(path="a\0b.jpg"), r"training.csv:3: subDirectory_filePath: expected a relative image path without NUL"),
])
def test_malformed_rows(tmp_path, bad, message):
    csv = write_affectnet(tmp_path, [row(), bad])
    with pytest.raises(DatasetError, match=message):
        load_affectnet(csv)
