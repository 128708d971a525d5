"""atheris target: the FER-2013 CSV loader (edge_affect.data.loaders.fer2013).

The input is the whole CSV file. Every outcome must be a Dataset of valid
records (48x48 uint8 pixels, expression 0..6) or a DatasetError naming
file, line and field.
"""

from __future__ import annotations

from _harness import main, scratch_dir

_PATH: list = []


def check(data: bytes) -> None:
    import numpy as np

    from edge_affect.data.loaders import load_fer2013

    if not _PATH:
        _PATH.append(scratch_dir("fer2013") / "fer2013.csv")
    _PATH[0].write_bytes(data)
    for record in load_fer2013(_PATH[0]):
        assert record.pixels.dtype == np.uint8 and record.pixels.shape == (48, 48)
        assert 0 <= record.labels.expression <= 6


def seeds():
    row = " ".join(str((i * 7) % 256) for i in range(48 * 48))
    yield f"emotion,pixels,Usage\n3,{row},Training\n0,{row},PublicTest\n".encode()
    yield f"emotion, pixels\n6,{row}\n".encode()
    yield b"emotion,pixels,Usage\n3,1 2 3,Training\n"


if __name__ == "__main__":
    main(check, seeds, ["edge_affect.data.loaders"])
