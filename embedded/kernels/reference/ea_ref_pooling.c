/* Reference pooling: max / average pool (TFLM integer_ops pooling.h) and the
 * global average pool as TFLM's int8 MEAN over H and W. */
#include "ea_kernels.h"
#include "ea_quant.h"
#include "ea_validate.h"


ea_status_t ea_ref_max_pool2d_s8(const ea_pool_params_t *params, const int8_t *input, int8_t *output) {
    const ea_pool_params_t *p = params;
    const ea_status_t status = ea_validate_pool(p, input, output);
    int32_t b, oy, ox, c, y, x;
    if (status != EA_OK) {
        return status;
    }
    for (b = 0; b < p->input.n; ++b) {
        for (oy = 0; oy < p->output.h; ++oy) {
            for (ox = 0; ox < p->output.w; ++ox) {
                const ea_window_t win = ea_pool_window(p, oy, ox);
                for (c = 0; c < p->input.c; ++c) {
                    int32_t max = -128; /* padding is ignored: it never wins */
                    for (y = win.y0; y < win.y1; ++y) {
                        for (x = win.x0; x < win.x1; ++x) {
                            const int32_t v = input[((b * p->input.h + y) * p->input.w + x) * p->input.c + c];
                            max = v > max ? v : max;
                        }
                    }
                    output[((b * p->output.h + oy) * p->output.w + ox) * p->output.c + c] =
                        (int8_t)ea_clamp_s32(max, p->act_min, p->act_max);
                }
            }
        }
    }
    return EA_OK;
}

ea_status_t ea_ref_avg_pool2d_s8(const ea_pool_params_t *params, const int8_t *input, int8_t *output) {
    const ea_pool_params_t *p = params;
    const ea_status_t status = ea_validate_pool(p, input, output);
    int32_t b, oy, ox, c, y, x;
    if (status != EA_OK) {
        return status;
    }
    for (b = 0; b < p->input.n; ++b) {
        for (oy = 0; oy < p->output.h; ++oy) {
            for (ox = 0; ox < p->output.w; ++ox) {
                const ea_window_t win = ea_pool_window(p, oy, ox);
                const int32_t count = (win.y1 - win.y0) * (win.x1 - win.x0); /* padding excluded, >= 1 */
                for (c = 0; c < p->input.c; ++c) {
                    int32_t acc = 0;
                    for (y = win.y0; y < win.y1; ++y) {
                        for (x = win.x0; x < win.x1; ++x) {
                            acc += input[((b * p->input.h + y) * p->input.w + x) * p->input.c + c];
                        }
                    }
                    /* TFLM: round half away from zero through C's truncating division. */
                    acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                    output[((b * p->output.h + oy) * p->output.w + ox) * p->output.c + c] =
                        (int8_t)ea_clamp_s32(acc, p->act_min, p->act_max);
                }
            }
        }
    }
    return EA_OK;
}

ea_status_t ea_ref_global_avg_pool_s8(const ea_mean_params_t *params, const int8_t *input, int8_t *output) {
    const ea_mean_params_t *p = params;
    const ea_status_t status = ea_validate_mean(p, input, output);
    int32_t count, b, c, i;
    if (status != EA_OK) {
        return status;
    }
    count = p->input.h * p->input.w; /* only once validated: p may be NULL, h * w may overflow */
    for (b = 0; b < p->input.n; ++b) {
        const int8_t *x = input + b * count * p->input.c;
        for (c = 0; c < p->input.c; ++c) {
            int32_t sum = 0;
            for (i = 0; i < count; ++i) {
                sum += x[i * p->input.c + c];
            }
            sum -= p->input_zero_point * count;
            output[b * p->input.c + c] =
                ea_requantize_acc(sum, p->multiplier, p->shift, p->output_zero_point, p->act_min, p->act_max);
        }
    }
    return EA_OK;
}
