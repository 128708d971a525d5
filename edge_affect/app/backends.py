"""Inference backends for the app: the artifacts that ship, run in their runtimes.

    torch        eager PyTorch (the desktop reference; no bundle)
    executorch   the ExecuTorch .pte (XNNPACK), int8 by default, as the Android app runs it
    onnx         the .onnx file in ONNX Runtime (fp32)
    c            the Apollo3 bundle's generated int8 C, built for the host (edge_affect.app.c_runtime)

A bundle backend builds its bundle once with the same code as
`edge-affect convert` and caches it under
``$EDGE_AFFECT_CACHE/bundles/<model>/<target>-<precision>`` (default cache:
``$XDG_CACHE_HOME/edge-affect``, i.e. ``~/.cache/edge-affect``). Every use
verifies the bundle's sha256s; a cached bundle that fails verification, or
was built from other weights or another spec than the installed model's, is
rebuilt rather than trusted.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from edge_affect.bundle import Bundle
from edge_affect.bundle_cache import ensure_bundle_at
from edge_affect.errors import InputError
from edge_affect.models import create_model, get_entry
from edge_affect.runtime.postprocess import postprocess
from edge_affect.spec import PipelineSpec

Runner = Callable[[np.ndarray], np.ndarray]
Progress = Callable[[str], None]

# backend -> (bundle target, default precision); torch runs no bundle.
BUNDLE_TARGETS: dict[str, tuple[str, str]] = {
    "executorch": ("executorch", "int8"),
    "onnx": ("onnx", "fp32"),
    "c": ("apollo3", "int8"),
}
BACKENDS = ("torch", *BUNDLE_TARGETS)


@dataclass
class Backend:
    """A model ready to run: preprocess with `spec`, call infer()."""

    name: str
    model: str
    precision: str
    spec: PipelineSpec  # the bundle's spec (int8 builds carry the input quantization)
    runner: Runner  # float32 (N, C, H, W) -> raw outputs (N, K)
    outputs_post_processed: bool = False  # the artifact applies spec.output.post itself (C int8 softmax)
    bundle: Path | None = None

    def infer(self, inputs: np.ndarray) -> np.ndarray:
        """Model inputs -> what the app shows (probabilities or values), float64 (N, K)."""
        if len(inputs) == 0:
            return np.zeros((0, len(self.spec.output.labels)))
        raw = self.runner(np.ascontiguousarray(inputs, dtype=np.float32))
        if self.outputs_post_processed:
            return np.asarray(raw, dtype=np.float64)
        return postprocess(raw, self.spec.output)


def cache_root() -> Path:
    if os.environ.get("EDGE_AFFECT_CACHE"):
        return Path(os.environ["EDGE_AFFECT_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "edge-affect"


def bundle_dir(model: str, target: str, precision: str, cache: Path | None = None) -> Path:
    return (cache or cache_root()) / "bundles" / model / f"{target}-{precision}"


def _converters(module: str = ""):
    # Lazy by name: edge_affect never imports the converters package statically.
    return importlib.import_module("edge_affect.converters" + (f".{module}" if module else ""))


def ensure_bundle(model: str, target: str, precision: str, cache: Path | None = None,
                  progress: Progress | None = None) -> Bundle:
    """The cached, verified bundle for (model, target, precision); built first if needed."""
    return ensure_bundle_at(bundle_dir(model, target, precision, cache), model, target, precision, progress)


def limit_threads(threads: int, executorch: bool = False) -> None:
    """Run torch and OpenCV (and with `executorch`, ExecuTorch's XNNPACK
    threadpool) on `threads` threads. ONNX Runtime takes its count per session.

    The ExecuTorch pool must be sized before any program is loaded: a program
    loaded earlier keeps a handle to the old pool and crashes on its next run."""
    import cv2
    import torch

    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)
    if executorch:
        from executorch.extension.pybindings import portable_lib

        if portable_lib._threadpool_get_thread_count() != threads:
            # No public setter in executorch 1.4.1; this replaces the process-wide pool.
            portable_lib._unsafe_reset_threadpool(threads)


def load_backend(name: str, model: str, precision: str | None = None, threads: int | None = None,
                 cache: Path | None = None, progress: Progress | None = None) -> Backend:
    if name not in BACKENDS:
        raise InputError(f"backend {name!r} is unknown; expected one of {list(BACKENDS)}")
    entry = get_entry(model)
    if name == "torch":
        if precision not in (None, "fp32"):
            raise InputError(f"backend 'torch' runs the eager fp32 model, not {precision!r}")
        from edge_affect.models.runner import eager_runner

        if threads is not None:
            limit_threads(threads)
        return Backend(name, model, "fp32", entry.spec, eager_runner(create_model(model)))

    target, default_precision = BUNDLE_TARGETS[name]
    precision = precision or default_precision
    converter = _converters().get_converter(target)
    if precision not in converter.precisions:
        raise InputError(f"backend {name!r} ({target}) builds precisions {list(converter.precisions)}, "
                         f"not {precision!r}")
    runnable, why = converter.can_execute()
    if not runnable:
        raise InputError(f"backend {name!r} cannot run on this machine: {why}")
    bundle = ensure_bundle(model, target, precision, cache, progress)
    if threads is not None:
        limit_threads(threads, executorch=name == "executorch")
    runner = _bundle_runner(name, bundle, threads, cache)
    post_processed = bundle.manifest.get("raw_outputs") == "post_processed"
    return Backend(name, model, precision, bundle.spec, runner, post_processed, bundle.root)


def _bundle_runner(name: str, bundle: Bundle, threads: int | None, cache: Path | None) -> Runner:
    if name == "onnx":
        return _converters("onnx").onnx_runner(bundle.artifact_path, intra_op_threads=threads or 0)
    if name == "c":
        from edge_affect.app.c_runtime import CModelRunner, build_model_library

        artifact_sha = bundle.manifest["files"][bundle.manifest["artifact"]]
        library = (cache or cache_root()) / "c-libraries" / bundle.model / f"{artifact_sha[:16]}.so"
        if not library.is_file():
            build_model_library(bundle.artifact_path, library)
        return CModelRunner(bundle.artifact_path, library)
    return _converters().get_converter(bundle.target).load(bundle.root, bundle.manifest)
