/*
 * libFuzzer target: every int8 kernel entry point of both kernel sets
 * (embedded/kernels), with parameters and buffers from the input.
 *
 * The first byte picks the kernel. Parameters are mostly consistent (output
 * sizes follow from the input, filter, stride and padding) with any field
 * replaceable by an arbitrary int32 (fuzz_raw_or). Every buffer is allocated
 * at exactly the size its parameters imply, so AddressSanitizer reports any
 * access outside it; calls whose buffers would exceed FUZZ_MAX_BYTES are
 * skipped (legal, but not worth the fuzzer's time). Beyond "no crash and no
 * undefined behaviour", every call must satisfy:
 *   - the reference and optimized sets return the same status and, when it
 *     is EA_OK, bit-identical outputs;
 *   - a refused call leaves the output untouched;
 *   - a scratch buffer shorter than *_scratch_size() is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ea_kernels.h"
#include "fuzz_input.h"

#define FUZZ_MAX_BYTES (1u << 20)
#define FUZZ_GUARD 0x5A

#define FUZZ_CHECK(cond)                                                 \
    do {                                                                 \
        if (!(cond)) {                                                   \
            fprintf(stderr, "fuzz_kernels: check failed: %s\n", #cond);  \
            abort();                                                     \
        }                                                                \
    } while (0)

/* ---------------------------------------------------------------- buffers */

/* Bytes of n elements of `elem` bytes, or 0 when n is not a usable count
 * (<= 0) and SIZE_MAX when it exceeds the fuzzing budget. */
static size_t bytes_of(int64_t n, size_t elem) {
    if (n <= 0) {
        return 0;
    }
    if ((uint64_t)n > FUZZ_MAX_BYTES / elem) {
        return SIZE_MAX;
    }
    return (size_t)n * elem;
}

/* Elements of a shape, saturated near 2^62 (far beyond any budget). */
static int64_t shape_elems(const ea_shape_t *s) {
    int64_t n;
    if (s->n < 1 || s->h < 1 || s->w < 1 || s->c < 1) {
        return 0;
    }
    n = (int64_t)s->n * s->h; /* staged, so no product of four int32 overflows */
    n = n > INT32_MAX ? INT32_MAX : n;
    n *= s->w;
    n = n > INT32_MAX ? INT32_MAX : n;
    return n * s->c;
}

/* A heap buffer of exactly `bytes` (a 1-byte token when 0), filled from the input. */
static void *input_buffer(fuzz_input_t *in, size_t bytes) {
    void *p = malloc(bytes ? bytes : 1u);
    FUZZ_CHECK(p != NULL);
    fuzz_fill(in, p, bytes ? bytes : 1u);
    return p;
}

static void *guarded_buffer(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1u);
    FUZZ_CHECK(p != NULL);
    memset(p, FUZZ_GUARD, bytes ? bytes : 1u);
    return p;
}

static int untouched(const void *p, size_t bytes) {
    const uint8_t *b = (const uint8_t *)p;
    size_t i;
    for (i = 0; i < (bytes ? bytes : 1u); ++i) {
        if (b[i] != FUZZ_GUARD) {
            return 0;
        }
    }
    return 1;
}

/* Both sets ran: same status; outputs equal when both succeeded, untouched otherwise. */
static void compare(ea_status_t s_ref, ea_status_t s_opt, const void *out_ref, const void *out_opt, size_t bytes) {
    if (s_ref != s_opt) {
        fprintf(stderr, "fuzz_kernels: reference returned %d, optimized %d\n", (int)s_ref, (int)s_opt);
        abort();
    }
    if (s_ref == EA_OK) {
        FUZZ_CHECK(memcmp(out_ref, out_opt, bytes) == 0);
    } else {
        FUZZ_CHECK(untouched(out_ref, bytes) && untouched(out_opt, bytes));
    }
}

/* ---------------------------------------------------------------- parameters */

/* The consistent output size for any int32 arguments (0 when there is none). */
static int32_t window_out(int32_t in, int32_t k, int32_t stride, int32_t before, int32_t after) {
    const int64_t span = (int64_t)in + before + after - k;
    const int64_t out = stride < 1 || span < 0 ? 0 : span / stride + 1;
    return out > INT32_MAX ? 0 : (int32_t)out;
}

static void act_range(fuzz_input_t *in, int32_t *lo, int32_t *hi) {
    int32_t a = (int8_t)fuzz_u8(in), b = (int8_t)fuzz_u8(in);
    if (a > b) {
        const int32_t t = a;
        a = b;
        b = t;
    }
    *lo = fuzz_raw_or(in, a);
    *hi = fuzz_raw_or(in, b);
}

static int32_t zero_point(fuzz_input_t *in) { return fuzz_raw_or(in, (int8_t)fuzz_u8(in)); }

static int32_t shift(fuzz_input_t *in) { return fuzz_raw_or(in, fuzz_range(in, -31, 31)); }

/* A TFLM-style multiplier in [2^30, 2^31), or anything. */
static int32_t multiplier(fuzz_input_t *in) {
    return fuzz_raw_or(in, (int32_t)(0x40000000u | ((uint32_t)fuzz_i32(in) & 0x3fffffffu)));
}

typedef struct {
    int32_t *multiplier;
    int32_t *shift;
    size_t bytes;
} requant_arrays_t;

/* Per-tensor or per-channel requantization for `channels` outputs. */
static int make_requant(fuzz_input_t *in, ea_requant_t *r, requant_arrays_t *a, int32_t channels) {
    int32_t i;
    r->count = fuzz_raw_or(in, fuzz_bool(in) ? channels : 1);
    a->bytes = bytes_of(r->count, sizeof(int32_t));
    if (a->bytes == SIZE_MAX) {
        return 0;
    }
    a->multiplier = (int32_t *)guarded_buffer(a->bytes);
    a->shift = (int32_t *)guarded_buffer(a->bytes);
    for (i = 0; i < r->count; ++i) {
        a->multiplier[i] = multiplier(in);
        a->shift[i] = shift(in);
    }
    r->multiplier = a->multiplier;
    r->shift = a->shift;
    return 1;
}

static void free_requant(requant_arrays_t *a) {
    free(a->multiplier);
    free(a->shift);
}

/* ---------------------------------------------------------------- conv family */

typedef enum { CONV_GENERAL, CONV_DEPTHWISE, CONV_POINTWISE } conv_kind_t;

static void fuzz_conv(fuzz_input_t *in, conv_kind_t kind) {
    ea_conv_params_t p;
    requant_arrays_t rq;
    size_t in_bytes, filter_bytes, out_bytes, bias_bytes, scratch_ref, scratch_opt;
    int8_t *input, *filter, *out_ref, *out_opt;
    int32_t *bias = NULL;
    void *scratch;
    int short_scratch;
    ea_status_t s_ref, s_opt;
    const ea_conv_fn ref = kind == CONV_GENERAL     ? ea_kernels_reference.conv2d_s8
                           : kind == CONV_DEPTHWISE ? ea_kernels_reference.depthwise_conv2d_s8
                                                    : ea_kernels_reference.pointwise_conv2d_s8;
    const ea_conv_fn opt = kind == CONV_GENERAL     ? ea_kernels_optimized.conv2d_s8
                           : kind == CONV_DEPTHWISE ? ea_kernels_optimized.depthwise_conv2d_s8
                                                    : ea_kernels_optimized.pointwise_conv2d_s8;
    const ea_conv_scratch_fn ref_size = kind == CONV_GENERAL ? ea_kernels_reference.conv2d_s8_scratch_size
                                        : kind == CONV_DEPTHWISE
                                            ? ea_kernels_reference.depthwise_conv2d_s8_scratch_size
                                            : ea_kernels_reference.pointwise_conv2d_s8_scratch_size;
    const ea_conv_scratch_fn opt_size = kind == CONV_GENERAL ? ea_kernels_optimized.conv2d_s8_scratch_size
                                        : kind == CONV_DEPTHWISE
                                            ? ea_kernels_optimized.depthwise_conv2d_s8_scratch_size
                                            : ea_kernels_optimized.pointwise_conv2d_s8_scratch_size;

    memset(&p, 0, sizeof p);
    p.input.n = fuzz_raw_or(in, fuzz_range(in, 1, 2));
    p.input.h = fuzz_raw_or(in, fuzz_range(in, 1, 20));
    p.input.w = fuzz_raw_or(in, fuzz_range(in, 1, 20));
    p.input.c = fuzz_raw_or(in, fuzz_range(in, 1, 19));
    p.filter.h = kind == CONV_POINTWISE ? 1 : fuzz_range(in, 1, 5);
    p.filter.w = kind == CONV_POINTWISE ? 1 : fuzz_range(in, 1, 5);
    p.filter.h = fuzz_raw_or(in, p.filter.h);
    p.filter.w = fuzz_raw_or(in, p.filter.w);
    p.filter.c = fuzz_raw_or(in, p.input.c);
    p.filter.n = fuzz_raw_or(in, kind == CONV_DEPTHWISE ? 1 : fuzz_range(in, 1, 19));
    p.stride_h = fuzz_raw_or(in, fuzz_range(in, 1, 3));
    p.stride_w = fuzz_raw_or(in, fuzz_range(in, 1, 3));
    if (kind != CONV_POINTWISE) {
        p.pad.top = fuzz_raw_or(in, fuzz_range(in, 0, p.filter.h > 1 && p.filter.h < 6 ? p.filter.h - 1 : 0));
        p.pad.bottom = fuzz_raw_or(in, fuzz_range(in, 0, p.filter.h > 1 && p.filter.h < 6 ? p.filter.h - 1 : 0));
        p.pad.left = fuzz_raw_or(in, fuzz_range(in, 0, p.filter.w > 1 && p.filter.w < 6 ? p.filter.w - 1 : 0));
        p.pad.right = fuzz_raw_or(in, fuzz_range(in, 0, p.filter.w > 1 && p.filter.w < 6 ? p.filter.w - 1 : 0));
    }
    p.output.n = fuzz_raw_or(in, p.input.n);
    p.output.c = fuzz_raw_or(in, kind == CONV_DEPTHWISE ? p.input.c : p.filter.n);
    p.output.h = window_out(p.input.h, p.filter.h, p.stride_h, p.pad.top, p.pad.bottom);
    p.output.w = window_out(p.input.w, p.filter.w, p.stride_w, p.pad.left, p.pad.right);
    p.output.h = fuzz_raw_or(in, p.output.h);
    p.output.w = fuzz_raw_or(in, p.output.w);
    p.input_zero_point = zero_point(in);
    p.output_zero_point = zero_point(in);
    act_range(in, &p.act_min, &p.act_max);

    in_bytes = bytes_of(shape_elems(&p.input), 1);
    filter_bytes = bytes_of(shape_elems(&p.filter), 1);
    out_bytes = bytes_of(shape_elems(&p.output), 1);
    bias_bytes = bytes_of(p.output.c, sizeof(int32_t));
    if (in_bytes == SIZE_MAX || filter_bytes == SIZE_MAX || out_bytes == SIZE_MAX || bias_bytes == SIZE_MAX ||
        !make_requant(in, &p.requant, &rq, p.output.c)) {
        return;
    }
    /* The scratch-size queries must be safe for any parameters. */
    scratch_ref = ref_size(&p);
    scratch_opt = opt_size(&p);
    if (scratch_ref > FUZZ_MAX_BYTES || scratch_opt > FUZZ_MAX_BYTES) {
        free_requant(&rq);
        return;
    }
    short_scratch = (fuzz_u8(in) & 7u) == 7u && scratch_opt > 0;
    if (fuzz_bool(in)) {
        bias = (int32_t *)input_buffer(in, bias_bytes);
    }
    input = (int8_t *)input_buffer(in, in_bytes);
    filter = (int8_t *)input_buffer(in, filter_bytes);
    out_ref = (int8_t *)guarded_buffer(out_bytes);
    out_opt = (int8_t *)guarded_buffer(out_bytes);
    {
        const size_t scratch_bytes = scratch_ref > scratch_opt ? scratch_ref : scratch_opt;
        const size_t given = short_scratch ? scratch_opt - 1 : scratch_bytes;
        scratch = scratch_bytes ? malloc(scratch_bytes) : NULL;
        s_ref = ref(&p, input, filter, bias, out_ref, scratch, given);
        s_opt = opt(&p, input, filter, bias, out_opt, scratch, given);
        if (short_scratch) {
            FUZZ_CHECK(s_opt != EA_OK);
            FUZZ_CHECK(untouched(out_opt, out_bytes));
        } else {
            compare(s_ref, s_opt, out_ref, out_opt, out_bytes);
        }
    }
    free(scratch);
    free(input);
    free(filter);
    free(bias);
    free(out_ref);
    free(out_opt);
    free_requant(&rq);
}

/* ---------------------------------------------------------------- fully connected */

static void fuzz_fc(fuzz_input_t *in) {
    ea_fc_params_t p;
    requant_arrays_t rq;
    size_t in_bytes, w_bytes, out_bytes, bias_bytes, scratch_bytes;
    int8_t *input, *weights, *out_ref, *out_opt;
    int32_t *bias = NULL;
    void *scratch;
    ea_status_t s_ref, s_opt;

    memset(&p, 0, sizeof p);
    p.batches = fuzz_raw_or(in, fuzz_range(in, 1, 3));
    p.in_features = fuzz_raw_or(in, fuzz_range(in, 1, 300));
    p.out_features = fuzz_raw_or(in, fuzz_range(in, 1, 40));
    p.input_zero_point = zero_point(in);
    p.output_zero_point = zero_point(in);
    act_range(in, &p.act_min, &p.act_max);
    in_bytes = bytes_of((int64_t)p.batches * (p.in_features > 0 ? p.in_features : 0), 1);
    w_bytes = bytes_of((int64_t)p.out_features * (p.in_features > 0 ? p.in_features : 0), 1);
    out_bytes = bytes_of((int64_t)p.batches * (p.out_features > 0 ? p.out_features : 0), 1);
    bias_bytes = bytes_of(p.out_features, sizeof(int32_t));
    if (in_bytes == SIZE_MAX || w_bytes == SIZE_MAX || out_bytes == SIZE_MAX || bias_bytes == SIZE_MAX ||
        !make_requant(in, &p.requant, &rq, p.out_features)) {
        return;
    }
    scratch_bytes = ea_kernels_optimized.fully_connected_s8_scratch_size(&p);
    if (ea_kernels_reference.fully_connected_s8_scratch_size(&p) > scratch_bytes) {
        scratch_bytes = ea_kernels_reference.fully_connected_s8_scratch_size(&p);
    }
    if (scratch_bytes > FUZZ_MAX_BYTES) {
        free_requant(&rq);
        return;
    }
    if (fuzz_bool(in)) {
        bias = (int32_t *)input_buffer(in, bias_bytes);
    }
    input = (int8_t *)input_buffer(in, in_bytes);
    weights = (int8_t *)input_buffer(in, w_bytes);
    out_ref = (int8_t *)guarded_buffer(out_bytes);
    out_opt = (int8_t *)guarded_buffer(out_bytes);
    scratch = scratch_bytes ? malloc(scratch_bytes) : NULL;
    s_ref = ea_kernels_reference.fully_connected_s8(&p, input, weights, bias, out_ref, scratch, scratch_bytes);
    s_opt = ea_kernels_optimized.fully_connected_s8(&p, input, weights, bias, out_opt, scratch, scratch_bytes);
    compare(s_ref, s_opt, out_ref, out_opt, out_bytes);
    free(scratch);
    free(input);
    free(weights);
    free(bias);
    free(out_ref);
    free(out_opt);
    free_requant(&rq);
}

/* ---------------------------------------------------------------- pooling */

static void fuzz_pool(fuzz_input_t *in, int average) {
    ea_pool_params_t p;
    size_t in_bytes, out_bytes;
    int8_t *input, *out_ref, *out_opt;
    ea_status_t s_ref, s_opt;
    const ea_pool_fn ref = average ? ea_kernels_reference.avg_pool2d_s8 : ea_kernels_reference.max_pool2d_s8;
    const ea_pool_fn opt = average ? ea_kernels_optimized.avg_pool2d_s8 : ea_kernels_optimized.max_pool2d_s8;

    memset(&p, 0, sizeof p);
    p.input.n = fuzz_raw_or(in, fuzz_range(in, 1, 2));
    p.input.h = fuzz_raw_or(in, fuzz_range(in, 1, 24));
    p.input.w = fuzz_raw_or(in, fuzz_range(in, 1, 24));
    p.input.c = fuzz_raw_or(in, fuzz_range(in, 1, 16));
    p.filter_h = fuzz_raw_or(in, fuzz_range(in, 1, 4));
    p.filter_w = fuzz_raw_or(in, fuzz_range(in, 1, 4));
    p.stride_h = fuzz_raw_or(in, fuzz_range(in, 1, 3));
    p.stride_w = fuzz_raw_or(in, fuzz_range(in, 1, 3));
    p.pad.top = fuzz_raw_or(in, fuzz_range(in, 0, 1));
    p.pad.bottom = fuzz_raw_or(in, fuzz_range(in, 0, 1));
    p.pad.left = fuzz_raw_or(in, fuzz_range(in, 0, 1));
    p.pad.right = fuzz_raw_or(in, fuzz_range(in, 0, 1));
    act_range(in, &p.act_min, &p.act_max);
    p.output.n = fuzz_raw_or(in, p.input.n);
    p.output.c = fuzz_raw_or(in, p.input.c);
    p.output.h = window_out(p.input.h, p.filter_h, p.stride_h, p.pad.top, p.pad.bottom);
    p.output.w = window_out(p.input.w, p.filter_w, p.stride_w, p.pad.left, p.pad.right);
    p.output.h = fuzz_raw_or(in, p.output.h);
    p.output.w = fuzz_raw_or(in, p.output.w);
    in_bytes = bytes_of(shape_elems(&p.input), 1);
    out_bytes = bytes_of(shape_elems(&p.output), 1);
    if (in_bytes == SIZE_MAX || out_bytes == SIZE_MAX) {
        return;
    }
    input = (int8_t *)input_buffer(in, in_bytes);
    out_ref = (int8_t *)guarded_buffer(out_bytes);
    out_opt = (int8_t *)guarded_buffer(out_bytes);
    s_ref = ref(&p, input, out_ref);
    s_opt = opt(&p, input, out_opt);
    compare(s_ref, s_opt, out_ref, out_opt, out_bytes);
    free(input);
    free(out_ref);
    free(out_opt);
}

static void fuzz_mean(fuzz_input_t *in) {
    ea_mean_params_t p;
    size_t in_bytes, out_bytes;
    int8_t *input, *out_ref, *out_opt;
    ea_status_t s_ref, s_opt;

    memset(&p, 0, sizeof p);
    p.input.n = fuzz_raw_or(in, fuzz_range(in, 1, 2));
    p.input.h = fuzz_raw_or(in, fuzz_range(in, 1, 16));
    p.input.w = fuzz_raw_or(in, fuzz_range(in, 1, 16));
    p.input.c = fuzz_raw_or(in, fuzz_range(in, 1, 16));
    p.input_zero_point = zero_point(in);
    p.output_zero_point = zero_point(in);
    p.multiplier = multiplier(in);
    p.shift = shift(in);
    act_range(in, &p.act_min, &p.act_max);
    in_bytes = bytes_of(shape_elems(&p.input), 1);
    out_bytes = bytes_of(p.input.n > 0 && p.input.c > 0 ? (int64_t)p.input.n * p.input.c : 0, 1);
    if (in_bytes == SIZE_MAX || out_bytes == SIZE_MAX) {
        return;
    }
    input = (int8_t *)input_buffer(in, in_bytes);
    out_ref = (int8_t *)guarded_buffer(out_bytes);
    out_opt = (int8_t *)guarded_buffer(out_bytes);
    s_ref = ea_kernels_reference.global_avg_pool_s8(&p, input, out_ref);
    s_opt = ea_kernels_optimized.global_avg_pool_s8(&p, input, out_opt);
    compare(s_ref, s_opt, out_ref, out_opt, out_bytes);
    free(input);
    free(out_ref);
    free(out_opt);
}

/* ---------------------------------------------------------------- elementwise */

static void fuzz_add(fuzz_input_t *in) {
    ea_add_params_t p;
    size_t bytes;
    int8_t *a, *b, *out_ref, *out_opt;
    ea_status_t s_ref, s_opt;

    p.size = fuzz_raw_or(in, fuzz_range(in, 1, 512));
    p.input1_zero_point = zero_point(in);
    p.input2_zero_point = zero_point(in);
    p.output_zero_point = zero_point(in);
    p.left_shift = fuzz_raw_or(in, 20);
    p.input1_multiplier = multiplier(in);
    p.input1_shift = shift(in);
    p.input2_multiplier = multiplier(in);
    p.input2_shift = shift(in);
    p.output_multiplier = multiplier(in);
    p.output_shift = shift(in);
    act_range(in, &p.act_min, &p.act_max);
    bytes = bytes_of(p.size, 1);
    if (bytes == SIZE_MAX) {
        return;
    }
    a = (int8_t *)input_buffer(in, bytes);
    b = (int8_t *)input_buffer(in, bytes);
    out_ref = (int8_t *)guarded_buffer(bytes);
    out_opt = (int8_t *)guarded_buffer(bytes);
    s_ref = ea_kernels_reference.add_s8(&p, a, b, out_ref);
    s_opt = ea_kernels_optimized.add_s8(&p, a, b, out_opt);
    compare(s_ref, s_opt, out_ref, out_opt, bytes);
    free(a);
    free(b);
    free(out_ref);
    free(out_opt);
}

static void fuzz_softmax(fuzz_input_t *in) {
    ea_softmax_params_t p;
    size_t bytes;
    int8_t *x, *out_ref, *out_opt;
    ea_status_t s_ref, s_opt;

    p.rows = fuzz_raw_or(in, fuzz_range(in, 1, 4));
    p.depth = fuzz_raw_or(in, fuzz_range(in, 1, EA_SOFTMAX_MAX_DEPTH + 2));
    p.input_multiplier = multiplier(in);
    p.input_left_shift = fuzz_raw_or(in, fuzz_range(in, 0, 31));
    p.diff_min = fuzz_raw_or(in, -fuzz_range(in, 0, 4096));
    bytes = bytes_of(p.rows > 0 && p.depth > 0 ? (int64_t)p.rows * p.depth : 0, 1);
    if (bytes == SIZE_MAX) {
        return;
    }
    x = (int8_t *)input_buffer(in, bytes);
    out_ref = (int8_t *)guarded_buffer(bytes);
    out_opt = (int8_t *)guarded_buffer(bytes);
    s_ref = ea_kernels_reference.softmax_s8(&p, x, out_ref);
    s_opt = ea_kernels_optimized.softmax_s8(&p, x, out_opt);
    compare(s_ref, s_opt, out_ref, out_opt, bytes);
    free(x);
    free(out_ref);
    free(out_opt);
}

static void fuzz_quantize(fuzz_input_t *in) {
    ea_quantize_params_t p;
    size_t in_bytes, out_bytes;
    float *x;
    int8_t *out_ref, *out_opt;
    ea_status_t s_ref, s_opt;
    int32_t raw_scale;

    p.size = fuzz_raw_or(in, fuzz_range(in, 1, 256));
    raw_scale = fuzz_i32(in); /* any bit pattern: NaN, inf, denormal, negative */
    memcpy(&p.scale, &raw_scale, sizeof p.scale);
    p.zero_point = zero_point(in);
    in_bytes = bytes_of(p.size, sizeof(float));
    out_bytes = bytes_of(p.size, 1);
    if (in_bytes == SIZE_MAX || out_bytes == SIZE_MAX) {
        return;
    }
    x = (float *)input_buffer(in, in_bytes);
    out_ref = (int8_t *)guarded_buffer(out_bytes);
    out_opt = (int8_t *)guarded_buffer(out_bytes);
    s_ref = ea_kernels_reference.quantize_s8(&p, x, out_ref);
    s_opt = ea_kernels_optimized.quantize_s8(&p, x, out_opt);
    compare(s_ref, s_opt, out_ref, out_opt, out_bytes);
    free(x);
    free(out_ref);
    free(out_opt);
}

static void fuzz_requantize(fuzz_input_t *in) {
    ea_requantize_params_t p;
    size_t bytes;
    int8_t *x, *out_ref, *out_opt;
    ea_status_t s_ref, s_opt;

    p.size = fuzz_raw_or(in, fuzz_range(in, 1, 512));
    p.input_zero_point = zero_point(in);
    p.output_zero_point = zero_point(in);
    p.multiplier = multiplier(in);
    p.shift = shift(in);
    bytes = bytes_of(p.size, 1);
    if (bytes == SIZE_MAX) {
        return;
    }
    x = (int8_t *)input_buffer(in, bytes);
    out_ref = (int8_t *)guarded_buffer(bytes);
    out_opt = (int8_t *)guarded_buffer(bytes);
    s_ref = ea_kernels_reference.requantize_s8(&p, x, out_ref);
    s_opt = ea_kernels_optimized.requantize_s8(&p, x, out_opt);
    compare(s_ref, s_opt, out_ref, out_opt, bytes);
    free(x);
    free(out_ref);
    free(out_opt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_input_t in = fuzz_input(data, size);
    switch (fuzz_u8(&in) % 11u) {
    case 0:
        fuzz_conv(&in, CONV_GENERAL);
        break;
    case 1:
        fuzz_conv(&in, CONV_DEPTHWISE);
        break;
    case 2:
        fuzz_conv(&in, CONV_POINTWISE);
        break;
    case 3:
        fuzz_fc(&in);
        break;
    case 4:
        fuzz_pool(&in, 0);
        break;
    case 5:
        fuzz_pool(&in, 1);
        break;
    case 6:
        fuzz_mean(&in);
        break;
    case 7:
        fuzz_add(&in);
        break;
    case 8:
        fuzz_softmax(&in);
        break;
    case 9:
        fuzz_quantize(&in);
        break;
    default:
        fuzz_requantize(&in);
        break;
    }
    return 0;
}
