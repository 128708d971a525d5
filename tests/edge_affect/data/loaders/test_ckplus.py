import cv2
import numpy as np
import pytest

from edge_affect.data.loaders import load_dataset
from edge_affect.data.loaders.ckplus import CKPLUS_EXPRESSIONS, CKPLUS_TO_FER2013, load_ckplus
from edge_affect.data.records import DatasetError
from edge_affect.data.synthetic import EXPRESSIONS


def write_sequence(root, subject, sequence, frames, label_text=None, landmarks=False):
    images = root / "cohn-kanade-images" / subject / sequence
    images.mkdir(parents=True)
    for i in range(1, frames + 1):
        cv2.imwrite(str(images / f"{subject}_{sequence}_{i:08d}.png"), np.full((16, 20), 10 * i, dtype=np.uint8))
    peak = f"{subject}_{sequence}_{frames:08d}"
    if label_text is not None:
        labels = root / "Emotion" / subject / sequence
        labels.mkdir(parents=True)
        (labels / f"{peak}_emotion.txt").write_text(label_text)
    if landmarks:
        folder = root / "Landmarks" / subject / sequence
        folder.mkdir(parents=True)
        (folder / f"{peak}_landmarks.txt").write_text(
            "".join(f"   {i + 0.5:.7e}   {2 * i:.7e}\n" for i in range(68)))
    return peak


def test_peak_frames_mapped_to_fer2013(tmp_path):
    write_sequence(tmp_path, "S005", "001", 3, "   3.0000000e+00\n", landmarks=True)  # disgust
    write_sequence(tmp_path, "S010", "002", 4, "   2.0000000e+00\n")  # contempt: dropped
    write_sequence(tmp_path, "S011", "001", 2)  # unlabelled sequence: not a record
    write_sequence(tmp_path, "S014", "003", 2, "5\n")  # happy
    data = load_dataset(f"ck+:{tmp_path}")
    assert [EXPRESSIONS[r.labels.expression] for r in data] == ["disgust", "happy"]
    assert dict(data.dropped) == {"contempt (no FER-2013 class)": 1}
    disgust = data[0]
    assert disgust.image_path.name == "S005_001_00000003.png" and disgust.image().shape == (16, 20)
    assert disgust.landmarks.shape == (68, 2) and disgust.landmarks[3].tolist() == [3.5, 6.0]
    assert data[1].landmarks is None and disgust.extra["ckplus_expression"] == 3


def test_first_frame_as_neutral(tmp_path):
    write_sequence(tmp_path, "S005", "001", 3, "1.0\n")
    anger, neutral = load_ckplus(tmp_path, include_neutral=True)
    assert EXPRESSIONS[anger.labels.expression] == "angry" and EXPRESSIONS[neutral.labels.expression] == "neutral"
    assert neutral.image_path.name == "S005_001_00000001.png" and neutral.extra["frame"] == "first"


def test_mapping_names():
    renamed = {"anger": "angry", "sadness": "sad"}
    for code, fer in CKPLUS_TO_FER2013.items():
        name = CKPLUS_EXPRESSIONS[code]
        assert (fer is None and name == "contempt") or EXPRESSIONS[fer] == renamed.get(name, name)


@pytest.mark.parametrize("text, message", [
    ("2.5\n", r"S005_001_00000002_emotion.txt:1: emotion: expected a whole number in \[0, 7\], got 2.5"),
    ("9\n", r"emotion: expected a whole number in \[0, 7\], got 9"),
    ("happy\n", r"_emotion.txt:1: emotion: expected a number, got happy"),
    ("1\n2\n", r"_emotion.txt: emotion: expected one number 0..7, got 2 non-empty lines"),
])
def test_malformed_label_files(tmp_path, text, message):
    write_sequence(tmp_path, "S005", "001", 2, text)
    with pytest.raises(DatasetError, match=message):
        load_ckplus(tmp_path)


def test_label_without_image_and_missing_folders(tmp_path):
    peak = write_sequence(tmp_path, "S005", "001", 2, "1\n")
    (tmp_path / "cohn-kanade-images" / "S005" / "001" / f"{peak}.png").unlink()
    with pytest.raises(DatasetError, match=r"image: expected the labelled frame .*S005_001_00000002.png"):
        load_ckplus(tmp_path)
    with pytest.raises(DatasetError, match=r"image directory: expected one of"):
        load_ckplus(tmp_path / "nowhere")
