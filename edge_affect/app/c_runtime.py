"""The `c` backend: an Apollo3 bundle's generated C model, built for the host
as a shared library and called in-process through ctypes.

The bundle's harness runner (converters/apollo3) links each batch of inputs
into a fresh executable, which costs seconds per call: right for parity,
too slow for a frame loop. This builds the same sources the harness compiles
(the bundle's model/model.c and its copy of the C runtime, optimized kernels)
once per bundle into a library, and calls ``ea_model_run`` per face. Inputs
and outputs are quantized / dequantized exactly as the harness runner does,
so both runners give identical outputs (tested).
"""

from __future__ import annotations

import ctypes
import importlib
from pathlib import Path

import numpy as np

from edge_affect.errors import BundleError

KERNEL_SET = "ea_kernels_optimized"
EA_OK = 0


def _apollo3(module: str):
    # edge_affect never imports the converters package statically (DESIGN.md: import direction).
    return importlib.import_module(f"edge_affect.converters.apollo3.{module}")


def build_model_library(firmware: Path, out_so: Path) -> Path:
    """Compile the bundle's model + runtime sources into `out_so` (host compiler)."""
    firmware = Path(firmware)
    sources = [firmware / "model" / "model.c", firmware / "embedded" / "src" / "ea_preprocess.c",
               *sorted((firmware / "embedded" / "kernels" / "reference").glob("*.c")),
               *sorted((firmware / "embedded" / "kernels" / "optimized").glob("*.c"))]
    missing = [str(s) for s in sources[:2] if not s.is_file()]
    if missing:
        raise BundleError(f"{firmware}: not an apollo3 firmware directory (missing {missing})")
    includes = [firmware / "model", firmware / "embedded" / "include", firmware / "embedded" / "kernels"]
    out_so = Path(out_so)
    out_so.parent.mkdir(parents=True, exist_ok=True)
    # Build beside the final name, then rename: a concurrent or interrupted build never leaves a torn library.
    partial = out_so.with_name(f".{out_so.name}.partial")
    _apollo3("toolchain").build_host_library(sources, includes, partial)
    partial.replace(out_so)
    return out_so


class CModelRunner:
    """float32 model inputs (N, C, H, W) -> the model's outputs, through the C library."""

    def __init__(self, firmware: Path, library: Path):
        converter = _apollo3("converter")
        self.program = converter.header_program(Path(firmware) / "model" / "model.h")
        self._reference = _apollo3("reference")
        self.lib = ctypes.CDLL(str(library))
        self.lib.ea_model_arena_size.restype = ctypes.c_size_t
        self.lib.ea_model_run.restype = ctypes.c_int
        self.lib.ea_model_run.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                          ctypes.c_size_t]
        self.kernels = ctypes.addressof(ctypes.c_char.in_dll(self.lib, KERNEL_SET))
        arena_bytes = int(self.lib.ea_model_arena_size())
        # int64 elements keep the arena 8-byte aligned, as the harness declares it.
        self.arena = np.zeros((arena_bytes + 7) // 8, dtype=np.int64)
        self.output_size = self.program.output_tensor.size

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        quantized = self._reference.quantize_inputs(self.program, np.asarray(inputs))
        out = np.zeros((len(quantized), self.output_size), dtype=np.int8)
        for i, row in enumerate(quantized):
            row = np.ascontiguousarray(row)
            status = self.lib.ea_model_run(self.kernels, row.ctypes.data, out[i].ctypes.data,
                                           self.arena.ctypes.data, self.arena.nbytes)
            if status != EA_OK:
                raise BundleError(f"C model: ea_model_run returned status {status}")
        return self._reference.dequantize_outputs(self.program, out)
