import cv2
import numpy as np
import pytest

from edge_affect.data.records import Dataset, DatasetError, FaceRecord, Labels, Source, decode_image
from edge_affect.errors import InputError


def test_decode_gray_and_colour(tmp_path):
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    cv2.imwrite(str(tmp_path / "g.png"), gray)
    np.testing.assert_array_equal(decode_image(tmp_path / "g.png"), gray)
    rgb = np.zeros((2, 2, 3), dtype=np.uint8)
    rgb[..., 0] = 200  # red
    cv2.imwrite(str(tmp_path / "c.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    np.testing.assert_array_equal(decode_image(tmp_path / "c.png"), rgb)


def test_decode_errors_name_the_file(tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not a jpeg")
    with pytest.raises(DatasetError, match="broken.jpg: not a decodable image"):
        decode_image(bad)
    with pytest.raises(DatasetError, match="missing.png: cannot read"):
        FaceRecord(Labels(smile=1), Source("labels.txt", 3), image_path=tmp_path / "missing.png").image()
    assert issubclass(DatasetError, InputError)


def test_record_and_dataset_helpers():
    pixels = np.zeros((4, 4), dtype=np.uint8)
    va = FaceRecord(Labels(valence=0.1, arousal=-0.2), Source("a.csv", 2), pixels=pixels)
    expr = FaceRecord(Labels(expression=3), Source("a.csv", 3), pixels=pixels)
    assert va.image() is pixels and str(va.source) == "a.csv:2"
    assert va.labels.has("ocular_va") and not va.labels.has("expression")
    with pytest.raises(InputError, match="task"):
        va.labels.has("age")
    with pytest.raises(InputError, match="exactly one"):
        FaceRecord(Labels(), Source("x"))
    data = Dataset("demo", [va, expr])
    data.dropped["expression 8 (none)"] += 2
    assert data.labelled("valence_arousal") == [va] and len(data) == 2 and data[1] is expr
    assert data.summary() == "demo: 2 records; dropped 2 (2 expression 8 (none))"
