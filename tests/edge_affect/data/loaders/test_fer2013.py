import numpy as np
import pytest

from edge_affect.data.loaders import load_dataset
from edge_affect.data.loaders.fer2013 import load_fer2013
from edge_affect.data.records import DatasetError
from edge_affect.errors import InputError


def pixels_text(offset: int) -> str:
    return " ".join(str((i + offset) % 256) for i in range(48 * 48))


def write_csv(path, rows, header="emotion,pixels,Usage"):
    path.write_text(header + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


ROWS = [(0, pixels_text(0), "Training"), (3, pixels_text(1), "PublicTest"), (6, pixels_text(2), "PrivateTest")]


def test_loads_every_row(tmp_path):
    path = write_csv(tmp_path / "fer2013.csv", ROWS)
    data = load_fer2013(path)
    assert len(data) == 3 and not data.dropped
    assert [r.labels.expression for r in data] == [0, 3, 6]
    assert [r.source.line for r in data] == [2, 3, 4]
    first = data[0].image()
    assert first.shape == (48, 48) and first.dtype == np.uint8
    assert first[0, 0] == 0 and first[0, 1] == 1 and first[1, 0] == 48  # row-major
    assert data[0].box == (0, 0, 48, 48) and data[1].extra["usage"] == "PublicTest"
    assert len(load_fer2013(tmp_path)) == 3  # the folder holding fer2013.csv


def test_usage_selection(tmp_path):
    path = write_csv(tmp_path / "fer2013.csv", ROWS)
    assert [r.labels.expression for r in load_fer2013(path, usage="PublicTest")] == [3]
    assert len(load_fer2013(path, usage=["PublicTest", "PrivateTest"])) == 2
    private = load_dataset(f"fer2013[PrivateTest]:{path}")
    assert [r.labels.expression for r in private] == [6] and private.name == "fer2013[PrivateTest]"
    with pytest.raises(InputError, match="usage"):
        load_fer2013(path, usage="Validation")


def test_header_without_usage_and_with_spaces(tmp_path):
    path = write_csv(tmp_path / "train.csv", [(4, pixels_text(5))], header="emotion, pixels")
    (record,) = load_fer2013(path)
    assert record.labels.expression == 4 and record.extra["usage"] == "Training"


@pytest.mark.parametrize("row, message", [
    ((2, " ".join(["1"] * 2303), "Training"), r"fer.csv:3: pixels: expected 2304 .*, got 2303 values"),
    ((2, pixels_text(0).replace("17", "x", 1), "Training"), r"fer.csv:3: pixels: expected integers .*, got x"),
    ((2, pixels_text(0).replace(" 5 ", " 256 ", 1), "Training"), r"fer.csv:3: pixels: .*got 256"),
    ((7, pixels_text(0), "Training"), r"fer.csv:3: emotion: expected an integer in \[0, 6\], got 7"),
    ((2, pixels_text(0), "Validation"), r"fer.csv:3: Usage: expected one of .*, got Validation"),
    ((2, pixels_text(0), "Training", "extra"), r"fer.csv:3: row: expected 3 cells, got 4 cells"),
])
def test_malformed_rows_name_file_line_and_field(tmp_path, row, message):
    path = write_csv(tmp_path / "fer.csv", [ROWS[0], row])
    with pytest.raises(DatasetError, match=message):
        load_fer2013(path)


def test_missing_column(tmp_path):
    path = write_csv(tmp_path / "fer.csv", [(1, "2")], header="label,pixels")
    with pytest.raises(DatasetError, match=r"fer.csv:1: header: expected columns \['emotion', 'pixels'\]"):
        load_fer2013(path)
