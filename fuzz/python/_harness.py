"""What every atheris harness here shares.

A harness module defines ``check(data: bytes)`` (feed the bytes to one
parser; return normally or raise an ``EdgeAffectError``) and ``seeds()``
(valid inputs to start from), then calls :func:`main` with the modules to
instrument. It imports edge_affect only inside functions, so that those
modules are first loaded under atheris's coverage hook. Any other exception
escaping ``check`` is a finding: atheris prints the traceback, writes the
input to a ``crash-*`` file and exits non-zero.

``python fuzz_x.py --write-seeds DIR`` writes the seeds instead of fuzzing
(fuzz/run.py does this to start each corpus).

Byte-level mutation rarely gets a JSON document past the parser, so the
JSON harnesses also take a structural route: :func:`mutate_json` applies a
few edits chosen by the input (replace a value with one of another type,
drop or add a key) to a valid document.
"""

from __future__ import annotations

import copy
import hashlib
import math
import sys
from pathlib import Path
from typing import Any, Callable, Iterable

# Values of every JSON type, with the edge cases parsers get wrong.
_ODD_VALUES: tuple[Any, ...] = (
    None, True, False, 0, -1, 1, 2**31, -(2**31) - 1, 10**400, -(10**400), 0.5, -0.0, 1e308, 1e-320,
    math.inf, -math.inf, math.nan, "", "x", "../../etc/passwd", "/abs", "a\\b", "\0", "é" * 3, [], [1], [[1, 2]],
    ["a", "b"], [1.0, None], {}, {"a": 1}, {"scale": 1.0, "zero_point": 0},
)


def main(check: Callable[[bytes], None], seeds: Callable[[], Iterable[bytes]], modules: Iterable[str]) -> None:
    """Write seeds (``--write-seeds DIR``) or run atheris on ``check``."""
    if len(sys.argv) == 3 and sys.argv[1] == "--write-seeds":
        out = Path(sys.argv[2])
        out.mkdir(parents=True, exist_ok=True)
        for seed in seeds():
            (out / f"seed-{hashlib.sha1(seed).hexdigest()[:16]}").write_bytes(seed)
        return
    import atheris

    # Coverage feedback from our own code only (edge_affect, converters):
    # the modules must be first imported here, inside the hook.
    with atheris.instrument_imports(include=["edge_affect"]):
        for name in modules:
            __import__(name)
    from edge_affect.errors import EdgeAffectError

    def one_input(data: bytes) -> None:
        try:
            check(data)
        except EdgeAffectError:
            pass  # the clear, user-facing error every bad input must become

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


def scratch_dir(name: str) -> Path:
    """An emptied directory for the files a harness writes: scratch/<name>
    under the working directory (fuzz/run.py runs each target in its work
    dir; libFuzzer exits without running Python's cleanup, so a fixed,
    reused place is what keeps runs from leaving temporary files behind)."""
    import shutil

    path = Path.cwd() / "scratch" / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def mutate_json(document: Any, data: bytes) -> Any:
    """A copy of `document` with up to four edits that `data` chooses."""
    doc = copy.deepcopy(document)
    reader = _Bytes(data)
    for _ in range(1 + reader.byte() % 4):
        paths = list(_paths(doc))
        path = paths[reader.byte() % len(paths)]
        parent, key = _parent(doc, path)
        action = reader.byte() % 8
        if parent is None:  # the root itself
            return _odd_value(reader)
        if action == 0 and isinstance(parent, dict):
            del parent[key]
        elif action == 1 and isinstance(parent, dict):
            parent[f"extra{reader.byte()}"] = _odd_value(reader)
        elif action == 2 and isinstance(parent, list):
            del parent[key]
        elif action == 3 and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
        else:
            parent[key] = _odd_value(reader)
    return doc


def _odd_value(reader: "_Bytes") -> Any:
    return copy.deepcopy(_ODD_VALUES[reader.byte() % len(_ODD_VALUES)])  # never share (or nest) one object


def _paths(node: Any, prefix: tuple = ()) -> Iterable[tuple]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, prefix + (index,))


def _parent(doc: Any, path: tuple) -> tuple[Any, Any]:
    if not path:
        return None, None
    node = doc
    for key in path[:-1]:
        node = node[key]
    return node, path[-1]


class _Bytes:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            return 0
        self.pos += 1
        return self.data[self.pos - 1]
