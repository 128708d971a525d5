/*
 * Reference int8 softmax: TFLM reference_ops::Softmax (int8 in, int8 out with
 * scale 1/256 and zero point -128) on gemmlowp fixed point.
 * Input differences to the row maximum are rescaled into Q5.26, exponentiated
 * with gemmlowp's exp_on_negative_values (Q0.31 result), summed in Q12.19, and
 * normalised with a Newton-Raphson reciprocal of the sum.
 */
#include "ea_kernels.h"
#include "ea_quant.h"
#include "ea_validate.h"

#define SCALED_DIFF_INTEGER_BITS 5  /* Q5.26 input differences */
#define ACCUMULATION_INTEGER_BITS 12 /* Q12.19 sum of exps */
#define Q0_ONE INT32_MAX             /* 1.0 in Q0.31 (saturated) */

/* gemmlowp SaturatingRoundingMultiplyByPOT with a positive exponent. */
static int32_t saturating_shift_left(int32_t x, int32_t exponent) {
    const int32_t threshold = (int32_t)(((uint32_t)1 << (31 - exponent)) - 1u);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return ea_shift_left_wrap(x, exponent);
}

/* exp(a) for a in [-1/4, 0), Q0.31: Taylor expansion around -1/8. */
static int32_t exp_on_interval_between_negative_one_quarter_and_0_excl(int32_t a) {
    const int32_t constant_term = 1895147668;  /* exp(-1/8) */
    const int32_t constant_1_over_3 = 715827883;
    const int32_t x = a + (1 << 28); /* a + 1/8 */
    const int32_t x2 = ea_srdhm(x, x);
    const int32_t x3 = ea_srdhm(x2, x);
    const int32_t x4 = ea_srdhm(x2, x2);
    const int32_t x4_over_4 = ea_rounding_divide_by_pot(x4, 2);
    const int32_t poly = ea_rounding_divide_by_pot(ea_srdhm(x4_over_4 + x3, constant_1_over_3) + x2, 1);
    return constant_term + ea_srdhm(constant_term, x + poly);
}

/* exp(a) for a Q5.26 value a <= 0, Q0.31 result. */
static int32_t exp_on_negative_values(int32_t a) {
    /* exp(-2^k) in Q0.31 for k = -2 .. 4, applied for each set bit 24 .. 30 of the remainder. */
    static const int32_t barrel[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int32_t one_quarter = 1 << 24;
    const int32_t a_mod_quarter_minus_one_quarter = (a & (one_quarter - 1)) - one_quarter;
    const int32_t remainder = a_mod_quarter_minus_one_quarter - a;
    int32_t result = exp_on_interval_between_negative_one_quarter_and_0_excl(
        saturating_shift_left(a_mod_quarter_minus_one_quarter, SCALED_DIFF_INTEGER_BITS));
    int32_t k;
    for (k = 0; k < 7; ++k) {
        if (remainder & (1 << (24 + k))) {
            result = ea_srdhm(result, barrel[k]);
        }
    }
    return a == 0 ? Q0_ONE : result;
}

/* 1 / (1 + a) for a in [0, 1), Q0.31 in and out. */
static int32_t one_over_one_plus_x_for_x_in_0_1(int32_t a) {
    const int32_t constant_48_over_17 = 1515870810;      /* Q2.29 */
    const int32_t constant_neg_32_over_17 = -1010580540; /* Q2.29 */
    const int32_t q2_one = 1 << 29;
    /* RoundingHalfSum(a, 1.0): the sum is non-negative here. */
    const int32_t half_denominator = (int32_t)(((int64_t)a + Q0_ONE + 1) / 2);
    int32_t x = constant_48_over_17 + ea_srdhm(half_denominator, constant_neg_32_over_17);
    int32_t i;
    for (i = 0; i < 3; ++i) {
        const int32_t one_minus_half_denominator_times_x = q2_one - ea_srdhm(half_denominator, x);
        x = x + saturating_shift_left(ea_srdhm(x, one_minus_half_denominator_times_x), 2);
    }
    return saturating_shift_left(x, 1);
}

static int32_t count_leading_zeros(uint32_t x) {
    int32_t n = 0;
    if (x == 0) {
        return 32;
    }
    while ((x & 0x80000000u) == 0) {
        x <<= 1;
        ++n;
    }
    return n;
}

/* Scaled exp of one input difference (diff >= diff_min): Q0.31. */
static int32_t scaled_exp(int32_t diff, const ea_softmax_params_t *p) {
    /* MultiplyByQuantizedMultiplierGreaterThanOne: diff_min keeps the shift in range. */
    return exp_on_negative_values(ea_srdhm(ea_shift_left_wrap(diff, p->input_left_shift), p->input_multiplier));
}

ea_status_t ea_ref_softmax_s8(const ea_softmax_params_t *params, const int8_t *input, int8_t *output) {
    const ea_softmax_params_t *p = params;
    const ea_status_t status = ea_validate_softmax(p, input, output);
    int32_t r, c;
    if (status != EA_OK) {
        return status;
    }
    for (r = 0; r < p->rows; ++r) {
        const int8_t *x = input + r * p->depth;
        int8_t *y = output + r * p->depth;
        int32_t max = -128, sum_of_exps = 0, headroom, num_bits_over_unit, shifted_scale;
        for (c = 0; c < p->depth; ++c) {
            max = x[c] > max ? x[c] : max;
        }
        for (c = 0; c < p->depth; ++c) {
            const int32_t diff = (int32_t)x[c] - max;
            if (diff >= p->diff_min) {
                sum_of_exps += ea_rounding_divide_by_pot(scaled_exp(diff, p), ACCUMULATION_INTEGER_BITS);
            }
        }
        /* GetReciprocal: normalise the Q12.19 sum into [1, 2) and invert it. */
        headroom = count_leading_zeros((uint32_t)sum_of_exps);
        num_bits_over_unit = ACCUMULATION_INTEGER_BITS - headroom;
        shifted_scale = one_over_one_plus_x_for_x_in_0_1(
            (int32_t)(((uint32_t)sum_of_exps << headroom) - ((uint32_t)1 << 31)));
        for (c = 0; c < p->depth; ++c) {
            const int32_t diff = (int32_t)x[c] - max;
            if (diff >= p->diff_min) {
                const int32_t unsat = ea_rounding_divide_by_pot(ea_srdhm(shifted_scale, scaled_exp(diff, p)),
                                                                num_bits_over_unit + 31 - 8);
                y[c] = (int8_t)ea_clamp_s32(unsat - 128, -128, 127);
            } else {
                y[c] = -128;
            }
        }
    }
    return EA_OK;
}
