import cv2
import numpy as np
import pytest

from edge_affect.data.loaders import load_dataset
from edge_affect.data.loaders.genki4k import load_genki4k
from edge_affect.data.records import DatasetError


def write_genki(root, lines, images=3):
    folder = root / "GENKI4K"
    (folder / "files").mkdir(parents=True)
    (folder / "labels.txt").write_text("\n".join(lines) + "\n")
    for i in range(1, images + 1):
        cv2.imwrite(str(folder / "files" / f"file{i:04d}.jpg"), np.full((24, 24, 3), 40 * i, dtype=np.uint8))
    return folder


LINES = ["1 -0.021162 0.059530 -0.039662", "0 0.1 -0.2 0.3", "1 0 0 0"]


def test_loads_smile_and_pose(tmp_path):
    write_genki(tmp_path, LINES)
    data = load_dataset(f"genki:{tmp_path}")
    assert [r.labels.smile for r in data] == [1, 0, 1]
    assert data[0].extra["pose"] == pytest.approx((-0.021162, 0.059530, -0.039662))
    assert data[1].image_path.name == "file0002.jpg" and data[1].source.line == 2
    image = data[2].image()
    assert image.shape == (24, 24, 3) and abs(int(image.mean()) - 120) <= 2
    assert data[0].labels.has("smile") and not data[0].labels.has("expression")


def test_labels_file_directly(tmp_path):
    folder = write_genki(tmp_path, LINES)
    assert len(load_genki4k(folder / "labels.txt")) == 3


@pytest.mark.parametrize("bad, message", [
    ("2 0 0 0", r"labels.txt:2: smile: expected an integer in \[0, 1\], got 2"),
    ("1 0 0", r"labels.txt:2: row: expected 4 fields: smile yaw pitch roll, got 1 0 0"),
    ("1 0 nan 0", r"labels.txt:2: pitch: expected a finite number, got nan"),
])
def test_malformed_lines(tmp_path, bad, message):
    write_genki(tmp_path, [LINES[0], bad])
    with pytest.raises(DatasetError, match=message):
        load_genki4k(tmp_path)


def test_missing_labels_file(tmp_path):
    with pytest.raises(DatasetError, match=r"labels file: expected one of .*labels.txt"):
        load_genki4k(tmp_path)
