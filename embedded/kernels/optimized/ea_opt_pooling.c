/*
 * Optimized max pool: four channels per 32-bit word, the running max kept
 * with SSUB8 + SEL (2 instructions per window tap per 4 channels instead of
 * ~8 per tap per channel). Windows are clipped to the image as in the
 * reference (padding never wins); the activation clamp is applied to the
 * 4 lanes at once. Channels beyond the last multiple of 4 take a scalar loop.
 * Max and clamp are exact, so the result equals the reference's.
 */
#include "ea_opt_kernels.h"
#include "ea_quant.h"
#include "ea_simd.h"
#include "ea_validate.h"


/* Max over a window of `rows` x `cols` pixels of 4 channels at `x`. */
static inline uint32_t window_max4(const int8_t *x, int32_t rows, int32_t cols, int32_t row_step, int32_t c) {
    uint32_t m = 0x80808080u; /* -128 in every lane */
    int32_t y, i;
    for (y = 0; y < rows; ++y, x += row_step) {
        const int8_t *px = x;
        if (cols == 3) { /* the common full window: no inner loop */
            m = ea_max_s8x4(m, ea_load_u32(px));
            m = ea_max_s8x4(m, ea_load_u32(px + c));
            m = ea_max_s8x4(m, ea_load_u32(px + 2 * c));
            continue;
        }
        for (i = 0; i < cols; ++i, px += c) {
            m = ea_max_s8x4(m, ea_load_u32(px));
        }
    }
    return m;
}

static void max_pool(const ea_pool_params_t *p, const int8_t *input, int8_t *output) {
    const int32_t c = p->input.c;
    const int32_t row_step = p->input.w * c;
    const int full_range = p->act_min == -128 && p->act_max == 127;
    const uint32_t lo4 = ea_dup_s8(p->act_min), hi4 = ea_dup_s8(p->act_max);
    int32_t b, oy, ox, ch, y, x;
    for (b = 0; b < p->input.n; ++b) {
        const int8_t *image = input + b * p->input.h * row_step;
        for (oy = 0; oy < p->output.h; ++oy) {
            for (ox = 0; ox < p->output.w; ++ox, output += c) {
                const ea_window_t win = ea_pool_window(p, oy, ox);
                const int8_t *corner = image + win.y0 * row_step + win.x0 * c;
                const int32_t rows = win.y1 - win.y0, cols = win.x1 - win.x0;
                for (ch = 0; ch + 4 <= c; ch += 4) {
                    uint32_t m = window_max4(corner + ch, rows, cols, row_step, c);
                    if (!full_range) {
                        m = ea_min_s8x4(ea_max_s8x4(m, lo4), hi4);
                    }
                    ea_store_u32(output + ch, m);
                }
                for (; ch < c; ++ch) {
                    int32_t max = -128;
                    for (y = 0; y < rows; ++y) {
                        for (x = 0; x < cols; ++x) {
                            const int32_t v = corner[y * row_step + x * c + ch];
                            max = v > max ? v : max;
                        }
                    }
                    output[ch] = (int8_t)ea_clamp_s32(max, p->act_min, p->act_max);
                }
            }
        }
    }
}

ea_status_t ea_opt_max_pool2d_s8(const ea_pool_params_t *params, const int8_t *input, int8_t *output) {
    const ea_status_t status = ea_validate_pool(params, input, output);
    if (status == EA_OK) {
        max_pool(params, input, output);
    }
    return status;
}
