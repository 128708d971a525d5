import json

import cv2
import numpy as np
import pytest

from edge_affect.data.loaders import load_dataset
from edge_affect.data.loaders.afew_va import load_afew_va
from edge_affect.data.records import DatasetError

LANDMARKS = [[float(i), float(2 * i)] for i in range(68)]


def write_clip(root, clip, frames, images=None, actor="someone"):
    folder = root / clip
    folder.mkdir(parents=True)
    (folder / f"{clip}.json").write_text(json.dumps({"actor": actor, "frames": frames}, indent=1))
    for frame in frames if images is None else images:
        cv2.imwrite(str(folder / f"{frame}.png"), np.full((20, 30, 3), 50, dtype=np.uint8))
    return folder


def frame(valence, arousal, landmarks=LANDMARKS):
    return {"valence": valence, "arousal": arousal, "landmarks": landmarks}


def test_loads_frames_and_rescales(tmp_path):
    write_clip(tmp_path, "001", {"00000": frame(-10, 5), "00001": frame(3, 0), "00002": frame(1, 1)},
               images=["00000", "00001"])
    write_clip(tmp_path, "002", {"00000": frame(10, -7)}, actor="other")
    (tmp_path / "__MACOSX").mkdir()
    data = load_dataset(f"afew_va:{tmp_path}")
    assert len(data) == 3 and dict(data.dropped) == {"frame image missing": 1}
    first = data[0]
    assert (first.labels.valence, first.labels.arousal) == (-1.0, 0.5)
    assert first.extra == {"clip": "001", "frame": "00000", "actor": "someone"}
    assert first.landmarks.shape == (68, 2) and first.landmarks[5, 1] == 10.0
    assert first.image().shape == (20, 30, 3)
    assert first.source.path.endswith("001.json")
    assert (data[2].labels.valence, data[2].labels.arousal) == (1.0, -0.7)


@pytest.mark.parametrize("bad, message", [
    ({"00003": frame(11, 0)}, r"001.json: frames.00003.valence: expected a number in \[-10, 10\], got 11"),
    ({"00003": frame(0, "5")}, r"001.json: frames.00003.arousal: expected a number"),
    ({"00003": frame(0, 0, LANDMARKS[:67])}, r"frames.00003.landmarks: expected 68 \[x, y\] pairs .*shape \(67, 2\)"),
    ({"00003": [1, 2]}, r"frames.00003: expected an object, got list"),
])
def test_malformed_frames(tmp_path, bad, message):
    write_clip(tmp_path, "001", {"00000": frame(0, 0), **bad})
    with pytest.raises(DatasetError, match=message):
        load_afew_va(tmp_path)


def test_broken_or_missing_json(tmp_path):
    folder = write_clip(tmp_path, "001", {"00000": frame(0, 0)})
    (folder / "001.json").write_text('{"frames": {\n  "00000": oops}}')
    with pytest.raises(DatasetError, match=r"001.json:2: json: expected a JSON document"):
        load_afew_va(tmp_path)
    (folder / "001.json").unlink()
    with pytest.raises(DatasetError, match=r"001: annotation: expected 001.json"):
        load_afew_va(tmp_path)
    (folder / "001.json").write_text('{"actor": "x"}')
    with pytest.raises(DatasetError, match=r"001.json: frames: expected an object .*, got no such key"):
        load_afew_va(tmp_path)
