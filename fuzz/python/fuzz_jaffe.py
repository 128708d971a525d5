"""atheris target: JAFFE's labels, which live in file names
(edge_affect.data.loaders.jaffe).

The input is the name of one image file. Every outcome must be a Dataset
whose one record has a FER-2013 class, or a DatasetError naming the file.
"""

from __future__ import annotations

from _harness import main, scratch_dir

_ROOT: list = []


def check(data: bytes) -> None:
    from edge_affect.data.loaders import load_jaffe

    name = data.decode("utf-8", "replace").replace("/", "_").replace("\0", "_")
    if not _ROOT:
        _ROOT.append(scratch_dir("jaffe"))
    root = _ROOT[0]
    for old in root.iterdir():
        old.unlink()
    if name in ("", ".", "..") or len(name.encode()) > 200:
        return
    (root / name).write_bytes(b"")
    dataset = load_jaffe(root)
    for record in dataset:
        assert 0 <= record.labels.expression <= 6


def seeds():
    yield b"KA.AN1.39.tiff"
    yield b"NM.SU2.61.TIFF"
    yield b"README.txt"
    yield b"YM.NE3.51.png"


if __name__ == "__main__":
    main(check, seeds, ["edge_affect.data.loaders"])
