"""numpy int8 kernels against plain-loop integer formulations and float maths."""

from fractions import Fraction
import math

import numpy as np
import pytest

from edge_affect.errors import InputError
from edge_affect.runtime.int8 import kernels as k
from edge_affect.runtime.int8 import quant_math as qm


def exact_mbqm(x: int, m: int, s: int) -> int:
    """Double rounding with Python integers: high-mul rounds half up, the shift half away from zero."""
    shifted = ((x << max(s, 0)) + (1 << 31)) % (1 << 32) - (1 << 31)
    high = min(math.floor(Fraction(shifted * m, 1 << 31) + Fraction(1, 2)), (1 << 31) - 1)
    scaled = Fraction(high, 1 << max(-s, 0))
    magnitude = math.floor(abs(scaled) + Fraction(1, 2))
    return magnitude if scaled >= 0 else -magnitude


def wrap32(v: int) -> int:
    return (v + (1 << 31)) % (1 << 32) - (1 << 31)


def loop_conv(x, w, bias, in_zp, out_zp, mult, shift, stride, pads, act, depthwise=False):
    n, h, wd, c_in = x.shape
    top, bottom, left, right = pads
    kh, kw = w.shape[1:3]
    oh = (h + top + bottom - kh) // stride[0] + 1
    ow = (wd + left + right - kw) // stride[1] + 1
    c_out = c_in if depthwise else w.shape[0]
    out = np.zeros((n, oh, ow, c_out), dtype=np.int8)
    for b in range(n):
        for oy in range(oh):
            for ox in range(ow):
                for oc in range(c_out):
                    acc = 0
                    for fy in range(kh):
                        for fx in range(kw):
                            iy, ix = oy * stride[0] - top + fy, ox * stride[1] - left + fx
                            if not (0 <= iy < h and 0 <= ix < wd):
                                continue  # padding holds the zero point: contributes nothing
                            if depthwise:
                                acc += int(w[0, fy, fx, oc]) * (int(x[b, iy, ix, oc]) - in_zp)
                            else:
                                for ic in range(c_in):
                                    acc += int(w[oc, fy, fx, ic]) * (int(x[b, iy, ix, ic]) - in_zp)
                    if bias is not None:
                        acc = wrap32(acc + int(bias[oc]))
                    ch = oc if len(mult) > 1 else 0
                    v = exact_mbqm(acc, int(mult[ch]), int(shift[ch])) + out_zp
                    out[b, oy, ox, oc] = min(max(v, act[0]), act[1])
    return out


def random_case(rng, shape_x, shape_w, channels):
    x = rng.integers(-128, 128, shape_x, dtype=np.int8)
    w = rng.integers(-127, 128, shape_w, dtype=np.int8)
    bias = rng.integers(-5000, 5000, channels).astype(np.int32)
    mult = rng.integers(1 << 30, 1 << 31, channels).astype(np.int32)
    shift = rng.integers(-12, 1, channels).astype(np.int32)
    return x, w, bias, mult, shift


@pytest.mark.parametrize("seed, shape, kernel, stride, pads", [
    (0, (1, 5, 6, 3), (3, 3), (1, 1), (1, 1, 1, 1)),
    (1, (1, 6, 6, 2), (3, 3), (2, 2), (0, 1, 0, 1)),   # TF 'same' with stride 2: extra pad bottom/right
    (2, (2, 4, 7, 1), (2, 3), (1, 2), (1, 0, 2, 0)),
    (3, (1, 3, 3, 5), (3, 3), (1, 1), (0, 0, 0, 0)),
    (4, (1, 5, 5, 4), (1, 1), (2, 2), (0, 0, 0, 0)),
])
def test_conv2d_matches_loops(seed, shape, kernel, stride, pads):
    rng = np.random.default_rng(seed)
    c_out = 3
    x, w, bias, mult, shift = random_case(rng, shape, (c_out, *kernel, shape[3]), c_out)
    kw = dict(input_zp=int(rng.integers(-128, 128)), output_zp=int(rng.integers(-128, 128)),
              multiplier=mult, shift=shift, stride=stride, padding=pads, act_min=-100, act_max=110)
    got = k.conv2d_s8(x, w, bias, **kw)
    want = loop_conv(x, w, bias, kw["input_zp"], kw["output_zp"], mult, shift, stride, pads, (-100, 110))
    np.testing.assert_array_equal(got, want)


def test_conv2d_per_tensor_equals_repeated_per_channel():
    rng = np.random.default_rng(5)
    x, w, bias, mult, shift = random_case(rng, (1, 4, 4, 3), (4, 3, 3, 3), 4)
    a = k.conv2d_s8(x, w, bias, input_zp=3, output_zp=-2, multiplier=mult[:1], shift=shift[:1], padding=(1, 1, 1, 1))
    b = k.conv2d_s8(x, w, bias, input_zp=3, output_zp=-2, multiplier=np.repeat(mult[:1], 4),
                    shift=np.repeat(shift[:1], 4), padding=(1, 1, 1, 1))
    np.testing.assert_array_equal(a, b)


def test_conv2d_approximates_float_convolution():
    """Quantize a float conv end to end: the int8 result is within 1 LSB of the real one."""
    rng = np.random.default_rng(6)
    xf = rng.uniform(-1.0, 3.0, (1, 6, 6, 2))
    wf = rng.normal(0.0, 0.3, (3, 3, 3, 2))
    bf = rng.normal(0.0, 0.5, 3)
    s_in, zp_in = 4.0 / 255.0, -128 + 64  # covers [-1, 3]
    s_w = np.abs(wf).reshape(3, -1).max(axis=1) / 127.0
    s_out, zp_out = 0.05, 5
    xq = k.quantize_s8(xf, scale=s_in, zero_point=zp_in)
    wq = np.round(wf / s_w[:, None, None, None]).astype(np.int8)
    bq = np.round(bf / (s_in * s_w)).astype(np.int32)
    mult, shift = qm.conv_multipliers(s_in, s_w, s_out)
    out = k.conv2d_s8(xq, wq, bq, input_zp=zp_in, output_zp=zp_out, multiplier=mult, shift=shift,
                      padding=(1, 1, 1, 1))
    # Real-valued conv of the *quantized* operands, so only the output rounding remains.
    xd = np.pad((xq.astype(float) - zp_in) * s_in, ((0, 0), (1, 1), (1, 1), (0, 0)))
    wd = wq.astype(float) * s_w[:, None, None, None]
    real = np.zeros((1, 6, 6, 3))
    for y in range(6):
        for x in range(6):
            real[0, y, x] = np.tensordot(wd, xd[0, y:y + 3, x:x + 3], axes=([1, 2, 3], [0, 1, 2])) + bq * s_in * s_w
    expected = np.clip(real / s_out + zp_out, -128, 127)
    assert np.max(np.abs(out - expected)) <= 0.5 + 1e-6


@pytest.mark.parametrize("seed, shape, kernel, stride, pads", [
    (10, (1, 5, 6, 3), (3, 3), (1, 1), (1, 1, 1, 1)),
    (11, (1, 6, 6, 5), (3, 3), (2, 2), (0, 1, 0, 1)),
    (12, (2, 4, 5, 4), (2, 2), (1, 1), (1, 0, 0, 1)),
])
def test_depthwise_matches_loops(seed, shape, kernel, stride, pads):
    rng = np.random.default_rng(seed)
    c = shape[3]
    x, w, bias, mult, shift = random_case(rng, shape, (1, *kernel, c), c)
    got = k.depthwise_conv2d_s8(x, w, bias, input_zp=-128, output_zp=127, multiplier=mult, shift=shift,
                                stride=stride, padding=pads)
    want = loop_conv(x, w, bias, -128, 127, mult, shift, stride, pads, (-128, 127), depthwise=True)
    np.testing.assert_array_equal(got, want)


def test_depthwise_rejects_depth_multiplier():
    x = np.zeros((1, 4, 4, 2), np.int8)
    with pytest.raises(InputError, match="depth multiplier 1"):
        k.depthwise_conv2d_s8(x, np.zeros((1, 3, 3, 4), np.int8), None, input_zp=0, output_zp=0,
                              multiplier=[1 << 30], shift=[0])


def test_pointwise_equals_conv_and_rejects_bigger_kernels():
    rng = np.random.default_rng(13)
    x, w, bias, mult, shift = random_case(rng, (1, 5, 5, 6), (4, 1, 1, 6), 4)
    kw = dict(input_zp=-7, output_zp=9, multiplier=mult, shift=shift, stride=(2, 2))
    np.testing.assert_array_equal(k.pointwise_conv2d_s8(x, w, bias, **kw), k.conv2d_s8(x, w, bias, **kw))
    with pytest.raises(InputError, match="1x1"):
        k.pointwise_conv2d_s8(x, np.zeros((4, 3, 3, 6), np.int8), bias, **kw)


def test_fully_connected_matches_loops_per_tensor_and_per_channel():
    rng = np.random.default_rng(14)
    x = rng.integers(-128, 128, (2, 11), dtype=np.int8)
    w = rng.integers(-127, 128, (5, 11), dtype=np.int8)
    bias = rng.integers(-1000, 1000, 5).astype(np.int32)
    for mult, shift in [(np.array([1 << 30]), np.array([-6])),
                        (rng.integers(1 << 30, 1 << 31, 5), rng.integers(-9, 2, 5))]:
        got = k.fully_connected_s8(x, w, bias, input_zp=12, output_zp=-3, multiplier=mult, shift=shift)
        for b in range(2):
            for o in range(5):
                acc = sum(int(w[o, i]) * (int(x[b, i]) - 12) for i in range(11)) + int(bias[o])
                ch = o if len(mult) > 1 else 0
                assert got[b, o] == min(max(exact_mbqm(acc, int(mult[ch]), int(shift[ch])) - 3, -128), 127)


def test_bias_add_wraps_like_int32():
    x = np.full((1, 1), 127, np.int8)
    w = np.full((1, 1), 127, np.int8)
    bias = np.array([(1 << 31) - 1], np.int32)  # 127*255 + INT32_MAX wraps negative
    out = k.fully_connected_s8(x, w, bias, input_zp=-128, output_zp=0, multiplier=[1 << 30], shift=[-20])
    acc = wrap32(127 * 255 + (1 << 31) - 1)
    assert acc < 0 and out[0, 0] == max(exact_mbqm(acc, 1 << 30, -20), -128)


def test_activation_clamp_applies_after_requantization():
    x = np.array([[100, -100]], np.int8)
    w = np.array([[1, 0], [0, 1]], np.int8)
    lo, hi = qm.activation_range("relu6", 0.05, -20)  # (-20, 100)
    out = k.fully_connected_s8(x, w, None, input_zp=0, output_zp=-20, multiplier=[1 << 30], shift=[2],
                               act_min=lo, act_max=hi)
    np.testing.assert_array_equal(out, [[100, -20]])  # 200-20 clamped to 100; -200-20 clamped to -20


def test_max_pool_ignores_padding():
    x = np.full((1, 3, 3, 1), -100, np.int8)
    x[0, 1, 1, 0] = -90
    out = k.max_pool2d_s8(x, filter_size=(3, 3), stride=(2, 2), padding=(1, 1, 1, 1))
    np.testing.assert_array_equal(out[0, :, :, 0], [[-90, -90], [-90, -90]])
    edge = k.max_pool2d_s8(x, filter_size=(2, 2), stride=(2, 2), padding=(0, 1, 0, 1))
    np.testing.assert_array_equal(edge[0, :, :, 0], [[-90, -100], [-100, -100]])  # pads never win


def test_max_pool_matches_loops_and_clamps():
    rng = np.random.default_rng(15)
    x = rng.integers(-128, 128, (2, 7, 6, 3), dtype=np.int8)
    out = k.max_pool2d_s8(x, filter_size=(3, 2), stride=(2, 1), padding=(1, 1, 0, 1), act_min=-50, act_max=60)
    for b, oy, ox, c in np.ndindex(out.shape):
        vals = [x[b, iy, ix, c] for iy in range(oy * 2 - 1, oy * 2 + 2) for ix in range(ox, ox + 2)
                if 0 <= iy < 7 and 0 <= ix < 6]
        assert out[b, oy, ox, c] == min(max(max(vals), -50), 60)


@pytest.mark.parametrize("values, expected", [
    ([-1, -2], -2),   # -1.5 -> -2 (away from zero)
    ([1, 2], 2),      # 1.5 -> 2
    ([-1, 0], -1),    # -0.5 -> -1
    ([-1, -1, -1, 0], -1),  # -0.75 -> -1
    ([-1, 0, 0, 0], 0),     # -0.25 -> 0
    ([0, 0], 0),
])
def test_avg_pool_rounding(values, expected):
    x = np.array(values, np.int8).reshape(1, 1, len(values), 1)
    out = k.avg_pool2d_s8(x, filter_size=(1, len(values)), stride=(1, 1))
    assert out[0, 0, 0, 0] == expected


def test_avg_pool_count_excludes_padding():
    x = np.array([[10, 20], [30, 41]], np.int8).reshape(1, 2, 2, 1)
    out = k.avg_pool2d_s8(x, filter_size=(2, 2), stride=(1, 1), padding=(1, 0, 1, 0))
    # windows: {10}, {10,20}, {10,30}, {10,20,30,41}
    np.testing.assert_array_equal(out[0, :, :, 0], [[10, 15], [20, 25]])


def test_pool_rejects_padding_as_large_as_filter():
    with pytest.raises(InputError, match="padding"):
        k.avg_pool2d_s8(np.zeros((1, 4, 4, 1), np.int8), filter_size=(2, 2), stride=(2, 2), padding=(2, 0, 0, 0))


def test_global_avg_pool_matches_float_mean():
    rng = np.random.default_rng(16)
    x = rng.integers(-128, 128, (2, 5, 7, 4), dtype=np.int8)
    s_in, zp_in, s_out, zp_out = 0.1, 3, 0.03, -10
    mult, shift = qm.mean_multiplier(s_in, s_out, 35)
    out = k.global_avg_pool_s8(x, input_zp=zp_in, output_zp=zp_out, multiplier=mult, shift=shift)
    assert out.shape == (2, 1, 1, 4)
    real = ((x.astype(float) - zp_in) * s_in).mean(axis=(1, 2), keepdims=True)
    expected = np.clip(real / s_out + zp_out, -128, 127)
    assert np.max(np.abs(out - expected)) <= 0.5 + 1e-6
    for b, _, _, c in np.ndindex(out.shape):
        total = int(x[b, :, :, c].astype(int).sum()) - zp_in * 35
        assert out[b, 0, 0, c] == min(max(exact_mbqm(total, mult, shift) + zp_out, -128), 127)


def test_add_matches_float_and_exact_integer_path():
    rng = np.random.default_rng(17)
    a = rng.integers(-128, 128, (1, 4, 4, 8), dtype=np.int8)
    b = rng.integers(-128, 128, (1, 4, 4, 8), dtype=np.int8)
    p = qm.add_params(0.05, -3, 0.08, 10, 0.1, 2)
    out = k.add_s8(a, b, p)
    real = (a.astype(float) + 3) * 0.05 + (b.astype(float) - 10) * 0.08
    assert np.max(np.abs(out - np.clip(real / 0.1 + 2, -128, 127))) <= 0.5 + 1e-4
    for idx in np.ndindex(a.shape):
        s1 = exact_mbqm((int(a[idx]) + 3) << 20, p.input1_multiplier, p.input1_shift)
        s2 = exact_mbqm((int(b[idx]) - 10) << 20, p.input2_multiplier, p.input2_shift)
        assert out[idx] == min(max(exact_mbqm(s1 + s2, p.output_multiplier, p.output_shift) + 2, -128), 127)


def test_add_applies_activation_range():
    a = np.array([-100, 0, 100], np.int8)
    p = qm.add_params(0.1, 0, 0.1, 0, 0.1, 0, *qm.activation_range("relu", 0.1, 0))
    np.testing.assert_array_equal(k.add_s8(a, a, p), [0, 0, 127])


def test_softmax_of_equal_logits_is_uniform():
    p = qm.softmax_params(0.1)
    for depth, expected in [(1, 127), (2, 0), (4, -64), (8, -96), (7, round(256 / 7) - 128)]:
        out = k.softmax_s8(np.full((1, depth), 17, np.int8), p)
        assert np.all(out == expected), (depth, out)


def test_softmax_approximates_float_and_handles_far_values():
    rng = np.random.default_rng(18)
    x = rng.integers(-128, 128, (20, 7), dtype=np.int8)
    x[0] = [127, -128, -128, -128, -128, -128, -128]  # diffs below diff_min -> exactly -128
    for scale in (0.02, 0.1, 0.5):
        p = qm.softmax_params(scale)
        out = k.softmax_s8(x, p)
        logits = x.astype(float) * scale
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        assert np.max(np.abs((out.astype(float) + 128) / 256 - probs)) <= 1.5 / 256
    assert np.all(k.softmax_s8(x[:1], qm.softmax_params(0.1))[0, 1:] == -128)


def test_quantize_rounds_half_away_and_saturates():
    x = np.array([0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 1e9, -np.inf, np.nan, 0.49999997], np.float32)
    np.testing.assert_array_equal(k.quantize_s8(x, scale=1.0, zero_point=0), [1, -1, 2, -2, 3, -3, 127, -128, 0, 0])
    np.testing.assert_array_equal(k.quantize_s8(np.array([0.25, 100.0]), scale=0.5, zero_point=-5), [-4, 127])


def test_requantize_matches_exact():
    x = np.arange(-128, 128, dtype=np.int8)
    mult, shift = qm.quantize_multiplier(0.37)
    out = k.requantize_s8(x, input_zp=4, output_zp=-9, multiplier=mult, shift=shift)
    for v, o in zip(x.tolist(), out.tolist()):
        assert o == min(max(exact_mbqm(v - 4, mult, shift) - 9, -128), 127)


@pytest.mark.parametrize("call, message", [
    (lambda: k.conv2d_s8(np.zeros((1, 4, 4, 2), np.int8), np.zeros((3, 3, 3, 1), np.int8), None, input_zp=0,
                         output_zp=0, multiplier=[1], shift=[0]), "input channels"),
    (lambda: k.conv2d_s8(np.zeros((1, 4, 4, 2), np.int8), np.zeros((3, 3, 3, 2), np.int8), None, input_zp=0,
                         output_zp=0, multiplier=[1, 2], shift=[0, 0]), "length 1 or 3"),
    (lambda: k.conv2d_s8(np.zeros((1, 4, 4, 2), np.float32), np.zeros((3, 3, 3, 2), np.int8), None, input_zp=0,
                         output_zp=0, multiplier=[1], shift=[0]), "int8"),
    (lambda: k.conv2d_s8(np.zeros((1, 4, 4, 2), np.int8), np.zeros((3, 3, 3, 2), np.int8), None, input_zp=200,
                         output_zp=0, multiplier=[1], shift=[0]), "zero point"),
    (lambda: k.conv2d_s8(np.zeros((1, 4, 4, 2), np.int8), np.zeros((3, 3, 3, 2), np.int8), None, input_zp=0,
                         output_zp=0, multiplier=[1], shift=[0], act_min=10, act_max=5), "act_min"),
    (lambda: k.conv2d_s8(np.zeros((1, 2, 2, 2), np.int8), np.zeros((3, 3, 3, 2), np.int8), None, input_zp=0,
                         output_zp=0, multiplier=[1], shift=[0]), "larger than padded input"),
    (lambda: k.fully_connected_s8(np.zeros((1, 70000), np.int8), np.zeros((1, 70000), np.int8), None, input_zp=0,
                                  output_zp=0, multiplier=[1], shift=[0]), "dot length"),
    (lambda: k.softmax_s8(np.zeros((1, 5000), np.int8), qm.softmax_params(0.1)), "depth"),
])
def test_kernels_reject_bad_arguments(call, message):
    with pytest.raises(InputError, match=message):
        call()
