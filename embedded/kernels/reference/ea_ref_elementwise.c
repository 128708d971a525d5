/* Reference elementwise kernels: residual ADD (TFLM int8 path), float -> int8
 * quantization (TFLM AffineQuantize) and int8 -> int8 requantization. */
#include "ea_kernels.h"
#include "ea_quant.h"
#include "ea_validate.h"

ea_status_t ea_ref_add_s8(const ea_add_params_t *params, const int8_t *input1, const int8_t *input2,
                          int8_t *output) {
    const ea_add_params_t *p = params;
    const ea_status_t status = ea_validate_add(p, input1, input2, output);
    int32_t i;
    if (status != EA_OK) {
        return status;
    }
    for (i = 0; i < p->size; ++i) {
        /* Both operands are moved to a common scale (2 * max input scale) with
         * left_shift bits of headroom, summed, then rescaled to the output. */
        const int32_t shifted1 = ((int32_t)input1[i] - p->input1_zero_point) * (1 << p->left_shift);
        const int32_t shifted2 = ((int32_t)input2[i] - p->input2_zero_point) * (1 << p->left_shift);
        const int32_t scaled1 = ea_mbqm(shifted1, p->input1_multiplier, p->input1_shift);
        const int32_t scaled2 = ea_mbqm(shifted2, p->input2_multiplier, p->input2_shift);
        output[i] = ea_requantize_acc(ea_wrap_add_s32(scaled1, scaled2), p->output_multiplier, p->output_shift,
                                      p->output_zero_point, p->act_min, p->act_max);
    }
    return EA_OK;
}

ea_status_t ea_ref_quantize_s8(const ea_quantize_params_t *params, const float *input, int8_t *output) {
    const ea_quantize_params_t *p = params;
    const ea_status_t status = ea_validate_quantize(p, input, output);
    int32_t i;
    if (status != EA_OK) {
        return status;
    }
    for (i = 0; i < p->size; ++i) {
        const float q = input[i] / p->scale;
        int32_t v;
        /* Saturate in float first so the conversion to int is always defined
         * (|v| = 256 still clamps to the int8 range for any zero point). */
        if (q != q) {
            v = 0; /* NaN -> the zero point */
        } else if (q >= 256.0f) {
            v = 256;
        } else if (q <= -256.0f) {
            v = -256;
        } else {
            /* std::round without libm: truncate, then round half away from
             * zero on the (exact) fractional part. */
            const float fraction = q - (float)(int32_t)q;
            v = (int32_t)q + (fraction >= 0.5f ? 1 : 0) - (fraction <= -0.5f ? 1 : 0);
        }
        output[i] = (int8_t)ea_clamp_s32(v + p->zero_point, -128, 127);
    }
    return EA_OK;
}

ea_status_t ea_ref_requantize_s8(const ea_requantize_params_t *params, const int8_t *input, int8_t *output) {
    const ea_requantize_params_t *p = params;
    const ea_status_t status = ea_validate_requantize(p, input, output);
    int32_t i;
    if (status != EA_OK) {
        return status;
    }
    for (i = 0; i < p->size; ++i) {
        output[i] = ea_requantize_acc((int32_t)input[i] - p->input_zero_point, p->multiplier, p->shift,
                                      p->output_zero_point, -128, 127);
    }
    return EA_OK;
}
