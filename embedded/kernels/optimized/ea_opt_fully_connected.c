/*
 * Optimized fully connected: each batch row becomes an int16 column (input
 * offset added once), then every pair of weight rows is run against it with
 * SMLAD, the int8 weights widened in registers (SXTB16): a weight is used
 * once per batch row, so widening it into scratch first would not pay.
 *
 * Column layout: the k & ~3 leading inputs in groups of 4 in SXTB16 lane
 * order (x0, x2, x1, x3, see ea_opt_gemm.h), then the k % 4 last ones in
 * natural order. Requantization parameters are prepared per row pair (a
 * table for every output would need out_features * 20 bytes of scratch);
 * that costs a few instructions per output against k MACs.
 */
#include "ea_kernels.h"
#include "ea_opt_gemm.h"
#include "ea_simd.h"
#include "ea_validate.h"

static size_t fc_scratch_size(const ea_fc_params_t *p) {
    if (p == NULL || p->in_features < 1 || p->in_features > EA_MAX_DOT_LENGTH) {
        return 0;
    }
    return (size_t)ea_opt_round4(p->in_features) * sizeof(int16_t);
}

/* dot(int8 weight row, column) for the column layout above. */
static inline int32_t dot_row(const int8_t *w, const int16_t *col, int32_t k, int32_t acc) {
    const int16_t *tail = col + (k & ~3);
    int32_t n, t;
    for (n = k >> 2; n > 0; --n, w += 4, col += 4) {
        const uint32_t wv = ea_load_u32(w);
        acc = ea_smlad(ea_sxtb16(wv), ea_load_u32_aligned(col), acc);
        acc = ea_smlad(ea_sxtb16_ror8(wv), ea_load_u32_aligned(col + 2), acc);
    }
    for (t = 0; t < (k & 3); ++t) {
        acc = (int32_t)((uint32_t)acc + (uint32_t)(w[t] * tail[t]));
    }
    return acc;
}

static void fc_row(const ea_fc_params_t *p, const int8_t *weights, const int32_t *bias, const int16_t *col,
                   int8_t *out) {
    const int32_t k = p->in_features;
    ea_opt_output_t o;
    int32_t row;
    o.output_zero_point = p->output_zero_point;
    o.act_min = p->act_min;
    o.act_max = p->act_max;
    for (row = 0; row < p->out_features; row += 2) {
        const int32_t count = row + 1 < p->out_features ? 2 : 1;
        ea_opt_channel_t ch[2];
        int32_t i;
        const int fast = ea_opt_prepare_channels(&p->requant, bias, o.output_zero_point, row, count, ch);
        for (i = 0; i < count; ++i) {
            const int32_t acc = dot_row(weights + (row + i) * k, col, k, ch[i].bias);
            out[row + i] = fast ? ea_opt_requantize(acc, &ch[i], &o, 1, 0) : ea_opt_requantize(acc, &ch[i], &o, 0, 0);
        }
    }
}

ea_status_t ea_opt_fully_connected_s8(const ea_fc_params_t *params, const int8_t *input, const int8_t *weights,
                                      const int32_t *bias, int8_t *output, void *scratch, size_t scratch_size) {
    const ea_fc_params_t *p = params;
    ea_status_t status = ea_validate_fc(p, input, weights, output);
    int16_t *col = (int16_t *)scratch;
    int32_t b;
    if (status == EA_OK) {
        status = ea_validate_scratch(scratch, scratch_size, fc_scratch_size(p));
    }
    if (status != EA_OK) {
        return status;
    }
    for (b = 0; b < p->batches; ++b) {
        const int8_t *x = input + b * p->in_features;
        const int32_t whole = p->in_features & ~3;
        int32_t t;
        ea_opt_widen_run(x, whole, whole, -p->input_zero_point, col, 4);
        for (t = whole; t < p->in_features; ++t) {
            col[t] = (int16_t)(x[t] - p->input_zero_point);
        }
        fc_row(p, weights, bias, col, output + b * p->out_features);
    }
    return EA_OK;
}

size_t ea_opt_fully_connected_s8_scratch_size(const ea_fc_params_t *params) { return fc_scratch_size(params); }
