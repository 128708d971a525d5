"""Build a bundle: model + spec -> artifact, manifest.json, goldens — atomically.

Everything is assembled in a temporary directory beside the output and
renamed into place at the end, so an interrupted or failed convert leaves the
previous bundle (or nothing), never a half-written one.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import shutil
from pathlib import Path
from typing import Callable

import numpy as np

import edge_affect
from edge_affect.bundle import FORMAT, FORMAT_VERSION, MANIFEST
from edge_affect.converters import PHONE_TARGETS, get_converter
from edge_affect.errors import ConversionError
from edge_affect.fileio import atomic_directory, sha256_tree, tree_size, write_text_atomic
from edge_affect.goldens import calibration_crops, golden_crops, model_inputs
from edge_affect.models import create_model, get_entry
from edge_affect.models.checkpoint import checkpoint_metadata, read_metadata, trained_contract
from edge_affect.models.registry import WEIGHTS_DIR
from edge_affect.models.runner import eager_runner, float64_outputs
from edge_affect.runtime.postprocess import postprocess
from edge_affect.spec import PipelineSpec, QuantParams

Progress = Callable[[str], None]
REFERENCE_WEIGHTS = "reference/weights.safetensors"


def bundle_name(target: str, precision: str) -> str:
    return f"{target}-{precision}"


def plan(target: str, precision: str | None) -> list[tuple[str, str]]:
    """(target, precision) pairs for a CLI request; `all` expands to every phone target."""
    targets = PHONE_TARGETS if target == "all" else (target,)
    pairs = []
    for t in targets:
        converter = get_converter(t)
        if precision is None or target == "all":
            pairs += [(t, p) for p in converter.precisions]
        elif precision in converter.precisions:
            pairs.append((t, precision))
        else:
            raise ConversionError(f"target {t!r} builds precisions {list(converter.precisions)}, "
                                  f"not {precision!r}")
    return pairs


def build_bundle(model_name: str, target: str, precision: str, out_dir: Path,
                 weights_path: Path | None = None, progress: Progress | None = None) -> Path:
    say = progress or (lambda _msg: None)
    entry = get_entry(model_name)
    converter = get_converter(target)
    if precision not in converter.precisions:
        raise ConversionError(f"target {target!r} builds precisions {list(converter.precisions)}, "
                              f"not {precision!r}")
    spec, checkpoint_kwargs = trained_contract(checkpoint_metadata(weights_path), weights_path, model_name,
                                               entry.spec, ConversionError)
    # Everything needed to rebuild the desktop model from the bundle alone, even
    # where `model_name` is a user model that machine has never registered.
    model_kwargs = {**entry.kwargs, **checkpoint_kwargs}
    model = create_model(model_name, pretrained=weights_path is None, weights_path=weights_path, **model_kwargs)

    say("preparing golden inputs (real + synthetic face crops)")
    crops, sources = golden_crops(spec.input)
    inputs = model_inputs(crops, spec.input)
    calib_crops = calibration_crops(spec.input) if precision == "int8" else None
    calibration = model_inputs(calib_crops, spec.input) if calib_crops is not None else None

    out_dir = Path(out_dir)
    with atomic_directory(out_dir) as tmp:
        say(f"exporting {model_name} -> {target} {precision}")
        result = converter.export(model, spec, precision, calibration, tmp)
        say("computing golden outputs")
        expected = converter.reference(model, spec, precision, calibration)(inputs)
        fp32 = eager_runner(model)(inputs)
        tolerance = {"raw_max_abs": result.output_tolerance}
        if precision == "fp32":
            say("measuring fp32 rounding against a float64 forward")
            tolerance["fp32_rounding"] = fp32_rounding(model, inputs, fp32, spec)

        goldens = {"crops": crops, "inputs": inputs, "outputs": expected, "fp32_outputs": fp32}
        (tmp / "goldens").mkdir()
        for key, array in goldens.items():
            np.save(tmp / "goldens" / f"{key}.npy", array, allow_pickle=False)
        calibration_files = {}
        if calib_crops is not None:
            (tmp / "calibration").mkdir()
            np.save(tmp / "calibration" / "crops.npy", calib_crops, allow_pickle=False)
            calibration_files = {"crops": "calibration/crops.npy"}

        weights = _copy_weights(entry.weights, weights_path, tmp)
        files = ([result.artifact] + [f"goldens/{k}.npy" for k in goldens] + list(calibration_files.values())
                 + ([weights["file"]] if weights else []))
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "model": model_name,
            "model_kwargs": model_kwargs,
            "base_model": entry.base_model,
            "task": entry.task,
            "target": target,
            "precision": precision,
            "spec": _spec_for_build(spec, result.quantization).to_dict(),
            "artifact": result.artifact,
            "artifact_bytes": tree_size(tmp / result.artifact),
            "weights": weights,
            "tools": {"edge_affect": edge_affect.__version__, "numpy": np.__version__,
                      "python": platform.python_version(), **result.tools},
            "quantization": result.quantization,
            "tolerance": tolerance,
            "goldens": {**{k: f"goldens/{k}.npy" for k in goldens}, "n": int(len(inputs)),
                        "n_real": sources.count("real"), "n_synthetic": sources.count("synthetic"),
                        "reference": converter.reference_name(precision)},
            "calibration": calibration_files,
            "files": {rel: sha256_tree(tmp / rel) for rel in files},
            **result.extra_manifest,
        }
        write_text_atomic(tmp / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    say(f"wrote {out_dir}")
    return out_dir


def fp32_rounding(model, inputs: np.ndarray, fp32: np.ndarray, spec: PipelineSpec) -> dict[str, float]:
    """How far eager fp32 itself is from float64 on the goldens (raw and
    post-processed outputs). Deep networks (ResNet152: ~1.5e-4) cannot meet a
    fixed 1e-5 bar in any fp32 runtime; parity scales the fp32 bar by this."""
    fp64 = float64_outputs(model, inputs)
    post32 = postprocess(fp32.astype(np.float64), spec.output)
    post64 = postprocess(fp64, spec.output)
    return {"raw_max_abs": float(np.max(np.abs(fp32 - fp64))), "post_max_abs": float(np.max(np.abs(post32 - post64)))}


def _spec_for_build(spec: PipelineSpec, quantization: dict | None) -> PipelineSpec:
    """The spec an app must follow for this build: int8 builds carry the input quantization."""
    if not quantization or "input" not in quantization:
        return spec
    q = quantization["input"]
    quant = QuantParams(scale=float(q["scale"]), zero_point=int(q["zero_point"]))
    return dataclasses.replace(spec, input=dataclasses.replace(spec.input, quant=quant))


def _copy_weights(registered: str | None, override: Path | None, bundle_dir: Path) -> dict | None:
    """Copy the checkpoint the bundle was built from into it, so parity can
    rebuild the desktop reference from the bundle alone (registry weights or a
    user's own checkpoint alike)."""
    path = Path(override) if override is not None else (WEIGHTS_DIR / registered if registered else None)
    if path is None:
        return None
    meta = read_metadata(path) if path.with_suffix(".json").exists() else {}
    (bundle_dir / "reference").mkdir()
    shutil.copyfile(path, bundle_dir / REFERENCE_WEIGHTS)
    return {"file": REFERENCE_WEIGHTS, "source": path.name, "sha256": sha256_tree(path),
            "provenance": meta.get("provenance", meta)}
