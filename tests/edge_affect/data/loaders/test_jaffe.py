import cv2
import numpy as np
import pytest

from edge_affect.data.loaders import load_dataset
from edge_affect.data.loaders.jaffe import load_jaffe
from edge_affect.data.records import DatasetError
from edge_affect.data.synthetic import EXPRESSIONS


def write_image(path):
    assert cv2.imwrite(str(path), np.full((32, 32), 77, dtype=np.uint8))


def test_labels_from_file_names(tmp_path):
    for name in ("KA.AN1.39.tiff", "KM.HA2.5.tiff", "YM.NE1.1.tiff", "NA.SU3.12.tiff", "TM.DI1.7.tiff",
                 "UY.FE2.9.tiff", "MK.SA1.2.tiff"):
        write_image(tmp_path / name)
    (tmp_path / "README").write_text("The Japanese Female Facial Expression database")
    data = load_dataset(f"jaffe:{tmp_path}")
    by_name = {r.image_path.name: EXPRESSIONS[r.labels.expression] for r in data}
    assert by_name == {"KA.AN1.39.tiff": "angry", "KM.HA2.5.tiff": "happy", "YM.NE1.1.tiff": "neutral",
                       "NA.SU3.12.tiff": "surprise", "TM.DI1.7.tiff": "disgust", "UY.FE2.9.tiff": "fear",
                       "MK.SA1.2.tiff": "sad"}
    record = next(r for r in data if r.image_path.name.startswith("KA"))
    assert record.extra == {"subject": "KA", "jaffe_code": "AN1"}
    image = record.image()
    assert image.shape == (32, 32) and image.dtype == np.uint8 and image[0, 0] == 77


@pytest.mark.parametrize("name", ["KA.XX1.39.tiff", "KA-AN1-39.tiff"])
def test_bad_file_names(tmp_path, name):
    write_image(tmp_path / name)
    with pytest.raises(DatasetError, match=rf"{name}: file name: expected SUBJECT.CODEn.NUMBER"):
        load_jaffe(tmp_path)
