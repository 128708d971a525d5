"""C kernels (reference and optimized sets, host build) against the numpy int8
reference: bit-exact (0 LSB) on random shapes and values, same rejections."""

from __future__ import annotations

import ctypes
import importlib.util
import shutil
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from edge_affect.runtime.int8 import kernels as npk
from edge_affect.runtime.int8 import quant_math as qm

from ea_kernels_ctypes import KERNELS_DIR, CError, ConvParams, Padding, Requant, Shape

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ZERO_POINTS = st.one_of(st.sampled_from([-128, 127, 0]), st.integers(-128, 127))
ERR = {"null": 1, "dims": 2, "param": 3, "unsupported": 4, "scratch": 5, "misaligned": 6}


def int8_tensor(rng, shape, style):
    if style == "min":
        return np.full(shape, -128, np.int8)
    if style == "max":
        return np.full(shape, 127, np.int8)
    return rng.integers(-128, 128, shape, dtype=np.int8)


def requant_arrays(rng, channels, style):
    """Per-channel or per-tensor (multiplier, shift): realistic ones from
    quantize_multiplier, or raw extremes (huge left shifts wrap, tiny ones vanish)."""
    count = channels if rng.random() < 0.7 else 1
    if style == "raw":
        mult = rng.integers(0, 1 << 31, count).astype(np.int32)
        shift = rng.integers(-31, 32, count).astype(np.int32)
        return mult, shift
    reals = np.exp(rng.uniform(np.log(2.0 ** -16), np.log(4.0), count))
    return qm.quantize_multipliers(reals)


def bias_array(rng, channels, style):
    if style == "none":
        return None
    if style == "wrap":  # sums that wrap around int32 when the bias is added
        return rng.integers(-(1 << 31), 1 << 31, channels, dtype=np.int64).astype(np.int32)
    return rng.integers(-(1 << 16), 1 << 16, channels).astype(np.int32)


@st.composite
def conv_cases(draw, kind):
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    one_by_one = kind == "pointwise"
    kh = 1 if one_by_one else draw(st.integers(1, 4))
    kw = 1 if one_by_one else draw(st.integers(1, 4))
    pads = (0, 0, 0, 0) if one_by_one else tuple(draw(st.integers(0, k)) for k in (kh, kh, kw, kw))
    h = draw(st.integers(max(1, kh - pads[0] - pads[1]), 9))
    w = draw(st.integers(max(1, kw - pads[2] - pads[3]), 9))
    c_in = draw(st.one_of(st.integers(1, 9), st.integers(10, 24)))
    c_out = c_in if kind == "depthwise" else draw(st.integers(1, 11))
    n = draw(st.integers(1, 2))
    x = int8_tensor(rng, (n, h, w, c_in), draw(st.sampled_from(["random"] * 4 + ["min", "max"])))
    if kind == "depthwise":
        weights = rng.integers(-128, 128, (1, kh, kw, c_in), dtype=np.int8)
    else:
        weights = rng.integers(-128, 128, (c_out, kh, kw, c_in), dtype=np.int8)
    mult, shift = requant_arrays(rng, c_out, draw(st.sampled_from(["real", "real", "real", "raw"])))
    act_min = draw(st.integers(-128, 127))
    kwargs = dict(input_zp=draw(ZERO_POINTS), output_zp=draw(ZERO_POINTS), multiplier=mult, shift=shift,
                  stride=(draw(st.integers(1, 3)), draw(st.integers(1, 3))),
                  act_min=draw(st.sampled_from([-128, act_min])), act_max=draw(st.sampled_from([127, 127, act_min])))
    if not one_by_one:
        kwargs["padding"] = pads
    return x, weights, bias_array(rng, c_out, draw(st.sampled_from(["small", "small", "none", "wrap"]))), kwargs


def check_all(name, ref, opt, *args, **kwargs):
    expected = getattr(npk, name)(*args, **kwargs)
    for impl in (ref, opt):
        np.testing.assert_array_equal(getattr(impl, name)(*args, **kwargs), expected, err_msg=impl.name)


@SETTINGS
@given(conv_cases("conv"))
def test_conv2d_bit_exact(ref, opt, case):
    x, w, bias, kwargs = case
    check_all("conv2d_s8", ref, opt, x, w, bias, **kwargs)


@SETTINGS
@given(conv_cases("pointwise"))
def test_pointwise_conv2d_bit_exact(ref, opt, case):
    x, w, bias, kwargs = case
    check_all("pointwise_conv2d_s8", ref, opt, x, w, bias, **kwargs)


@SETTINGS
@given(conv_cases("depthwise"))
def test_depthwise_conv2d_bit_exact(ref, opt, case):
    x, w, bias, kwargs = case
    check_all("depthwise_conv2d_s8", ref, opt, x, w, bias, **kwargs)


@SETTINGS
@given(st.integers(0, 2 ** 32 - 1), st.integers(1, 3), st.integers(1, 70), st.integers(1, 13), ZERO_POINTS,
       ZERO_POINTS, st.sampled_from(["real", "raw"]), st.sampled_from(["small", "none", "wrap"]))
def test_fully_connected_bit_exact(ref, opt, seed, batches, in_features, out_features, in_zp, out_zp, requant,
                                   bias_style):
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, (batches, in_features), dtype=np.int8)
    w = rng.integers(-128, 128, (out_features, in_features), dtype=np.int8)
    mult, shift = requant_arrays(rng, out_features, requant)
    check_all("fully_connected_s8", ref, opt, x, w, bias_array(rng, out_features, bias_style), input_zp=in_zp,
              output_zp=out_zp, multiplier=mult, shift=shift)


@st.composite
def pool_cases(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    pads = tuple(draw(st.integers(0, k - 1)) for k in (kh, kh, kw, kw))
    h = draw(st.integers(max(1, kh - pads[0] - pads[1]), 9))
    w = draw(st.integers(max(1, kw - pads[2] - pads[3]), 9))
    x = rng.integers(-128, 128, (draw(st.integers(1, 2)), h, w, draw(st.integers(1, 7))), dtype=np.int8)
    lo = draw(st.integers(-128, 127))
    return x, dict(filter_size=(kh, kw), stride=(draw(st.integers(1, 3)), draw(st.integers(1, 3))), padding=pads,
                   act_min=draw(st.sampled_from([-128, lo])), act_max=draw(st.sampled_from([127, lo])))


@SETTINGS
@given(pool_cases())
def test_max_pool_bit_exact(ref, opt, case):
    check_all("max_pool2d_s8", ref, opt, case[0], **case[1])


@SETTINGS
@given(pool_cases())
def test_avg_pool_bit_exact(ref, opt, case):
    check_all("avg_pool2d_s8", ref, opt, case[0], **case[1])


def test_avg_pool_rounds_negative_halves_away(ref, opt):
    x = np.array([-1, -2, 1, 2, -1, 0], np.int8).reshape(1, 1, 6, 1)
    for impl in (ref, opt):
        out = impl.avg_pool2d_s8(x, filter_size=(1, 2), stride=(1, 2))
        np.testing.assert_array_equal(out.ravel(), [-2, 2, -1])


@SETTINGS
@given(st.integers(0, 2 ** 32 - 1), st.integers(1, 2), st.integers(1, 12), st.integers(1, 12), st.integers(1, 9),
       ZERO_POINTS, ZERO_POINTS, st.floats(0.01, 1.0), st.floats(0.01, 1.0))
def test_global_avg_pool_bit_exact(ref, opt, seed, n, h, w, c, in_zp, out_zp, s_in, s_out):
    x = np.random.default_rng(seed).integers(-128, 128, (n, h, w, c), dtype=np.int8)
    mult, shift = qm.mean_multiplier(s_in, s_out, h * w)
    check_all("global_avg_pool_s8", ref, opt, x, input_zp=in_zp, output_zp=out_zp, multiplier=mult, shift=shift)


@SETTINGS
@given(st.integers(0, 2 ** 32 - 1), st.integers(1, 300), ZERO_POINTS, ZERO_POINTS, ZERO_POINTS,
       st.floats(1e-3, 1.0), st.floats(1e-3, 1.0), st.floats(1e-3, 1.0), st.booleans())
def test_add_bit_exact(ref, opt, seed, size, zp1, zp2, zp_out, s1, s2, s_out, relu):
    if 2 * max(s1, s2) >= (1 << 20) * s_out:
        return  # TFLM (and add_params) reject output multipliers >= 1
    rng = np.random.default_rng(seed)
    a = rng.integers(-128, 128, size, dtype=np.int8)
    b = rng.integers(-128, 128, size, dtype=np.int8)
    act = qm.activation_range("relu" if relu else "none", s_out, zp_out)
    check_all("add_s8", ref, opt, a, b, qm.add_params(s1, zp1, s2, zp2, s_out, zp_out, *act))


@SETTINGS
@given(st.integers(0, 2 ** 32 - 1), st.integers(1, 4), st.integers(1, 40), st.floats(1e-3, 2.0),
       st.sampled_from(["random", "equal", "spiky"]))
def test_softmax_bit_exact(ref, opt, seed, rows, depth, scale, style):
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, (rows, depth), dtype=np.int8)
    if style == "equal":
        x[:] = x[:, :1]
    elif style == "spiky":
        x[:] = -128
        x[:, 0] = 127
    check_all("softmax_s8", ref, opt, x, qm.softmax_params(scale))


def test_softmax_longest_row(ref, opt):
    x = np.random.default_rng(3).integers(-128, 128, (2, 511), dtype=np.int8)
    x[1] = 55  # 511 equal exps: the largest sum of exps the kernels accept
    check_all("softmax_s8", ref, opt, x, qm.softmax_params(0.05))


def test_quantize_bit_exact(ref, opt):
    rng = np.random.default_rng(4)
    x = np.concatenate([rng.normal(0, 3, 500), np.arange(-6, 6.5, 0.5), [np.inf, -np.inf, np.nan, 1e30, -1e30]])
    for scale, zp in [(1.0, 0), (0.5, -5), (0.02, 127), (3.3, -128)]:
        check_all("quantize_s8", ref, opt, x.astype(np.float32), scale=scale, zero_point=zp)


def test_requantize_bit_exact(ref, opt):
    x = np.arange(-128, 128, dtype=np.int8)
    for real, in_zp, out_zp in [(0.37, 4, -9), (1.7, -128, 127), (2.0 ** -10, 0, 0), (100.0, 3, 3)]:
        mult, shift = qm.quantize_multiplier(real)
        check_all("requantize_s8", ref, opt, x, input_zp=in_zp, output_zp=out_zp, multiplier=mult, shift=shift)


def test_quant_primitives_match_numpy(kernel_lib):
    rng = np.random.default_rng(5)
    edges = [-(1 << 31), -(1 << 31) + 1, -(1 << 30), -3, -2, -1, 0, 1, 2, 3, 1 << 30, (1 << 31) - 1]
    a = np.concatenate([edges, rng.integers(-(1 << 31), 1 << 31, 400)]).astype(np.int64)
    b = np.concatenate([edges[::-1], rng.integers(-(1 << 31), 1 << 31, 400)]).astype(np.int64)
    shifts = rng.integers(-31, 32, a.size)
    exponents = rng.integers(0, 32, a.size)
    for name in ("ea_saturating_rounding_doubling_high_mul", "ea_rounding_divide_by_power_of_two",
                 "ea_multiply_by_quantized_multiplier"):
        getattr(kernel_lib, name).restype = ctypes.c_int32
    srdhm = kernel_lib.ea_saturating_rounding_doubling_high_mul
    rdbpot = kernel_lib.ea_rounding_divide_by_power_of_two
    mbqm = kernel_lib.ea_multiply_by_quantized_multiplier
    c = ctypes.c_int32
    got = [(srdhm(c(x), c(y)), rdbpot(c(x), c(e)), mbqm(c(x), c(abs(y) >> 1), c(s)))
           for x, y, e, s in zip(a.tolist(), b.tolist(), exponents.tolist(), shifts.tolist())]
    np.testing.assert_array_equal([g[0] for g in got], qm.saturating_rounding_doubling_high_mul(a, b))
    np.testing.assert_array_equal([g[1] for g in got], qm.rounding_divide_by_pot(a, exponents))
    np.testing.assert_array_equal([g[2] for g in got], qm.multiply_by_quantized_multiplier(a, np.abs(b) >> 1, shifts))
    assert srdhm(c(-(1 << 31)), c(-(1 << 31))) == (1 << 31) - 1


def test_model_sized_layers_bit_exact(ref, opt):
    """Shapes of mini-Xception's layers: long loops, every path of the optimized set."""
    rng = np.random.default_rng(6)

    def layer(shape_w, channels):
        w = rng.integers(-127, 128, shape_w, dtype=np.int8)
        mult, shift = qm.conv_multipliers(0.02, rng.uniform(0.001, 0.01, channels), 0.05)
        return w, rng.integers(-3000, 3000, channels).astype(np.int32), dict(multiplier=mult, shift=shift)

    x = rng.integers(-128, 128, (1, 46, 46, 8), dtype=np.int8)
    w, bias, rq = layer((8, 3, 3, 8), 8)
    check_all("conv2d_s8", ref, opt, x, w, bias, input_zp=-5, output_zp=-128, act_min=-128, act_max=127, **rq)
    x = rng.integers(-128, 128, (1, 48, 48, 1), dtype=np.int8)
    w, bias, rq = layer((8, 3, 3, 1), 8)
    check_all("conv2d_s8", ref, opt, x, w, bias, input_zp=0, output_zp=-128, padding=(1, 1, 1, 1), act_min=-128,
              **rq)
    x = rng.integers(-128, 128, (1, 22, 22, 32), dtype=np.int8)
    w, bias, rq = layer((1, 3, 3, 32), 32)
    check_all("depthwise_conv2d_s8", ref, opt, x, w, bias, input_zp=7, output_zp=3, padding=(1, 1, 1, 1), **rq)
    w, bias, rq = layer((64, 1, 1, 32), 64)
    check_all("pointwise_conv2d_s8", ref, opt, x, w, bias, input_zp=7, output_zp=3, **rq)
    check_all("pointwise_conv2d_s8", ref, opt, x, w, bias, input_zp=7, output_zp=3, stride=(2, 2), **rq)
    x = rng.integers(-128, 128, (1, 3, 3, 128), dtype=np.int8)
    w, bias, rq = layer((7, 3, 3, 128), 7)
    check_all("conv2d_s8", ref, opt, x, w, bias, input_zp=-20, output_zp=10, padding=(1, 1, 1, 1), **rq)


# --------------------------------------------------------------------------- optimized fast paths
# The optimized set replaces TFLM's requantization by a one-multiply form when
# every channel has a multiplier >= 0 and shift <= -2 (see
# embedded/kernels/optimized/ea_opt_requant.h), and has special paths for
# grayscale 3x3 stems, contiguous pointwise convs, 3x3 stride-1 depthwise and
# channel counts that are not multiples of 4. These cases aim at each of them.

def fast_requant(rng, channels, shifts=(-31, -2)):
    """Multipliers in [2^30, 2^31) (or the extremes 0 and 2^31 - 1) with shifts
    that all qualify for the fast form."""
    mult = rng.integers(1 << 30, 1 << 31, channels).astype(np.int64)
    mult[rng.random(channels) < 0.1] = 0
    mult[rng.random(channels) < 0.1] = (1 << 31) - 1
    return mult.astype(np.int32), rng.integers(shifts[0], shifts[1] + 1, channels).astype(np.int32)


@pytest.mark.parametrize("shift", [-2, -3, -7, -22, -23, -30, -31])
@pytest.mark.parametrize("output_zp", [-128, -1, 0, 127])
def test_requantization_rounding_ties_and_extremes(ref, opt, shift, output_zp):
    """Accumulator = x + bias for every int8 x: m = 2^30 makes SRDHM = floor((acc + 1) / 2),
    so RoundingDivideByPOT sees exact ties of both signs; biases near the int32 limits
    wrap and give the largest |acc|. shift -23 with a zero point exceeds the fast form's
    bound (exact path); -31 with zp 0 is the deepest fast shift."""
    x = np.arange(-128, 128, dtype=np.int8).reshape(1, 16, 16, 1)
    bias = np.array([0, 1, -1, 3, -3, 1 << 20, -(1 << 20), (1 << 31) - 1, -(1 << 31), (1 << 31) - 300,
                     -(1 << 31) + 300, 12345], np.int32)
    w = np.ones((bias.size, 1, 1, 1), np.int8)
    mult = np.array([1 << 30] * 6 + [(1 << 31) - 1, 1 << 30, 1 << 30, 0, (1 << 31) - 1, 1518500250], np.int32)
    for act in ((-128, 127), (output_zp, 127), (-20, 20)):
        check_all("pointwise_conv2d_s8", ref, opt, x, w, bias, input_zp=0, output_zp=output_zp, multiplier=mult,
                  shift=np.full(bias.size, shift, np.int32), act_min=min(act), act_max=max(act))


@SETTINGS
@given(st.integers(0, 2 ** 32 - 1), st.sampled_from(["conv", "pointwise", "depthwise"]), st.integers(1, 20),
       st.sampled_from([(-31, -2), (-12, -5), (-1, -1), (-3, 0)]), ZERO_POINTS, ZERO_POINTS, st.booleans())
def test_fast_requantization_bit_exact(ref, opt, seed, kind, channels, shifts, in_zp, out_zp, relu):
    """Layers whose every channel qualifies for the fast form (and a few that
    do not: shift -1 or >= 0 take the exact path), realistic and extreme multipliers."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, (1, 7, 9, channels), dtype=np.int8)
    c_out = channels if kind == "depthwise" else int(rng.integers(1, 13))
    k = 1 if kind == "pointwise" else 3
    w_shape = (1, k, k, channels) if kind == "depthwise" else (c_out, k, k, channels)
    w = rng.integers(-128, 128, w_shape, dtype=np.int8)
    mult, shift = fast_requant(rng, c_out, shifts)
    bias = rng.integers(-(1 << 31), 1 << 31, c_out, dtype=np.int64).astype(np.int32) if rng.random() < 0.2 \
        else rng.integers(-50000, 50000, c_out).astype(np.int32)
    kwargs = dict(input_zp=in_zp, output_zp=out_zp, multiplier=mult, shift=shift, act_min=out_zp if relu else -128)
    if kind != "pointwise":
        kwargs["padding"] = tuple(int(v) for v in rng.integers(0, 2, 4))
    check_all(f"{kind}_conv2d_s8" if kind != "conv" else "conv2d_s8", ref, opt, x, w, bias, **kwargs)


@pytest.mark.parametrize("h, w, pad, stride", [
    (5, 7, (0, 0, 0, 0), (1, 1)),   # odd pixel count: a pair straddles rows, the last pixel is alone
    (6, 6, (1, 1, 0, 0), (1, 1)),   # vertical padding only: the gray 3x3 pair path
    (6, 5, (1, 1, 1, 1), (1, 1)),   # horizontal padding: staging
    (9, 9, (0, 1, 0, 1), (2, 2)),
    (3, 3, (0, 0, 0, 0), (1, 1)),   # a single output pixel
])
def test_grayscale_stem_conv_bit_exact(ref, opt, h, w, pad, stride):
    rng = np.random.default_rng(h * 100 + w)
    x = rng.integers(-128, 128, (2, h, w, 1), dtype=np.int8)
    weights = rng.integers(-127, 128, (8, 3, 3, 1), dtype=np.int8)
    mult, shift = fast_requant(rng, 8, (-12, -6))
    check_all("conv2d_s8", ref, opt, x, weights, rng.integers(-900, 900, 8).astype(np.int32), input_zp=-128,
              output_zp=-128, multiplier=mult, shift=shift, padding=pad, stride=stride, act_min=-128)


@pytest.mark.parametrize("c_in, c_out", [(1, 3), (3, 5), (5, 2), (6, 7), (7, 1), (8, 16), (13, 9)])
def test_pointwise_tails_at_the_end_of_the_input(ref, opt, c_in, c_out):
    """C_in % 4 != 0: the last pixel's tail group cannot be read as a whole word
    (it would run past the input), the others can; odd pixel counts."""
    rng = np.random.default_rng(c_in * 31 + c_out)
    x = rng.integers(-128, 128, (1, 3, 5, c_in), dtype=np.int8)
    w = rng.integers(-128, 128, (c_out, 1, 1, c_in), dtype=np.int8)
    mult, shift = fast_requant(rng, c_out, (-10, -4))
    check_all("pointwise_conv2d_s8", ref, opt, x, w, None, input_zp=3, output_zp=-7, multiplier=mult, shift=shift)


def test_conv_split_into_output_channel_blocks(ref, opt):
    """Widened weights above the block budget (16 KiB): the layer runs in blocks
    of output channels, the last one odd."""
    rng = np.random.default_rng(11)
    x = rng.integers(-128, 128, (1, 4, 5, 96), dtype=np.int8)
    w = rng.integers(-128, 128, (19, 3, 3, 96), dtype=np.int8)  # 19 rows of 864 int16: 3 blocks
    mult, shift = fast_requant(rng, 19, (-14, -8))
    check_all("conv2d_s8", ref, opt, x, w, rng.integers(-5000, 5000, 19).astype(np.int32), input_zp=-3,
              output_zp=5, multiplier=mult, shift=shift, padding=(1, 1, 1, 1))


@pytest.mark.parametrize("channels", [1, 2, 3, 4, 5, 6, 7, 9, 16])
@pytest.mark.parametrize("width, stride", [(1, 1), (2, 1), (7, 1), (8, 1), (7, 2)])
def test_depthwise_lanes_widths_and_strides(ref, opt, channels, width, stride):
    """3x3 depthwise: partial channel groups (1..3 lanes), odd output widths
    (the 2-pixel step's single-pixel remainder), stride 2 (generic path)."""
    rng = np.random.default_rng(channels * 10 + width)
    x = rng.integers(-128, 128, (1, 4, width, channels), dtype=np.int8)
    w = rng.integers(-128, 128, (1, 3, 3, channels), dtype=np.int8)
    mult, shift = fast_requant(rng, channels, (-9, -3))
    check_all("depthwise_conv2d_s8", ref, opt, x, w, rng.integers(-300, 300, channels).astype(np.int32),
              input_zp=-9, output_zp=4, multiplier=mult, shift=shift, padding=(1, 1, 1, 1), stride=(stride, stride),
              act_min=-50, act_max=90)


@pytest.mark.parametrize("s1, s2, relu", [(0.05, 0.08, False), (0.08, 0.05, True), (0.1, 0.1, False),
                                          (0.02, 0.09, True), (0.2, 0.0004, False)])
def test_add_input_scale_forms(ref, opt, s1, s2, relu):
    """The residual add's three input rescaling forms (shift 0: the larger
    input; -1: ratio above 1/2; <= -2), every pair of int8 values."""
    a, b = (v.astype(np.int8).ravel() for v in np.meshgrid(np.arange(-128, 128), np.arange(-128, 128)))
    act = qm.activation_range("relu" if relu else "none", 0.15, -3)
    check_all("add_s8", ref, opt, a, b, qm.add_params(s1, 7, s2, -20, 0.15, -3, *act))


def test_reference_requantization_never_overflows_adding_the_zero_point(ref, opt):
    """MBQM can come within 128 of INT32_MIN (a left shift of 31 turns 1 into
    INT32_MIN); adding the output zero point must not wrap around."""
    x = np.array([[[[1], [-1], [0]]]], np.int8)
    w = np.ones((2, 1, 1, 1), np.int8)
    check_all("pointwise_conv2d_s8", ref, opt, x, w, None, input_zp=0, output_zp=-128,
              multiplier=[(1 << 31) - 1, (1 << 31) - 1], shift=[31, 30])


# --------------------------------------------------------------------------- rejections

def conv_call(impl, x_shape=(1, 5, 5, 4), w_shape=(3, 3, 3, 4), kind="conv2d_s8", **overrides):
    x = np.zeros(x_shape, np.int8)
    w = np.zeros(w_shape, np.int8)
    kwargs = dict(input_zp=0, output_zp=0, multiplier=[1 << 30], shift=[0])
    kwargs.update(overrides)
    return getattr(impl, kind)(x, w, None, **kwargs)


@pytest.mark.parametrize("call, expected", [
    (lambda k: conv_call(k, multiplier=[1, 2], shift=[0, 0]), "param"),             # requant count
    (lambda k: conv_call(k, shift=[32]), "param"),                                   # shift range
    (lambda k: conv_call(k, input_zp=128), "param"),
    (lambda k: conv_call(k, act_min=5, act_max=4), "param"),
    (lambda k: conv_call(k, stride=(0, 1)), None),                                   # numpy raises first
    (lambda k: conv_call(k, kind="depthwise_conv2d_s8", w_shape=(1, 3, 3, 8)), "unsupported"),
    (lambda k: conv_call(k, kind="pointwise_conv2d_s8", w_shape=(3, 3, 3, 4)), None),
    (lambda k: k.fully_connected_s8(np.zeros((1, 65537), np.int8), np.zeros((1, 65537), np.int8), None,
                                    input_zp=0, output_zp=0, multiplier=[1], shift=[0]), "dims"),
    (lambda k: k.softmax_s8(np.zeros((1, 512), np.int8), qm.softmax_params(0.1)), "dims"),
])
def test_both_sets_reject_bad_parameters(ref, opt, call, expected):
    for impl in (ref, opt):
        if expected is None:
            with pytest.raises(Exception):
                call(impl)
            continue
        with pytest.raises(CError) as err:
            call(impl)
        assert err.value.status == ERR[expected], impl.name


def raw_conv(impl, params, x, w, out, scratch, size, name="conv2d_s8"):
    fn = ctypes.CFUNCTYPE(ctypes.c_int)(impl.address(name))
    return fn(ctypes.byref(params), x, w, None, out, scratch, ctypes.c_size_t(size))


def conv_params(requant, out_h=3, c_in=3):
    return ConvParams(Shape(1, 5, 5, c_in), Shape(2, 3, 3, c_in), Shape(1, out_h, 3, 2), 1, 1, Padding(0, 0, 0, 0),
                      0, 0, requant, -128, 127)


def test_status_codes_for_bad_dims_null_and_scratch(ref, opt):
    mult = (ctypes.c_int32 * 1)(1 << 30)
    shift = (ctypes.c_int32 * 1)(0)
    requant = Requant(mult, shift, 1)
    x = (ctypes.c_int8 * 75)()
    w = (ctypes.c_int8 * 54)()
    out = (ctypes.c_int8 * 18)()
    scratch = (ctypes.c_int32 * 256)()
    for impl in (ref, opt):
        size = impl.scratch_size("conv2d_s8", conv_params(requant))
        assert raw_conv(impl, conv_params(requant), x, w, out, scratch, 1024) == 0
        assert raw_conv(impl, conv_params(requant, out_h=4), x, w, out, scratch, 1024) == ERR["dims"]
        assert raw_conv(impl, conv_params(requant), None, w, out, scratch, 1024) == ERR["null"]
        assert raw_conv(impl, conv_params(Requant(None, shift, 1)), x, w, out, scratch, 1024) == ERR["null"]
        if size:  # only the optimized set needs scratch (widened weights, im2col columns, staging)
            assert impl.name == "optimized" and 3 * 3 * 3 * 2 * 2 < size <= 1000
            assert raw_conv(impl, conv_params(requant), x, w, out, scratch, size - 1) == ERR["scratch"]
            assert raw_conv(impl, conv_params(requant), x, w, out, None, 0) == ERR["null"]
            misaligned = ctypes.c_void_p(ctypes.addressof(scratch) + 2)
            assert raw_conv(impl, conv_params(requant), x, w, out, misaligned, 1000) == ERR["misaligned"]
        else:
            assert impl.name == "reference"
            assert raw_conv(impl, conv_params(requant), x, w, out, None, 0) == 0


def test_dispatch_tables(kernel_lib, ref, opt):
    assert (ref.name, opt.name) == ("reference", "optimized")
    for name in ("conv2d_s8", "depthwise_conv2d_s8", "pointwise_conv2d_s8", "fully_connected_s8"):
        assert ref.address(name) == ctypes.cast(getattr(kernel_lib, f"ea_ref_{name}"), ctypes.c_void_p).value
        assert opt.address(name) == ctypes.cast(getattr(kernel_lib, f"ea_opt_{name}"), ctypes.c_void_p).value
    assert opt.address("softmax_s8") == ref.address("softmax_s8")
    kernel_lib.ea_status_str.restype = ctypes.c_char_p
    assert kernel_lib.ea_status_str(5) == b"scratch too small"


# --------------------------------------------------------------------------- Cortex-M4 build

def test_kernels_compile_for_cortex_m4_with_dsp(tmp_path):
    """Both sets compile warning-free for Cortex-M4F, and the optimized core really uses SMLAD/SXTB16."""
    if shutil.which("arm-none-eabi-gcc") is None or shutil.which("make") is None:
        pytest.skip("arm-none-eabi-gcc (gcc-arm-none-eabi) or make not on PATH: Cortex-M4 compile check skipped")
    result = subprocess.run(["make", "-s", "-C", str(KERNELS_DIR), "armobjs", f"OUT_DIR={tmp_path}"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    objects = sorted(p.name for p in tmp_path.glob("*.o"))
    sources = sorted(p.with_suffix(".o").name for p in KERNELS_DIR.glob("*/*.c"))
    assert objects == sources
    if shutil.which("arm-none-eabi-objdump") is None:
        pytest.skip("arm-none-eabi-objdump not on PATH: instruction check skipped")
    def disassembly(name):
        return subprocess.run(["arm-none-eabi-objdump", "-d", str(tmp_path / name)], capture_output=True, text=True,
                              check=True).stdout

    gemm = disassembly("ea_opt_gemm.o")
    assert "smlad" in gemm and "sxtab16" in gemm and "smlal" in gemm and "ssat" in gemm
    depthwise = disassembly("ea_opt_depthwise.o")
    assert "smlabb" in depthwise and "smlatt" in depthwise and "sxtab16" in depthwise
    pooling = disassembly("ea_opt_pooling.o")
    assert "ssub8" in pooling and "sel" in pooling


# --------------------------------------------------------------------------- on the emulated Cortex-M4

def load_bench_module():
    """embedded/tools/bench_kernels.py (a script, not a package module)."""
    path = KERNELS_DIR.parent / "tools" / "bench_kernels.py"
    spec = importlib.util.spec_from_file_location("ea_bench_kernels", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_sets_bit_exact_on_cortex_m4_for_every_mini_xception_layer(tmp_path):
    """The host tests run the optimized set's portable C; this runs its DSP
    code (SMLAD, SXTAB16, SSAT, SSUB8/SEL...) on QEMU's Cortex-M4 for every
    layer shape of mini-Xception and compares it with the reference set, byte
    for byte. Prints the instruction counts (the benchmark's table)."""
    from edge_affect.converters.apollo3 import toolchain

    if not toolchain.find_tools().can_run_qemu:
        pytest.skip(f"Cortex-M4 toolchain or QEMU missing; install: {toolchain.INSTALL_HINT}")
    bench = load_bench_module()
    results, stack = bench.run(bench.mini_xception_layers(), tmp_path)
    bench.print_table(results)
    print(f"stack high-water mark: {stack} bytes")
    bad = [(r.name, r.status, r.mismatches) for r in results if not r.ok]
    assert not bad, f"layers where the sets differ on the device (name, 16*ref+opt status, bytes): {bad}"
    total = bench.summary(results)
    assert total["optimized_instructions"] < total["reference_instructions"]
