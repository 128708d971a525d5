/*
 * Reference convolutions: the loops of TFLM's ConvPerChannel /
 * DepthwiseConvPerChannel (integer_ops), written to be read.
 * acc = sum w * (x - input_zero_point) over the in-image part of the window
 * (padding holds the zero point, so it contributes nothing), + bias (mod 2^32),
 * then MultiplyByQuantizedMultiplier, + output zero point, clamp.
 */
#include "ea_kernels.h"
#include "ea_quant.h"
#include "ea_validate.h"

static void conv_loops(const ea_conv_params_t *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                       int8_t *output) {
    const int32_t in_h = p->input.h, in_w = p->input.w, in_c = p->input.c;
    const int32_t k_h = p->filter.h, k_w = p->filter.w;
    const int32_t out_h = p->output.h, out_w = p->output.w, out_c = p->output.c;
    const int32_t input_offset = -p->input_zero_point;
    const int32_t per_channel = p->requant.count > 1;
    int32_t b, oy, ox, oc, fy, fx, ic;

    for (b = 0; b < p->input.n; ++b) {
        for (oy = 0; oy < out_h; ++oy) {
            const int32_t in_y0 = oy * p->stride_h - p->pad.top;
            for (ox = 0; ox < out_w; ++ox) {
                const int32_t in_x0 = ox * p->stride_w - p->pad.left;
                for (oc = 0; oc < out_c; ++oc) {
                    const int32_t q = per_channel ? oc : 0;
                    int32_t acc = 0;
                    for (fy = 0; fy < k_h; ++fy) {
                        const int32_t in_y = in_y0 + fy;
                        if (in_y < 0 || in_y >= in_h) {
                            continue;
                        }
                        for (fx = 0; fx < k_w; ++fx) {
                            const int32_t in_x = in_x0 + fx;
                            const int8_t *x;
                            const int8_t *w;
                            if (in_x < 0 || in_x >= in_w) {
                                continue;
                            }
                            x = input + ((b * in_h + in_y) * in_w + in_x) * in_c;
                            w = filter + ((oc * k_h + fy) * k_w + fx) * in_c;
                            for (ic = 0; ic < in_c; ++ic) {
                                acc += (int32_t)w[ic] * ((int32_t)x[ic] + input_offset);
                            }
                        }
                    }
                    if (bias != NULL) {
                        acc = ea_wrap_add_s32(acc, bias[oc]);
                    }
                    output[((b * out_h + oy) * out_w + ox) * out_c + oc] =
                        ea_requantize_acc(acc, p->requant.multiplier[q], p->requant.shift[q], p->output_zero_point,
                                          p->act_min, p->act_max);
                }
            }
        }
    }
}

ea_status_t ea_ref_conv2d_s8(const ea_conv_params_t *params, const int8_t *input, const int8_t *filter,
                             const int32_t *bias, int8_t *output, void *scratch, size_t scratch_size) {
    ea_status_t status = ea_validate_conv(params, EA_CONV_GENERAL, input, filter, output);
    if (status == EA_OK) {
        status = ea_validate_scratch(scratch, scratch_size, ea_ref_conv2d_s8_scratch_size(params));
    }
    if (status == EA_OK) {
        conv_loops(params, input, filter, bias, output);
    }
    return status;
}

size_t ea_ref_conv2d_s8_scratch_size(const ea_conv_params_t *params) {
    (void)params;
    return 0;
}

ea_status_t ea_ref_pointwise_conv2d_s8(const ea_conv_params_t *params, const int8_t *input, const int8_t *filter,
                                       const int32_t *bias, int8_t *output, void *scratch, size_t scratch_size) {
    ea_status_t status = ea_validate_conv(params, EA_CONV_POINTWISE, input, filter, output);
    if (status == EA_OK) {
        status = ea_validate_scratch(scratch, scratch_size, ea_ref_pointwise_conv2d_s8_scratch_size(params));
    }
    if (status == EA_OK) {
        conv_loops(params, input, filter, bias, output);
    }
    return status;
}

size_t ea_ref_pointwise_conv2d_s8_scratch_size(const ea_conv_params_t *params) {
    (void)params;
    return 0;
}

ea_status_t ea_ref_depthwise_conv2d_s8(const ea_conv_params_t *params, const int8_t *input, const int8_t *filter,
                                       const int32_t *bias, int8_t *output, void *scratch, size_t scratch_size) {
    const ea_conv_params_t *p = params;
    ea_status_t status = ea_validate_conv(p, EA_CONV_DEPTHWISE, input, filter, output);
    int32_t b, oy, ox, c, fy, fx;
    if (status == EA_OK) {
        status = ea_validate_scratch(scratch, scratch_size, ea_ref_depthwise_conv2d_s8_scratch_size(p));
    }
    if (status != EA_OK) {
        return status;
    }
    for (b = 0; b < p->input.n; ++b) {
        for (oy = 0; oy < p->output.h; ++oy) {
            const int32_t in_y0 = oy * p->stride_h - p->pad.top;
            for (ox = 0; ox < p->output.w; ++ox) {
                const int32_t in_x0 = ox * p->stride_w - p->pad.left;
                for (c = 0; c < p->output.c; ++c) {
                    const int32_t q = p->requant.count > 1 ? c : 0;
                    int32_t acc = 0;
                    for (fy = 0; fy < p->filter.h; ++fy) {
                        const int32_t in_y = in_y0 + fy;
                        if (in_y < 0 || in_y >= p->input.h) {
                            continue;
                        }
                        for (fx = 0; fx < p->filter.w; ++fx) {
                            const int32_t in_x = in_x0 + fx;
                            if (in_x < 0 || in_x >= p->input.w) {
                                continue;
                            }
                            acc += (int32_t)filter[(fy * p->filter.w + fx) * p->filter.c + c] *
                                   ((int32_t)input[((b * p->input.h + in_y) * p->input.w + in_x) * p->input.c + c] -
                                    p->input_zero_point);
                        }
                    }
                    if (bias != NULL) {
                        acc = ea_wrap_add_s32(acc, bias[c]);
                    }
                    output[((b * p->output.h + oy) * p->output.w + ox) * p->output.c + c] =
                        ea_requantize_acc(acc, p->requant.multiplier[q], p->requant.shift[q], p->output_zero_point,
                                          p->act_min, p->act_max);
                }
            }
        }
    }
    return EA_OK;
}

size_t ea_ref_depthwise_conv2d_s8_scratch_size(const ea_conv_params_t *params) {
    (void)params;
    return 0;
}
