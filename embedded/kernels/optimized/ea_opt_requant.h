/*
 * Per-output-channel requantization of the optimized kernels, prepared once
 * per call into a table (kernel scratch) so that the per-output work is 7
 * instructions instead of TFLM's ~35.
 *
 * The fast form. For a multiplier m >= 0 and shift = -e with e >= 2 (a real
 * multiplier below 0.25: every conv of a calibrated CNN in practice), TFLM's
 * double rounding plus the output zero point z,
 *     y = SRDHM(x, m) = floor((x*m + 2^30) / 2^31)      (m >= 0: never saturates)
 *     r = RoundingDivideByPOT(y, e) + z = floor((y + 2^(e-1) - [y < 0]) / 2^e) + z
 * collapses into one 64-bit multiply-accumulate and one shift:
 *     r = (x*m + K - [x < 0]*2^31) >> (31 + e),   K = 2^30 + 2^(30+e) + z*2^(31+e)
 * Why it is exact:
 *   - RoundingDivideByPOT rounds half away from zero: for y >= 0 that is
 *     floor((y + 2^(e-1)) / 2^e); for y < 0 ties go down, floor((y + 2^(e-1) - 1) / 2^e).
 *   - [y < 0] may be replaced by [x < 0]: with m >= 0 they differ only when
 *     x < 0 and y == 0, and then both forms give 0 (e >= 1).
 *   - floor((floor(A / B) + N) / C) == floor((A + N*B) / (B*C)) for integers
 *     A, N and B, C > 0 merges the two roundings (A = x*m + 2^30, B = 2^31,
 *     C = 2^e, N = 2^(e-1) - [x < 0]); floor(Q / C) + z == floor((Q + z*C) / C)
 *     adds the zero point.
 *   - For e >= 2, K = 2^30 + H*2^32 with H = 2^(e-2) + z*2^(e-1), and
 *     K - [x<0]*2^31 has low word 2^30 | (x & 2^31) and high word H - [x<0]:
 *     both come from x in one instruction each, no carry between them.
 *   - 31 + e >= 32: the result is the high word of the sum shifted right by
 *     e - 1. That high word is H - [x<0] + floor((x*m + low word) / 2^32),
 *     the last term within [-2^30 - 1, 2^30] (|x*m| < 2^62); the form is used
 *     only when |H| <= 2^30 - 8 (always, unless e > 22 with z != 0), so no
 *     int32 step overflows.
 * On Cortex-M4: AND + ORR + SUB (sign terms) + SMLAL + ASR, then SSAT.
 *
 * Any other channel (m < 0, shift > -2, or the bound above) makes the whole
 * call take the exact reference formula (ea_requantize_acc).
 */
#ifndef EA_OPT_REQUANT_H
#define EA_OPT_REQUANT_H

#include <stdint.h>

#include "ea_kernels.h"
#include "ea_quant.h"

#if defined(__ARM_FEATURE_SAT) || (defined(__ARM_FEATURE_DSP) && defined(__ARM_FEATURE_SIMD32))
#include <arm_acle.h>
#define EA_OPT_HAVE_SSAT 1
#else
#define EA_OPT_HAVE_SSAT 0
#endif

typedef struct {
    int32_t bias;       /* accumulators start here (0 without bias): added modulo 2^32 */
    int32_t multiplier; /* m */
    int32_t shift;      /* fast form: e - 1; exact form: TFLM's shift */
    int32_t round_hi;   /* fast form: H = 2^(e-2) + z*2^(e-1) */
} ea_opt_channel_t;

/* Output parameters shared by all channels. */
typedef struct {
    int32_t output_zero_point;
    int32_t act_min;
    int32_t act_max;
} ea_opt_output_t;

/* Fills table[0 .. count) for output channels first .. first + count - 1;
 * returns 1 when every channel has the fast form, 0 otherwise. */
int ea_opt_prepare_channels(const ea_requant_t *requant, const int32_t *bias, int32_t output_zero_point,
                            int32_t first, int32_t count, ea_opt_channel_t *table);

/* MBQM(acc, m, -e) + output zero point in the fast form (see above). */
static inline int32_t ea_opt_mbqm_fast(int32_t acc, const ea_opt_channel_t *ch) {
    const uint32_t negative = (uint32_t)acc & 0x80000000u;
    const uint32_t lo = 0x40000000u | negative;
    const uint32_t hi = (uint32_t)ch->round_hi - (negative >> 31);
    const uint64_t sum = ((uint64_t)hi << 32 | lo) + (uint64_t)((int64_t)acc * ch->multiplier);
    return (int32_t)(uint32_t)(sum >> 32) >> ch->shift;
}

/* v clamped to [-128, 127] */
static inline int32_t ea_opt_ssat8(int32_t v) {
#if EA_OPT_HAVE_SSAT
    return __ssat(v, 8);
#else
    return ea_clamp_s32(v, -128, 127);
#endif
}

/* acc (already holding the bias) -> int8 output. `fast` and `full_range`
 * (the activation range is all of int8: one SSAT) are compile-time constants
 * at every call site, so the kernels instantiate the forms they need. */
static inline int8_t ea_opt_requantize(int32_t acc, const ea_opt_channel_t *ch, const ea_opt_output_t *o,
                                       const int fast, const int full_range) {
    if (!fast) {
        return ea_requantize_acc(acc, ch->multiplier, ch->shift, o->output_zero_point, o->act_min, o->act_max);
    }
    if (full_range) {
        return (int8_t)ea_opt_ssat8(ea_opt_mbqm_fast(acc, ch));
    }
    return (int8_t)ea_clamp_s32(ea_opt_mbqm_fast(acc, ch), o->act_min, o->act_max);
}

/* Which form a kernel instantiates for a prepared call. */
typedef enum { EA_OPT_RQ_EXACT, EA_OPT_RQ_FAST_FULL, EA_OPT_RQ_FAST_CLAMP } ea_opt_rq_mode_t;

static inline ea_opt_rq_mode_t ea_opt_rq_mode(int fast, const ea_opt_output_t *o) {
    if (!fast) {
        return EA_OPT_RQ_EXACT;
    }
    return o->act_min == -128 && o->act_max == 127 ? EA_OPT_RQ_FAST_FULL : EA_OPT_RQ_FAST_CLAMP;
}

#endif /* EA_OPT_REQUANT_H */
