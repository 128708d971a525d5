"""The numpy int8 reference of an Apollo3 program: the same kernels, the same
integers, as the generated C calls (edge_affect.runtime.int8.kernels is
bit-exact with embedded/kernels by construction and by test).

Inputs are float32 model inputs (N, C, H, W) as the reference preprocessing
makes them; they are quantized with the program's input scale / zero point
exactly like the on-device input table (quant_math.input_lut) does for
pixels. Raw outputs are the dequantized int8 output: probabilities
(q + 128) / 256 when the softmax runs on the device, logits otherwise.
"""

from __future__ import annotations

import numpy as np

from edge_affect.converters.apollo3.lower import Add, Conv, FullyConnected, GlobalAvgPool, Pool, Program, Softmax
from edge_affect.errors import InputError
from edge_affect.runtime.int8 import kernels as k


def quantize_inputs(program: Program, inputs: np.ndarray) -> np.ndarray:
    """float32 (N, C, H, W) -> int8 (N, H, W, C) with the model's input quantization."""
    t = program.input_tensor
    _, h, w, c = t.shape
    if not isinstance(inputs, np.ndarray) or inputs.ndim != 4 or tuple(inputs.shape[1:]) != (c, h, w):
        got = inputs.shape if isinstance(inputs, np.ndarray) else type(inputs).__name__
        raise InputError(f"apollo3: expected model inputs of shape (N, {c}, {h}, {w}), got {got}")
    q = k.quantize_s8(inputs, scale=t.scale, zero_point=t.zero_point)
    return np.ascontiguousarray(q.transpose(0, 2, 3, 1))


def dequantize_outputs(program: Program, q: np.ndarray) -> np.ndarray:
    """int8 outputs (N, K) -> raw float32 outputs (q - zero_point) * scale (exact in float32 for 1/256)."""
    t = program.output_tensor
    return ((q.astype(np.float64) - t.zero_point) * t.scale).astype(np.float32)


def run_int8(program: Program, x: np.ndarray) -> np.ndarray:
    """int8 NHWC inputs -> int8 outputs (N, K), every op through the numpy kernels."""
    values: dict[str, np.ndarray] = {program.input: x}
    for op in program.ops:
        values[op.output] = _run_op(op, values)
    out = values[program.output]
    return out.reshape(len(out), -1)


def reference_runner(program: Program):
    return lambda inputs: dequantize_outputs(program, run_int8(program, quantize_inputs(program, inputs)))


def _run_op(op, values: dict[str, np.ndarray]) -> np.ndarray:
    if isinstance(op, Conv):
        fn = {"conv2d": k.conv2d_s8, "depthwise_conv2d": k.depthwise_conv2d_s8}.get(op.kind)
        common = dict(input_zp=op.input_zero_point, output_zp=op.output_zero_point, multiplier=op.multiplier,
                      shift=op.shift, stride=op.stride, act_min=op.act_min, act_max=op.act_max)
        if fn is None:
            return k.pointwise_conv2d_s8(values[op.input], op.weights, op.bias, **common)
        return fn(values[op.input], op.weights, op.bias, padding=op.padding, **common)
    if isinstance(op, FullyConnected):
        x = values[op.input]
        out = k.fully_connected_s8(x.reshape(len(x), -1), op.weights, op.bias, input_zp=op.input_zero_point,
                                   output_zp=op.output_zero_point, multiplier=op.multiplier, shift=op.shift,
                                   act_min=op.act_min, act_max=op.act_max)
        return out.reshape(len(x), 1, 1, -1)
    if isinstance(op, Pool):
        fn = k.max_pool2d_s8 if op.kind == "max_pool2d" else k.avg_pool2d_s8
        return fn(values[op.input], filter_size=op.filter, stride=op.stride, padding=op.padding,
                  act_min=op.act_min, act_max=op.act_max)
    if isinstance(op, GlobalAvgPool):
        return k.global_avg_pool_s8(values[op.input], input_zp=op.input_zero_point, output_zp=op.output_zero_point,
                                    multiplier=op.multiplier, shift=op.shift, act_min=op.act_min, act_max=op.act_max)
    if isinstance(op, Add):
        return k.add_s8(values[op.input1], values[op.input2], op.params)
    if isinstance(op, Softmax):
        x = values[op.input]
        return k.softmax_s8(x.reshape(len(x), -1), op.params).reshape(x.shape)
    raise TypeError(f"unknown op {op!r}")
