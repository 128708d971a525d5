/*
 * Optimized depthwise conv (depth multiplier 1).
 *
 * Input rows are widened once to int16 with the input offset added, into a
 * ring of filter-height rows in scratch, with the padding materialised as
 * zeros (x - zp = 0 contributes nothing, exactly as the reference skipping
 * the tap): the inner loops then have no bounds checks. Within a widened row
 * the channels are split into groups of 4, each group a plane of pixels
 * (8 bytes per pixel: lanes (c0, c2) and (c1, c3), SXTB16 order), so the
 * taps of a window are at fixed offsets from one pointer. The weights are
 * widened once per call in the same lane order, per group and tap.
 *
 * Depthwise sums run over taps, not over adjacent lanes, so SMLAD's pairing
 * does not apply: one SMLABB/SMLATT per MAC. 3x3 stride 1 (the common case)
 * computes 2 output pixels x 2 channels per step, so that a filter row's 4
 * input words and 3 weight words serve 12 MACs; other shapes take a generic
 * loop over taps, 4 channels per step. Accumulators start at the bias; all
 * sums are modulo 2^32, equal to the reference's (see ea_opt_gemm.h).
 * Channels are padded to a multiple of 4 with zero weights; the padding
 * lanes are never stored.
 *
 * Scratch: channel table (C4 entries), widened weights (C4 * taps int16),
 * ring (KH rows of C4 * padded width int16).
 */
#include <string.h>

#include "ea_kernels.h"
#include "ea_opt_requant.h"
#include "ea_simd.h"
#include "ea_validate.h"

#if defined(__GNUC__)
#define EA_ALWAYS_INLINE inline __attribute__((always_inline))
#define EA_NOINLINE __attribute__((noinline))
/* Makes `p` opaque to the optimiser: stops it from hoisting the 18 weight
 * loads of a 3x3 window out of the pixel loop (more values than registers:
 * it would spill them to the stack and reload them, costing more than the
 * loads it saves). */
#define EA_OPAQUE(p) __asm__("" : "+r"(p))
#else
#define EA_ALWAYS_INLINE inline
#define EA_NOINLINE
#define EA_OPAQUE(p) ((void)0)
#endif

typedef struct {
    int32_t groups;       /* channel groups of 4 */
    int32_t width;        /* padded input width */
    int32_t taps;         /* KH * KW */
    int32_t plane;        /* int16 per group plane of a widened row: 4 * width */
    size_t table_bytes;
    size_t weight_bytes;
    size_t ring_bytes;
} dw_layout_t;

static int dw_layout(const ea_conv_params_t *p, dw_layout_t *l) {
    int64_t width, taps, ring;
    if (p == NULL || p->input.c < 1 || p->input.w < 1 || p->filter.h < 1 || p->filter.w < 1 || p->pad.left < 0 ||
        p->pad.right < 0) {
        return 0;
    }
    width = (int64_t)p->input.w + p->pad.left + p->pad.right;
    taps = (int64_t)p->filter.h * p->filter.w;
    l->groups = (p->input.c + 3) >> 2;
    ring = (int64_t)p->filter.h * l->groups * width * 8;
    if (taps > EA_MAX_DOT_LENGTH || ring > INT32_MAX) {
        return 0; /* rejected by validation */
    }
    l->width = (int32_t)width;
    l->taps = (int32_t)taps;
    l->plane = 4 * l->width;
    l->table_bytes = (size_t)l->groups * 4u * sizeof(ea_opt_channel_t);
    l->weight_bytes = (size_t)l->groups * (size_t)l->taps * 8u;
    l->ring_bytes = (size_t)ring;
    return 1;
}

/* Widens n (1..4) int8 values + offset into one pixel of a group plane. */
static inline void widen_pixel(int16_t *dst, const int8_t *src, int32_t n, uint32_t offset2) {
    if (n == 4) {
        const uint32_t x = ea_load_u32(src);
        ea_store_u32(dst, ea_sxtab16(offset2, x));
        ea_store_u32(dst + 2, ea_sxtab16_ror8(offset2, x));
    } else {
        static const uint8_t lane[4] = {0, 2, 1, 3};
        const int32_t offset = (int16_t)(offset2 & 0xFFFFu);
        int32_t i;
        ea_store_u32(dst, 0);
        ea_store_u32(dst + 2, 0);
        for (i = 0; i < n; ++i) {
            dst[lane[i]] = (int16_t)(src[i] + offset);
        }
    }
}

static void zero_pixels(int16_t *dst, int32_t n) {
    for (; n > 0; --n, dst += 4) {
        ea_store_u32(dst, 0);
        ea_store_u32(dst + 2, 0);
    }
}

/* Padded row py of `image` into `dst` (a ring slot), plane by plane. */
static void load_row(const ea_conv_params_t *p, const dw_layout_t *l, const int8_t *image, int32_t py,
                     int16_t *dst) {
    const int32_t iy = py - p->pad.top;
    const int32_t channels = p->input.c;
    const uint32_t offset2 = ea_dup_s16(-p->input_zero_point);
    int32_t g, x;
    if (iy < 0 || iy >= p->input.h) {
        memset(dst, 0, (size_t)l->groups * (size_t)l->plane * sizeof(int16_t));
        return;
    }
    for (g = 0; g < l->groups; ++g) {
        const int8_t *src = image + iy * p->input.w * channels + 4 * g;
        const int32_t n = channels - 4 * g < 4 ? channels - 4 * g : 4;
        int16_t *plane = dst + g * l->plane;
        int16_t *out = plane + 4 * p->pad.left;
        zero_pixels(plane, p->pad.left);
        /* cppcheck-suppress knownConditionTrueFalse ; false positive: n is 4 for every full group */
        if (n == 4) {
            for (x = p->input.w; x > 0; --x, src += channels, out += 4) {
                const uint32_t v = ea_load_u32(src);
                ea_store_u32(out, ea_sxtab16(offset2, v));
                ea_store_u32(out + 2, ea_sxtab16_ror8(offset2, v));
            }
        } else {
            for (x = p->input.w; x > 0; --x, src += channels, out += 4) {
                widen_pixel(out, src, n, offset2);
            }
        }
        zero_pixels(out, p->pad.right);
    }
}

static void prepare_weights(const ea_conv_params_t *p, const dw_layout_t *l, const int8_t *filter,
                            int16_t *weights) {
    const int32_t channels = p->input.c;
    int32_t g, t;
    for (g = 0; g < l->groups; ++g) {
        const int32_t n = channels - 4 * g < 4 ? channels - 4 * g : 4;
        for (t = 0; t < l->taps; ++t) {
            widen_pixel(weights + (g * l->taps + t) * 4, filter + t * channels + 4 * g, n, 0u);
        }
    }
}

typedef struct {
    const int16_t *ring;     /* ring slot 0, at the group's plane */
    int32_t slot_stride;     /* int16 between ring slots */
    int32_t first_slot;      /* slot of the window's first row */
    const int16_t *weights;  /* the group's taps */
    const ea_opt_channel_t *channels;
    int8_t *out;             /* output pixel 0, first channel of the group */
    int32_t out_w;
    int32_t out_step;        /* bytes between output pixels: C */
    int32_t lanes;           /* channels of the group to store */
    int32_t in_step;         /* int16 between windows: 4 * stride_w */
    int32_t kh, kw;
    ea_opt_output_t o;
} dw_group_row_t;

typedef struct {
    int32_t a0, a1, a2, a3; /* channels 0..3 of the group */
} acc4_t;

/* One tap for 4 channels: LDRD input (lanes (c0, c2), (c1, c3)), LDRD weights, 4 MACs. */
static EA_ALWAYS_INLINE void tap(acc4_t *acc, const int16_t *x, const int16_t *w) {
    const uint32_t x02 = ea_load_u32_aligned(x), x13 = ea_load_u32_aligned(x + 2);
    const uint32_t w02 = ea_load_u32_aligned(w), w13 = ea_load_u32_aligned(w + 2);
    acc->a0 = ea_smlabb(x02, w02, acc->a0);
    acc->a2 = ea_smlatt(x02, w02, acc->a2);
    acc->a1 = ea_smlabb(x13, w13, acc->a1);
    acc->a3 = ea_smlatt(x13, w13, acc->a3);
}

static EA_ALWAYS_INLINE void store_group(int8_t *out, int32_t lanes, const acc4_t *acc, const ea_opt_channel_t *ch,
                                         const ea_opt_output_t *o, const int fast, const int full) {
    out[0] = ea_opt_requantize(acc->a0, &ch[0], o, fast, full);
    if (lanes == 4) {
        out[1] = ea_opt_requantize(acc->a1, &ch[1], o, fast, full);
        out[2] = ea_opt_requantize(acc->a2, &ch[2], o, fast, full);
        out[3] = ea_opt_requantize(acc->a3, &ch[3], o, fast, full);
        return;
    }
    if (lanes > 1) {
        out[1] = ea_opt_requantize(acc->a1, &ch[1], o, fast, full);
    }
    if (lanes > 2) {
        out[2] = ea_opt_requantize(acc->a2, &ch[2], o, fast, full);
    }
}

static EA_ALWAYS_INLINE void init_acc(acc4_t *acc, const ea_opt_channel_t *ch) {
    acc->a0 = ch[0].bias;
    acc->a1 = ch[1].bias;
    acc->a2 = ch[2].bias;
    acc->a3 = ch[3].bias;
}

static const int16_t *slot_row(const dw_group_row_t *r, int32_t fy) {
    int32_t slot = r->first_slot + fy;
    slot -= slot >= r->kh ? r->kh : 0;
    return r->ring + slot * r->slot_stride;
}

typedef struct {
    int32_t a_lo, a_hi, b_lo, b_hi; /* pixels a, b; channels of the low and high lanes */
} acc2x2_t;

/* One filter row of a 3x3 window for output pixels a and b = a + 1 (stride
 * 1): input pixels p0..p3, taps w0..w2, one lane pair (2 channels). Pixel b's
 * taps reuse pixel a's inputs shifted by one: 7 loads for 12 MACs. */
static EA_ALWAYS_INLINE void row_2px(acc2x2_t *acc, const int16_t *x, const int16_t *w) {
    const uint32_t w0 = ea_load_u32_aligned(w), w1 = ea_load_u32_aligned(w + 4), w2 = ea_load_u32_aligned(w + 8);
    uint32_t p = ea_load_u32_aligned(x);
    acc->a_lo = ea_smlabb(p, w0, acc->a_lo);
    acc->a_hi = ea_smlatt(p, w0, acc->a_hi);
    p = ea_load_u32_aligned(x + 4);
    acc->a_lo = ea_smlabb(p, w1, acc->a_lo);
    acc->a_hi = ea_smlatt(p, w1, acc->a_hi);
    acc->b_lo = ea_smlabb(p, w0, acc->b_lo);
    acc->b_hi = ea_smlatt(p, w0, acc->b_hi);
    p = ea_load_u32_aligned(x + 8);
    acc->a_lo = ea_smlabb(p, w2, acc->a_lo);
    acc->a_hi = ea_smlatt(p, w2, acc->a_hi);
    acc->b_lo = ea_smlabb(p, w1, acc->b_lo);
    acc->b_hi = ea_smlatt(p, w1, acc->b_hi);
    p = ea_load_u32_aligned(x + 12);
    acc->b_lo = ea_smlabb(p, w2, acc->b_lo);
    acc->b_hi = ea_smlatt(p, w2, acc->b_hi);
}

/* The same for pixel a alone (an odd last pixel). */
static EA_ALWAYS_INLINE void row_1px(acc2x2_t *acc, const int16_t *x, const int16_t *w) {
    uint32_t p = ea_load_u32_aligned(x), k = ea_load_u32_aligned(w);
    acc->a_lo = ea_smlabb(p, k, acc->a_lo);
    acc->a_hi = ea_smlatt(p, k, acc->a_hi);
    p = ea_load_u32_aligned(x + 4);
    k = ea_load_u32_aligned(w + 4);
    acc->a_lo = ea_smlabb(p, k, acc->a_lo);
    acc->a_hi = ea_smlatt(p, k, acc->a_hi);
    p = ea_load_u32_aligned(x + 8);
    k = ea_load_u32_aligned(w + 8);
    acc->a_lo = ea_smlabb(p, k, acc->a_lo);
    acc->a_hi = ea_smlatt(p, k, acc->a_hi);
}

/* One output row of one lane pair of a channel group, 3x3 filter, stride 1:
 * lane 0 holds channels 0 and 2 of the group, lane 2 (the int16 offset of
 * the second word of a pixel) channels 1 and 3. Two output pixels per step,
 * every tap at a fixed offset from three row pointers. */
static EA_ALWAYS_INLINE void lane_row_3x3(const dw_group_row_t *r, const int32_t lane, const int fast,
                                          const int full) {
    const ea_opt_channel_t *c_lo = r->channels + (lane >> 1), *c_hi = c_lo + 2;
    const int store_hi = r->lanes > (lane >> 1) + 2;
    const int16_t *w = r->weights + lane;
    const int16_t *x0 = slot_row(r, 0) + lane, *x1 = slot_row(r, 1) + lane, *x2 = slot_row(r, 2) + lane;
    const int32_t c = r->out_step;
    int8_t *out = r->out + (lane >> 1);
    int32_t ox;
    for (ox = r->out_w; ox >= 2; ox -= 2, x0 += 8, x1 += 8, x2 += 8, out += 2 * c) {
        acc2x2_t acc;
        int8_t a_lo, a_hi, b_lo, b_hi;
        EA_OPAQUE(w);
        acc.a_lo = acc.b_lo = c_lo->bias;
        acc.a_hi = acc.b_hi = c_hi->bias;
        row_2px(&acc, x0, w);
        row_2px(&acc, x1, w + 12);
        row_2px(&acc, x2, w + 24);
        /* all results before any store (an int8 store may alias the table) */
        a_lo = ea_opt_requantize(acc.a_lo, c_lo, &r->o, fast, full);
        b_lo = ea_opt_requantize(acc.b_lo, c_lo, &r->o, fast, full);
        a_hi = ea_opt_requantize(acc.a_hi, c_hi, &r->o, fast, full);
        b_hi = ea_opt_requantize(acc.b_hi, c_hi, &r->o, fast, full);
        out[0] = a_lo;
        out[c] = b_lo;
        if (store_hi) {
            out[2] = a_hi;
            out[c + 2] = b_hi;
        }
    }
    if (ox > 0) {
        acc2x2_t acc;
        acc.a_lo = c_lo->bias;
        acc.a_hi = c_hi->bias;
        row_1px(&acc, x0, w);
        row_1px(&acc, x1, w + 12);
        row_1px(&acc, x2, w + 24);
        out[0] = ea_opt_requantize(acc.a_lo, c_lo, &r->o, fast, full);
        if (store_hi) {
            out[2] = ea_opt_requantize(acc.a_hi, c_hi, &r->o, fast, full);
        }
    }
}

static EA_ALWAYS_INLINE void group_row_3x3(const dw_group_row_t *r, const int fast, const int full) {
    lane_row_3x3(r, 0, fast, full);
    if (r->lanes > 1) {
        lane_row_3x3(r, 2, fast, full);
    }
}

/* Any filter size. */
static EA_ALWAYS_INLINE void group_row_any(const dw_group_row_t *r, const int fast, const int full) {
    const ea_opt_channel_t *const ch = r->channels;
    int8_t *out = r->out;
    int32_t ox, fy, fx, offset = 0;
    for (ox = 0; ox < r->out_w; ++ox, out += r->out_step, offset += r->in_step) {
        const int16_t *w = r->weights;
        acc4_t acc;
        init_acc(&acc, ch);
        for (fy = 0; fy < r->kh; ++fy) {
            const int16_t *x = slot_row(r, fy) + offset;
            for (fx = 0; fx < r->kw; ++fx, x += 4, w += 4) {
                tap(&acc, x, w);
            }
        }
        store_group(out, r->lanes, &acc, ch, &r->o, fast, full);
    }
}

/* One function per form, each with all registers to itself. */
static EA_NOINLINE void row_3x3_fast_full(const dw_group_row_t *r) { group_row_3x3(r, 1, 1); }
static EA_NOINLINE void row_3x3_fast_clamp(const dw_group_row_t *r) { group_row_3x3(r, 1, 0); }
static EA_NOINLINE void row_any_fast_full(const dw_group_row_t *r) { group_row_any(r, 1, 1); }
static EA_NOINLINE void row_any_fast_clamp(const dw_group_row_t *r) { group_row_any(r, 1, 0); }
static EA_NOINLINE void row_any_exact(const dw_group_row_t *r) { group_row_any(r, 0, 0); }

typedef void (*row_fn)(const dw_group_row_t *r);

static row_fn row_function(const ea_conv_params_t *p, ea_opt_rq_mode_t mode) {
    const int is_3x3 = p->filter.h == 3 && p->filter.w == 3 && p->stride_w == 1;
    switch (mode) {
    case EA_OPT_RQ_FAST_FULL:
        return is_3x3 ? row_3x3_fast_full : row_any_fast_full;
    case EA_OPT_RQ_FAST_CLAMP:
        return is_3x3 ? row_3x3_fast_clamp : row_any_fast_clamp;
    default:
        return row_any_exact;
    }
}

static void depthwise(const ea_conv_params_t *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                      int8_t *output, void *scratch) {
    dw_layout_t l;
    ea_opt_channel_t *table = (ea_opt_channel_t *)scratch;
    int16_t *weights;
    int16_t *ring;
    dw_group_row_t r;
    row_fn run_row;
    int32_t b, oy, g;

    (void)dw_layout(p, &l);
    weights = (int16_t *)((uint8_t *)scratch + l.table_bytes);
    ring = (int16_t *)((uint8_t *)scratch + l.table_bytes + l.weight_bytes);
    r.o.output_zero_point = p->output_zero_point;
    r.o.act_min = p->act_min;
    r.o.act_max = p->act_max;
    run_row = row_function(
        p, ea_opt_rq_mode(ea_opt_prepare_channels(&p->requant, bias, p->output_zero_point, 0, p->input.c, table),
                          &r.o));
    memset(table + p->input.c, 0, (size_t)(4 * l.groups - p->input.c) * sizeof(ea_opt_channel_t));
    prepare_weights(p, &l, filter, weights);
    r.out_w = p->output.w;
    r.out_step = p->output.c;
    /* Only used between output pixels: with one output column the stride may
     * be any int32 (validation allows it) and 4 * stride could overflow. */
    r.in_step = p->output.w > 1 ? 4 * p->stride_w : 0;
    r.slot_stride = l.groups * l.plane;
    r.kh = p->filter.h;
    r.kw = p->filter.w;

    for (b = 0; b < p->input.n; ++b) {
        const int8_t *image = input + b * p->input.h * p->input.w * p->input.c;
        int32_t next_row = 0; /* first padded row not yet in the ring */
        for (oy = 0; oy < p->output.h; ++oy) {
            const int32_t py0 = oy * p->stride_h;
            int32_t py = next_row > py0 ? next_row : py0;
            for (; py < py0 + p->filter.h; ++py) {
                load_row(p, &l, image, py, ring + (py % p->filter.h) * l.groups * l.plane);
            }
            next_row = py;
            for (g = 0; g < l.groups; ++g) {
                r.ring = ring + g * l.plane;
                r.first_slot = py0 % p->filter.h;
                r.weights = weights + g * l.taps * 4;
                r.channels = table + 4 * g;
                r.out = output + ((b * p->output.h + oy) * p->output.w) * p->output.c + 4 * g;
                r.lanes = p->input.c - 4 * g < 4 ? p->input.c - 4 * g : 4;
                run_row(&r);
            }
        }
    }
}

static size_t dw_scratch_size(const ea_conv_params_t *p) {
    dw_layout_t l;
    if (!dw_layout(p, &l)) {
        return 0;
    }
    return l.table_bytes + l.weight_bytes + l.ring_bytes;
}

ea_status_t ea_opt_depthwise_conv2d_s8(const ea_conv_params_t *params, const int8_t *input, const int8_t *filter,
                                       const int32_t *bias, int8_t *output, void *scratch, size_t scratch_size) {
    dw_layout_t l;
    ea_status_t status = ea_validate_conv(params, EA_CONV_DEPTHWISE, input, filter, output);
    if (status == EA_OK && !dw_layout(params, &l)) {
        /* Valid, but the widened ring would not fit int32 (a padded width of
         * hundreds of millions): the reference loops need no scratch. */
        return ea_ref_depthwise_conv2d_s8(params, input, filter, bias, output, scratch, scratch_size);
    }
    if (status == EA_OK) {
        status = ea_validate_scratch(scratch, scratch_size, dw_scratch_size(params));
    }
    if (status == EA_OK) {
        depthwise(params, input, filter, bias, output, scratch);
    }
    return status;
}

size_t ea_opt_depthwise_conv2d_s8_scratch_size(const ea_conv_params_t *params) { return dw_scratch_size(params); }
