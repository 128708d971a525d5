"""Kernel scratch sizes, asked of the C kernels themselves.

Each kernel set says how much scratch an op needs through its
``*_scratch_size()`` functions, and the optimized set's needs follow its
implementation (im2col columns, packed weight blocks, row buffers). Rather
than mirror those formulas in Python, the converter compiles the generated
model with the runtime it ships into a host library and calls
``ea_model_scratch_sizes()`` for every kernel set; the plan reserves the most
any set needs. ``ea_model_run()`` re-checks at run time, so a runtime swapped
in later can refuse (EA_ERR_SCRATCH_TOO_SMALL) but never overrun.
"""

from __future__ import annotations

import ctypes
import tempfile
from pathlib import Path

from edge_affect.converters.apollo3 import app, codegen, toolchain
from edge_affect.converters.apollo3.lower import Program
from edge_affect.converters.apollo3.memory import plan_memory
from edge_affect.spec import PipelineSpec


def query_scratch_sizes(program: Program, spec: PipelineSpec) -> tuple[int, ...]:
    """Per op, the largest scratch size any shipped kernel set asks for."""
    if not program.ops:
        return ()
    # Parameter structs do not depend on the plan: any plan will do for the query.
    provisional = plan_memory(program, scratch=(0,) * len(program.ops))
    generated = codegen.generate(program, provisional, spec, "scratch_query")
    root = toolchain.embedded_dir()
    with tempfile.TemporaryDirectory(prefix="ea_scratch_") as tmp:
        model_dir = Path(tmp) / "model"
        model_dir.mkdir()
        (model_dir / codegen.HEADER).write_text(generated.header)
        (model_dir / codegen.SOURCE).write_text(generated.source)
        sources = [model_dir / codegen.SOURCE, *kernel_sources(root), root / "src" / "ea_preprocess.c"]
        lib_path = toolchain.build_host_library(sources, [model_dir, root / "include", root / "kernels"],
                                                Path(tmp) / "libea_scratch.so")
        lib = ctypes.CDLL(str(lib_path))
        try:
            sizes = [_sizes(lib, f"ea_kernels_{name}", len(program.ops)) for name in app.KERNEL_SETS]
        finally:
            del lib
    return tuple(max(per_set[i] for per_set in sizes) for i in range(len(program.ops)))


def kernel_sources(embedded: Path) -> list[Path]:
    kernels = embedded / "kernels"
    return sorted(kernels.glob("reference/*.c")) + sorted(kernels.glob("optimized/*.c"))


def _sizes(lib: ctypes.CDLL, kernel_set: str, count: int) -> list[int]:
    table = ctypes.addressof(ctypes.c_char.in_dll(lib, kernel_set))
    out = (ctypes.c_size_t * count)()
    fn = lib.ea_model_scratch_sizes
    fn.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t)]
    fn.restype = None
    fn(table, out)
    return [int(v) for v in out]
