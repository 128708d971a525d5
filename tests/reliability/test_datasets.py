"""Dataset files of each published format with the faults the fuzzers found
or that real copies have (another encoding, NUL bytes, numbers too large):
each is a DatasetError naming file, line and field. The well-formed-format
faults (wrong column, bad label, short landmarks...) are covered per loader
in tests/edge_affect/data/loaders/."""

from __future__ import annotations

import json

import pytest

from edge_affect.data.loaders import (load_affectnet, load_afew_va, load_ckplus, load_fer2013, load_genki4k,
                                      load_jaffe)
from edge_affect.data.records import DatasetError

PIXELS = " ".join(["7"] * 48 * 48)
MARKS = ";".join(["12.5"] * 136)
AFFECTNET_HEADER = ("subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,"
                    "valence,arousal\n")
LATIN1 = "Usage: \u00e9t\u00e9\n".encode("latin-1")  # not UTF-8


def _write(path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("data, message", [
    (b"", r"fer2013.csv:1: header: expected columns \['emotion', 'pixels'\], got an empty file"),
    (b"emotion,pixels\n" + LATIN1, r"fer2013.csv:2: text: expected UTF-8 text, got byte 0xe9 at column 8"),
    (b"emotion,pixels\n3,1 2\x00 3\n", r"fer2013.csv:2: pixels: expected 2304 space-separated integers"),
    (f"emotion,pixels\n3,{'1 ' * 70000}\n".encode(), r"fer2013.csv:2: text: expected CSV text, got field larger"),
    (f"emotion,pixels\n3,{PIXELS}\n9,{PIXELS}\n".encode(), r"fer2013.csv:3: emotion: expected an integer in \[0, 6\]"),
])
def test_fer2013(tmp_path, data, message):
    with pytest.raises(DatasetError, match=message):
        load_fer2013(_write(tmp_path / "fer2013.csv", data))


@pytest.mark.parametrize("row, message", [
    (f"a.jpg,1,2,30,30,{MARKS.replace('12.5', '1e300', 1)},1,0.5,0.5\n",
     r"training.csv:2: facial_landmarks: expected finite numbers \(float32\)"),
    (f"a.jpg,1,2,30,30,{MARKS},1,{'9' * 400},0.5\n", r"training.csv:2: valence: expected a finite number"),
    ("\u00e9.jpg,1,2,30,30\n", r"training.csv:2: text: expected UTF-8 text, got byte 0xe9 at column 1"),
])
def test_affectnet(tmp_path, row, message):
    data = (AFFECTNET_HEADER + row).encode("latin-1") if "\u00e9" in row else (AFFECTNET_HEADER + row).encode()
    with pytest.raises(DatasetError, match=message):
        load_affectnet(_write(tmp_path / "training.csv", data))


def _afew_clip(root, text: bytes):
    _write(root / "001" / "00000.png", b"not decoded while loading")
    _write(root / "001" / "001.json", text)
    return root


def _afew(valence=1, landmarks=None):
    marks = landmarks if landmarks is not None else [[1.0, 2.0]] * 68
    return json.dumps({"frames": {"00000": {"valence": valence, "arousal": 0, "landmarks": marks}}}).encode()


@pytest.mark.parametrize("text, message", [
    (_afew(valence=10**400), r"001.json: frames.00000.valence: expected a number in \[-10, 10\]"),
    (_afew(landmarks=[[1e300, 1.0]] * 68), r"frames.00000.landmarks: expected 68 \[x, y\] pairs of finite numbers"),
    (_afew(landmarks=[[10**400, 1]] * 68), r"frames.00000.landmarks: expected 68 \[x, y\] pairs"),
    (b'{"frames": ' + LATIN1 + b"}", r"001.json:1: text: expected UTF-8 text, got byte 0xe9 at column 19"),
    (b"[" * 50000, r"001.json: json: expected a JSON document, got arrays or objects nested too deep"),
])
def test_afew_va(tmp_path, text, message):
    with pytest.raises(DatasetError, match=message):
        load_afew_va(_afew_clip(tmp_path, text))


@pytest.mark.parametrize("emotion, landmarks, message", [
    (LATIN1, b"", r"_emotion.txt:1: text: expected UTF-8 text, got byte 0xe9 at column 8"),
    (b"1e400\n", b"", r"_emotion.txt:1: emotion: expected a finite number"),
    (b"3\n", LATIN1, r"_landmarks.txt:1: text: expected UTF-8 text"),
    (b"3\n", b"1e39 2\n" * 68, r"_landmarks.txt: landmarks: expected finite numbers \(float32\)"),
])
def test_ckplus(tmp_path, emotion, landmarks, message):
    stem = "S005_001_00000002"
    for i in (1, 2):
        _write(tmp_path / "cohn-kanade-images" / "S005" / "001" / f"S005_001_0000000{i}.png", b"x")
    _write(tmp_path / "Emotion" / "S005" / "001" / f"{stem}_emotion.txt", emotion)
    if landmarks:
        _write(tmp_path / "Landmarks" / "S005" / "001" / f"{stem}_landmarks.txt", landmarks)
    with pytest.raises(DatasetError, match=message):
        load_ckplus(tmp_path)


@pytest.mark.parametrize("data, message", [
    (LATIN1, r"labels.txt:1: text: expected UTF-8 text, got byte 0xe9 at column 8"),
    (b"1 0 0 nan\n", r"labels.txt:1: roll: expected a finite number, got nan"),
    (b"2 0 0 0\n", r"labels.txt:1: smile: expected an integer in \[0, 1\], got 2"),
])
def test_genki4k(tmp_path, data, message):
    with pytest.raises(DatasetError, match=message):
        load_genki4k(_write(tmp_path / "labels.txt", data))


def test_jaffe_name_with_odd_characters(tmp_path):
    _write(tmp_path / "KA.\u00c9\u00c91.39.tiff", b"")
    with pytest.raises(DatasetError, match=r"file name: expected SUBJECT.CODEn.NUMBER"):
        load_jaffe(tmp_path)
