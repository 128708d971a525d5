"""atheris target: the GENKI-4K labels file (edge_affect.data.loaders.genki4k).

The input is the labels file. Every outcome must be a Dataset with smile 0/1
and a finite pose per record, or a DatasetError naming file, line and field.
"""

from __future__ import annotations

import math

from _harness import main, scratch_dir

_PATH: list = []


def check(data: bytes) -> None:
    from edge_affect.data.loaders import load_genki4k

    if not _PATH:
        _PATH.append(scratch_dir("genki4k") / "labels.txt")
    _PATH[0].write_bytes(data)
    for record in load_genki4k(_PATH[0]):
        assert record.labels.smile in (0, 1)
        assert len(record.extra["pose"]) == 3 and all(math.isfinite(v) for v in record.extra["pose"])


def seeds():
    yield b"1 -0.021162 0.059530 -0.039662\n0 0.1 -0.2 0.3\n\n"
    yield b"1 0 0 0\r\n0 1e-3 -1E2 .5\r\n"


if __name__ == "__main__":
    main(check, seeds, ["edge_affect.data.loaders"])
