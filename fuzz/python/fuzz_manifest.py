"""atheris target: loading a bundle (edge_affect.bundle.load_bundle) from a
fuzzed manifest.json, then reading what parity and bench read from it.

The bundle directory holds a small artifact, golden arrays and a file
outside the bundle (a manifest naming it must be refused). Even first
bytes: the rest is the manifest text; odd: structural edits of the valid
manifest. Every outcome must be a loaded bundle whose fields parity can use,
or a BundleError (IntegrityError included).
"""

from __future__ import annotations

import json
from pathlib import Path

from _harness import main, mutate_json, scratch_dir

_STATE: dict = {}


def _bundle() -> tuple[Path, dict]:
    """A minimal, valid bundle (built once per process)."""
    if not _STATE:
        import numpy as np

        from edge_affect.bundle import FORMAT, FORMAT_VERSION
        from edge_affect.fileio import sha256_tree
        from edge_affect.models import get_entry

        root = scratch_dir("manifest") / "bundle"
        (root / "goldens").mkdir(parents=True)
        (root / "model.bin").write_bytes(b"\x00artifact\x01")
        (root.parent / "outside.npy").write_bytes(b"outside the bundle")
        np.save(root / "goldens" / "inputs.npy", np.zeros((2, 1, 4, 4), np.float32))
        np.save(root / "goldens" / "outputs.npy", np.zeros((2, 7), np.float32))
        files = ["model.bin", "goldens/inputs.npy", "goldens/outputs.npy"]
        manifest = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "model": "mini_xception_fer2013",
            "task": "expression", "target": "onnx", "precision": "fp32",
            "spec": get_entry("mini_xception_fer2013").spec.to_dict(), "artifact": "model.bin",
            "artifact_bytes": 10, "files": {f: sha256_tree(root / f) for f in files},
            "tools": {"edge_affect": "0"}, "tolerance": {"raw_max_abs": 1e-5},
            "goldens": {"inputs": "goldens/inputs.npy", "outputs": "goldens/outputs.npy", "n": 2},
        }
        _STATE.update(root=root, manifest=manifest)
    return _STATE["root"], _STATE["manifest"]


def check(data: bytes) -> None:
    from edge_affect.bundle import load_bundle

    root, manifest = _bundle()
    if not data:
        return
    if data[0] % 2 == 0:
        text = data[1:]
    else:
        text = json.dumps(mutate_json(manifest, data[1:])).encode()
    (root / "manifest.json").write_bytes(text)
    bundle = load_bundle(root)
    # What parity / bench take from a loaded bundle must be usable as is.
    assert isinstance(bundle.target, str) and isinstance(bundle.precision, str) and isinstance(bundle.model, str)
    assert bundle.artifact_path.is_relative_to(root.resolve())
    assert float(bundle.manifest["tolerance"]["raw_max_abs"]) >= 0
    for key in ("inputs", "outputs"):
        bundle.load_array(key)


def seeds():
    _, manifest = _bundle()
    yield b"\0" + json.dumps(manifest).encode()
    yield b"\1\3\5\7\11"


if __name__ == "__main__":
    main(check, seeds, ["edge_affect.bundle", "edge_affect.spec", "edge_affect.fileio", "edge_affect.models"])
