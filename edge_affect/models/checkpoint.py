"""Checkpoints: safetensors weights plus a JSON sidecar (provenance, sha256).

Weights are never unpickled: safetensors holds only tensors, so a checkpoint
from an untrusted source cannot execute code when loaded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from edge_affect.errors import WeightsError
from edge_affect.fileio import sha256_file, write_bytes_atomic, write_text_atomic

if TYPE_CHECKING:
    from edge_affect.spec import PipelineSpec


def sidecar_path(path: Path) -> Path:
    return Path(path).with_suffix(".json")


def save_checkpoint(state: dict[str, torch.Tensor], path: Path, metadata: dict[str, Any]) -> Path:
    """Write `path` (.safetensors) and its sidecar atomically; returns `path`."""
    from safetensors.torch import save

    path = Path(path)
    data = save({k: v.detach().contiguous().cpu() for k, v in state.items()})
    write_bytes_atomic(path, data)
    sidecar = {**metadata, "file": path.name, "sha256": sha256_file(path),
               "tensors": len(state), "parameters": int(sum(v.numel() for v in state.values()))}
    write_text_atomic(sidecar_path(path), json.dumps(sidecar, indent=2, sort_keys=True) + "\n")
    return path


def read_metadata(path: Path) -> dict[str, Any]:
    side = sidecar_path(path)
    try:
        metadata = json.loads(side.read_text())
    except FileNotFoundError:
        raise WeightsError(f"{side}: checkpoint sidecar is missing") from None
    except (ValueError, RecursionError) as exc:  # not JSON, not UTF-8, nested too deep
        raise WeightsError(f"{side}: not valid JSON ({exc})") from None
    if not isinstance(metadata, dict):
        raise WeightsError(f"{side}: expected a JSON object, got {type(metadata).__name__}")
    return metadata


def load_checkpoint(path: Path, verify: bool = True) -> dict[str, torch.Tensor]:
    """Load a .safetensors checkpoint. With `verify` and a sidecar present,
    the file's sha256 must equal the sidecar's."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: weights file not found")
    if path.suffix != ".safetensors":
        raise WeightsError(f"{path}: expected a .safetensors checkpoint (pickled checkpoints are not loaded)")
    if verify and sidecar_path(path).exists():
        expected = read_metadata(path).get("sha256")
        actual = sha256_file(path)
        if expected != actual:
            raise WeightsError(f"{path}: sha256 {actual} does not match {sidecar_path(path).name} ({expected})")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"{path}: corrupt checkpoint ({exc})") from None


def checkpoint_metadata(path: Path | None) -> dict[str, Any]:
    """The sidecar of checkpoint `path`; {} for no checkpoint or a sidecar-less file."""
    if path is None or not sidecar_path(Path(path)).exists():
        return {}
    return read_metadata(Path(path))


def trained_contract(meta: dict[str, Any], path: Path | None, model_name: str, registered: PipelineSpec,
                     error: type[Exception] = WeightsError) -> tuple[PipelineSpec, dict[str, Any]]:
    """The spec and factory kwargs a checkpoint was trained with (a reduced-width
    instance, a searched architecture), from its sidecar `meta`; the registry's
    spec and no kwargs without one. A checkpoint of another model raises `error`."""
    from edge_affect.spec import PipelineSpec

    if meta.get("model", model_name) != model_name:
        raise error(f"{path}: a checkpoint of {meta['model']!r}, not {model_name!r}")
    kwargs = meta.get("model_kwargs") or {}
    if not isinstance(kwargs, dict):
        raise error(f"{sidecar_path(Path(path))}: model_kwargs must be an object, got {type(kwargs).__name__}")
    # The spec a checkpoint was trained with is the contract its inputs must follow.
    spec = PipelineSpec.from_dict(meta["spec"]) if "spec" in meta else registered
    return spec, kwargs
