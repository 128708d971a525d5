"""Bundle manifests and directories: every malformed or tampered bundle is a
BundleError (IntegrityError for a modified file) naming the problem, before
any artifact is used; no path, link or field can make a consumer read
outside the bundle or crash on a wrong type."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from edge_affect.bundle import FORMAT, FORMAT_VERSION, load_bundle
from edge_affect.errors import BundleError, IntegrityError
from edge_affect.fileio import sha256_tree


@pytest.fixture
def bundle(tmp_path, spec):
    """A minimal valid bundle: an artifact directory, two golden arrays, a manifest."""
    root = tmp_path / "bundle"
    (root / "model.pkg").mkdir(parents=True)
    (root / "model.pkg" / "weights.bin").write_bytes(b"\x01\x02")
    (root / "goldens").mkdir()
    np.save(root / "goldens" / "inputs.npy", np.zeros((1, 1, 64, 64), np.float32))
    np.save(root / "goldens" / "outputs.npy", np.zeros((1, 7), np.float32))
    (tmp_path / "secret.txt").write_text("outside the bundle")
    files = ["model.pkg", "goldens/inputs.npy", "goldens/outputs.npy"]
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "model": "mini_xception_fer2013",
                "task": "expression", "target": "coreml", "precision": "fp32", "spec": spec.to_dict(),
                "artifact": "model.pkg", "files": {f: sha256_tree(root / f) for f in files}, "tools": {},
                "tolerance": {"raw_max_abs": 1e-5},
                "goldens": {"inputs": "goldens/inputs.npy", "outputs": "goldens/outputs.npy"}}
    write(root, manifest)
    return root, manifest


def write(root, manifest):
    (root / "manifest.json").write_text(json.dumps(manifest))


def test_the_fixture_is_valid(bundle):
    root, _ = bundle
    loaded = load_bundle(root)
    assert loaded.load_array("inputs").shape == (1, 1, 64, 64)


@pytest.mark.parametrize("key, value, message", [
    ("target", 5, "'target': expected a non-empty string, got 5"),
    ("precision", ["fp32"], "'precision': expected a non-empty string"),
    ("model", "", "'model': expected a non-empty string"),
    ("artifact", ["model.pkg"], "'artifact': expected a non-empty string"),
    ("tolerance", {"raw_max_abs": "small"}, "'tolerance': expected"),
    ("tolerance", {"raw_max_abs": float("nan")}, "'tolerance': expected"),
    ("tolerance", {"raw_max_abs": 10**400}, "'tolerance': expected"),
    ("tolerance", [1e-5], "'tolerance': expected"),
    ("files", ["model.pkg"], "'files' must map every bundle file"),
    ("spec", {"task": "expression"}, "spec: input: missing|spec: missing"),
    ("format_version", 99, "expected 'edge-affect-bundle' v1"),
])
def test_manifest_fields_of_the_wrong_type(bundle, key, value, message):
    root, manifest = bundle
    write(root, {**manifest, key: value})
    with pytest.raises(BundleError, match=message):
        load_bundle(root)


@pytest.mark.parametrize("goldens", [["goldens/inputs.npy"], {"outputs": "goldens/outputs.npy"},
                                     {"inputs": 3}, {"inputs": "goldens/\0inputs.npy"}])
def test_golden_entries_of_the_wrong_type(bundle, goldens):
    root, manifest = bundle
    write(root, {**manifest, "goldens": goldens})
    with pytest.raises(BundleError, match="inputs|must be relative"):
        load_bundle(root).load_array("inputs")


@pytest.mark.parametrize("text", [b"", b"\xff\xfe\x00{", b"[" * 100000, b"[1, 2]", b"null"])
def test_manifest_that_is_not_a_json_object(bundle, text):
    root, _ = bundle
    (root / "manifest.json").write_bytes(text)
    with pytest.raises(BundleError, match="manifest.json: (not valid JSON|expected a JSON object)"):
        load_bundle(root)


@pytest.mark.parametrize("rel", ["/etc/passwd", "../secret.txt", "goldens/../../secret.txt", "a\\..\\b",
                                 "goldens/\0x"])
def test_paths_in_the_manifest_cannot_leave_the_bundle(bundle, rel):
    root, manifest = bundle
    write(root, {**manifest, "files": {**manifest["files"], rel: "0" * 64}})
    with pytest.raises(BundleError, match="must be relative to the bundle|leaves the bundle directory"):
        load_bundle(root)


def test_a_symlinked_file_that_escapes_is_refused(bundle):
    root, manifest = bundle
    os.symlink(root.parent / "secret.txt", root / "goldens" / "link.npy")
    files = {**manifest["files"], "goldens/link.npy": sha256_tree(root.parent / "secret.txt")}
    write(root, {**manifest, "files": files})
    with pytest.raises(BundleError, match="'goldens/link.npy' leaves the bundle directory"):
        load_bundle(root)


def test_a_symlink_inside_a_directory_artifact_that_escapes_is_refused(bundle):
    root, manifest = bundle
    os.symlink(root.parent, root / "model.pkg" / "up")
    files = {**manifest["files"], "model.pkg": sha256_tree(root / "model.pkg")}  # even with a matching hash
    write(root, {**manifest, "files": files})
    with pytest.raises(BundleError, match="a link that leaves the bundle directory"):
        load_bundle(root)


def test_a_modified_artifact_is_refused_before_use(bundle):
    """(Also per target with real bundles: tests/converters/test_build.py::test_tampered_artifact_is_refused.)"""
    root, _ = bundle
    (root / "model.pkg" / "weights.bin").write_bytes(b"\x01\x03")
    with pytest.raises(IntegrityError, match="model.pkg: sha256 .* does not match the manifest"):
        load_bundle(root)
    (root / "model.pkg" / "weights.bin").unlink()
    (root / "goldens" / "outputs.npy").unlink()
    with pytest.raises(IntegrityError, match="listed in the manifest but missing|does not match"):
        load_bundle(root)


def test_an_empty_golden_array_file_is_a_bundle_error(bundle):
    root, manifest = bundle
    (root / "goldens" / "inputs.npy").write_bytes(b"")
    write(root, {**manifest, "files": {**manifest["files"], "goldens/inputs.npy": sha256_tree(
        root / "goldens" / "inputs.npy")}})
    with pytest.raises(BundleError, match="inputs.npy: cannot read array"):
        load_bundle(root).load_array("inputs")
