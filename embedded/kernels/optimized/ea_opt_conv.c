/*
 * Optimized conv2d and pointwise conv: per block of output channels, the
 * weights are widened to int16 once (ea_opt_gemm.h), then for every pair of
 * output pixels the two receptive fields are gathered as int16 columns (input
 * offset added once per input value, padding as 0 = x - zp) and run through
 * the 2x2 SMLAD core.
 *
 * Gathering follows ea_opt_gemm.h's layout: one run of KW * C_in contiguous
 * input bytes per filter row, widened straight from the input when the
 * window lies inside the image horizontally. At a left/right border, taps are
 * widened one by one when C_in % 4 == 0 (each tap starts a group), else the
 * run is first assembled in an int8 staging row (padding = the input zero
 * point) and widened from there.
 *
 * Scratch: block of weights + channel table, two columns, staging row.
 */
#include "ea_kernels.h"
#include "ea_opt_gemm.h"
#include "ea_simd.h"
#include "ea_validate.h"

/* Scratch layout, in order (every part a multiple of 4 bytes). */
typedef struct {
    ea_opt_dot_t dot;
    int32_t block_rows;
    size_t block_bytes;
    size_t cols_bytes;
    size_t staging_bytes;
} conv_scratch_t;

static int needs_staging(const ea_conv_params_t *p) {
    return (p->filter.c & 3) != 0 && (p->pad.left > 0 || p->pad.right > 0);
}

/* All zeros when the parameters are not usable (the kernel rejects them
 * before looking at the scratch). */
static conv_scratch_t scratch_layout(const ea_conv_params_t *p) {
    conv_scratch_t s = {{0, 0}, 0, 0, 0, 0};
    int64_t run;
    if (p == NULL || p->filter.h < 1 || p->filter.w < 1 || p->filter.c < 1 || p->filter.n < 1 ||
        (int64_t)p->filter.h * p->filter.w * p->filter.c > EA_MAX_DOT_LENGTH) {
        return s;
    }
    run = (int64_t)p->filter.w * p->filter.c;
    s.dot.segments = p->filter.h;
    s.dot.run = (int32_t)run;
    s.block_rows = ea_opt_block_rows(s.dot, p->filter.n);
    s.block_bytes = ea_opt_block_bytes(s.dot, s.block_rows);
    s.cols_bytes = 2u * (size_t)ea_opt_padded_length(s.dot) * sizeof(int16_t);
    s.staging_bytes = needs_staging(p) ? (size_t)ea_opt_round4(s.dot.run) : 0u;
    return s;
}

static size_t conv_scratch_size(const ea_conv_params_t *p) {
    const conv_scratch_t s = scratch_layout(p);
    return s.block_bytes + s.cols_bytes + s.staging_bytes;
}

/* What gathering needs, read once per call (int8 stores may alias the
 * params, so fields would otherwise be reloaded). */
typedef struct {
    const int8_t *input;
    const int8_t *input_end;
    int32_t image_bytes;
    int32_t h, w, c, kh, kw, stride_h, stride_w, pad_top, pad_left;
    int32_t run, segment;
    int32_t offset; /* -input zero point */
    int8_t *staging;
} gather_t;

/* Position of an output pixel, advanced in raster order (no divisions). */
typedef struct {
    int32_t b, oy, ox;
} pixel_t;

static inline void next_pixel(pixel_t *px, const ea_shape_t *out) {
    if (++px->ox == out->w) {
        px->ox = 0;
        if (++px->oy == out->h) {
            px->oy = 0;
            ++px->b;
        }
    }
}

/* One filter row's run at a left/right border: taps outside are x - zp = 0. */
static void gather_border_run(const gather_t *g, const int8_t *row, int32_t in_x0, int16_t *dst) {
    int32_t fx, i;
    for (fx = 0; fx < g->kw; ++fx) {
        const int32_t in_x = in_x0 + fx;
        const int inside = in_x >= 0 && in_x < g->w;
        if (g->staging == NULL) { /* C_in % 4 == 0: tap fx starts group fx * C_in / 4 */
            int16_t *tap = dst + 2 * fx * g->c;
            if (inside) {
                const int8_t *src = row + in_x * g->c;
                ea_opt_widen_run(src, g->c, (int32_t)(g->input_end - src), g->offset, tap, 8);
            } else {
                ea_opt_zero_groups(g->c, tap, 8);
            }
        } else {
            int8_t *stage = g->staging + fx * g->c;
            for (i = 0; i < g->c; ++i) {
                stage[i] = inside ? row[in_x * g->c + i] : (int8_t)(-g->offset);
            }
        }
    }
    if (g->staging != NULL) {
        ea_opt_widen_run(g->staging, g->run, g->segment, g->offset, dst, 8);
    }
}

/* Writes the receptive field of output pixel `px` into column `col` (the
 * pair's buffer + 4 * j). */
static void gather_column(const gather_t *g, const pixel_t *px, int16_t *col) {
    const int8_t *image = g->input + px->b * g->image_bytes;
    const int32_t in_y0 = px->oy * g->stride_h - g->pad_top;
    const int32_t in_x0 = px->ox * g->stride_w - g->pad_left;
    const int x_inside = in_x0 >= 0 && in_x0 + g->kw <= g->w;
    int32_t fy;
    for (fy = 0; fy < g->kh; ++fy, col += 2 * g->segment) {
        const int32_t in_y = in_y0 + fy;
        if (in_y < 0 || in_y >= g->h) {
            ea_opt_zero_groups(g->segment, col, 8);
        } else if (x_inside) {
            const int8_t *src = image + (in_y * g->w + in_x0) * g->c;
            ea_opt_widen_run(src, g->run, (int32_t)(g->input_end - src), g->offset, col, 8);
        } else {
            gather_border_run(g, image + in_y * g->w * g->c, in_x0, col);
        }
    }
}

/* Columns of output pixels px and px + 1 (same output row) for C_in = 1,
 * KW = 3, stride 1, no left/right padding (a grayscale stem conv): a filter
 * row covers input bytes a b c of pixel px and b c d of px + 1, so one
 * 32-bit load of a b c d gives both groups: pixel px's (a, c), (b, 0) and
 * pixel px + 1's (b, d), (c, 0), from SXTAB16's (a, c) and (b, d). */
static void gather_pair_gray3(const gather_t *g, const pixel_t *px, int16_t *cols) {
    const int8_t *image = g->input + px->b * g->image_bytes;
    const int32_t in_y0 = px->oy * g->stride_h - g->pad_top;
    const uint32_t offset2 = ea_dup_s16(g->offset);
    int32_t fy;
    for (fy = 0; fy < g->kh; ++fy, cols += 8) {
        const int32_t in_y = in_y0 + fy;
        if (in_y < 0 || in_y >= g->h) {
            ea_opt_zero_groups(8, cols, 4);
        } else {
            const uint32_t v = ea_load_u32(image + in_y * g->w + px->ox);
            const uint32_t ac = ea_sxtab16(offset2, v), bd = ea_sxtab16_ror8(offset2, v);
            ea_store_u32(cols, ac);
            ea_store_u32(cols + 2, bd & 0xFFFFu);
            ea_store_u32(cols + 4, bd);
            ea_store_u32(cols + 6, ac >> 16);
        }
    }
}

static void conv_im2col(const ea_conv_params_t *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                        int8_t *output, void *scratch) {
    const conv_scratch_t s = scratch_layout(p);
    const int32_t pixels = p->output.n * p->output.h * p->output.w;
    const int32_t c_out = p->output.c;
    int16_t *cols = (int16_t *)((uint8_t *)scratch + s.block_bytes);
    const int pointwise = p->filter.h == 1 && p->filter.w == 1 && p->pad.top == 0 && p->pad.left == 0 &&
                          p->pad.bottom == 0 && p->pad.right == 0;
    const int contiguous = pointwise && p->stride_h == 1 && p->stride_w == 1;
    const int gray3 = p->input.c == 1 && p->filter.w == 3 && p->stride_w == 1 && p->pad.left == 0 &&
                      p->pad.right == 0;
    ea_opt_output_t out;
    gather_t g;
    int32_t first;

    g.image_bytes = p->input.h * p->input.w * p->input.c;
    g.input = input;
    g.input_end = input + p->input.n * g.image_bytes;
    g.h = p->input.h;
    g.w = p->input.w;
    g.c = p->input.c;
    g.kh = p->filter.h;
    g.kw = p->filter.w;
    g.stride_h = p->stride_h;
    g.stride_w = p->stride_w;
    g.pad_top = p->pad.top;
    g.pad_left = p->pad.left;
    g.run = s.dot.run;
    g.segment = ea_opt_round4(s.dot.run);
    g.offset = -p->input_zero_point;
    g.staging = s.staging_bytes ? (int8_t *)scratch + s.block_bytes + s.cols_bytes : NULL;
    out.output_zero_point = p->output_zero_point;
    out.act_min = p->act_min;
    out.act_max = p->act_max;
    /* An odd last pixel leaves column 1 unwritten: let it be zeros, not stale scratch. */
    ea_opt_zero_groups(ea_opt_padded_length(s.dot), cols + 4, 8);
    for (first = 0; first < c_out; first += s.block_rows) {
        const int32_t rows = c_out - first < s.block_rows ? c_out - first : s.block_rows;
        ea_opt_block_t block;
        pixel_t px = {0, 0, 0};
        int32_t pixel = 0;
        ea_opt_prepare_block(&block, filter, s.dot, first, rows, &p->requant, bias, &out, scratch);
        if (contiguous) { /* 1x1, stride 1: pixel i's input is input + i * C_in */
            const int8_t *src = input;
            for (; pixel + 2 <= pixels; pixel += 2, src += 2 * g.c) {
                ea_opt_widen_run(src, g.c, (int32_t)(g.input_end - src), g.offset, cols, 8);
                ea_opt_widen_run(src + g.c, g.c, (int32_t)(g.input_end - src - g.c), g.offset, cols + 4, 8);
                ea_opt_block_2cols(&block, cols, output + pixel * c_out + first,
                                   output + (pixel + 1) * c_out + first);
            }
            if (pixel < pixels) {
                ea_opt_widen_run(src, g.c, (int32_t)(g.input_end - src), g.offset, cols, 8);
                ea_opt_block_2cols(&block, cols, output + pixel * c_out + first, NULL);
            }
            continue;
        }
        if (pointwise) { /* 1x1 with a stride: one run per pixel, always inside */
            for (; pixel < pixels; pixel += 2) {
                const int8_t *src = input + px.b * g.image_bytes +
                                    (px.oy * g.stride_h * g.w + px.ox * g.stride_w) * g.c;
                ea_opt_widen_run(src, g.c, (int32_t)(g.input_end - src), g.offset, cols, 8);
                next_pixel(&px, &p->output);
                if (pixel + 1 < pixels) {
                    src = input + px.b * g.image_bytes + (px.oy * g.stride_h * g.w + px.ox * g.stride_w) * g.c;
                    ea_opt_widen_run(src, g.c, (int32_t)(g.input_end - src), g.offset, cols + 4, 8);
                    next_pixel(&px, &p->output);
                }
                ea_opt_block_2cols(&block, cols, output + pixel * c_out + first,
                                   pixel + 1 < pixels ? output + (pixel + 1) * c_out + first : NULL);
            }
            continue;
        }
        for (; pixel + 2 <= pixels; pixel += 2) {
            if (gray3 && px.ox + 1 < p->output.w) {
                gather_pair_gray3(&g, &px, cols);
                next_pixel(&px, &p->output);
            } else {
                gather_column(&g, &px, cols);
                next_pixel(&px, &p->output);
                gather_column(&g, &px, cols + 4);
            }
            next_pixel(&px, &p->output);
            ea_opt_block_2cols(&block, cols, output + pixel * c_out + first, output + (pixel + 1) * c_out + first);
        }
        if (pixel < pixels) {
            gather_column(&g, &px, cols);
            ea_opt_block_2cols(&block, cols, output + pixel * c_out + first, NULL);
        }
    }
}

ea_status_t ea_opt_conv2d_s8(const ea_conv_params_t *params, const int8_t *input, const int8_t *filter,
                             const int32_t *bias, int8_t *output, void *scratch, size_t scratch_size) {
    ea_status_t status = ea_validate_conv(params, EA_CONV_GENERAL, input, filter, output);
    if (status == EA_OK) {
        status = ea_validate_scratch(scratch, scratch_size, conv_scratch_size(params));
    }
    if (status == EA_OK) {
        conv_im2col(params, input, filter, bias, output, scratch);
    }
    return status;
}

size_t ea_opt_conv2d_s8_scratch_size(const ea_conv_params_t *params) { return conv_scratch_size(params); }

ea_status_t ea_opt_pointwise_conv2d_s8(const ea_conv_params_t *params, const int8_t *input, const int8_t *filter,
                                       const int32_t *bias, int8_t *output, void *scratch, size_t scratch_size) {
    ea_status_t status = ea_validate_conv(params, EA_CONV_POINTWISE, input, filter, output);
    if (status == EA_OK) {
        status = ea_validate_scratch(scratch, scratch_size, conv_scratch_size(params));
    }
    if (status == EA_OK) {
        conv_im2col(params, input, filter, bias, output, scratch);
    }
    return status;
}

size_t ea_opt_pointwise_conv2d_s8_scratch_size(const ea_conv_params_t *params) {
    return conv_scratch_size(params);
}
