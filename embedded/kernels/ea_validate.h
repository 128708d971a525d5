/*
 * Parameter validation shared by the reference and optimized kernel sets, so
 * both accept and reject exactly the same calls (and with the same codes as the
 * numpy reference's InputError cases). Internal to embedded/kernels.
 */
#ifndef EA_VALIDATE_H
#define EA_VALIDATE_H

#include <stddef.h>

#include "ea_kernels.h"

typedef enum { EA_CONV_GENERAL, EA_CONV_DEPTHWISE, EA_CONV_POINTWISE } ea_conv_kind_t;

ea_status_t ea_validate_conv(const ea_conv_params_t *p, ea_conv_kind_t kind, const int8_t *input,
                             const int8_t *filter, const int8_t *output);
ea_status_t ea_validate_fc(const ea_fc_params_t *p, const int8_t *input, const int8_t *weights,
                           const int8_t *output);
ea_status_t ea_validate_pool(const ea_pool_params_t *p, const int8_t *input, const int8_t *output);
ea_status_t ea_validate_mean(const ea_mean_params_t *p, const int8_t *input, const int8_t *output);
ea_status_t ea_validate_add(const ea_add_params_t *p, const int8_t *input1, const int8_t *input2,
                            const int8_t *output);
ea_status_t ea_validate_softmax(const ea_softmax_params_t *p, const int8_t *input, const int8_t *output);
ea_status_t ea_validate_quantize(const ea_quantize_params_t *p, const float *input, const int8_t *output);
ea_status_t ea_validate_requantize(const ea_requantize_params_t *p, const int8_t *input, const int8_t *output);

/* A scratch buffer of `required` bytes: NULL is fine when nothing is required. */
ea_status_t ea_validate_scratch(const void *scratch, size_t scratch_size, size_t required);

/* The rows/cols of pooling window (oy, ox) that fall inside the input;
   shared by the reference and optimized pooling kernels. */
typedef struct {
    int32_t y0, y1, x0, x1;
} ea_window_t;

static inline ea_window_t ea_pool_window(const ea_pool_params_t *p, int32_t oy, int32_t ox) {
    ea_window_t win;
    const int32_t in_y = oy * p->stride_h - p->pad.top;
    const int32_t in_x = ox * p->stride_w - p->pad.left;
    win.y0 = in_y < 0 ? 0 : in_y;
    win.y1 = in_y + p->filter_h > p->input.h ? p->input.h : in_y + p->filter_h;
    win.x0 = in_x < 0 ? 0 : in_x;
    win.x1 = in_x + p->filter_w > p->input.w ? p->input.w : in_x + p->filter_w;
    return win;
}

#endif /* EA_VALIDATE_H */
