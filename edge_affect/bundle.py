"""Bundles: a self-contained directory per (model, target, precision).

    bundle/
      manifest.json        spec, artifact sha256, tools, quantization, tolerances
      model.pte | model.onnx | model.mlpackage/ | ...
      goldens/crops.npy    uint8 face crops at the model size (real + synthetic)
      goldens/inputs.npy   float32 model inputs made from them by the reference preprocessing
      goldens/outputs.npy  expected raw outputs (the reference the artifact must match)
      goldens/fp32_outputs.npy  eager fp32 outputs (for top-1 agreement of int8 builds)
      calibration/crops.npy  int8 builds: the calibration crops (reproducible quantization)

Every file the manifest names is verified (sha256) before use, and no path in
a manifest may leave the bundle directory.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from edge_affect.errors import BundleError, IntegrityError, SpecError
from edge_affect.fileio import sha256_tree
from edge_affect.spec import PipelineSpec

MANIFEST = "manifest.json"
FORMAT = "edge-affect-bundle"
FORMAT_VERSION = 1
REQUIRED = ("format", "format_version", "model", "task", "target", "precision", "spec", "artifact",
            "files", "tools", "tolerance", "goldens")


@dataclass(frozen=True)
class Bundle:
    root: Path
    manifest: dict[str, Any]
    spec: PipelineSpec

    @property
    def target(self) -> str:
        return self.manifest["target"]

    @property
    def precision(self) -> str:
        return self.manifest["precision"]

    @property
    def model(self) -> str:
        return self.manifest["model"]

    @property
    def artifact_path(self) -> Path:
        return self.path(self.manifest["artifact"])

    def path(self, rel: str) -> Path:
        return resolve_inside(self.root, rel)

    def load_array(self, key: str, section: str = "goldens") -> np.ndarray:
        entries = self.manifest.get(section)
        if not isinstance(entries, dict) or key not in entries:
            raise BundleError(f"{self.root / MANIFEST}: '{section}' must be an object naming the {key!r} array")
        rel = entries[key]
        try:
            return np.load(self.path(rel), allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:  # EOFError: an empty file
            raise BundleError(f"{self.path(rel)}: cannot read array ({exc})") from None


def resolve_inside(root: Path, rel: str) -> Path:
    """`root / rel`, refusing absolute paths and anything that leaves `root`."""
    if not isinstance(rel, str) or not rel or PurePosixPath(rel).is_absolute() or "\\" in rel or "\0" in rel:
        raise BundleError(f"{root / MANIFEST}: path {rel!r} must be relative to the bundle")
    resolved = (root / rel).resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise BundleError(f"{root / MANIFEST}: path {rel!r} leaves the bundle directory")
    return resolved


def is_bundle(path: Path) -> bool:
    return (Path(path) / MANIFEST).is_file()


def find_bundles(path: Path) -> list[Path]:
    """`path` itself if it is a bundle, else every bundle below it (sorted)."""
    path = Path(path)
    if not path.exists():
        raise BundleError(f"{path}: no such directory")
    if is_bundle(path):
        return [path]
    found = sorted(p.parent for p in path.rglob(MANIFEST))
    if not found:
        raise BundleError(f"{path}: no bundle (directory with {MANIFEST}) found")
    return found


def load_bundle(path: Path, verify: bool = True) -> Bundle:
    """Read and validate a bundle's manifest; with `verify`, check every file's sha256."""
    root = Path(path)
    manifest_path = root / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text())
    except FileNotFoundError:
        raise BundleError(f"{manifest_path}: not found (is {root} a bundle?)") from None
    except (ValueError, RecursionError) as exc:  # not JSON, not UTF-8, nested too deep
        raise BundleError(f"{manifest_path}: not valid JSON ({exc})") from None
    if not isinstance(manifest, dict):
        raise BundleError(f"{manifest_path}: expected a JSON object")
    missing = [k for k in REQUIRED if k not in manifest]
    if missing:
        raise BundleError(f"{manifest_path}: missing field(s) {missing}")
    if manifest["format"] != FORMAT or manifest["format_version"] != FORMAT_VERSION:
        raise BundleError(f"{manifest_path}: format {manifest['format']!r} v{manifest['format_version']!r}, "
                          f"expected {FORMAT!r} v{FORMAT_VERSION}")
    _check_fields(manifest_path, manifest)
    try:
        spec = PipelineSpec.from_dict(manifest["spec"])
    except SpecError as exc:
        raise BundleError(f"{manifest_path}: spec: {exc}") from None
    files = manifest["files"]
    if not isinstance(files, dict) or manifest["artifact"] not in files:
        raise BundleError(f"{manifest_path}: 'files' must map every bundle file, the artifact included, "
                          f"to its sha256")
    bundle = Bundle(root, manifest, spec)
    for rel in files:
        resolve_inside(root, rel)
    if verify:
        verify_files(bundle)
    return bundle


def _check_fields(manifest_path: Path, manifest: dict[str, Any]) -> None:
    """The fields every consumer reads as they are (names, tolerance) have the right types."""
    for key in ("model", "task", "target", "precision", "artifact"):
        if not isinstance(manifest[key], str) or not manifest[key]:
            raise BundleError(f"{manifest_path}: {key!r}: expected a non-empty string, got {manifest[key]!r}")
    # Optional (older bundles lack them): how to rebuild the desktop model.
    if not isinstance(manifest.get("base_model", "x"), str) or not manifest.get("base_model", "x"):
        raise BundleError(f"{manifest_path}: 'base_model': expected a non-empty string, "
                          f"got {manifest['base_model']!r}")
    if not isinstance(manifest.get("model_kwargs", {}), dict):
        raise BundleError(f"{manifest_path}: 'model_kwargs': expected an object, got {manifest['model_kwargs']!r}")
    tolerance = manifest["tolerance"]
    rounding = tolerance.get("fp32_rounding") if isinstance(tolerance, dict) else None
    if rounding is not None and not (isinstance(rounding, dict) and all(
            isinstance(rounding.get(k), (int, float)) and not isinstance(rounding.get(k), bool)
            and 0 <= rounding[k] <= sys.float_info.max for k in ("raw_max_abs", "post_max_abs"))):
        raise BundleError(f"{manifest_path}: 'tolerance.fp32_rounding': expected {{\"raw_max_abs\": x, "
                          f"\"post_max_abs\": y}} with finite numbers >= 0, got {rounding!r}")
    raw = tolerance.get("raw_max_abs") if isinstance(tolerance, dict) else None
    # <= the largest float: excludes inf, NaN (no comparison holds) and integers too large for a float
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not 0 <= raw <= sys.float_info.max:
        raise BundleError(f"{manifest_path}: 'tolerance': expected {{\"raw_max_abs\": a finite number >= 0}}, "
                          f"got {tolerance!r}")


def verify_files(bundle: Bundle) -> None:
    root = bundle.root.resolve()
    for rel, expected in bundle.manifest["files"].items():
        target = bundle.path(rel)
        if not target.exists():
            raise IntegrityError(f"{target}: listed in the manifest but missing")
        if target.is_dir():  # a directory artifact (.mlpackage, firmware/): no link inside may lead out
            outside = next((p for p in target.rglob("*") if not p.resolve().is_relative_to(root)), None)
            if outside is not None:
                raise BundleError(f"{outside}: a link that leaves the bundle directory")
        actual = sha256_tree(target)
        if actual != expected:
            raise IntegrityError(f"{target}: sha256 {actual[:16]}... does not match the manifest "
                                 f"({str(expected)[:16]}...): the file was modified or corrupted")
