"""quant_math against hand-computed TFLite values and exact rational arithmetic."""

from fractions import Fraction
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from edge_affect.errors import InputError
from edge_affect.runtime.int8 import quant_math as qm
from edge_affect.runtime.int8.kernels import quantize_s8

INT32 = st.integers(min_value=-(1 << 31), max_value=(1 << 31) - 1)


def floor_half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


def half_away(value: Fraction) -> int:
    magnitude = math.floor(abs(value) + Fraction(1, 2))
    return magnitude if value >= 0 else -magnitude


def exact_srdhm(a: int, b: int) -> int:
    """a*b/2^31 rounded half up (what gemmlowp's nudge + truncation computes), saturated."""
    return min(floor_half_up(Fraction(a * b, 1 << 31)), (1 << 31) - 1)


def exact_mbqm(x: int, m: int, s: int) -> int:
    shifted = ((x << max(s, 0)) + (1 << 31)) % (1 << 32) - (1 << 31)  # int32 wrap of x * 2^left
    return half_away(Fraction(exact_srdhm(shifted, m), 1 << max(-s, 0)))


@pytest.mark.parametrize("real, expected", [
    (0.5, (1 << 30, 0)),
    (1.0 / 3.0, (1431655765, -1)),
    (0.75, (1610612736, 0)),
    (1.0, (1 << 30, 1)),
    (2.0, (1 << 30, 2)),
    (3.5, (1879048192, 2)),             # > 1: positive shift = left shift
    (0.0, (0, 0)),
    (2.0 ** -32, (1 << 30, -31)),       # smallest real that keeps a shift >= -31
    (2.0 ** -33, (0, 0)),               # shift < -31 flushes to zero
    (1e-10, (0, 0)),
    (1.0 - 2.0 ** -40, (1 << 30, 1)),   # q*2^31 rounds to 2^31: halve, shift + 1
])
def test_quantize_multiplier_known_values(real, expected):
    assert qm.quantize_multiplier(real) == expected


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=2.0 ** -30, max_value=2.0 ** 20, allow_nan=False))
def test_quantize_multiplier_reconstructs_real(real):
    mult, shift = qm.quantize_multiplier(real)
    assert (1 << 30) <= mult < (1 << 31)
    assert abs(mult * 2.0 ** (shift - 31) - real) <= real * 2.0 ** -31


@pytest.mark.parametrize("bad", [-0.5, float("nan"), float("inf")])
def test_quantize_multiplier_rejects_bad_reals(bad):
    with pytest.raises(InputError, match="quantize_multiplier"):
        qm.quantize_multiplier(bad)


def test_srdhm_saturates_only_int32_min_squared():
    assert int(qm.saturating_rounding_doubling_high_mul(qm.INT32_MIN, qm.INT32_MIN)) == qm.INT32_MAX
    assert int(qm.saturating_rounding_doubling_high_mul(qm.INT32_MIN, qm.INT32_MAX)) == -qm.INT32_MAX
    # Exact halves: +0.5 rounds up to 1, -0.5 rounds up to 0 (gemmlowp's nudge).
    assert int(qm.saturating_rounding_doubling_high_mul(1 << 30, 1)) == 1
    assert int(qm.saturating_rounding_doubling_high_mul(-(1 << 30), 1)) == 0
    assert int(qm.saturating_rounding_doubling_high_mul(-3 << 29, 1)) == -1  # -1.5 -> -1


@settings(max_examples=300, deadline=None)
@given(INT32, INT32)
def test_srdhm_matches_exact_rounding(a, b):
    assert int(qm.saturating_rounding_doubling_high_mul(a, b)) == exact_srdhm(a, b)


@pytest.mark.parametrize("x, exponent, expected", [
    (3, 1, 2), (-3, 1, -2), (5, 1, 3), (-5, 1, -3),      # halves away from zero
    (-5, 2, -1), (-6, 2, -2), (6, 2, 2), (-7, 2, -2),
    (qm.INT32_MIN, 31, -1), (qm.INT32_MAX, 31, 1), (-(1 << 30), 31, -1), ((1 << 30) - 1, 31, 0),
    (12345, 0, 12345),
])
def test_rounding_divide_by_pot_edges(x, exponent, expected):
    assert int(qm.rounding_divide_by_pot(x, exponent)) == expected


@settings(max_examples=300, deadline=None)
@given(INT32, st.integers(0, 31))
def test_rounding_divide_by_pot_is_half_away_from_zero(x, exponent):
    assert int(qm.rounding_divide_by_pot(x, exponent)) == half_away(Fraction(x, 1 << exponent))


@settings(max_examples=300, deadline=None)
@given(INT32, st.integers(0, (1 << 31) - 1), st.integers(-31, 31))
def test_mbqm_matches_exact_double_rounding(x, mult, shift):
    assert int(qm.multiply_by_quantized_multiplier(x, mult, shift)) == exact_mbqm(x, mult, shift)


def test_mbqm_double_rounding_of_negative_halves():
    # -6 * 0.5 = -3 exactly, then /2 = -1.5 rounds away from zero to -2.
    assert int(qm.multiply_by_quantized_multiplier(-6, 1 << 30, -1)) == -2
    # 3 * 0.5 = 1.5: the high-mul rounds half up to 2, the (zero) shift keeps it.
    assert int(qm.multiply_by_quantized_multiplier(3, 1 << 30, 0)) == 2
    assert int(qm.multiply_by_quantized_multiplier(-3, 1 << 30, 0)) == -1
    # Double rounding differs from single rounding: 5 * 0.5 / 2 = 1.25 -> 2.5 -> ... 3 then /2 -> 2 (vs 1).
    assert int(qm.multiply_by_quantized_multiplier(5, 1 << 30, -1)) == 2
    # Left shift wraps like the int32 multiply it stands for.
    assert int(qm.multiply_by_quantized_multiplier(1 << 30, 1 << 30, 2)) == 0


def test_mbqm_broadcasts_per_channel():
    x = np.array([[100, -100], [7, -7]])
    out = qm.multiply_by_quantized_multiplier(x, np.array([1 << 30, 1 << 30]), np.array([0, -1]))
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, [[50, -25], [4, -2]])


def test_mbqm_rejects_out_of_range_shift():
    with pytest.raises(InputError, match="shift"):
        qm.multiply_by_quantized_multiplier(1, 1 << 30, 32)


def test_round_half_away_from_zero_differs_from_numpy_round():
    x = np.array([0.5, 1.5, 2.5, -0.5, -2.5, 0.49999997, -1.4999999], dtype=np.float32)
    np.testing.assert_array_equal(qm.round_half_away_from_zero(x), [1, 2, 3, -1, -3, 0, -1])
    assert not np.array_equal(np.round(x), qm.round_half_away_from_zero(x))


def test_conv_multipliers_are_per_channel_in_double():
    mult, shift = qm.conv_multipliers(0.02, [0.01, 0.005], 0.1)
    for c, ws in enumerate([0.01, 0.005]):
        assert (int(mult[c]), int(shift[c])) == qm.quantize_multiplier(0.02 * ws / 0.1)
    with pytest.raises(InputError, match="scales"):
        qm.conv_multipliers(0.02, [0.0], 0.1)


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7, 9, 36, 121, 2304])
def test_mean_multiplier_folds_one_over_count(count):
    mult, shift = qm.mean_multiplier(0.05, 0.02, count)
    base_mult, base_shift = qm.quantize_multiplier(0.05 / 0.02)
    fold = min(count.bit_length() - 1, 32, 31 + base_shift)
    assert (mult, shift) == ((base_mult << fold) // count, base_shift - fold)
    assert mult * 2.0 ** (shift - 31) == pytest.approx(0.05 / (0.02 * count), rel=2.0 ** -29)


def test_add_params_equal_scales():
    p = qm.add_params(0.1, 3, 0.1, -4, 0.2, 1)
    assert (p.input1_multiplier, p.input1_shift) == (1 << 30, 0)  # 0.5
    assert (p.input2_multiplier, p.input2_shift) == (1 << 30, 0)
    assert (p.output_multiplier, p.output_shift) == qm.quantize_multiplier(0.2 / ((1 << 20) * 0.2))
    assert p.left_shift == qm.ADD_LEFT_SHIFT_INT8 == 20
    assert (p.input1_zero_point, p.input2_zero_point, p.output_zero_point) == (3, -4, 1)


def test_add_params_rejects_output_multiplier_above_one():
    with pytest.raises(InputError, match="output multiplier"):
        qm.add_params(1.0, 0, 1.0, 0, 1e-7, 0)


def test_softmax_params_match_tflm_preprocessing():
    p = qm.softmax_params(0.1)
    assert (p.input_multiplier, p.input_left_shift) == qm.quantize_multiplier(0.1 * (1 << 26))
    assert p.input_left_shift == 23
    assert p.diff_min == -math.floor(31 * 2.0 ** 26 / 2.0 ** 23) == -248
    capped = qm.softmax_params(1000.0)  # beta * scale * 2^26 capped at 2^31 - 1
    assert (capped.input_multiplier, capped.input_left_shift) == ((1 << 31) - 1, 31)
    assert capped.diff_min == 0


@pytest.mark.parametrize("activation, scale, zp, expected", [
    ("none", 0.1, 5, (-128, 127)),
    ("relu", 0.1, -10, (-10, 127)),
    ("relu", 0.1, -128, (-128, 127)),
    ("relu6", 0.05, 0, (0, 120)),
    ("relu6", 6.0 / 255.0, -128, (-128, 127)),
    ("relu6", 0.1, -100, (-100, -40)),
])
def test_activation_range(activation, scale, zp, expected):
    assert qm.activation_range(activation, scale, zp) == expected


def test_activation_range_rejects_unknown():
    with pytest.raises(InputError, match="sigmoid"):
        qm.activation_range("sigmoid", 0.1, 0)


def test_input_lut_equals_quantized_float_preprocessing():
    lut = qm.input_lut(1.0 / 127.5, -1.0, 2.0 / 255.0, 0)
    assert lut.dtype == np.int8 and lut.shape == (256,)
    pixels = np.arange(256, dtype=np.float32)
    expected = quantize_s8(pixels * np.float32(1.0 / 127.5) + np.float32(-1.0), scale=2.0 / 255.0, zero_point=0)
    np.testing.assert_array_equal(lut, expected)
    assert np.all(np.diff(lut.astype(int)) >= 0)
    identity = qm.input_lut(1.0 / 255.0, 0.0, 1.0 / 255.0, -128)
    np.testing.assert_array_equal(identity, np.arange(256) - 128)


def test_fixed_point_exp_and_reciprocal_accuracy():
    diffs = -np.arange(0, 32 << 26, 1 << 20, dtype=np.int64)  # Q5.26 in (-32, 0]
    exps = qm.exp_on_negative_values_q5_26(diffs) / 2.0 ** 31
    np.testing.assert_allclose(exps, np.exp(diffs / 2.0 ** 26), atol=2e-7)
    xs = np.arange(0, 1 << 31, 1 << 22, dtype=np.int64)
    recip = qm.one_over_one_plus_x_for_x_in_0_1(xs) / 2.0 ** 31
    np.testing.assert_allclose(recip, 1.0 / (1.0 + xs / 2.0 ** 31), atol=2e-8)


def test_count_leading_zeros():
    values = [0, 1, 2, 3, 255, 1 << 19, (1 << 31) - 1, 1 << 31, 0xFFFFFFFF]
    np.testing.assert_array_equal(qm.count_leading_zeros_u32(values), [32 - v.bit_length() for v in values])
