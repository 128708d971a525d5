"""int8 kernels of the numpy reference runtime: TFLite-Micro integer semantics.

One function per C kernel (``ea_ref_<name>`` / ``ea_opt_<name>`` in
embedded/kernels/), same name, same arithmetic, same validation rules, so the C
builds can be checked against these bit for bit.

Conventions (as TFLite): activations NHWC int8 with per-tensor zero points;
conv weights OHWI, depthwise weights 1HWC (depth multiplier 1), fully connected
weights [out, in]; weights symmetric (zero point 0); bias int32 (or None);
``multiplier``/``shift`` are per output channel (length C_out) or per tensor
(length 1 / scalar). Accumulation is exact: the dot-product length is capped
at MAX_DOT_LENGTH so no partial sum can leave int32, and the bias is added
modulo 2^32 (two's complement) before requantization.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from edge_affect.errors import InputError
from edge_affect.runtime.int8.quant_math import (
    INT8_MAX,
    INT8_MIN,
    SOFTMAX_ACCUMULATION_INTEGER_BITS,
    SOFTMAX_MAX_DEPTH,
    AddParams,
    SoftmaxParams,
    exp_on_negative_values_q5_26,
    get_reciprocal,
    multiply_by_quantized_multiplier_i64,
    round_half_away_from_zero,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
    wrap_int32,
)

# 65536 products of |(x - zp) * w| <= 255 * 128 stay below 2^31: no int32
# partial sum can overflow in any summation order (the C kernels rely on it).
MAX_DOT_LENGTH = 65536

__all__ = [
    "MAX_DOT_LENGTH", "conv2d_s8", "depthwise_conv2d_s8", "pointwise_conv2d_s8", "fully_connected_s8",
    "max_pool2d_s8", "avg_pool2d_s8", "global_avg_pool_s8", "add_s8", "softmax_s8", "quantize_s8",
    "requantize_s8", "conv_output_size",
]


# --------------------------------------------------------------------------- validation

def _check(condition: bool, message: str) -> None:
    if not condition:
        raise InputError(message)


def _check_int8(name: str, x) -> np.ndarray:
    x = np.asarray(x)
    _check(x.dtype == np.int8, f"{name}: expected an int8 array, got {x.dtype}")
    return x


def _check_nhwc(name: str, x) -> np.ndarray:
    x = _check_int8(name, x)
    _check(x.ndim == 4 and min(x.shape) >= 1, f"{name}: expected a non-empty NHWC array, got shape {x.shape}")
    return x


def _check_zero_point(name: str, zp: int) -> int:
    _check(INT8_MIN <= int(zp) <= INT8_MAX, f"{name}: expected a zero point in [-128, 127], got {zp!r}")
    return int(zp)


def _check_act(act_min: int, act_max: int) -> None:
    _check(INT8_MIN <= act_min <= act_max <= INT8_MAX,
           f"activation range: expected -128 <= act_min <= act_max <= 127, got [{act_min}, {act_max}]")


def _check_pos(name: str, values) -> tuple[int, ...]:
    values = tuple(int(v) for v in values)
    _check(all(v >= 1 for v in values), f"{name}: expected values >= 1, got {values}")
    return values


def _check_padding(padding) -> tuple[int, int, int, int]:
    pads = tuple(int(p) for p in padding)
    _check(len(pads) == 4 and all(p >= 0 for p in pads),
           f"padding: expected (top, bottom, left, right) >= 0, got {padding!r}")
    return pads  # type: ignore[return-value]


def _requant_arrays(multiplier, shift, channels: int) -> tuple[np.ndarray, np.ndarray]:
    m = np.atleast_1d(np.asarray(multiplier, dtype=np.int64))
    s = np.atleast_1d(np.asarray(shift, dtype=np.int64))
    _check(m.ndim == 1 and s.shape == m.shape and m.size in (1, channels),
           f"multiplier/shift: expected length 1 or {channels}, got {m.shape} and {s.shape}")
    _check(bool(np.all((s >= -31) & (s <= 31))), f"shift: expected values in [-31, 31], got {s.tolist()}")
    return m, s


def _check_bias(bias, channels: int) -> np.ndarray | None:
    if bias is None:
        return None
    bias = np.asarray(bias)
    _check(bias.dtype == np.int32 and bias.shape == (channels,),
           f"bias: expected int32 of shape ({channels},), got {bias.dtype} {bias.shape}")
    return bias


def conv_output_size(size: int, kernel: int, stride: int, pad_before: int, pad_after: int) -> int:
    """Output extent of a window op with explicit padding (floor division, as TFLite)."""
    span = size + pad_before + pad_after - kernel
    _check(span >= 0, f"window {kernel} larger than padded input {size + pad_before + pad_after}")
    return span // stride + 1


def _windows(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
             pads: tuple[int, int, int, int], fill: int) -> np.ndarray:
    """(N, OH, OW, C, KH, KW) view of the padded input; padding takes ``fill``."""
    top, bottom, left, right = pads
    kh, kw = kernel
    oh = conv_output_size(x.shape[1], kh, stride[0], top, bottom)
    ow = conv_output_size(x.shape[2], kw, stride[1], left, right)
    padded = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=fill)
    view = sliding_window_view(padded, (kh, kw), axis=(1, 2))
    return view[:, ::stride[0], ::stride[1]][:, :oh, :ow]


def _requantize(acc: np.ndarray, bias, multiplier, shift, output_zp: int, act_min: int, act_max: int) -> np.ndarray:
    """int32 accumulators (channel-last) -> int8, exactly as TFLM's conv epilogue."""
    if bias is not None:
        acc = acc + bias.astype(np.int64)
    acc = wrap_int32(acc)
    out = multiply_by_quantized_multiplier_i64(acc, multiplier, shift) + output_zp
    return np.clip(out, act_min, act_max).astype(np.int8)


# --------------------------------------------------------------------------- convolutions

def conv2d_s8(x, weights, bias, *, input_zp: int, output_zp: int, multiplier, shift,
              stride=(1, 1), padding=(0, 0, 0, 0), act_min: int = INT8_MIN, act_max: int = INT8_MAX) -> np.ndarray:
    """2-D convolution, NHWC int8 in/out, OHWI int8 weights, dilation 1.

    acc = sum w * (x - input_zp) over the window, padded positions contribute
    0 (they hold the input zero point), + bias, then per-channel
    MultiplyByQuantizedMultiplier, + output_zp, clamp to [act_min, act_max].
    """
    x = _check_nhwc("input", x)
    w = _check_nhwc("weights", weights)
    c_out, kh, kw, c_in = w.shape
    _check(c_in == x.shape[3], f"weights: expected {x.shape[3]} input channels (OHWI), got shape {w.shape}")
    _check(kh * kw * c_in <= MAX_DOT_LENGTH, f"conv2d: dot length {kh * kw * c_in} exceeds {MAX_DOT_LENGTH}")
    stride = _check_pos("stride", stride)
    pads = _check_padding(padding)
    in_zp = _check_zero_point("input_zp", input_zp)
    out_zp = _check_zero_point("output_zp", output_zp)
    _check_act(act_min, act_max)
    mult, sh = _requant_arrays(multiplier, shift, c_out)
    bias = _check_bias(bias, c_out)

    win = _windows(x, (kh, kw), stride, pads, fill=in_zp)  # (N, OH, OW, Cin, KH, KW)
    n, oh, ow = win.shape[:3]
    cols = win.transpose(0, 1, 2, 4, 5, 3).reshape(n * oh * ow, kh * kw * c_in).astype(np.int64) - in_zp
    acc = cols @ w.reshape(c_out, -1).astype(np.int64).T
    return _requantize(acc, bias, mult, sh, out_zp, act_min, act_max).reshape(n, oh, ow, c_out)


def pointwise_conv2d_s8(x, weights, bias, *, input_zp: int, output_zp: int, multiplier, shift,
                        stride=(1, 1), act_min: int = INT8_MIN, act_max: int = INT8_MAX) -> np.ndarray:
    """1x1 convolution (weights [C_out, 1, 1, C_in]), any stride, no padding."""
    w = _check_nhwc("weights", weights)
    _check(w.shape[1:3] == (1, 1), f"pointwise: expected 1x1 weights [C_out, 1, 1, C_in], got shape {w.shape}")
    return conv2d_s8(x, w, bias, input_zp=input_zp, output_zp=output_zp, multiplier=multiplier, shift=shift,
                     stride=stride, padding=(0, 0, 0, 0), act_min=act_min, act_max=act_max)


def depthwise_conv2d_s8(x, weights, bias, *, input_zp: int, output_zp: int, multiplier, shift,
                        stride=(1, 1), padding=(0, 0, 0, 0), act_min: int = INT8_MIN,
                        act_max: int = INT8_MAX) -> np.ndarray:
    """Depthwise convolution with depth multiplier 1; weights 1HWC."""
    x = _check_nhwc("input", x)
    w = _check_nhwc("weights", weights)
    _check(w.shape[0] == 1, f"depthwise weights: expected shape [1, KH, KW, C], got {w.shape}")
    _, kh, kw, c = w.shape
    _check(c == x.shape[3], f"depthwise: only depth multiplier 1 is supported; weights have {c} channels, "
                            f"input has {x.shape[3]}")
    _check(kh * kw <= MAX_DOT_LENGTH, f"depthwise: dot length {kh * kw} exceeds {MAX_DOT_LENGTH}")
    stride = _check_pos("stride", stride)
    pads = _check_padding(padding)
    in_zp = _check_zero_point("input_zp", input_zp)
    out_zp = _check_zero_point("output_zp", output_zp)
    _check_act(act_min, act_max)
    mult, sh = _requant_arrays(multiplier, shift, c)
    bias = _check_bias(bias, c)

    win = _windows(x, (kh, kw), stride, pads, fill=in_zp).astype(np.int64) - in_zp  # (N, OH, OW, C, KH, KW)
    acc = np.einsum("nyxchw,hwc->nyxc", win, w[0].astype(np.int64))
    return _requantize(acc, bias, mult, sh, out_zp, act_min, act_max)


def fully_connected_s8(x, weights, bias, *, input_zp: int, output_zp: int, multiplier, shift,
                       act_min: int = INT8_MIN, act_max: int = INT8_MAX) -> np.ndarray:
    """Fully connected: x [batches, in], weights [out, in], per-channel or per-tensor requantization."""
    x = _check_int8("input", x)
    w = _check_int8("weights", weights)
    _check(x.ndim == 2 and min(x.shape) >= 1, f"input: expected a non-empty [batches, in] array, got {x.shape}")
    _check(w.ndim == 2 and w.shape[1] == x.shape[1] and w.shape[0] >= 1,
           f"weights: expected shape [out, {x.shape[1]}], got {w.shape}")
    _check(x.shape[1] <= MAX_DOT_LENGTH, f"fully_connected: dot length {x.shape[1]} exceeds {MAX_DOT_LENGTH}")
    in_zp = _check_zero_point("input_zp", input_zp)
    out_zp = _check_zero_point("output_zp", output_zp)
    _check_act(act_min, act_max)
    mult, sh = _requant_arrays(multiplier, shift, w.shape[0])
    bias = _check_bias(bias, w.shape[0])
    acc = (x.astype(np.int64) - in_zp) @ w.astype(np.int64).T
    return _requantize(acc, bias, mult, sh, out_zp, act_min, act_max)


# --------------------------------------------------------------------------- pooling

def _check_pool(x, filter_size, stride, padding):
    x = _check_nhwc("input", x)
    kh, kw = _check_pos("filter", filter_size)
    stride = _check_pos("stride", stride)
    pads = _check_padding(padding)
    # Padding smaller than the window keeps every window non-empty.
    _check(pads[0] < kh and pads[1] < kh and pads[2] < kw and pads[3] < kw,
           f"pool padding {pads} must be smaller than the filter {(kh, kw)}")
    return x, (kh, kw), stride, pads


def max_pool2d_s8(x, *, filter_size, stride, padding=(0, 0, 0, 0),
                  act_min: int = INT8_MIN, act_max: int = INT8_MAX) -> np.ndarray:
    """Max pool; padded positions are ignored (behave as -inf); output clamped."""
    x, kernel, stride, pads = _check_pool(x, filter_size, stride, padding)
    _check_act(act_min, act_max)
    win = _windows(x.astype(np.int16), kernel, stride, pads, fill=np.iinfo(np.int16).min)
    return np.clip(win.max(axis=(4, 5)), act_min, act_max).astype(np.int8)


def avg_pool2d_s8(x, *, filter_size, stride, padding=(0, 0, 0, 0),
                  act_min: int = INT8_MIN, act_max: int = INT8_MAX) -> np.ndarray:
    """Average pool over the in-image part of each window (count excludes
    padding); TFLM rounding: (acc ± count/2) / count with C truncation, i.e.
    half away from zero."""
    x, kernel, stride, pads = _check_pool(x, filter_size, stride, padding)
    _check_act(act_min, act_max)
    total = _windows(x.astype(np.int64), kernel, stride, pads, fill=0).sum(axis=(4, 5))
    inside = np.ones((1, x.shape[1], x.shape[2], 1), dtype=np.int64)
    count = _windows(inside, kernel, stride, pads, fill=0).sum(axis=(4, 5))
    half = count // 2
    # C division truncates toward zero: do it on magnitudes.
    avg = np.where(total > 0, (total + half) // count, -((half - total) // count))
    return np.clip(avg, act_min, act_max).astype(np.int8)


def global_avg_pool_s8(x, *, input_zp: int, output_zp: int, multiplier: int, shift: int,
                       act_min: int = INT8_MIN, act_max: int = INT8_MAX) -> np.ndarray:
    """Mean over H and W (TFLM int8 MEAN with requantization), NHWC -> N11C.

    out = MBQM(sum - input_zp * H*W, multiplier, shift) + output_zp, clamped;
    (multiplier, shift) come from quant_math.mean_multiplier(s_in, s_out, H*W),
    which folds 1/(H*W) into s_in/s_out the way TFLM does.
    """
    x = _check_nhwc("input", x)
    count = x.shape[1] * x.shape[2]
    _check(count <= MAX_DOT_LENGTH, f"global_avg_pool: {count} elements per channel exceeds {MAX_DOT_LENGTH}")
    in_zp = _check_zero_point("input_zp", input_zp)
    out_zp = _check_zero_point("output_zp", output_zp)
    _check_act(act_min, act_max)
    mult, sh = _requant_arrays(multiplier, shift, 1)
    shifted_sum = x.astype(np.int64).sum(axis=(1, 2), keepdims=True) - in_zp * count
    out = multiply_by_quantized_multiplier_i64(shifted_sum, mult[0], sh[0]) + out_zp
    return np.clip(out, act_min, act_max).astype(np.int8)


# --------------------------------------------------------------------------- elementwise

def add_s8(a, b, params: AddParams) -> np.ndarray:
    """Residual add of two same-shape int8 tensors (TFLM ADD int8 path)."""
    a, b = _check_int8("input1", a), _check_int8("input2", b)
    _check(a.shape == b.shape, f"add: shapes must match (no broadcasting), got {a.shape} and {b.shape}")
    p = params
    for name in ("input1_zero_point", "input2_zero_point", "output_zero_point"):
        _check_zero_point(name, getattr(p, name))
    _check(0 <= p.left_shift <= 23, f"add: left_shift must be in [0, 23], got {p.left_shift}")
    _check_act(p.act_min, p.act_max)
    shifted1 = (a.astype(np.int64) - p.input1_zero_point) << p.left_shift
    shifted2 = (b.astype(np.int64) - p.input2_zero_point) << p.left_shift
    scaled1 = multiply_by_quantized_multiplier_i64(shifted1, p.input1_multiplier, p.input1_shift)
    scaled2 = multiply_by_quantized_multiplier_i64(shifted2, p.input2_multiplier, p.input2_shift)
    raw_sum = wrap_int32(scaled1 + scaled2)
    out = multiply_by_quantized_multiplier_i64(raw_sum, p.output_multiplier, p.output_shift) + p.output_zero_point
    return np.clip(out, p.act_min, p.act_max).astype(np.int8)


def softmax_s8(x, params: SoftmaxParams) -> np.ndarray:
    """int8 softmax over the last axis; output scale 1/256, zero point -128 (TFLM reference).

    diff = x - max(row) (<= 0); diffs below diff_min count as exp(-inf) = 0.
    exp(diff * beta * s_in) is gemmlowp's fixed-point exp of the Q5.26 diff,
    the sum is kept in Q12.19, the reciprocal normalised by its leading zeros.
    """
    x = _check_int8("input", x)
    _check(x.ndim >= 1 and x.size >= 1, f"softmax: expected a non-empty array, got shape {x.shape}")
    depth = x.shape[-1]
    _check(depth <= SOFTMAX_MAX_DEPTH, f"softmax: depth {depth} exceeds {SOFTMAX_MAX_DEPTH}")
    _check(0 <= params.input_left_shift <= 31, f"softmax: input_left_shift must be in [0, 31], got "
                                               f"{params.input_left_shift}")
    _check(params.diff_min <= 0, f"softmax: diff_min must be <= 0, got {params.diff_min}")
    rows = x.reshape(-1, depth).astype(np.int64)
    diff = rows - rows.max(axis=1, keepdims=True)
    used = diff >= params.diff_min
    # MultiplyByQuantizedMultiplierGreaterThanOne: SRDHM(diff * 2^left_shift, multiplier).
    rescaled = saturating_rounding_doubling_high_mul(wrap_int32(diff << params.input_left_shift),
                                                     params.input_multiplier)
    exps = exp_on_negative_values_q5_26(rescaled)  # Q0.31
    exps_acc = rounding_divide_by_pot(exps, SOFTMAX_ACCUMULATION_INTEGER_BITS)  # Rescale<12>: Q12.19
    sum_of_exps = np.where(used, exps_acc, 0).sum(axis=1, keepdims=True)
    shifted_scale, num_bits_over_unit = get_reciprocal(sum_of_exps, SOFTMAX_ACCUMULATION_INTEGER_BITS)
    unsat = rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted_scale, exps),
                                   num_bits_over_unit + 31 - 8)
    out = np.where(used, np.clip(unsat + INT8_MIN, INT8_MIN, INT8_MAX), INT8_MIN)
    return out.reshape(x.shape).astype(np.int8)


def quantize_s8(x, *, scale: float, zero_point: int) -> np.ndarray:
    """float -> int8: round_half_away(x / scale) + zero_point, in float32 like
    TFLM's AffineQuantize; NaN maps to the zero point, infinities saturate."""
    _check(np.isfinite(scale) and scale > 0, f"quantize: scale must be finite and > 0, got {scale!r}")
    zp = _check_zero_point("zero_point", zero_point)
    q = round_half_away_from_zero(np.asarray(x, dtype=np.float32) / np.float32(scale))
    q = np.nan_to_num(np.clip(q, -256.0, 256.0), nan=0.0)
    return np.clip(q.astype(np.int64) + zp, INT8_MIN, INT8_MAX).astype(np.int8)


def requantize_s8(x, *, input_zp: int, output_zp: int, multiplier: int, shift: int) -> np.ndarray:
    """int8 -> int8 with another scale / zero point (TFLM Requantize)."""
    x = _check_int8("input", x)
    in_zp = _check_zero_point("input_zp", input_zp)
    out_zp = _check_zero_point("output_zp", output_zp)
    mult, sh = _requant_arrays(multiplier, shift, 1)
    out = multiply_by_quantized_multiplier_i64(x.astype(np.int64) - in_zp, mult[0], sh[0]) + out_zp
    return np.clip(out, INT8_MIN, INT8_MAX).astype(np.int8)
