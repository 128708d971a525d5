"""Apollo3 cost of an int8 program without running it: instructions (hence
latency), flash and RAM, predicted from the lowered program by formulas
whose coefficients are fitted to QEMU measurements of the shipped C runtime.

Instructions. Each op's count is a linear function of a few counts read off
the kernel's loop structure (``op_features``): for the optimized conv the
number of 16-MAC SMLAD steps over the padded dot product, the 2x2
row/column blocks (bias load + 4 requantizations), the int16 groups gathered
into columns (once per block of output channels), border runs, the weights
widened per block; for the depthwise kernel the widened ring rows and its
3x3 two-pixel steps or generic taps; and so on for every kernel of both
sets. The coefficients (instructions per unit) come from a least-squares
fit, non-negative, relative to each op's size, to the per-op instruction
counts of the ``EA_MODEL_PROFILE`` images of a suite of small CNNs
(``CALIBRATION_PROGRAMS``; never the registry's models, which are the
held-out check), counted by the QEMU plugin exactly as ``bench.py`` does.
``ea_model_run``'s own work is a constant + a per-op term. avg_pool2d has
no formula: the int8 quantizer gives it an output scale of its own, which
the lowering refuses, so no converted model contains one.

Flash. The model part is exact: the bytes of every constant array and
parameter struct codegen emits (``model_data_bytes``, equal to the
``arm-none-eabi-nm`` sizes of those symbols). The rest of the image is the
runtime: a measured constant per kernel set (the kernel table
``ea_kernels_<set>`` references every kernel of its set, so with
``--gc-sections`` all of them are linked whatever the model uses), plus the
generated layer program (``ea_model_run``, fitted per op).

RAM. The arena is exact (``plan_memory`` with the kernels' own scratch
sizes, asked of the compiled C as the converter does), plus the stack
high-water (measured per op kind; the largest of the kinds used, plus the
largest excess any calibration program showed) plus the runtime's static
data besides the arena.

Latency follows bench.py's convention: instructions x CPI (1.0) / clock.
"""

from __future__ import annotations

import ctypes
import json
import math
import platform
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from edge_affect.converters.apollo3 import app, codegen, toolchain
from edge_affect.converters.apollo3.lower import (Add, Conv, FullyConnected, GlobalAvgPool, Op, Pool, Program,
                                                  Softmax, op_macs)
from edge_affect.converters.apollo3.memory import MemoryPlan, plan_memory
from edge_affect.errors import ConversionError, EdgeAffectError
from edge_affect.spec import PipelineSpec

COST_MODEL_PATH = Path(__file__).with_name("cost_model.json")
FORMAT = "edge-affect apollo3 cost model"
FORMAT_VERSION = 1
KERNEL_SETS = app.KERNEL_SETS
CPI = 1.0  # bench.py's convention
CLOCKS_MHZ = (48, 96)

# ea_opt_gemm.h / ea_opt_requant.c constants the features mirror.
_WEIGHT_BLOCK_BYTES = 16384
_ROUND_HI_LIMIT = (1 << 30) - 8
# Sizes of the generated const structs (ea_kernels.h, 32-bit ARM: 4-byte ints and pointers).
_STRUCT_BYTES = {"conv": 4 * (4 * 3 + 2 + 4 + 2 + 3 + 2), "fc": 4 * (5 + 3 + 2), "pool": 4 * (4 * 2 + 4 + 4 + 2),
                 "mean": 4 * (4 + 6), "add": 4 * 13, "softmax": 4 * 5}


class CostModelError(EdgeAffectError):
    """The cost model file is missing, malformed or does not cover a program's ops."""


# ---------------------------------------------------------------------------- estimates


@dataclass(frozen=True)
class OpCost:
    index: int
    layer: str
    kind: str
    variant: str  # the formula used (e.g. depthwise_conv2d/3x3s1)
    macs: int
    instructions: int


@dataclass(frozen=True)
class CostEstimate:
    kernels: str
    macs: int
    instructions: int
    latency_ms_48mhz: float
    latency_ms_96mhz: float
    flash_model_bytes: int  # exact: codegen's constant arrays and structs
    flash_runtime_bytes: int  # kernels + harness + generated layer program (fitted)
    flash_bytes: int  # bench.py's flash_model_runtime_bytes
    arena_bytes: int  # exact: plan_memory
    stack_bytes: int
    static_ram_bytes: int  # the runtime's .data/.bss besides the arena
    ram_bytes: int  # arena + stack + static
    per_op: tuple[OpCost, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "per_op"}
        out["per_op"] = [dict(op.__dict__) for op in self.per_op]
        return out


def latency_ms(instructions: float, mhz: int) -> float:
    return instructions * CPI / (mhz * 1e6) * 1e3


# ---------------------------------------------------------------------------- features

def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _round4(n: int) -> int:
    return (n + 3) & ~3


def _axis_windows(size: int, out: int, kernel: int, stride: int, pad_before: int) -> np.ndarray:
    """Per output position, the in-image length of its window along one axis (ea_pool_window)."""
    start = np.arange(out) * stride - pad_before
    return np.minimum(start + kernel, size) - np.maximum(start, 0)


def _fast_requant(multiplier: np.ndarray, shift: np.ndarray, output_zero_point: int) -> bool:
    """ea_opt_prepare_channels: every channel has the 7-instruction fast form."""
    m, s = np.asarray(multiplier, np.int64), np.asarray(shift, np.int64)
    if np.any(m < 0) or np.any(s > -2):
        return False
    e = -s
    hi = output_zero_point * (np.int64(1) << (e - 1)) + (np.int64(1) << (e - 2))
    return bool(np.all(np.abs(hi) <= _ROUND_HI_LIMIT))


def _opt_add_is_fast(op: Add) -> bool:
    """ea_opt_add_s8 keeps its own loop (else it runs the reference kernel)."""
    p = op.params

    def form_ok(m: int, s: int) -> bool:
        return _fast_requant(np.array([m]), np.array([s]), 0) or not (m < 0 or s > 0 or s < -1)

    return (form_ok(p.input1_multiplier, p.input1_shift) and form_ok(p.input2_multiplier, p.input2_shift)
            and _fast_requant(np.array([p.output_multiplier]), np.array([p.output_shift]), p.output_zero_point))


def _opt_block_rows(kp: int, c_out: int) -> int:
    rows = _WEIGHT_BLOCK_BYTES // (kp * 2)
    if rows >= c_out:
        return c_out
    return max(rows & ~1, 2)


def _opt_im2col(program: Program, op: Conv) -> dict[str, float]:
    """ea_opt_conv.c: blocks of output channels x pairs of output pixels through the 2x2 SMLAD core."""
    x, y = program.tensors[op.input].shape, program.tensors[op.output].shape
    _, h, w, c_in = x
    _, oh, ow, c_out = y
    _, kh, kw, _ = op.weights.shape
    top, _bottom, left, right = op.padding
    run = kw * c_in
    kp = kh * _round4(run)
    block = _opt_block_rows(kp, c_out)
    rows = [min(block, c_out - first) for first in range(0, c_out, block)]
    blocks = len(rows)
    pixels = oh * ow
    pairs = _ceil_div(pixels, 2)
    row_pairs = sum(_ceil_div(r, 2) for r in rows)
    valid_rows = _axis_windows(h, oh, kh, op.stride[0], top)  # filter rows inside the image, per output row
    starts = np.arange(ow) * op.stride[1] - left
    x_border = (starts < 0) | (starts + kw > w)
    gray3 = c_in == 1 and kw == 3 and op.stride[1] == 1 and left == 0 and right == 0
    pointwise = op.kind == "pointwise_conv2d"
    if gray3:  # pairs whose first pixel is not the last of its row take the one-load path
        first = np.arange(0, pixels - 1, 2)
        gray3_pairs = int(np.count_nonzero(first % ow + 1 < ow))
    else:
        gray3_pairs = 0
    column_pixels = pixels - 2 * gray3_pairs
    staging = c_in % 4 != 0 and (left > 0 or right > 0)
    border_runs = int(valid_rows.sum()) * int(x_border.sum()) if not pointwise else 0
    return {
        "call": 1.0,
        "blocks": float(blocks),
        "smlad_steps": float(pairs * row_pairs * kp // 4),  # 16 MACs each
        "row_pairs": float(pairs * row_pairs),  # bias + 4 requantizations + stores
        "pixel_pairs": float(pairs * blocks),
        "gathered_groups": float(blocks * column_pixels * kp // 4),
        "gathered_runs": float(blocks * column_pixels * kh),
        "border_work": float(blocks * border_runs * (run if staging else kw)),
        "gray3_rows": float(blocks * gray3_pairs * kh),
        "weight_groups": float(c_out * kp // 4),
    }


def _opt_depthwise(program: Program, op: Conv) -> tuple[str, dict[str, float]]:
    """ea_opt_depthwise.c: a ring of widened input rows, 3x3/stride-1 two-pixel steps or generic taps."""
    _, h, w, c = program.tensors[op.input].shape
    _, oh, ow, _ = program.tensors[op.output].shape
    _, kh, kw, _ = op.weights.shape
    top, _bottom, left, right = op.padding
    groups = _ceil_div(c, 4)
    width = w + left + right
    loaded_inside = loaded = 0
    next_row = 0
    for oy in range(oh):
        py0 = oy * op.stride[0]
        for py in range(max(next_row, py0), py0 + kh):
            loaded += 1
            loaded_inside += 0 <= py - top < h
        next_row = max(next_row, py0 + kh)
    partial = c % 4 != 0
    features = {
        "call": 1.0,
        "ring_rows": float(loaded * groups),
        "widened_pixels": float(loaded_inside * groups * width),
        "partial_pixels": float(loaded_inside * w * (c % 4)) if partial else 0.0,
        "weight_taps": float(groups * kh * kw),
    }
    lanes = [min(4, c - 4 * g) for g in range(groups)]
    fast = _fast_requant(op.multiplier, op.shift, op.output_zero_point)
    if kh == 3 and kw == 3 and op.stride[1] == 1 and fast:
        lane_rows = oh * sum(1 + (n > 1) for n in lanes)  # one call per lane pair and output row
        features.update({"lane_rows": float(lane_rows), "pixel_pairs": float(lane_rows * (ow // 2)),
                         "odd_pixels": float(lane_rows * (ow % 2))})
        return "depthwise_conv2d/3x3s1", features
    features.update({"group_rows": float(oh * groups), "group_pixels": float(oh * ow * groups),
                     "taps": float(oh * ow * groups * kh * kw)})
    return "depthwise_conv2d", features


def _opt_fully_connected(op: FullyConnected) -> dict[str, float]:
    out, k = op.weights.shape
    return {"call": 1.0, "outputs": float(out), "dot_steps": float(out * (k // 4)),
            "tail_macs": float(out * (k % 4)), "inputs": float(k)}


def _pool_windows(program: Program, op: Pool) -> tuple[np.ndarray, np.ndarray]:
    _, h, w, _ = program.tensors[op.input].shape
    _, oh, ow, _ = program.tensors[op.output].shape
    return (_axis_windows(h, oh, op.filter[0], op.stride[0], op.padding[0]),
            _axis_windows(w, ow, op.filter[1], op.stride[1], op.padding[2]))


def _opt_max_pool(program: Program, op: Pool) -> dict[str, float]:
    """ea_opt_pooling.c: 4 channels per word, SSUB8 + SEL per tap; the channel tail scalar."""
    c = program.tensors[op.input].shape[3]
    rows, cols = _pool_windows(program, op)
    words, tail = c // 4, c % 4
    window_rows = float(rows.sum() * len(cols))
    taps = float(rows.sum() * cols.sum())
    three = cols == 3  # full 3-wide windows: unrolled
    return {"call": 1.0, "pixels": float(len(rows) * len(cols)), "word_windows": float(len(rows) * len(cols) * words),
            "word_rows_3": float(rows.sum() * three.sum() * words),
            "word_taps_other": float(rows.sum() * cols[~three].sum() * words),
            "tail_taps": taps * tail, "tail_rows": window_rows * tail}


def _ref_pool(program: Program, op: Pool) -> dict[str, float]:
    """ea_ref_pooling.c: per output element, a loop over the in-image window."""
    c = program.tensors[op.input].shape[3]
    rows, cols = _pool_windows(program, op)
    return {"call": 1.0, "pixels": float(len(rows) * len(cols)), "outputs": float(len(rows) * len(cols) * c),
            "window_rows": float(rows.sum() * len(cols) * c), "taps": float(rows.sum() * cols.sum() * c)}


def _ref_conv(program: Program, op: Conv) -> dict[str, float]:
    """ea_ref_conv.c: TFLM's loops, padding taps skipped."""
    _, h, w, c_in = program.tensors[op.input].shape
    _, oh, ow, c_out = program.tensors[op.output].shape
    _, kh, kw, _ = op.weights.shape
    rows = _axis_windows(h, oh, kh, op.stride[0], op.padding[0])
    cols = _axis_windows(w, ow, kw, op.stride[1], op.padding[2])
    taps = float(rows.sum() * cols.sum())  # in-image taps over all output pixels
    per_tap = 1 if op.kind == "depthwise_conv2d" else c_in
    return {"call": 1.0, "outputs": float(oh * ow * c_out), "filter_rows": float(oh * ow * c_out * kh),
            "taps": taps * c_out, "macs": taps * c_out * per_tap}


def _global_avg_pool(program: Program, op: GlobalAvgPool) -> dict[str, float]:
    _, h, w, c = program.tensors[op.input].shape
    return {"call": 1.0, "channels": float(c), "inputs": float(h * w * c)}


def _elementwise(program: Program, op: Op) -> dict[str, float]:
    return {"call": 1.0, "elements": float(program.tensors[op.output].size)}


def op_features(program: Program, op: Op, kernels: str = "optimized") -> tuple[str, dict[str, float]]:
    """(formula name, feature counts) of one op under a kernel set."""
    _check_kernels(kernels)
    optimized = kernels == "optimized"
    if isinstance(op, Conv):
        if not optimized:
            return op.kind, _ref_conv(program, op)
        if op.kind == "depthwise_conv2d":
            return _opt_depthwise(program, op)
        return op.kind, _opt_im2col(program, op)
    if isinstance(op, FullyConnected):
        if optimized:
            return op.kind, _opt_fully_connected(op)
        out, k = op.weights.shape
        return op.kind, {"call": 1.0, "outputs": float(out), "macs": float(out * k)}
    if isinstance(op, Pool):
        if optimized and op.kind == "max_pool2d":
            return op.kind, _opt_max_pool(program, op)
        return f"{op.kind}/reference", _ref_pool(program, op)
    if isinstance(op, GlobalAvgPool):
        return "global_avg_pool/reference", _global_avg_pool(program, op)
    if isinstance(op, Add):
        if optimized and _opt_add_is_fast(op):
            return "add", _elementwise(program, op)
        return "add/reference", _elementwise(program, op)
    if isinstance(op, Softmax):
        return "softmax/reference", _elementwise(program, op)
    raise ConversionError(f"apollo3 cost model: no formula for op {op.kind!r} ({op.layer})")


def _check_kernels(kernels: str) -> None:
    if kernels not in KERNEL_SETS:
        raise ValueError(f"kernels must be one of {KERNEL_SETS}, got {kernels!r}")


def _formula_set(kernels: str, variant: str) -> str:
    """The kernel set whose fit holds a formula: the optimized set runs some reference kernels."""
    return "reference" if variant.endswith("/reference") else kernels


def _variant_key(variant: str) -> str:
    return variant.removesuffix("/reference")


# ---------------------------------------------------------------------------- flash and RAM, exact parts

def model_data_bytes(program: Program) -> dict[str, int]:
    """Bytes of every per-op constant codegen emits (the nm sizes of the eam_* symbols).

    The input tables, labels and preprocessing config are emitted too but
    only ea_model_preprocess() uses them: an image that feeds the model
    int8 inputs (the harness, bench.py's figure) links none of them."""
    sizes: dict[str, int] = {}
    for i, op in enumerate(program.ops):
        p = f"{codegen.SYMBOL_PREFIX}op{i}"
        if isinstance(op, (Conv, FullyConnected)):
            sizes[f"{p}_weights"] = int(op.weights.size)
            if op.bias is not None:
                sizes[f"{p}_bias"] = 4 * int(op.bias.size)
            sizes[f"{p}_multiplier"] = 4 * int(op.multiplier.size)
            sizes[f"{p}_shift"] = 4 * int(op.shift.size)
        struct = {"Conv": "conv", "FullyConnected": "fc", "Pool": "pool", "GlobalAvgPool": "mean", "Add": "add",
                  "Softmax": "softmax"}[type(op).__name__]
        sizes[f"{p}_params"] = _STRUCT_BYTES[struct]
    return sizes


def _alignment_padding(data: dict[str, int]) -> int:
    """Every generated symbol is 4-byte aligned: int8 arrays leave up to 3 bytes before the next one."""
    return sum(_round4(n) - n for n in data.values())


# ---------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class Formula:
    features: tuple[str, ...]
    coefficients: tuple[float, ...]

    def __call__(self, values: dict[str, float]) -> float:
        unknown = set(values) - set(self.features)
        if unknown:
            raise CostModelError(f"features {sorted(unknown)} have no coefficient in the cost model "
                                 f"(fitted features: {list(self.features)}); refit with `edge-affect apollo3-cost fit`")
        return sum(c * values.get(f, 0.0) for f, c in zip(self.features, self.coefficients))


@dataclass(frozen=True)
class KernelSetModel:
    ops: dict[str, Formula]
    run_overhead: Formula  # ea_model_run's own instructions: features call, ops
    runtime_base_bytes: int  # image - inputs - model data - generated layer program
    program_code: Formula  # ea_model_run + check_scratch code: features call, ops, scratch_ops
    stack_bytes: dict[str, int]  # high-water per op kind
    stack_margin_bytes: int  # the most any calibration program exceeded its kinds' figure
    static_ram_bytes: int


class CostModel:
    """Fitted per-kernel-set formulas (``cost_model.json``)."""

    def __init__(self, data: dict[str, Any], source: str = "cost model") -> None:
        self.source = source
        self.data = data
        self.sets = _parse(data, source)

    @classmethod
    def load(cls, path: Path | str | None = None) -> "CostModel":
        path = Path(path) if path is not None else COST_MODEL_PATH
        try:
            text = path.read_text()
        except FileNotFoundError:
            raise CostModelError(f"{path}: cost model file not found; create it with "
                                 f"`edge-affect apollo3-cost fit --out {path}`") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CostModelError(f"{path}: not valid JSON ({exc})") from None
        return cls(data, str(path))

    def estimate(self, program: Program, plan: MemoryPlan, kernels: str = "optimized") -> CostEstimate:
        _check_kernels(kernels)
        model = self._set(kernels)
        per_op = []
        for i, op in enumerate(program.ops):
            variant, values = op_features(program, op, kernels)
            formula = self._formula(kernels, variant)
            per_op.append(OpCost(i, op.layer, op.kind, variant, op_macs(program, op),
                                 max(0, round(formula(values)))))
        n_ops = len(program.ops)
        scratch_ops = sum(isinstance(op, (Conv, FullyConnected)) for op in program.ops)
        overhead = model.run_overhead({"call": 1.0, "ops": float(n_ops)})
        instructions = int(round(sum(op.instructions for op in per_op) + overhead))

        data = model_data_bytes(program)
        flash_model = sum(data.values())
        code = model.program_code({"call": 1.0, "ops": float(n_ops), "scratch_ops": float(scratch_ops)})
        flash_runtime = int(round(model.runtime_base_bytes + code + _alignment_padding(data)))

        kinds = {op.kind for op in program.ops}
        missing = kinds - set(model.stack_bytes)
        if missing:
            raise CostModelError(f"{self.source}: no stack figure for op kinds {sorted(missing)} ({kernels} set)")
        stack = max(model.stack_bytes[k] for k in kinds) + model.stack_margin_bytes if kinds else 0
        return CostEstimate(
            kernels=kernels, macs=program.macs(), instructions=instructions,
            latency_ms_48mhz=round(latency_ms(instructions, 48), 3),
            latency_ms_96mhz=round(latency_ms(instructions, 96), 3),
            flash_model_bytes=flash_model, flash_runtime_bytes=flash_runtime,
            flash_bytes=flash_model + flash_runtime, arena_bytes=plan.arena_bytes, stack_bytes=stack,
            static_ram_bytes=model.static_ram_bytes, ram_bytes=plan.arena_bytes + stack + model.static_ram_bytes,
            per_op=tuple(per_op))

    def _set(self, kernels: str) -> KernelSetModel:
        if kernels not in self.sets:
            raise CostModelError(f"{self.source}: no fit for the {kernels} kernel set (fitted: {sorted(self.sets)}); "
                                 f"refit with `edge-affect apollo3-cost fit`")
        return self.sets[kernels]

    def _formula(self, kernels: str, variant: str) -> Formula:
        owner = _formula_set(kernels, variant)
        formula = self._set(owner).ops.get(_variant_key(variant))
        if formula is None:
            raise CostModelError(f"{self.source}: no instruction formula for {_variant_key(variant)!r} in the "
                                 f"{owner} kernel set; refit with `edge-affect apollo3-cost fit`")
        return formula


def _parse(data: Any, source: str) -> dict[str, KernelSetModel]:
    def need(mapping: Any, key: str, kind: type | tuple, where: str) -> Any:
        if not isinstance(mapping, dict) or key not in mapping:
            raise CostModelError(f"{source}: missing field {where}{key}")
        value = mapping[key]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise CostModelError(f"{source}: field {where}{key} should be {_type_name(kind)}, "
                                 f"got {type(value).__name__}")
        return value

    def formula(raw: Any, where: str) -> Formula:
        features = need(raw, "features", list, where)
        coefficients = need(raw, "coefficients", list, where)
        if (len(features) != len(coefficients) or not all(isinstance(f, str) for f in features)
                or not all(isinstance(c, (int, float)) and not isinstance(c, bool) and math.isfinite(c)
                           for c in coefficients)):
            raise CostModelError(f"{source}: {where} needs as many feature names as finite coefficients")
        return Formula(tuple(features), tuple(float(c) for c in coefficients))

    if not isinstance(data, dict):
        raise CostModelError(f"{source}: expected a JSON object, got {type(data).__name__}")
    if data.get("format") != FORMAT or data.get("version") != FORMAT_VERSION:
        raise CostModelError(f"{source}: not an {FORMAT} version {FORMAT_VERSION} file "
                             f"(format {data.get('format')!r}, version {data.get('version')!r})")
    sets = need(data, "kernels", dict, "")
    unknown = set(sets) - set(KERNEL_SETS)
    if not sets or unknown:
        raise CostModelError(f"{source}: kernels should hold fits for {list(KERNEL_SETS)}, got {sorted(sets)}")
    out = {}
    for name in sets:
        raw = need(sets, name, dict, "kernels.")
        where = f"kernels.{name}."
        ops = need(raw, "ops", dict, where)
        flash = need(raw, "flash", dict, where)
        ram = need(raw, "ram", dict, where)
        stack = need(ram, "stack_bytes", dict, where + "ram.")
        if not all(isinstance(v, int) and v >= 0 for v in stack.values()):
            raise CostModelError(f"{source}: {where}ram.stack_bytes values should be byte counts")
        out[name] = KernelSetModel(
            ops={k: formula(v, f"{where}ops.{k}.") for k, v in ops.items()},
            run_overhead=formula(need(raw, "run_overhead", dict, where), where + "run_overhead."),
            runtime_base_bytes=need(flash, "runtime_base_bytes", int, where + "flash."),
            program_code=formula(need(flash, "program_code", dict, where + "flash."), where + "flash.program_code."),
            stack_bytes=dict(stack),
            stack_margin_bytes=need(ram, "stack_margin_bytes", int, where + "ram."),
            static_ram_bytes=need(ram, "static_bytes", int, where + "ram."))
    return out


def _type_name(kind: type | tuple) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join({"dict": "an object", "list": "a list", "int": "an integer", "str": "a string"}.get(
        k.__name__, k.__name__) for k in kinds)


# ---------------------------------------------------------------------------- scratch sizes without a per-model build

class _Shape(ctypes.Structure):
    _fields_ = [("n", ctypes.c_int32), ("h", ctypes.c_int32), ("w", ctypes.c_int32), ("c", ctypes.c_int32)]


class _Padding(ctypes.Structure):
    _fields_ = [("top", ctypes.c_int32), ("bottom", ctypes.c_int32), ("left", ctypes.c_int32),
                ("right", ctypes.c_int32)]


class _Requant(ctypes.Structure):
    _fields_ = [("multiplier", ctypes.c_void_p), ("shift", ctypes.c_void_p), ("count", ctypes.c_int32)]


class _ConvParams(ctypes.Structure):  # ea_conv_params_t
    _fields_ = [("input", _Shape), ("filter", _Shape), ("output", _Shape), ("stride_h", ctypes.c_int32),
                ("stride_w", ctypes.c_int32), ("pad", _Padding), ("input_zero_point", ctypes.c_int32),
                ("output_zero_point", ctypes.c_int32), ("requant", _Requant), ("act_min", ctypes.c_int32),
                ("act_max", ctypes.c_int32)]


class _FcParams(ctypes.Structure):  # ea_fc_params_t
    _fields_ = [("batches", ctypes.c_int32), ("in_features", ctypes.c_int32), ("out_features", ctypes.c_int32),
                ("input_zero_point", ctypes.c_int32), ("output_zero_point", ctypes.c_int32),
                ("requant", _Requant), ("act_min", ctypes.c_int32), ("act_max", ctypes.c_int32)]


_CONV_SCRATCH_FN = ctypes.CFUNCTYPE(ctypes.c_size_t, ctypes.POINTER(_ConvParams))
_FC_SCRATCH_FN = ctypes.CFUNCTYPE(ctypes.c_size_t, ctypes.POINTER(_FcParams))


class _KernelSet(ctypes.Structure):  # the leading fields of ea_kernel_set_t
    _fields_ = [("name", ctypes.c_char_p), ("conv2d_s8", ctypes.c_void_p), ("conv2d_s8_scratch_size", _CONV_SCRATCH_FN),
                ("depthwise_conv2d_s8", ctypes.c_void_p),
                ("depthwise_conv2d_s8_scratch_size", _CONV_SCRATCH_FN),
                ("pointwise_conv2d_s8", ctypes.c_void_p),
                ("pointwise_conv2d_s8_scratch_size", _CONV_SCRATCH_FN),
                ("fully_connected_s8", ctypes.c_void_p), ("fully_connected_s8_scratch_size", _FC_SCRATCH_FN)]


class KernelScratch:
    """The kernels' own ``*_scratch_size()`` functions, from one host build of
    the kernel library per process (the converter instead builds every
    generated model: seconds per candidate in a search). Same answer as
    ``scratch.query_scratch_sizes``: per op, the most any kernel set asks for."""

    _instance: "KernelScratch | None" = None

    def __init__(self) -> None:
        from edge_affect.converters.apollo3.scratch import kernel_sources

        root = toolchain.embedded_dir()
        self._tmp = tempfile.TemporaryDirectory(prefix="ea_cost_scratch_")
        lib_path = toolchain.build_host_library(kernel_sources(root), [root / "include", root / "kernels"],
                                                Path(self._tmp.name) / "libea_kernels.so")
        self._lib = ctypes.CDLL(str(lib_path))
        self._sets = [_KernelSet.in_dll(self._lib, f"ea_kernels_{name}") for name in KERNEL_SETS]

    @classmethod
    def shared(cls) -> "KernelScratch":
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def sizes(self, program: Program) -> tuple[int, ...]:
        return tuple(self._op(program, op) for op in program.ops)

    def _op(self, program: Program, op: Op) -> int:
        if isinstance(op, Conv):
            params = _conv_params(program, op)
            field_name = f"{op.kind}_s8_scratch_size"
            return max(int(getattr(ks, field_name)(ctypes.byref(params))) for ks in self._sets)
        if isinstance(op, FullyConnected):
            out, k = op.weights.shape
            params = _FcParams(batches=1, in_features=k, out_features=out)
            return max(int(ks.fully_connected_s8_scratch_size(ctypes.byref(params))) for ks in self._sets)
        return 0


def _conv_params(program: Program, op: Conv) -> _ConvParams:
    x, y = program.tensors[op.input].shape, program.tensors[op.output].shape
    return _ConvParams(input=_Shape(*x), filter=_Shape(*op.weights.shape), output=_Shape(*y),
                       stride_h=op.stride[0], stride_w=op.stride[1], pad=_Padding(*op.padding),
                       input_zero_point=op.input_zero_point, output_zero_point=op.output_zero_point,
                       act_min=op.act_min, act_max=op.act_max)


# ---------------------------------------------------------------------------- estimating

_LOADED: dict[Path, CostModel] = {}


def load_cost_model(path: Path | str | None = None) -> CostModel:
    """The cost model at `path` (default: the committed cost_model.json), cached per process."""
    key = Path(path).resolve() if path is not None else COST_MODEL_PATH
    if key not in _LOADED:
        _LOADED[key] = CostModel.load(key)
    return _LOADED[key]


def estimate_program(program: Program, plan: MemoryPlan, kernels: str = "optimized", *,
                     cost_model: CostModel | None = None) -> CostEstimate:
    return (cost_model or load_cost_model()).estimate(program, plan, kernels)


def lower_for_estimate(model: Any, spec: PipelineSpec, calibration: np.ndarray) -> tuple[Program, MemoryPlan]:
    """Quantize, lower and plan as Apollo3Converter.lowered() does (same functions, same
    ConversionErrors); scratch sizes from the kernel library instead of a per-model build."""
    import torch

    from edge_affect.converters.apollo3.lower import lower
    from edge_affect.converters.quantize import check_calibration, quantize_pt2e

    calibration = check_calibration(calibration, spec.input.shape)
    quantized = quantize_pt2e(model, torch.zeros(spec.input.shape), calibration)
    program = lower(quantized.module, spec)
    return program, plan_memory(program, KernelScratch.shared().sizes(program))


def estimate_model(model: Any, spec: PipelineSpec, calibration: np.ndarray, kernels: str = "optimized", *,
                   cost_model: CostModel | None = None) -> CostEstimate:
    program, plan = lower_for_estimate(model, spec, calibration)
    return estimate_program(program, plan, kernels, cost_model=cost_model)


# ---------------------------------------------------------------------------- calibration programs

CALIBRATION_IMAGES = 8
CALIBRATION_SEED = 7


def _spec(size: tuple[int, int], classes: int, color: str = "gray") -> PipelineSpec:
    from edge_affect.spec import InputSpec, OutputSpec

    channels = 1 if color == "gray" else 3
    return PipelineSpec(task="smile" if classes == 2 else "expression",
                        input=InputSpec(source="face_box", color=color, size=size, resize="bilinear",
                                        scale=(1.0 / 255.0,) * channels, offset=(0.0,) * channels),
                        output=OutputSpec(kind="logits", post="softmax",
                                          labels=tuple(f"class_{i}" for i in range(classes))))


def _calibration_modules() -> dict[str, Callable[[], tuple[Any, PipelineSpec]]]:
    """Small CNNs covering every op kind and the kernels' code paths (strides,
    padding, channel counts that are / are not multiples of 4, weight blocks,
    3x3 and generic depthwise, the grayscale stem, FC tails). Never the
    registry's models: those are what the fit is checked against."""
    from torch import nn

    from edge_affect.models.smile import SmileTiny

    def dw(c: int, k: int, stride: int, pad: int) -> nn.Conv2d:
        return nn.Conv2d(c, c, k, stride, pad, groups=c)

    class Residual(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, 1, 1), nn.ReLU())
            self.body = nn.Sequential(nn.Conv2d(8, 8, 3, 1, 1), nn.BatchNorm2d(8), nn.ReLU())
            self.shortcut = nn.Conv2d(8, 16, 1, 2)
            self.main = nn.Sequential(dw(8, 3, 1, 1), nn.Conv2d(8, 16, 1), nn.ReLU(), nn.MaxPool2d(3, 2, 1))
            self.head = nn.Conv2d(16, 7, 3, 1, 1)

        def forward(self, x):
            x = self.stem(x)
            x = x + self.body(x)
            x = self.shortcut(x) + self.main(x)
            return self.head(x).mean((2, 3))

    class DepthwiseMix(nn.Module):
        """3x3 stride-1 depthwise at several widths and channel counts (partial groups, odd widths),
        generic depthwise (5x5, 7x7, strided, unpadded), residual adds."""

        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(1, 6, 3, 1, 1), nn.ReLU(), dw(6, 3, 1, 1), nn.ReLU(),
                                      nn.Conv2d(6, 8, 1), nn.ReLU())
            self.block = nn.Sequential(dw(8, 3, 1, 1), nn.ReLU(), nn.Conv2d(8, 8, 1))
            self.reduce = nn.Sequential(nn.Conv2d(8, 12, 1), nn.ReLU(), dw(12, 3, 1, 1), nn.ReLU(), dw(12, 3, 1, 0),
                                        nn.ReLU(), dw(12, 5, 2, 2), nn.ReLU(), dw(12, 3, 2, 0), nn.ReLU(),
                                        nn.Conv2d(12, 16, 1), nn.ReLU())
            self.block2 = nn.Sequential(dw(16, 3, 1, 1), nn.ReLU(), nn.Conv2d(16, 16, 1))
            self.head = nn.Sequential(dw(16, 7, 1, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                      nn.Linear(16, 3))

        def forward(self, x):
            x = self.stem(x)
            x = x + self.block(x)
            x = self.reduce(x)
            x = x + self.block2(x)
            return self.head(x)

    def seq(*layers: nn.Module) -> nn.Module:
        return nn.Sequential(*layers)

    return {
        "gray3_stem": lambda: (seq(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.Conv2d(8, 16, 3, 1, 1), nn.ReLU(),
                                   nn.MaxPool2d(2), nn.Conv2d(16, 16, 3, 2, 1), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
                                   nn.Flatten(), nn.Linear(16 * 5 * 5, 24), nn.ReLU(), nn.Linear(24, 2)),
                               _spec((40, 40), 2)),
        "smile_narrow": lambda: (SmileTiny(filters=(4, 8, 16), hidden=16, input_size=48), _spec((48, 48), 2)),
        "smile_wide": lambda: (SmileTiny(filters=(12, 24, 48), hidden=48, input_size=64), _spec((64, 64), 2)),
        "separable": lambda: (seq(nn.Conv2d(1, 16, 3, 2, 1), nn.ReLU(), dw(16, 3, 1, 1), nn.ReLU(),
                                  nn.Conv2d(16, 32, 1), nn.ReLU(), dw(32, 3, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 1),
                                  nn.ReLU(), dw(64, 5, 1, 2), nn.ReLU(), nn.Conv2d(64, 64, 1), nn.ReLU(),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 7)),
                              _spec((48, 48), 7)),
        "residual": lambda: (Residual(), _spec((32, 32), 7)),
        "rgb_odd_channels": lambda: (seq(nn.Conv2d(3, 12, 3, 1, 1), nn.ReLU(), nn.Conv2d(12, 20, 3, 1, 1), nn.ReLU(),
                                         nn.MaxPool2d(2), dw(20, 3, 1, 1), nn.ReLU(), nn.Conv2d(20, 5, 1), nn.ReLU(),
                                         dw(5, 3, 2, 1), nn.ReLU(), nn.Conv2d(5, 7, 3, 1, 1), nn.ReLU(),
                                         nn.MaxPool2d(3), nn.Flatten(), nn.Linear(7 * 3 * 3, 10)),
                                     _spec((36, 36), 10, "rgb")),
        "wide_blocks": lambda: (seq(nn.Conv2d(1, 24, 3, 1, 1), nn.ReLU(), nn.Conv2d(24, 48, 3, 1, 1), nn.ReLU(),
                                    nn.MaxPool2d(2), nn.Conv2d(48, 96, 3, 1, 1), nn.ReLU(), nn.Conv2d(96, 96, 1),
                                    nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(96, 16, 5, 1, 2), nn.ReLU(),
                                    nn.Flatten(), nn.Linear(16 * 3 * 3, 130), nn.ReLU(), nn.Linear(130, 3)),
                                _spec((12, 12), 3)),
        "depthwise_mix": lambda: (DepthwiseMix(), _spec((24, 24), 3)),
        "fc_heavy": lambda: (seq(nn.Conv2d(1, 4, 5, 2, 2), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
                                 nn.Flatten(), nn.Linear(4 * 6 * 6, 256), nn.ReLU(), nn.Linear(256, 101), nn.ReLU(),
                                 nn.Linear(101, 5)),
                             _spec((24, 24), 5)),
        "pool_mix": lambda: (seq(nn.Conv2d(1, 6, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(3, 2, 1), nn.Conv2d(6, 12, 3, 2, 1),
                                 nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True), nn.Conv2d(12, 24, 1), nn.ReLU(),
                                 dw(24, 3, 1, 0), nn.ReLU(), dw(24, 3, 2, 1), nn.AdaptiveAvgPool2d(1),
                                 nn.Flatten(), nn.Linear(24, 4)),
                             _spec((30, 30), 4)),
    }


CALIBRATION_PROGRAMS = tuple(_calibration_modules())


def calibration_inputs(spec: PipelineSpec, n: int = CALIBRATION_IMAGES, seed: int = CALIBRATION_SEED) -> np.ndarray:
    """Synthetic faces through the reference preprocessing: (n, C, H, W) float32."""
    from edge_affect.data.samples import synthetic_face_images
    from edge_affect.runtime.preprocess import crop_face, preprocess_crops

    crops = [crop_face(image, spec.input, box=box)
             for image, box in synthetic_face_images(n, seed=seed, color=spec.input.color)]
    return preprocess_crops(np.stack(crops), spec.input)


@dataclass(frozen=True)
class CalibrationProgram:
    name: str
    program: Program
    plan: MemoryPlan
    spec: PipelineSpec
    inputs: np.ndarray  # float32 model inputs; the first one is measured


def build_calibration_program(name: str) -> CalibrationProgram:
    import torch

    factories = _calibration_modules()
    if name not in factories:
        raise CostModelError(f"unknown calibration program {name!r}; known: {list(factories)}")
    torch.manual_seed(0)  # weights (hence quantization and requantization forms) are part of the fit
    module, spec = factories[name]()
    module.eval()
    inputs = calibration_inputs(spec)
    program, plan = lower_for_estimate(module, spec, inputs)
    return CalibrationProgram(name, program, plan, spec, inputs)


# ---------------------------------------------------------------------------- measuring on QEMU

@dataclass(frozen=True)
class Measurement:
    """One program's figures on QEMU with one kernel set."""

    program: str
    kernels: str
    op_instructions: tuple[int, ...]  # EA_MODEL_PROFILE image, one region per op
    instructions: int  # plain image, one inference
    stack_bytes: int
    flash_image_bytes: int  # text + rodata + data
    flash_inputs_bytes: int
    symbols: dict[str, int]  # generated symbols (eam_*, ea_model_*, check_scratch) -> nm size
    static_bytes: int  # .data + .bss

    @property
    def flash_bytes(self) -> int:
        """bench.py's flash_model_runtime_bytes."""
        return self.flash_image_bytes - self.flash_inputs_bytes


# Generated functions an inference links (check_scratch is static, usually inlined into ea_model_run).
_GENERATED_CODE = ("ea_model_run", "check_scratch", "ea_model_arena_size")


def measure_program(cal: CalibrationProgram, kernels: str, workdir: Path, jobs: int = 2) -> Measurement:
    """The profile and plain images of the program on QEMU, built and counted as bench.py does."""
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        firmware = _write_firmware(cal, kernels, Path(workdir))
        profile = pool.submit(_run_image, cal, firmware, kernels, True)
        plain = pool.submit(_run_image, cal, firmware, kernels, False)
        return _measurement(cal, kernels, profile.result(), plain.result())


def _write_firmware(cal: CalibrationProgram, kernels: str, workdir: Path) -> Path:
    from edge_affect.converters.apollo3.converter import write_firmware

    toolchain.find_tools().require("make", "host_cc", "arm_gcc", "arm_size", "arm_nm", "qemu")
    return write_firmware(workdir / f"{cal.name}_{kernels}", cal.program, cal.plan, cal.spec, cal.name,
                          cal.inputs[:1])


@dataclass(frozen=True)
class _ImageRun:
    run: Any  # toolchain.QemuRun
    sizes: dict[str, int]
    symbols: dict[str, int]


def _run_image(cal: CalibrationProgram, firmware: Path, kernels: str, profile: bool) -> _ImageRun:
    """One harness image (per-op regions with EA_MODEL_PROFILE) on QEMU with the instruction-count plugin."""
    from edge_affect.converters.apollo3.bench import symbol_sizes
    from edge_affect.converters.apollo3.converter import HarnessRunner, outputs_of
    from edge_affect.converters.apollo3.reference import quantize_inputs

    runner = HarnessRunner(firmware, "qemu", kernels=kernels)
    plugin = toolchain.build_plugin(runner.workdir / "plugin")
    elf = runner.image(quantize_inputs(cal.program, cal.inputs[:1]), defines="EA_MODEL_PROFILE" if profile else "")
    run = toolchain.run_qemu(elf, plugin=True, plugin_path=plugin, timeout=300)
    what = f"{cal.name} {'profile ' if profile else ''}image ({kernels})"
    outputs_of(run, 1, cal.program.output_tensor.size, what)
    expected = len(cal.program.ops) if profile else 1
    if len(run.region_instructions) != expected:
        raise toolchain.RunError(f"{what}: {len(run.region_instructions)} measured regions, expected {expected}")
    return _ImageRun(run, toolchain.elf_sizes(elf), symbol_sizes(elf))


def _measurement(cal: CalibrationProgram, kernels: str, profile: _ImageRun, plain: _ImageRun) -> Measurement:
    symbols = plain.symbols
    generated = {k: v for k, v in symbols.items()
                 if k.startswith(codegen.SYMBOL_PREFIX) or k.startswith("ea_model_") or k in _GENERATED_CODE}
    sizes = plain.sizes
    return Measurement(program=cal.name, kernels=kernels, op_instructions=tuple(profile.run.region_instructions),
                       instructions=int(plain.run.region_instructions[0]),
                       stack_bytes=int(plain.run.console.stack_bytes or 0),
                       flash_image_bytes=sizes["text"] + sizes["rodata"] + sizes["data"],
                       flash_inputs_bytes=symbols.get(app.INPUTS_SYMBOL, 0), symbols=generated,
                       static_bytes=sizes["data"] + sizes["bss"])


# ---------------------------------------------------------------------------- fitting

def nonnegative_lstsq(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """min ||a x - b|| with x >= 0 (Lawson-Hanson active set), columns scaled for conditioning."""
    scale = np.linalg.norm(a, axis=0)
    scale[scale == 0] = 1.0
    a = a / scale
    n = a.shape[1]
    passive = np.zeros(n, bool)
    x = np.zeros(n)
    for _ in range(3 * n + 10):
        gradient = a.T @ (b - a @ x)
        candidates = ~passive & (gradient > 1e-10 * max(1.0, np.abs(gradient).max()))
        if not candidates.any():
            break
        passive[np.argmax(np.where(candidates, gradient, -np.inf))] = True
        while True:
            z = np.zeros(n)
            z[passive] = np.linalg.lstsq(a[:, passive], b, rcond=None)[0]
            if np.all(z[passive] > 0):
                x = z
                break
            blocking = passive & (z <= 0)
            alpha = np.min(x[blocking] / (x[blocking] - z[blocking]))
            x = x + alpha * (z - x)
            passive &= x > 1e-12
    return x / scale


def fit_formula(rows: Sequence[tuple[dict[str, float], int]]) -> tuple[Formula, dict[str, Any]]:
    """Non-negative least squares on relative errors: small ops count as much as large ones."""
    names = sorted({name for values, _ in rows for name in values})
    a = np.array([[values.get(n, 0.0) for n in names] for values, _ in rows], float)
    y = np.array([count for _, count in rows], float)
    weight = 1.0 / np.maximum(y, 1.0)
    coefficients = nonnegative_lstsq(a * weight[:, None], y * weight)
    predicted = a @ coefficients
    relative = (predicted - y) / np.maximum(y, 1.0)
    stats = {"samples": len(rows), "mean_abs_relative_error": round(float(np.mean(np.abs(relative))), 5),
             "max_abs_relative_error": round(float(np.max(np.abs(relative))), 5),
             "instructions_measured": int(y.sum()), "instructions_predicted": int(round(predicted.sum()))}
    return Formula(tuple(names), tuple(round(float(c), 6) for c in coefficients)), stats


def fit(programs: Sequence[CalibrationProgram], measurements: Sequence[Measurement]) -> dict[str, Any]:
    """The cost-model JSON document from QEMU measurements of the calibration programs."""
    by_name = {p.name: p for p in programs}
    document: dict[str, Any] = {
        "format": FORMAT, "version": FORMAT_VERSION,
        "generated_by": "edge-affect apollo3-cost fit",
        "cpi": CPI,
        "tools": tool_versions(),
        "calibration_programs": [{"name": p.name, "ops": len(p.program.ops), "macs": p.program.macs(),
                                  "arena_bytes": p.plan.arena_bytes} for p in programs],
        "kernels": {},
    }
    for kernels in KERNEL_SETS:
        ms = [m for m in measurements if m.kernels == kernels]
        if ms:
            document["kernels"][kernels] = _fit_kernel_set(kernels, ms, by_name)
    for kernels in KERNEL_SETS:  # the optimized set's reference kernels are fitted in the reference set
        if kernels in document["kernels"]:
            _check_program_totals(document, kernels, [m for m in measurements if m.kernels == kernels], by_name)
    return document


def _fit_kernel_set(kernels: str, ms: Sequence[Measurement], programs: dict[str, CalibrationProgram]
                    ) -> dict[str, Any]:
    rows: dict[str, list[tuple[dict[str, float], int]]] = {}
    for m in ms:
        program = programs[m.program].program
        for op, count in zip(program.ops, m.op_instructions):
            variant, values = op_features(program, op, kernels)
            if _formula_set(kernels, variant) == kernels:
                rows.setdefault(_variant_key(variant), []).append((values, count))
    ops, residuals = {}, {}
    for variant in sorted(rows):
        formula, stats = fit_formula(rows[variant])
        ops[variant] = {"features": list(formula.features), "coefficients": list(formula.coefficients)}
        residuals[variant] = stats

    overhead_rows = [({"call": 1.0, "ops": float(len(programs[m.program].program.ops))},
                      m.instructions - sum(m.op_instructions)) for m in ms]
    overhead, overhead_stats = _fit_absolute(overhead_rows)

    code_rows, bases, statics = [], [], []
    for m in ms:
        cal = programs[m.program]
        data = model_data_bytes(cal.program)
        mismatched = {k: (v, m.symbols.get(k)) for k, v in data.items() if m.symbols.get(k) != v}
        if mismatched:
            raise CostModelError(f"{m.program} ({kernels}): generated data sizes differ from the image's "
                                 f"(computed, nm): {mismatched}")
        code = sum(m.symbols.get(k, 0) for k in _GENERATED_CODE)
        n_ops = len(cal.program.ops)
        scratch_ops = sum(isinstance(op, (Conv, FullyConnected)) for op in cal.program.ops)
        code_rows.append(({"call": 1.0, "ops": float(n_ops), "scratch_ops": float(scratch_ops)}, code))
        bases.append(m.flash_bytes - sum(data.values()) - code - _alignment_padding(data)
                     )
        statics.append(m.static_bytes - cal.plan.arena_bytes)
    program_code, code_stats = _fit_absolute(code_rows)

    # The smallest high-water of any program using a kind bounds that kind's own; a
    # program can still go a few bytes deeper on a rarer code path (staging rows,
    # partial channel groups): the largest such excess is added to every estimate.
    stack: dict[str, int] = {}
    for m in ms:
        for kind in {op.kind for op in programs[m.program].program.ops}:
            stack[kind] = min(stack.get(kind, m.stack_bytes), m.stack_bytes)
    stack_margin = max(m.stack_bytes - max(stack[op.kind] for op in programs[m.program].program.ops) for m in ms)
    return {
        "ops": ops,
        "run_overhead": {"features": list(overhead.features), "coefficients": list(overhead.coefficients)},
        "flash": {"runtime_base_bytes": int(max(bases)),
                  "program_code": {"features": list(program_code.features),
                                   "coefficients": list(program_code.coefficients)}},
        "ram": {"stack_bytes": dict(sorted(stack.items())), "stack_margin_bytes": int(stack_margin),
                "static_bytes": int(max(statics))},
        "fit": {"ops": residuals, "run_overhead": overhead_stats, "program_code": code_stats,
                "runtime_base_bytes_spread": int(max(bases) - min(bases)),
                "static_bytes_spread": int(max(statics) - min(statics))},
    }


def _fit_absolute(rows: Sequence[tuple[dict[str, float], int]]) -> tuple[Formula, dict[str, Any]]:
    names = sorted({name for values, _ in rows for name in values})
    a = np.array([[values.get(n, 0.0) for n in names] for values, _ in rows], float)
    y = np.array([v for _, v in rows], float)
    coefficients = nonnegative_lstsq(a, y)
    error = a @ coefficients - y
    return (Formula(tuple(names), tuple(round(float(c), 4) for c in coefficients)),
            {"samples": len(rows), "max_abs_error": round(float(np.max(np.abs(error))), 2)})


def _check_program_totals(document: dict[str, Any], kernels: str, ms: Sequence[Measurement],
                          programs: dict[str, CalibrationProgram]) -> None:
    """In-sample whole-program errors (instructions, flash, RAM) of the fitted model."""
    if "reference" not in document["kernels"]:
        return  # the optimized set needs the reference fit for the kernels it borrows
    model = CostModel(document, "fit")
    rows = []
    for m in ms:
        cal = programs[m.program]
        est = model.estimate(cal.program, cal.plan, kernels)
        rows.append({"program": m.program, "instructions_measured": m.instructions,
                     "instructions_predicted": est.instructions,
                     "instructions_relative_error": round(est.instructions / m.instructions - 1, 5),
                     "flash_measured": m.flash_bytes, "flash_predicted": est.flash_bytes,
                     "stack_measured": m.stack_bytes, "stack_predicted": est.stack_bytes})
    document["kernels"][kernels]["fit"]["programs"] = rows


def tool_versions() -> dict[str, str]:
    def first_line(command: list[str]) -> str:
        try:
            out = subprocess.run(command, capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.TimeoutExpired):
            return "not installed"
        return out.splitlines()[0].strip() if out else "unknown"

    import torch

    from edge_affect.converters.apollo3.converter import _runtime_digest

    tools = toolchain.find_tools()
    return {"arm-none-eabi-gcc": first_line([tools.arm_gcc, "--version"]) if tools.arm_gcc else "not installed",
            "qemu-system-arm": first_line([tools.qemu, "--version"]) if tools.qemu else "not installed",
            "torch": torch.__version__, "python": platform.python_version(),
            "c_runtime_sha256": _runtime_digest(toolchain.embedded_dir())}


def run_fit(names: Sequence[str] = CALIBRATION_PROGRAMS, kernels: Sequence[str] = KERNEL_SETS,
            jobs: int = 2, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Build, measure and fit: the JSON document `edge-affect apollo3-cost fit` writes."""
    notify = progress or (lambda message: None)
    started = time.monotonic()
    programs, runs = [], []
    with tempfile.TemporaryDirectory(prefix="ea_cost_fit_") as tmp, ThreadPoolExecutor(max_workers=jobs) as pool:
        # Each program's images build while the next one is quantized; profile and plain
        # images are separate jobs, so even one program builds two at once.
        for name in names:
            p = build_calibration_program(name)
            programs.append(p)
            notify(f"lowered {name}")
            for k in kernels:
                firmware = _write_firmware(p, k, Path(tmp))
                runs.append((p, k, pool.submit(_run_image, p, firmware, k, True),
                             pool.submit(_run_image, p, firmware, k, False)))
        measurements = []
        for p, k, profile, plain in runs:
            measurements.append(_measurement(p, k, profile.result(), plain.result()))
            notify(f"measured {p.name} ({k})")
    document = fit(programs, measurements)
    notify(f"fitted in {time.monotonic() - started:.0f} s")
    return document


def write_cost_model(document: dict[str, Any], path: Path | str) -> Path:
    from edge_affect.fileio import write_text_atomic

    CostModel(document, "fit result")  # never write a file the loader would refuse
    path = Path(path)
    write_text_atomic(path, json.dumps(document, indent=1, sort_keys=True) + "\n")
    _LOADED.pop(path.resolve(), None)
    return path
