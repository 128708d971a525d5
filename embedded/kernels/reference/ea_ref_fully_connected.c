/* Reference fully connected layer (TFLM FullyConnected / FullyConnectedPerChannel, int8). */
#include "ea_kernels.h"
#include "ea_quant.h"
#include "ea_validate.h"

ea_status_t ea_ref_fully_connected_s8(const ea_fc_params_t *params, const int8_t *input, const int8_t *weights,
                                      const int32_t *bias, int8_t *output, void *scratch, size_t scratch_size) {
    const ea_fc_params_t *p = params;
    ea_status_t status = ea_validate_fc(p, input, weights, output);
    int32_t b, o, i;
    if (status == EA_OK) {
        status = ea_validate_scratch(scratch, scratch_size, ea_ref_fully_connected_s8_scratch_size(p));
    }
    if (status != EA_OK) {
        return status;
    }
    for (b = 0; b < p->batches; ++b) {
        const int8_t *x = input + b * p->in_features;
        for (o = 0; o < p->out_features; ++o) {
            const int8_t *w = weights + o * p->in_features;
            const int32_t q = p->requant.count > 1 ? o : 0;
            int32_t acc = 0;
            for (i = 0; i < p->in_features; ++i) {
                acc += (int32_t)w[i] * ((int32_t)x[i] - p->input_zero_point);
            }
            if (bias != NULL) {
                acc = ea_wrap_add_s32(acc, bias[o]);
            }
            output[b * p->out_features + o] = ea_requantize_acc(acc, p->requant.multiplier[q], p->requant.shift[q],
                                                                p->output_zero_point, p->act_min, p->act_max);
        }
    }
    return EA_OK;
}

size_t ea_ref_fully_connected_s8_scratch_size(const ea_fc_params_t *params) {
    (void)params;
    return 0;
}
