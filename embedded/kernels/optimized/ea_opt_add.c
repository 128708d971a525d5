/*
 * Optimized residual add (TFLM int8 ADD). Per element the reference does
 * three MultiplyByQuantizedMultiplier calls of ~35 instructions; here each
 * is a 64-bit multiply-accumulate and a shift with per-call constants.
 *
 * Inputs: x = (v - zp) * 2^left_shift is rescaled by a real multiplier of at
 * most 0.5 (TFLM divides both input scales by twice the larger one), so the
 * shift is 0 (exactly 0.5: the larger input), -1 or below:
 *   shift 0:     SRDHM alone, floor((x*m + 2^30) / 2^31);
 *   shift -1:    floor((x*m + 2^30 + 2^31 - [x<0]*2^31) / 2^32), the e = 1 case
 *                of ea_opt_requant.h's derivation (zero point 0): the low word
 *                of the constant is 0xC0000000 ^ (x & 2^31), the high word 0;
 *   shift <= -2: ea_opt_requant.h's fast form (zero point 0).
 * Output: the fast form with the output zero point folded in.
 * All exact for m >= 0 (ea_opt_requant.h); any other parameters (negative
 * multipliers, an input shift > 0, an output shift > -2) take the
 * reference kernel.
 */
#include "ea_opt_kernels.h"
#include "ea_opt_requant.h"
#include "ea_quant.h"
#include "ea_validate.h"

#if defined(__GNUC__)
#define EA_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define EA_ALWAYS_INLINE inline
#endif

typedef enum { INPUT_SHIFT0, INPUT_SHIFT1, INPUT_FAST, INPUT_OTHER } input_form_t;

typedef struct {
    ea_opt_channel_t fast; /* INPUT_FAST */
    int32_t multiplier;
    input_form_t form;
} input_scale_t;

static input_scale_t input_scale(int32_t multiplier, int32_t shift) {
    input_scale_t s;
    const ea_requant_t requant = {&multiplier, &shift, 1};
    s.multiplier = multiplier;
    if (ea_opt_prepare_channels(&requant, NULL, 0, 0, 1, &s.fast)) {
        s.form = INPUT_FAST;
    } else if (multiplier < 0 || shift > 0 || shift < -1) {
        s.form = INPUT_OTHER;
    } else {
        s.form = shift == 0 ? INPUT_SHIFT0 : INPUT_SHIFT1;
    }
    return s;
}

static EA_ALWAYS_INLINE int32_t rescale(int32_t x, const input_scale_t *s) {
    switch (s->form) {
    case INPUT_SHIFT0:
        return (int32_t)(((int64_t)x * s->multiplier + (1LL << 30)) >> 31);
    case INPUT_SHIFT1: {
        const uint64_t k = 0xC0000000u ^ ((uint32_t)x & 0x80000000u);
        return (int32_t)(uint32_t)((k + (uint64_t)((int64_t)x * s->multiplier)) >> 32);
    }
    default:
        return ea_opt_mbqm_fast(x, &s->fast);
    }
}

static EA_ALWAYS_INLINE void add_loop(const ea_add_params_t *p, const int8_t *in1, const int8_t *in2, int8_t *out,
                                      const input_scale_t *scale1, const input_scale_t *scale2,
                                      const ea_opt_channel_t *out_scale, const int full_range) {
    /* (v - zp) * 2^left_shift as v * 2^left_shift - zp * 2^left_shift: both
     * inside int32 (|v - zp| <= 255, left_shift <= 23). Everything in locals:
     * the int8 stores may alias the parameters. */
    const int32_t shift = p->left_shift;
    const int32_t zp1 = p->input1_zero_point * (1 << shift), zp2 = p->input2_zero_point * (1 << shift);
    const int32_t size = p->size;
    const input_scale_t s1 = *scale1, s2 = *scale2;
    const ea_opt_channel_t o = *out_scale;
    const ea_opt_output_t range = {0, p->act_min, p->act_max};
    int32_t i;
    for (i = 0; i < size; ++i) {
        const int32_t x1 = in1[i] * (1 << shift) - zp1;
        const int32_t x2 = in2[i] * (1 << shift) - zp2;
        const int32_t sum = ea_wrap_add_s32(rescale(x1, &s1), rescale(x2, &s2));
        out[i] = ea_opt_requantize(sum, &o, &range, 1, full_range);
    }
}

ea_status_t ea_opt_add_s8(const ea_add_params_t *params, const int8_t *input1, const int8_t *input2,
                          int8_t *output) {
    const ea_add_params_t *p = params;
    ea_status_t status = ea_validate_add(p, input1, input2, output);
    input_scale_t s1, s2;
    ea_opt_channel_t out_scale;
    ea_requant_t out_requant;
    if (status != EA_OK) {
        return status;
    }
    s1 = input_scale(p->input1_multiplier, p->input1_shift);
    s2 = input_scale(p->input2_multiplier, p->input2_shift);
    out_requant.multiplier = &p->output_multiplier;
    out_requant.shift = &p->output_shift;
    out_requant.count = 1;
    if (s1.form == INPUT_OTHER || s2.form == INPUT_OTHER ||
        !ea_opt_prepare_channels(&out_requant, NULL, p->output_zero_point, 0, 1, &out_scale)) {
        return ea_ref_add_s8(p, input1, input2, output);
    }
    if (p->act_min == -128 && p->act_max == 127) {
        add_loop(p, input1, input2, output, &s1, &s2, &out_scale, 1);
    } else {
        add_loop(p, input1, input2, output, &s1, &s2, &out_scale, 0);
    }
    return EA_OK;
}
