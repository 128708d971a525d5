/*
 * Integer-only preprocessing; see ea_preprocess.h for the contract and
 * edge_affect/runtime/preprocess.py + resize.py for the numpy reference this
 * must equal bit for bit.
 */
#include "ea_preprocess.h"

#define EA_Q11_BITS 11
#define EA_Q11_ONE (1 << EA_Q11_BITS)

/* BT.601 luma in Q14, OpenCV's fixed-point rule. */
#define EA_GRAY_WR 4899u
#define EA_GRAY_WG 9617u
#define EA_GRAY_WB 1868u

/*
 * floor(num(d) / den) for d = 0, 1, 2, ... where num(d) = num0 + d * step:
 * kept as quotient + remainder so each step is two additions and a compare,
 * and so the floor (not C's truncation) is exact when num0 < 0 (upscaling).
 */
typedef struct {
    int32_t quot;
    int32_t rem; /* 0 <= rem < den */
    int32_t step_quot;
    int32_t step_rem;
    int32_t den;
} ea_floor_stepper_t;

static void stepper_init(ea_floor_stepper_t *s, int32_t num0, int32_t step, int32_t den) {
    s->quot = num0 / den;
    s->rem = num0 % den;
    if (s->rem < 0) { /* C truncates toward zero: move down to the floor */
        s->quot -= 1;
        s->rem += den;
    }
    s->step_quot = step / den;
    s->step_rem = step % den;
    s->den = den;
}

static void stepper_next(ea_floor_stepper_t *s) {
    s->quot += s->step_quot;
    s->rem += s->step_rem;
    if (s->rem >= s->den) {
        s->quot += 1;
        s->rem -= s->den;
    }
}

/*
 * Bilinear: sx_q(d) = floor(((2d + 1) * src - dst) * 2048 / (2 * dst)).
 * Nearest:  sx(d)   = floor((2d + 1) * src / (2 * dst)).
 * src <= EA_PP_MAX_REGION_DIM keeps 4096 * src inside int32.
 */
static void bilinear_stepper(ea_floor_stepper_t *s, int32_t src, int32_t dst) {
    stepper_init(s, (src - dst) * EA_Q11_ONE, 2 * src * EA_Q11_ONE, 2 * dst);
}

static void nearest_stepper(ea_floor_stepper_t *s, int32_t src, int32_t dst) {
    stepper_init(s, src, 2 * src, 2 * dst);
}

typedef struct {
    int32_t i0;   /* left/top source index */
    int32_t i1;   /* right/bottom source index */
    int32_t frac; /* Q11 weight of i1 */
} ea_tap_t;

static ea_tap_t bilinear_tap(int32_t sx_q, int32_t src) {
    ea_tap_t t;
    if (sx_q < 0) {
        sx_q = 0;
    }
    t.i0 = sx_q >> EA_Q11_BITS;
    t.frac = sx_q & (EA_Q11_ONE - 1);
    if (t.i0 >= src - 1) { /* past the last centre: hold the edge pixel */
        t.i0 = src - 1;
        t.frac = 0;
    }
    t.i1 = t.i0 + 1 < src ? t.i0 + 1 : src - 1;
    return t;
}

static ea_tap_t nearest_tap(int32_t sx, int32_t src) {
    ea_tap_t t;
    t.i0 = sx < src - 1 ? sx : src - 1;
    t.i1 = t.i0;
    t.frac = 0;
    return t;
}

/* The frame as the sampler sees it: pixels outside read as `pad`. */
typedef struct {
    const uint8_t *pixels;
    int32_t width;
    int32_t height;
    int32_t stride;
    int32_t in_channels;  /* 1 = gray, 3 = RGB888 */
    int32_t out_channels; /* 1 = gray, 3 = RGB */
    uint8_t pad;
} ea_source_t;

/*
 * Horizontal taps are computed once per chunk of output columns and reused
 * down every output row, so the per-pixel work is the interpolation alone.
 * The chunk lives on the stack: 32 x 12 bytes.
 */
#define EA_TAP_CHUNK 32

typedef struct {
    int32_t x0;  /* frame column of the left tap (may be outside the frame) */
    int32_t x1;  /* frame column of the right tap */
    uint32_t w1; /* Q11 weight of x1 */
} ea_xtap_t;

/* Row `y` of the frame, or NULL when it lies outside (then every pixel is pad). */
static const uint8_t *frame_row(const ea_source_t *src, int32_t y) {
    if (y < 0 || y >= src->height) {
        return NULL;
    }
    return src->pixels + (size_t)y * (size_t)src->stride;
}

static uint32_t gray_of_rgb(const uint8_t *p) {
    return (EA_GRAY_WR * p[0] + EA_GRAY_WG * p[1] + EA_GRAY_WB * p[2] + (1u << 13)) >> 14;
}

/* Channel `c` of the output colour space at frame column x of `row`. */
static uint32_t sample(const ea_source_t *src, const uint8_t *row, int32_t x, int32_t c) {
    const uint8_t *p;
    /* one unsigned compare covers x < 0 and x >= width */
    if (row == NULL || (uint32_t)x >= (uint32_t)src->width) {
        return src->pad;
    }
    p = row + (size_t)x * (size_t)src->in_channels;
    if (src->in_channels == src->out_channels) {
        return p[c];
    }
    if (src->in_channels == 1) { /* gray -> RGB replicates */
        return p[0];
    }
    return gray_of_rgb(p);
}

/* The HM01B0 case (gray frame, gray model): no colour logic per pixel. */
static uint32_t gray_sample(const uint8_t *row, int32_t x, uint32_t width, uint32_t pad) {
    return (row != NULL && (uint32_t)x < width) ? row[x] : pad;
}

static uint8_t blend(uint32_t p00, uint32_t p01, uint32_t p10, uint32_t p11, uint32_t wx1, uint32_t wy1) {
    /* <= 2048 * 2048 * 255 + 2^21 < 2^31: no overflow */
    const uint32_t top = (EA_Q11_ONE - wx1) * p00 + wx1 * p01;
    const uint32_t bottom = (EA_Q11_ONE - wx1) * p10 + wx1 * p11;
    return (uint8_t)(((EA_Q11_ONE - wy1) * top + wy1 * bottom + (1u << (2 * EA_Q11_BITS - 1))) >>
                     (2 * EA_Q11_BITS));
}

static void bilinear_row(const ea_source_t *src, const uint8_t *row0, const uint8_t *row1, uint32_t wy1,
                         const ea_xtap_t *taps, int32_t n, uint8_t *dst) {
    int32_t k;
    if (src->in_channels == 1 && src->out_channels == 1) {
        const uint32_t width = (uint32_t)src->width;
        const uint32_t pad = src->pad;
        for (k = 0; k < n; ++k) {
            const ea_xtap_t *t = &taps[k];
            dst[k] = blend(gray_sample(row0, t->x0, width, pad), gray_sample(row0, t->x1, width, pad),
                           gray_sample(row1, t->x0, width, pad), gray_sample(row1, t->x1, width, pad), t->w1, wy1);
        }
        return;
    }
    for (k = 0; k < n; ++k) {
        const ea_xtap_t *t = &taps[k];
        int32_t c;
        for (c = 0; c < src->out_channels; ++c) {
            *dst++ = blend(sample(src, row0, t->x0, c), sample(src, row0, t->x1, c), sample(src, row1, t->x0, c),
                           sample(src, row1, t->x1, c), t->w1, wy1);
        }
    }
}

static void resize_bilinear(const ea_source_t *src, const ea_box_t *region, int32_t out_h, int32_t out_w,
                            uint8_t *out) {
    const size_t channels = (size_t)src->out_channels;
    ea_floor_stepper_t xs;
    int32_t c0;
    bilinear_stepper(&xs, region->width, out_w);
    for (c0 = 0; c0 < out_w; c0 += EA_TAP_CHUNK) {
        const int32_t n = out_w - c0 < EA_TAP_CHUNK ? out_w - c0 : EA_TAP_CHUNK;
        ea_xtap_t taps[EA_TAP_CHUNK];
        ea_floor_stepper_t ys;
        int32_t k;
        int32_t oy;
        for (k = 0; k < n; ++k, stepper_next(&xs)) {
            const ea_tap_t t = bilinear_tap(xs.quot, region->width);
            taps[k].x0 = region->x + t.i0;
            taps[k].x1 = region->x + t.i1;
            taps[k].w1 = (uint32_t)t.frac;
        }
        bilinear_stepper(&ys, region->height, out_h);
        for (oy = 0; oy < out_h; ++oy, stepper_next(&ys)) {
            const ea_tap_t ty = bilinear_tap(ys.quot, region->height);
            bilinear_row(src, frame_row(src, region->y + ty.i0), frame_row(src, region->y + ty.i1),
                         (uint32_t)ty.frac, taps, n, out + ((size_t)oy * (size_t)out_w + (size_t)c0) * channels);
        }
    }
}

static void resize_nearest(const ea_source_t *src, const ea_box_t *region, int32_t out_h, int32_t out_w,
                           uint8_t *out) {
    const size_t channels = (size_t)src->out_channels;
    ea_floor_stepper_t xs;
    int32_t c0;
    nearest_stepper(&xs, region->width, out_w);
    for (c0 = 0; c0 < out_w; c0 += EA_TAP_CHUNK) {
        const int32_t n = out_w - c0 < EA_TAP_CHUNK ? out_w - c0 : EA_TAP_CHUNK;
        int32_t columns[EA_TAP_CHUNK];
        ea_floor_stepper_t ys;
        int32_t k;
        int32_t oy;
        for (k = 0; k < n; ++k, stepper_next(&xs)) {
            columns[k] = region->x + nearest_tap(xs.quot, region->width).i0;
        }
        nearest_stepper(&ys, region->height, out_h);
        for (oy = 0; oy < out_h; ++oy, stepper_next(&ys)) {
            const uint8_t *row = frame_row(src, region->y + nearest_tap(ys.quot, region->height).i0);
            uint8_t *dst = out + ((size_t)oy * (size_t)out_w + (size_t)c0) * channels;
            if (src->in_channels == 1 && src->out_channels == 1) {
                for (k = 0; k < n; ++k) {
                    dst[k] = (uint8_t)gray_sample(row, columns[k], (uint32_t)src->width, src->pad);
                }
                continue;
            }
            for (k = 0; k < n; ++k) {
                int32_t c;
                for (c = 0; c < src->out_channels; ++c) {
                    *dst++ = (uint8_t)sample(src, row, columns[k], c);
                }
            }
        }
    }
}

static int config_is_valid(const ea_preprocess_config_t *cfg) {
    return (cfg->color == EA_COLOR_GRAY || cfg->color == EA_COLOR_RGB) &&
           (cfg->resize == EA_RESIZE_BILINEAR || cfg->resize == EA_RESIZE_NEAREST) &&
           cfg->margin_permille >= 0 && cfg->margin_permille <= 1000 &&
           (cfg->keep_aspect == 0 || cfg->keep_aspect == 1);
}

/* ceil(a / b) for a >= 0, b > 0 */
static int32_t ceil_div(int32_t a, int32_t b) {
    return (a + b - 1) / b;
}

ea_pp_status_t ea_preprocess_region(int32_t frame_width, int32_t frame_height, ea_box_t box,
                                    const ea_preprocess_config_t *cfg, ea_box_t *region) {
    int32_t dx;
    int32_t dy;
    ea_box_t r;
    if (cfg == NULL || region == NULL) {
        return EA_PP_ERR_NULL;
    }
    if (!config_is_valid(cfg)) {
        return EA_PP_ERR_CONFIG;
    }
    if (frame_width < 1 || frame_height < 1 || box.width < 1 || box.height < 1 || cfg->out_width < 1 ||
        cfg->out_height < 1) {
        return EA_PP_ERR_SIZE;
    }
    if (frame_width > EA_PP_MAX_FRAME_DIM || frame_height > EA_PP_MAX_FRAME_DIM ||
        box.width > EA_PP_MAX_FRAME_DIM || box.height > EA_PP_MAX_FRAME_DIM ||
        cfg->out_width > EA_PP_MAX_OUT_DIM || cfg->out_height > EA_PP_MAX_OUT_DIM) {
        return EA_PP_ERR_RANGE;
    }
    /* x + w <= 0 written without the addition, which could overflow */
    if (box.x >= frame_width || box.y >= frame_height || box.x <= -box.width || box.y <= -box.height) {
        return EA_PP_ERR_BOX_OUTSIDE;
    }
    /* margin: round half up, then on every side */
    dx = (box.width * cfg->margin_permille + 500) / 1000;
    dy = (box.height * cfg->margin_permille + 500) / 1000;
    r.x = box.x - dx;
    r.y = box.y - dy;
    r.width = box.width + 2 * dx;
    r.height = box.height + 2 * dy;
    if (cfg->keep_aspect) {
        if (r.width * cfg->out_height > r.height * cfg->out_width) { /* too wide: pad top/bottom */
            const int32_t new_h = ceil_div(r.width * cfg->out_height, cfg->out_width);
            r.y -= (new_h - r.height) / 2;
            r.height = new_h;
        } else {
            const int32_t new_w = ceil_div(r.height * cfg->out_width, cfg->out_height);
            r.x -= (new_w - r.width) / 2;
            r.width = new_w;
        }
    }
    if (r.width > EA_PP_MAX_REGION_DIM || r.height > EA_PP_MAX_REGION_DIM) {
        return EA_PP_ERR_RANGE;
    }
    *region = r;
    return EA_PP_OK;
}

static ea_pp_status_t preprocess(const uint8_t *frame, int32_t frame_width, int32_t frame_height,
                                 int32_t stride, int32_t in_channels, ea_box_t box,
                                 const ea_preprocess_config_t *cfg, uint8_t *out, size_t out_capacity) {
    ea_source_t src;
    ea_box_t region;
    ea_pp_status_t status;
    if (frame == NULL || cfg == NULL || out == NULL) {
        return EA_PP_ERR_NULL;
    }
    status = ea_preprocess_region(frame_width, frame_height, box, cfg, &region);
    if (status != EA_PP_OK) {
        return status;
    }
    if (stride < frame_width * in_channels) {
        return EA_PP_ERR_SIZE;
    }
    if (out_capacity / (size_t)cfg->out_width / (size_t)cfg->out_height < (size_t)cfg->color) {
        return EA_PP_ERR_OUTPUT_SIZE;
    }
    src.pixels = frame;
    src.width = frame_width;
    src.height = frame_height;
    src.stride = stride;
    src.in_channels = in_channels;
    src.out_channels = (int32_t)cfg->color;
    src.pad = cfg->pad_value;
    if (cfg->resize == EA_RESIZE_BILINEAR) {
        resize_bilinear(&src, &region, cfg->out_height, cfg->out_width, out);
    } else {
        resize_nearest(&src, &region, cfg->out_height, cfg->out_width, out);
    }
    return EA_PP_OK;
}

ea_pp_status_t ea_preprocess_gray_u8(const uint8_t *frame, int32_t frame_width, int32_t frame_height,
                                     int32_t stride, ea_box_t box, const ea_preprocess_config_t *cfg,
                                     uint8_t *out, size_t out_capacity) {
    return preprocess(frame, frame_width, frame_height, stride, 1, box, cfg, out, out_capacity);
}

ea_pp_status_t ea_preprocess_rgb888(const uint8_t *frame, int32_t frame_width, int32_t frame_height,
                                    int32_t stride, ea_box_t box, const ea_preprocess_config_t *cfg,
                                    uint8_t *out, size_t out_capacity) {
    return preprocess(frame, frame_width, frame_height, stride, 3, box, cfg, out, out_capacity);
}

ea_pp_status_t ea_quantize_input_lut(const uint8_t *crop, size_t n, const int8_t lut[256], int8_t *out) {
    return ea_quantize_input_lut_hwc(crop, n, 1, lut, out);
}

ea_pp_status_t ea_quantize_input_lut_hwc(const uint8_t *crop, size_t pixels, int32_t channels,
                                         const int8_t *luts, int8_t *out) {
    size_t p;
    if (crop == NULL || luts == NULL || out == NULL) {
        return EA_PP_ERR_NULL;
    }
    if (channels != 1 && channels != 3) {
        return EA_PP_ERR_CONFIG;
    }
    if (channels == 1) {
        for (p = 0; p < pixels; ++p) {
            out[p] = luts[crop[p]];
        }
        return EA_PP_OK;
    }
    for (p = 0; p < pixels; ++p) {
        int32_t c;
        for (c = 0; c < channels; ++c) {
            const size_t i = p * (size_t)channels + (size_t)c;
            out[i] = luts[(size_t)c * 256u + crop[i]];
        }
    }
    return EA_PP_OK;
}
