"""atheris target: the CK+ label and landmark files (edge_affect.data.loaders.ckplus).

One sequence with a peak and a first frame; the input is the emotion file,
then a 0xff byte, then the landmarks file. Every outcome must be a Dataset
(FER-2013 classes, 68 finite landmarks when present) or a DatasetError
naming file, line and field.
"""

from __future__ import annotations

from _harness import main, scratch_dir

_ROOT: list = []
STEM = "S005_001_00000011"


def check(data: bytes) -> None:
    import numpy as np

    from edge_affect.data.loaders import load_ckplus

    if not _ROOT:
        root = scratch_dir("ckplus")
        for part in ("cohn-kanade-images", "Emotion", "Landmarks"):
            (root / part / "S005" / "001").mkdir(parents=True)
        for name in (f"{STEM}.png", "S005_001_00000001.png"):
            (root / "cohn-kanade-images" / "S005" / "001" / name).write_bytes(b"not decoded by the loader")
        _ROOT.append(root)
    root = _ROOT[0]
    emotion, _, landmarks = data.partition(b"\xff")
    (root / "Emotion" / "S005" / "001" / f"{STEM}_emotion.txt").write_bytes(emotion)
    (root / "Landmarks" / "S005" / "001" / f"{STEM}_landmarks.txt").write_bytes(landmarks)
    for record in load_ckplus(root, include_neutral=True):
        assert 0 <= record.labels.expression <= 6
        if record.landmarks is not None:
            assert record.landmarks.shape == (68, 2) and np.all(np.isfinite(record.landmarks))


def seeds():
    marks = "".join(f"   {100 + i:.7e}   {80 + i % 9:.7e}\n" for i in range(68)).encode()
    yield b"   5.0000000e+00\n\xff" + marks
    yield b"2\n\xff"
    yield b"7.0\n"


if __name__ == "__main__":
    main(check, seeds, ["edge_affect.data.loaders"])
