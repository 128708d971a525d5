"""atheris target: the AFEW-VA clip annotations (edge_affect.data.loaders.afew_va).

One clip directory with one frame image; the input is the clip's JSON (even
first byte: the text; odd: structural edits of a valid document). Every
outcome must be a Dataset with valence/arousal in [-1, 1] and 68 finite
landmarks per record, or a DatasetError naming file and field.
"""

from __future__ import annotations

import json
import math

from _harness import main, mutate_json, scratch_dir

_ROOT: list = []


def _document() -> dict:
    marks = [[100.0 + i, 80.0 + (i * 7) % 50] for i in range(68)]
    return {"actor": "someone", "frames": {"00000": {"valence": -3, "arousal": 5, "landmarks": marks},
                                           "00001": {"valence": 10, "arousal": -10, "landmarks": marks}}}


def check(data: bytes) -> None:
    import numpy as np

    from edge_affect.data.loaders import load_afew_va

    if not _ROOT:
        root = scratch_dir("afew_va")
        (root / "001").mkdir()
        (root / "001" / "00000.png").write_bytes(b"\x89PNG not decoded by the loader")
        _ROOT.append(root)
    if not data:
        return
    text = data[1:] if data[0] % 2 == 0 else json.dumps(mutate_json(_document(), data[1:])).encode()
    (_ROOT[0] / "001" / "001.json").write_bytes(text)
    for record in load_afew_va(_ROOT[0]):
        assert all(math.isfinite(v) and -1 <= v <= 1 for v in (record.labels.valence, record.labels.arousal))
        assert record.landmarks.shape == (68, 2) and np.all(np.isfinite(record.landmarks))


def seeds():
    yield b"\0" + json.dumps(_document()).encode()
    yield b"\1\2\3\4\5"


if __name__ == "__main__":
    main(check, seeds, ["edge_affect.data.loaders"])
