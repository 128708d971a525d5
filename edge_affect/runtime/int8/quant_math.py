"""TFLite-Micro integer quantization arithmetic, vectorised in numpy.

Every function here reproduces a TFLM / gemmlowp primitive bit for bit, so the
numpy int8 reference and the C kernels (embedded/include/ea_quant.h) compute
the same integers. Where TFLM relies on C++ behaviour that is undefined or
implementation-defined we pin one choice and the C code makes the same one:

* ``x * (1 << left_shift)`` in MultiplyByQuantizedMultiplier wraps modulo 2^32
  (what every two's-complement target does in practice);
* right shifts of negative values are arithmetic (gemmlowp relies on it).

Integer arrays are computed in int64 internally; results that are int32 in C
are returned as int32 arrays. Rounding is never numpy's ``np.round``
(half-to-even): gemmlowp rounds half away from zero in RoundingDivideByPOT and
TFLM uses ``std::round`` (also half away from zero) for float -> int.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from edge_affect.errors import InputError

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1
INT8_MIN = -128
INT8_MAX = 127

# ADD int8: inputs are shifted left by 20 bits before rescaling so the two
# rescaled operands keep ~20 bits of precision (TFLM add.cc, int8 path).
ADD_LEFT_SHIFT_INT8 = 20
# Softmax: input differences are Q5.26 (5 integer bits: differences below -32
# contribute exp(-32) ~ 0), the sum of exps is accumulated in Q12.19.
# TFLM softmax_common.cc / reference softmax.h.
SOFTMAX_SCALED_DIFF_INTEGER_BITS = 5
SOFTMAX_ACCUMULATION_INTEGER_BITS = 12
# The final RoundingDivideByPOT shifts by num_bits_over_unit + 23, which leaves
# gemmlowp's [0, 31] range (undefined behaviour in TFLM) once the sum of exps
# reaches 512.0; each exp is at most 1.0, so rows of up to 511 are always safe.
SOFTMAX_MAX_DEPTH = 511
# int8 softmax output quantization is fixed by TFLM: scale 1/256, zero point -128.
SOFTMAX_OUTPUT_SCALE = 1.0 / 256.0
SOFTMAX_OUTPUT_ZERO_POINT = -128


# --------------------------------------------------------------------------- helpers

def wrap_int32(x) -> np.ndarray:
    """Two's-complement wrap of int64 values to the int32 range (kept as int64)."""
    x = np.asarray(x, dtype=np.int64)
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def round_half_away_from_zero(x) -> np.ndarray:
    """``std::round`` on float arrays, exactly (no ``x + 0.5`` double rounding).

    Keeps the input's float dtype; NaN and infinities pass through.
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    mag = np.abs(x)
    whole = np.floor(mag)
    with np.errstate(invalid="ignore"):  # inf - inf: the comparison is False, inf stays inf
        # mag - whole is exact for floats, so the tie test is exact too.
        rounded = whole + (mag - whole >= 0.5).astype(x.dtype)
    return np.copysign(rounded, x)


def _as_i64(x) -> np.ndarray:
    return np.asarray(x, dtype=np.int64)


# --------------------------------------------------------------------------- gemmlowp primitives

def saturating_rounding_doubling_high_mul(a, b) -> np.ndarray:
    """gemmlowp SaturatingRoundingDoublingHighMul on int32 values (int64 arrays).

    (a*b + nudge) / 2^31 with C's truncating division, nudge = 2^30 for
    non-negative products and 1 - 2^30 otherwise; INT32_MIN * INT32_MIN, the
    only overflowing case, saturates to INT32_MAX.
    """
    a, b = _as_i64(a), _as_i64(b)
    ab = a * b  # |a*b| <= 2^62: exact in int64
    v = ab + np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    truncated = np.where(v >= 0, v >> 31, -((-v) >> 31))
    return np.where((a == INT32_MIN) & (b == INT32_MIN), INT32_MAX, truncated)


def rounding_divide_by_pot(x, exponent) -> np.ndarray:
    """gemmlowp RoundingDivideByPOT: x / 2^exponent rounded half away from zero.

    exponent in [0, 31]; arithmetic shift plus one when the remainder exceeds
    half (or equals half for negative x).
    """
    x, e = _as_i64(x), _as_i64(exponent)
    if np.any((e < 0) | (e > 31)):
        raise InputError(f"rounding_divide_by_pot: exponent must be in [0, 31], got {exponent!r}")
    mask = (np.int64(1) << e) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> e) + (remainder > threshold)


def saturating_rounding_multiply_by_pot(x, exponent: int) -> np.ndarray:
    """gemmlowp SaturatingRoundingMultiplyByPOT for int32 values.

    exponent > 0 shifts left and saturates, exponent < 0 is RoundingDivideByPOT.
    """
    x = _as_i64(x)
    if exponent <= 0:
        return rounding_divide_by_pot(x, -exponent)
    threshold = (1 << (31 - exponent)) - 1
    return np.where(x > threshold, INT32_MAX, np.where(x < -threshold, INT32_MIN, x << exponent))


def multiply_by_quantized_multiplier_i64(x, multiplier, shift) -> np.ndarray:
    """MultiplyByQuantizedMultiplier on int64 arrays holding int32 values.

    TFLM's default (double-rounding) path:
    RoundingDivideByPOT(SRDHM(x * 2^max(shift,0), multiplier), max(-shift,0)).
    The left shift wraps modulo 2^32 like the int32 multiply it stands for.
    """
    x, m, s = _as_i64(x), _as_i64(multiplier), _as_i64(shift)
    if np.any((s < -31) | (s > 31)):
        raise InputError(f"multiply_by_quantized_multiplier: shift must be in [-31, 31], got {shift!r}")
    left = np.maximum(s, 0)
    right = np.maximum(-s, 0)
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(wrap_int32(x << left), m), right)


def multiply_by_quantized_multiplier(x, multiplier, shift) -> np.ndarray:
    """int32 result of :func:`multiply_by_quantized_multiplier_i64` (broadcasting)."""
    return multiply_by_quantized_multiplier_i64(x, multiplier, shift).astype(np.int32)


# --------------------------------------------------------------------------- multipliers

def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite QuantizeMultiplier: real ~= multiplier * 2^(shift - 31).

    multiplier is in [2^30, 2^31) (or 0), shift may be positive (real >= 1:
    a left shift in MultiplyByQuantizedMultiplier) or negative. q*2^31 is
    rounded half away from zero; a carry to 2^31 halves it and bumps the shift;
    shifts below -31 (real < ~2^-32) flush to (0, 0).
    """
    real = float(real)
    if not math.isfinite(real) or real < 0:
        raise InputError(f"quantize_multiplier: expected a finite real >= 0, got {real!r}")
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)  # real = q * 2^shift, q in [0.5, 1)
    scaled = q * (1 << 31)  # exact: scaling by a power of two
    whole = math.floor(scaled)
    q_fixed = whole + (1 if scaled - whole >= 0.5 else 0)
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return int(q_fixed), int(shift)


def quantize_multipliers(reals) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel :func:`quantize_multiplier`; returns int32 (multiplier, shift) arrays."""
    pairs = [quantize_multiplier(r) for r in np.asarray(reals, dtype=np.float64).ravel()]
    mult = np.array([p[0] for p in pairs], dtype=np.int32)
    shift = np.array([p[1] for p in pairs], dtype=np.int32)
    return mult, shift


def conv_multipliers(input_scale: float, weight_scales, output_scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-output-channel requantization of conv / depthwise / FC accumulators.

    real[c] = s_in * s_w[c] / s_out in double, as TFLM's
    PopulateConvolutionQuantizationParams does (bias scale is s_in * s_w[c]).
    """
    w = np.atleast_1d(np.asarray(weight_scales, dtype=np.float64))
    if not (input_scale > 0 and output_scale > 0 and np.all(w > 0)):
        raise InputError(f"conv_multipliers: scales must be > 0, got input {input_scale!r}, "
                         f"weights {w.tolist()!r}, output {output_scale!r}")
    return quantize_multipliers(float(input_scale) * w / float(output_scale))


def mean_multiplier(input_scale: float, output_scale: float, count: int) -> tuple[int, int]:
    """Multiplier and shift of int8 MEAN over ``count`` elements (TFLM reduce).

    TFLM quantizes s_in / s_out, then folds 1/count into it in integers:
    fold = min(floor(log2(count)), 32, 31 + shift),
    multiplier' = (multiplier << fold) // count, shift' = shift - fold.
    The kernel then computes MBQM(sum - zp_in * count, multiplier', shift') + zp_out.
    """
    if count < 1:
        raise InputError(f"mean_multiplier: count must be >= 1, got {count!r}")
    if not (input_scale > 0 and output_scale > 0):
        raise InputError(f"mean_multiplier: scales must be > 0, got {input_scale!r}, {output_scale!r}")
    mult, shift = quantize_multiplier(float(input_scale) / float(output_scale))
    fold = min(int(count).bit_length() - 1, 32, 31 + shift)
    return int((mult << fold) // count), shift - fold


def _multiplier_below_one(real: float, what: str) -> tuple[int, int]:
    """TFLM QuantizeMultiplierSmallerThanOneExp: requires 0 < real < 1."""
    if not 0.0 < real < 1.0:
        raise InputError(f"{what}: expected a multiplier in (0, 1), got {real!r}")
    return quantize_multiplier(real)


@dataclass(frozen=True)
class AddParams:
    """Integer parameters of the int8 residual ADD (mirror of C ea_add_params_t)."""

    input1_zero_point: int
    input2_zero_point: int
    output_zero_point: int
    left_shift: int
    input1_multiplier: int
    input1_shift: int
    input2_multiplier: int
    input2_shift: int
    output_multiplier: int
    output_shift: int
    act_min: int = INT8_MIN
    act_max: int = INT8_MAX


def add_params(input1_scale: float, input1_zero_point: int, input2_scale: float, input2_zero_point: int,
               output_scale: float, output_zero_point: int,
               act_min: int = INT8_MIN, act_max: int = INT8_MAX) -> AddParams:
    """TFLM int8 ADD preparation: both inputs are rescaled to twice the larger
    input scale (after a 2^20 left shift), summed, and rescaled to the output."""
    twice_max = 2.0 * max(float(input1_scale), float(input2_scale))
    m1, s1 = _multiplier_below_one(float(input1_scale) / twice_max, "add input1 multiplier")
    m2, s2 = _multiplier_below_one(float(input2_scale) / twice_max, "add input2 multiplier")
    mo, so = _multiplier_below_one(twice_max / ((1 << ADD_LEFT_SHIFT_INT8) * float(output_scale)),
                                   "add output multiplier")
    return AddParams(int(input1_zero_point), int(input2_zero_point), int(output_zero_point),
                     ADD_LEFT_SHIFT_INT8, m1, s1, m2, s2, mo, so, int(act_min), int(act_max))


@dataclass(frozen=True)
class SoftmaxParams:
    """Integer parameters of int8 softmax (mirror of C ea_softmax_params_t)."""

    input_multiplier: int
    input_left_shift: int
    diff_min: int


def softmax_params(input_scale: float, beta: float = 1.0) -> SoftmaxParams:
    """TFLM PreprocessSoftmaxScaling + CalculateInputRadius for int8 input.

    beta * s_in is expressed in Q5.26 (capped at 2^31 - 1) and quantized as a
    multiplier >= 1 with a left shift; input differences below diff_min would
    overflow Q5.26 after scaling and are treated as exp(-inf) = 0.
    """
    real = min(float(beta) * float(input_scale) * (1 << (31 - SOFTMAX_SCALED_DIFF_INTEGER_BITS)),
               (1 << 31) - 1.0)
    if not real > 1.0:
        raise InputError(f"softmax_params: beta * input_scale * 2^26 must be > 1, got {real!r}")
    mult, left_shift = quantize_multiplier(real)
    max_input_rescaled = (((1 << SOFTMAX_SCALED_DIFF_INTEGER_BITS) - 1)
                          * float(1 << (31 - SOFTMAX_SCALED_DIFF_INTEGER_BITS)) / float(1 << left_shift))
    return SoftmaxParams(mult, left_shift, -int(math.floor(max_input_rescaled)))


def activation_range(activation: str, scale: float, zero_point: int) -> tuple[int, int]:
    """TFLM CalculateActivationRangeQuantized for int8: the fused activation
    becomes a clamp [act_min, act_max]; bounds quantized in float32 like TFLM."""
    def quantize(value: float) -> int:
        q = np.float32(value) / np.float32(scale)
        return int(zero_point) + int(round_half_away_from_zero(q))

    if activation == "none":
        return INT8_MIN, INT8_MAX
    if activation == "relu":
        return max(INT8_MIN, quantize(0.0)), INT8_MAX
    if activation == "relu6":
        return max(INT8_MIN, quantize(0.0)), min(INT8_MAX, quantize(6.0))
    raise InputError(f"activation_range: activation must be 'none', 'relu' or 'relu6', got {activation!r}")


def input_lut(scale: float, offset: float, input_scale: float, input_zero_point: int) -> np.ndarray:
    """256-entry table: uint8 pixel -> int8 model input.

    Entry p is the float32 normalisation ``p * scale + offset`` followed by the
    same float32 quantization as ``kernels.quantize_s8``, so the table equals
    quantizing the float-preprocessed tensor exactly.
    """
    from edge_affect.runtime.int8.kernels import quantize_s8  # kernels imports this module

    pixels = np.arange(256, dtype=np.float32)
    normalised = pixels * np.float32(scale) + np.float32(offset)
    return quantize_s8(normalised, scale=input_scale, zero_point=input_zero_point)


# --------------------------------------------------------------------------- softmax fixed point

def _fixed_mul(a, b) -> np.ndarray:
    """gemmlowp FixedPoint product: the raw value is SRDHM of the raw values."""
    return saturating_rounding_doubling_high_mul(a, b)


_Q0_ONE = INT32_MAX  # FixedPoint<int32, 0>::One()


def exp_on_interval_between_negative_one_quarter_and_0_excl(a) -> np.ndarray:
    """gemmlowp: exp(a) for a in [-1/4, 0), Q0.31 in and out (Taylor series about -1/8)."""
    constant_term = 1895147668        # exp(-1/8) in Q0.31
    constant_1_over_3 = 715827883     # 1/3 in Q0.31
    x = _as_i64(a) + (1 << 28)        # a + 1/8
    x2 = _fixed_mul(x, x)
    x3 = _fixed_mul(x2, x)
    x4 = _fixed_mul(x2, x2)
    x4_over_4 = rounding_divide_by_pot(x4, 2)
    poly = rounding_divide_by_pot(_fixed_mul(x4_over_4 + x3, constant_1_over_3) + x2, 1)
    return constant_term + _fixed_mul(constant_term, x + poly)


# (bit of the Q5.26 remainder, exp(-2^k) in Q0.31) for k = -2 .. 4
_EXP_BARREL_SHIFTER = (
    (24, 1672461947),  # exp(-1/4)
    (25, 1302514674),  # exp(-1/2)
    (26, 790015084),   # exp(-1)
    (27, 290630308),   # exp(-2)
    (28, 39332535),    # exp(-4)
    (29, 720401),      # exp(-8)
    (30, 242),         # exp(-16)
)


def exp_on_negative_values_q5_26(a) -> np.ndarray:
    """gemmlowp exp_on_negative_values for a Q5.26 input a <= 0; Q0.31 result."""
    a = _as_i64(a)
    one_quarter = 1 << 24
    a_mod_quarter_minus_one_quarter = (a & (one_quarter - 1)) - one_quarter
    # Rescale<0> from Q5.26 to Q0.31: a saturating multiply by 2^5.
    result = exp_on_interval_between_negative_one_quarter_and_0_excl(
        saturating_rounding_multiply_by_pot(a_mod_quarter_minus_one_quarter, SOFTMAX_SCALED_DIFF_INTEGER_BITS))
    remainder = a_mod_quarter_minus_one_quarter - a
    for bit, multiplier in _EXP_BARREL_SHIFTER:
        result = np.where(remainder & (1 << bit), _fixed_mul(result, multiplier), result)
    return np.where(a == 0, _Q0_ONE, result)


def one_over_one_plus_x_for_x_in_0_1(a) -> np.ndarray:
    """gemmlowp: 1 / (1 + a) for a in [0, 1), Q0.31 in and out (3 Newton-Raphson steps)."""
    a = _as_i64(a)
    s = a + _Q0_ONE
    half_denominator = (s + np.where(s >= 0, 1, -1)) // 2  # RoundingHalfSum; s >= 0 here
    constant_48_over_17 = 1515870810       # Q2.29
    constant_neg_32_over_17 = -1010580540  # Q2.29
    q2_one = 1 << 29
    x = constant_48_over_17 + _fixed_mul(half_denominator, constant_neg_32_over_17)
    for _ in range(3):
        half_denominator_times_x = _fixed_mul(half_denominator, x)
        one_minus = q2_one - half_denominator_times_x
        x = x + saturating_rounding_multiply_by_pot(_fixed_mul(x, one_minus), 2)  # Rescale<2> of Q4
    return saturating_rounding_multiply_by_pot(x, 1)  # Q1 relabelled, then Rescale<0>


def count_leading_zeros_u32(x) -> np.ndarray:
    """CLZ of uint32 values (32 for zero)."""
    x = _as_i64(x) & 0xFFFFFFFF
    n = np.full(x.shape, 32, dtype=np.int64)
    bits = np.zeros(x.shape, dtype=np.int64)
    for b in range(32):
        bits = np.where((x >> b) & 1, b + 1, bits)
    return n - bits


def get_reciprocal(x, x_integer_digits: int) -> tuple[np.ndarray, np.ndarray]:
    """TFLM GetReciprocal: (1/x in Q0.31 after normalisation, num_bits_over_unit)."""
    x = _as_i64(x)
    headroom_plus_one = count_leading_zeros_u32(x)
    num_bits_over_unit = x_integer_digits - headroom_plus_one
    shifted_sum_minus_one = wrap_int32(((x << headroom_plus_one) & 0xFFFFFFFF) - (1 << 31))
    return one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one), num_bits_over_unit
