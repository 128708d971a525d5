/*
 * Kernel benchmark harness (QEMU Cortex-M4 or host): runs every layer of a
 * linked-in table through the reference set, then the optimized set, each
 * call alone between the measurement markers (regions 2i and 2i + 1), and
 * counts the output bytes on which the two sets differ.
 *
 * Linked-in data (written by embedded/tools/bench_kernels.py with
 * toolchain.write_data_source):
 *   ea_bench_layers      LAYER_FIELDS int32 per layer (see the enum)
 *   ea_bench_multiplier  per-channel requantization of the conv-like layers,
 *   ea_bench_shift       c_out entries per such layer, in table order
 *   ea_bench_add         ADD_FIELDS int32: the residual add's parameters
 *   ea_bench_misc        mean multiplier, mean shift, softmax multiplier,
 *                        softmax left shift, softmax diff_min
 * Inputs, weights and biases come from a fixed xorshift stream, so every run
 * (and both sets) sees the same data. Prints EA_VALUE mismatch_<i> per layer
 * and EA_VALUE status_<i> (non-zero: a kernel rejected the call).
 */
#include <stddef.h>
#include <stdint.h>

#include "ea_harness.h"
#include "ea_kernels.h"

enum { KIND_CONV, KIND_DEPTHWISE, KIND_POINTWISE, KIND_MAX_POOL, KIND_ADD, KIND_MEAN, KIND_SOFTMAX, KIND_FC };

enum {
    L_KIND, L_H, L_W, L_C_IN, L_C_OUT, L_KH, L_KW, L_STRIDE, L_PAD_T, L_PAD_B, L_PAD_L, L_PAD_R, L_IN_ZP, L_OUT_ZP,
    L_ACT_MIN, L_ACT_MAX, LAYER_FIELDS
};

enum {
    A_IN1_ZP, A_IN2_ZP, A_OUT_ZP, A_LEFT_SHIFT, A_IN1_MULT, A_IN1_SHIFT, A_IN2_MULT, A_IN2_SHIFT, A_OUT_MULT,
    A_OUT_SHIFT, A_ACT_MIN, A_ACT_MAX, ADD_FIELDS
};

enum { M_MEAN_MULT, M_MEAN_SHIFT, M_SOFTMAX_MULT, M_SOFTMAX_SHIFT, M_SOFTMAX_DIFF_MIN, MISC_FIELDS };

extern const int32_t ea_bench_layers[];
extern const size_t ea_bench_layers_len;
extern const int32_t ea_bench_multiplier[];
extern const int32_t ea_bench_shift[];
extern const int32_t ea_bench_add[];
extern const int32_t ea_bench_misc[];

#define BENCH_MAX_TENSOR (64 * 64 * 16)
#define BENCH_MAX_WEIGHTS (128 * 128 * 9)
#define BENCH_MAX_CHANNELS 1024
#define BENCH_MAX_SCRATCH (64 * 1024)

static int8_t input1[BENCH_MAX_TENSOR];
static int8_t input2[BENCH_MAX_TENSOR];
static int8_t weights[BENCH_MAX_WEIGHTS];
static int32_t bias[BENCH_MAX_CHANNELS];
static int8_t out_ref[BENCH_MAX_TENSOR];
static int8_t out_opt[BENCH_MAX_TENSOR];
static uint32_t scratch[BENCH_MAX_SCRATCH / 4];

static uint32_t rng_state = 0x9E3779B9u;

static uint32_t next_random(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

/* Uniform int8 in [lo, lo + span). */
static void fill_s8(int8_t *dst, int32_t n, int32_t lo, uint32_t span) {
    int32_t i;
    for (i = 0; i < n; ++i) {
        dst[i] = (int8_t)(lo + (int32_t)(next_random() % span));
    }
}

static void tag_of(char *tag, const char *prefix, size_t index) {
    while (*prefix != '\0') {
        *tag++ = *prefix++;
    }
    tag[0] = (char)('0' + (index / 100u) % 10u);
    tag[1] = (char)('0' + (index / 10u) % 10u);
    tag[2] = (char)('0' + index % 10u);
    tag[3] = '\0';
}

static int32_t output_size(const int32_t *l) {
    const int32_t stride = l[L_STRIDE];
    const int32_t oh = (l[L_H] + l[L_PAD_T] + l[L_PAD_B] - l[L_KH]) / stride + 1;
    const int32_t ow = (l[L_W] + l[L_PAD_L] + l[L_PAD_R] - l[L_KW]) / stride + 1;
    switch (l[L_KIND]) {
    case KIND_CONV:
    case KIND_DEPTHWISE:
    case KIND_POINTWISE:
        return oh * ow * l[L_C_OUT];
    case KIND_MAX_POOL:
        return oh * ow * l[L_C_IN];
    case KIND_MEAN:
        return l[L_C_IN];
    default: /* add, softmax, fc (h x w rows of c_in / c_out) */
        return l[L_H] * l[L_W] * (l[L_KIND] == KIND_FC ? l[L_C_OUT] : l[L_C_IN]);
    }
}

typedef struct {
    const int32_t *layer;
    ea_conv_params_t conv;
    ea_pool_params_t pool;
    ea_mean_params_t mean;
    ea_add_params_t add;
    ea_softmax_params_t softmax;
    ea_fc_params_t fc;
} bench_call_t;

static void describe(bench_call_t *call, const int32_t *l, const int32_t *multiplier, const int32_t *shift) {
    const int32_t oh = (l[L_H] + l[L_PAD_T] + l[L_PAD_B] - l[L_KH]) / l[L_STRIDE] + 1;
    const int32_t ow = (l[L_W] + l[L_PAD_L] + l[L_PAD_R] - l[L_KW]) / l[L_STRIDE] + 1;
    const ea_shape_t in = {1, l[L_H], l[L_W], l[L_C_IN]};
    const ea_padding_t pad = {l[L_PAD_T], l[L_PAD_B], l[L_PAD_L], l[L_PAD_R]};
    const ea_requant_t requant = {multiplier, shift, l[L_C_OUT]};
    const int32_t *a = ea_bench_add;
    ea_shape_t out = {1, oh, ow, l[L_C_OUT]};
    ea_shape_t filter = {l[L_C_OUT], l[L_KH], l[L_KW], l[L_C_IN]};

    call->layer = l;
    if (l[L_KIND] == KIND_DEPTHWISE) {
        filter.n = 1;
    }
    call->conv.input = in;
    call->conv.filter = filter;
    call->conv.output = out;
    call->conv.stride_h = call->conv.stride_w = l[L_STRIDE];
    call->conv.pad = pad;
    call->conv.input_zero_point = l[L_IN_ZP];
    call->conv.output_zero_point = l[L_OUT_ZP];
    call->conv.requant = requant;
    call->conv.act_min = l[L_ACT_MIN];
    call->conv.act_max = l[L_ACT_MAX];

    out.c = l[L_C_IN];
    call->pool.input = in;
    call->pool.output = out;
    call->pool.filter_h = l[L_KH];
    call->pool.filter_w = l[L_KW];
    call->pool.stride_h = call->pool.stride_w = l[L_STRIDE];
    call->pool.pad = pad;
    call->pool.act_min = l[L_ACT_MIN];
    call->pool.act_max = l[L_ACT_MAX];

    call->mean.input = in;
    call->mean.input_zero_point = l[L_IN_ZP];
    call->mean.output_zero_point = l[L_OUT_ZP];
    call->mean.multiplier = ea_bench_misc[M_MEAN_MULT];
    call->mean.shift = ea_bench_misc[M_MEAN_SHIFT];
    call->mean.act_min = l[L_ACT_MIN];
    call->mean.act_max = l[L_ACT_MAX];

    call->add.size = l[L_H] * l[L_W] * l[L_C_IN];
    call->add.input1_zero_point = a[A_IN1_ZP];
    call->add.input2_zero_point = a[A_IN2_ZP];
    call->add.output_zero_point = a[A_OUT_ZP];
    call->add.left_shift = a[A_LEFT_SHIFT];
    call->add.input1_multiplier = a[A_IN1_MULT];
    call->add.input1_shift = a[A_IN1_SHIFT];
    call->add.input2_multiplier = a[A_IN2_MULT];
    call->add.input2_shift = a[A_IN2_SHIFT];
    call->add.output_multiplier = a[A_OUT_MULT];
    call->add.output_shift = a[A_OUT_SHIFT];
    call->add.act_min = a[A_ACT_MIN];
    call->add.act_max = a[A_ACT_MAX];

    call->softmax.rows = l[L_H] * l[L_W];
    call->softmax.depth = l[L_C_IN];
    call->softmax.input_multiplier = ea_bench_misc[M_SOFTMAX_MULT];
    call->softmax.input_left_shift = ea_bench_misc[M_SOFTMAX_SHIFT];
    call->softmax.diff_min = ea_bench_misc[M_SOFTMAX_DIFF_MIN];

    call->fc.batches = l[L_H] * l[L_W];
    call->fc.in_features = l[L_C_IN];
    call->fc.out_features = l[L_C_OUT];
    call->fc.input_zero_point = l[L_IN_ZP];
    call->fc.output_zero_point = l[L_OUT_ZP];
    call->fc.requant = requant;
    call->fc.act_min = l[L_ACT_MIN];
    call->fc.act_max = l[L_ACT_MAX];
}

/* Scratch bytes the layer's kernel from `set` asks for (0 for kernels without scratch). */
static size_t scratch_bytes(const ea_kernel_set_t *set, const bench_call_t *call) {
    switch (call->layer[L_KIND]) {
    case KIND_CONV:
        return set->conv2d_s8_scratch_size(&call->conv);
    case KIND_DEPTHWISE:
        return set->depthwise_conv2d_s8_scratch_size(&call->conv);
    case KIND_POINTWISE:
        return set->pointwise_conv2d_s8_scratch_size(&call->conv);
    case KIND_FC:
        return set->fully_connected_s8_scratch_size(&call->fc);
    default:
        return 0;
    }
}

/* One measured call of the layer's kernel from `set` (the scratch size is
 * queried outside the region, as a runtime does once at plan time). */
static ea_status_t run_layer(const ea_kernel_set_t *set, const bench_call_t *call, int8_t *out) {
    const ea_conv_params_t *conv = &call->conv;
    const size_t scratch_size = scratch_bytes(set, call);
    /* an empty region when the harness's buffer is too small: regions stay 2 per layer */
    const int kind = scratch_size <= sizeof scratch ? (int)call->layer[L_KIND] : -1;
    ea_status_t status = kind < 0 ? EA_ERR_SCRATCH_TOO_SMALL : EA_ERR_UNSUPPORTED;
    ea_measure_begin();
    switch (kind) {
    case KIND_CONV:
        status = set->conv2d_s8(conv, input1, weights, bias, out, scratch, scratch_size);
        break;
    case KIND_DEPTHWISE:
        status = set->depthwise_conv2d_s8(conv, input1, weights, bias, out, scratch, scratch_size);
        break;
    case KIND_POINTWISE:
        status = set->pointwise_conv2d_s8(conv, input1, weights, bias, out, scratch, scratch_size);
        break;
    case KIND_MAX_POOL:
        status = set->max_pool2d_s8(&call->pool, input1, out);
        break;
    case KIND_ADD:
        status = set->add_s8(&call->add, input1, input2, out);
        break;
    case KIND_MEAN:
        status = set->global_avg_pool_s8(&call->mean, input1, out);
        break;
    case KIND_SOFTMAX:
        status = set->softmax_s8(&call->softmax, input1, out);
        break;
    case KIND_FC:
        status = set->fully_connected_s8(&call->fc, input1, weights, bias, out, scratch, scratch_size);
        break;
    default:
        break;
    }
    ea_measure_end();
    return status;
}

static int32_t count_mismatches(int32_t n) {
    int32_t i, bad = 0;
    for (i = 0; i < n; ++i) {
        bad += out_ref[i] != out_opt[i] ? 1 : 0;
    }
    return bad;
}

int ea_harness_run(void) {
    const size_t layers = ea_bench_layers_len / LAYER_FIELDS;
    size_t i;
    int32_t channel = 0; /* next entry of ea_bench_multiplier / ea_bench_shift */
    int failures = 0;
    for (i = 0; i < layers; ++i) {
        const int32_t *l = ea_bench_layers + i * LAYER_FIELDS;
        const int32_t in_size = l[L_H] * l[L_W] * l[L_C_IN];
        const int32_t out_size = output_size(l);
        const int conv_like = l[L_KIND] == KIND_CONV || l[L_KIND] == KIND_DEPTHWISE ||
                              l[L_KIND] == KIND_POINTWISE || l[L_KIND] == KIND_FC;
        const int32_t weight_count = l[L_KIND] == KIND_DEPTHWISE ? l[L_KH] * l[L_KW] * l[L_C_IN]
                                                                 : l[L_C_OUT] * l[L_KH] * l[L_KW] * l[L_C_IN];
        bench_call_t call;
        char tag[16];
        ea_status_t status_ref, status_opt;
        int32_t c;
        if (in_size > BENCH_MAX_TENSOR || out_size > BENCH_MAX_TENSOR || weight_count > BENCH_MAX_WEIGHTS ||
            l[L_C_OUT] > BENCH_MAX_CHANNELS) {
            tag_of(tag, "status_", i);
            ea_print_value(tag, -1);
            ++failures;
            continue;
        }
        fill_s8(input1, in_size, -128, 256u);
        fill_s8(input2, in_size, -128, 256u);
        if (conv_like) {
            fill_s8(weights, weight_count, -127, 255u);
            for (c = 0; c < l[L_C_OUT]; ++c) {
                bias[c] = (int32_t)(next_random() % 8001u) - 4000;
            }
        }
        describe(&call, l, ea_bench_multiplier + channel, ea_bench_shift + channel);
        if (conv_like) {
            channel += l[L_C_OUT];
        }
        status_ref = run_layer(&ea_kernels_reference, &call, out_ref);
        status_opt = run_layer(&ea_kernels_optimized, &call, out_opt);
        tag_of(tag, "status_", i);
        ea_print_value(tag, (int32_t)status_ref * 16 + (int32_t)status_opt);
        tag_of(tag, "mismatch_", i);
        ea_print_value(tag, count_mismatches(out_size));
        failures += (status_ref != EA_OK || status_opt != EA_OK || count_mismatches(out_size) != 0) ? 1 : 0;
    }
    return failures;
}
