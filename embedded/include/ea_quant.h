/*
 * TFLite-Micro / gemmlowp fixed-point requantization, bit-exact with the numpy
 * reference (edge_affect/runtime/int8/quant_math.py).
 *
 * The C99 behaviours this relies on are pinned here once:
 *   - int32_t is two's complement (C99 7.18.1.1 requires it of exact-width types);
 *   - >> of a negative value is an arithmetic shift and converting an
 *     out-of-range unsigned value to int32_t wraps modulo 2^32 (both
 *     implementation-defined; GCC, Clang and Arm Compiler document exactly
 *     this, and EA_QUANT_ASSERT_ARITHMETIC_SHIFT below refuses to compile
 *     otherwise). gemmlowp and TFLM rely on the same behaviour.
 * Signed overflow (undefined) never happens: left shifts go through uint32_t.
 */
#ifndef EA_QUANT_H
#define EA_QUANT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Compile-time check that >> on negative ints is arithmetic. */
typedef char EA_QUANT_ASSERT_ARITHMETIC_SHIFT[((-8 >> 1) == -4) ? 1 : -1];

/* int32 addition modulo 2^32 (the bias add: TFLM wraps in practice, we define it). */
static inline int32_t ea_wrap_add_s32(int32_t a, int32_t b) {
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

/* gemmlowp SaturatingRoundingDoublingHighMul: round(a*b / 2^31), halves up.
 * gemmlowp writes it as (a*b + nudge) / 2^31 with C's truncating division and
 * nudge = 2^30 (a*b >= 0) or 1 - 2^30 (a*b < 0). For a*b < 0 that truncation
 * equals floor((a*b + 2^30) / 2^31) (write a*b = -m: -floor((m + 2^30 - 1)/2^31)
 * = -ceil((m - 2^30)/2^31)), so one formula serves both signs: a multiply-
 * accumulate into a preset 2^30 and a 31-bit shift (SMLAL on Cortex-M4). The
 * only overflow, INT32_MIN * INT32_MIN, saturates to INT32_MAX. */
static inline int32_t ea_srdhm(int32_t a, int32_t b) {
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    return (int32_t)(((int64_t)a * (int64_t)b + ((int64_t)1 << 30)) >> 31);
}

/* gemmlowp RoundingDivideByPOT: x / 2^exponent rounded half away from zero,
 * exponent in [0, 31]. */
static inline int32_t ea_rounding_divide_by_pot(int32_t x, int32_t exponent) {
    const int32_t mask = (int32_t)(((uint32_t)1 << exponent) - 1u);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * 2^exponent for 0 <= exponent <= 31, wrapping modulo 2^32 like the int32
 * multiply x * (1 << exponent) in TFLM. */
static inline int32_t ea_shift_left_wrap(int32_t x, int32_t exponent) {
    return (int32_t)((uint32_t)x << exponent);
}

/* TFLM MultiplyByQuantizedMultiplier, default (double-rounding) path:
 * RoundingDivideByPOT(SRDHM(x * 2^max(shift, 0), multiplier), max(-shift, 0)).
 * shift must be in [-31, 31] (kernels validate it). */
static inline int32_t ea_mbqm(int32_t x, int32_t multiplier, int32_t shift) {
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    return ea_rounding_divide_by_pot(ea_srdhm(ea_shift_left_wrap(x, left), multiplier), right);
}

static inline int32_t ea_clamp_s32(int32_t x, int32_t lo, int32_t hi) {
    return x < lo ? lo : (x > hi ? hi : x);
}

/* Requantize one accumulator to int8: MBQM, + output zero point, clamp to the
 * activation range. MBQM may return values within 128 of the int32 limits
 * (large left shifts), where adding the zero point would overflow: it is
 * first clamped to [-256, 255], which changes no result (any value outside
 * still lands outside [-128, 127] after adding a zero point in [-128, 127]),
 * so the result equals the numpy reference's (wide arithmetic), where a plain
 * int32 add would overflow (undefined behaviour). */
static inline int8_t ea_requantize_acc(int32_t acc, int32_t multiplier, int32_t shift, int32_t output_zero_point,
                                       int32_t act_min, int32_t act_max) {
    const int32_t scaled = ea_clamp_s32(ea_mbqm(acc, multiplier, shift), -256, 255);
    return (int8_t)ea_clamp_s32(scaled + output_zero_point, act_min, act_max);
}

/* Out-of-line copies of the primitives (for tests through a shared library,
 * and for callers that want a symbol). */
int32_t ea_saturating_rounding_doubling_high_mul(int32_t a, int32_t b);
int32_t ea_rounding_divide_by_power_of_two(int32_t x, int32_t exponent);
int32_t ea_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int32_t shift);

#ifdef __cplusplus
}
#endif

#endif /* EA_QUANT_H */
