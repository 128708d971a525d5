/* Parameter validation shared by both kernel sets (see ea_validate.h). */
#include "ea_validate.h"

#include <float.h>
#include <stdint.h>

/* Element counts are computed in 64 bits so that absurd shapes are rejected
 * instead of wrapping; every tensor must be indexable with int32_t. */
static int shape_ok(const ea_shape_t *s) {
    if (s->n < 1 || s->h < 1 || s->w < 1 || s->c < 1) {
        return 0;
    }
    return (int64_t)s->n * s->h * s->w * s->c <= INT32_MAX;
}

static int int8_value_ok(int32_t v) { return v >= -128 && v <= 127; }

static int act_ok(int32_t act_min, int32_t act_max) {
    return act_min >= -128 && act_min <= act_max && act_max <= 127;
}

static int shift_ok(int32_t shift) { return shift >= -31 && shift <= 31; }

static int padding_ok(const ea_padding_t *pad) {
    return pad->top >= 0 && pad->bottom >= 0 && pad->left >= 0 && pad->right >= 0;
}

/* (in + before + after - kernel) / stride + 1, or -1 when the window does not
 * fit or the padded extent exceeds int32 (the kernels index windows with
 * out * stride - before in int32, which overflowed for pads near INT32_MAX). */
static int64_t window_output_size(int32_t in, int32_t kernel, int32_t stride, int32_t before, int32_t after) {
    const int64_t padded = (int64_t)in + before + after;
    const int64_t span = padded - kernel;
    return span < 0 || padded > INT32_MAX ? -1 : span / stride + 1;
}

static ea_status_t requant_ok(const ea_requant_t *r, int32_t channels) {
    int32_t i;
    if (r->multiplier == NULL || r->shift == NULL) {
        return EA_ERR_NULL_POINTER;
    }
    if (r->count != 1 && r->count != channels) {
        return EA_ERR_BAD_PARAM;
    }
    for (i = 0; i < r->count; ++i) {
        if (!shift_ok(r->shift[i])) {
            return EA_ERR_BAD_PARAM;
        }
    }
    return EA_OK;
}

ea_status_t ea_validate_conv(const ea_conv_params_t *p, ea_conv_kind_t kind, const int8_t *input,
                             const int8_t *filter, const int8_t *output) {
    int64_t dot_length;
    if (p == NULL || input == NULL || filter == NULL || output == NULL) {
        return EA_ERR_NULL_POINTER;
    }
    if (!shape_ok(&p->input) || !shape_ok(&p->filter) || !shape_ok(&p->output) || p->output.n != p->input.n) {
        return EA_ERR_BAD_DIMS;
    }
    if (kind == EA_CONV_DEPTHWISE) {
        if (p->filter.n != 1 || p->filter.c != p->output.c) {
            return EA_ERR_BAD_DIMS;
        }
        if (p->output.c != p->input.c) {
            return EA_ERR_UNSUPPORTED; /* depth multiplier != 1 */
        }
        dot_length = (int64_t)p->filter.h * p->filter.w;
    } else {
        if (p->filter.c != p->input.c || p->filter.n != p->output.c) {
            return EA_ERR_BAD_DIMS;
        }
        dot_length = (int64_t)p->filter.h * p->filter.w * p->filter.c;
    }
    if (dot_length > EA_MAX_DOT_LENGTH) {
        return EA_ERR_BAD_DIMS;
    }
    if (p->stride_h < 1 || p->stride_w < 1 || !padding_ok(&p->pad)) {
        return EA_ERR_BAD_PARAM;
    }
    if (kind == EA_CONV_POINTWISE && (p->filter.h != 1 || p->filter.w != 1 || p->pad.top != 0 ||
                                      p->pad.bottom != 0 || p->pad.left != 0 || p->pad.right != 0)) {
        return EA_ERR_BAD_PARAM;
    }
    if (window_output_size(p->input.h, p->filter.h, p->stride_h, p->pad.top, p->pad.bottom) != p->output.h ||
        window_output_size(p->input.w, p->filter.w, p->stride_w, p->pad.left, p->pad.right) != p->output.w) {
        return EA_ERR_BAD_DIMS;
    }
    if (!int8_value_ok(p->input_zero_point) || !int8_value_ok(p->output_zero_point) ||
        !act_ok(p->act_min, p->act_max)) {
        return EA_ERR_BAD_PARAM;
    }
    return requant_ok(&p->requant, p->output.c);
}

ea_status_t ea_validate_fc(const ea_fc_params_t *p, const int8_t *input, const int8_t *weights,
                           const int8_t *output) {
    if (p == NULL || input == NULL || weights == NULL || output == NULL) {
        return EA_ERR_NULL_POINTER;
    }
    if (p->batches < 1 || p->in_features < 1 || p->out_features < 1 || p->in_features > EA_MAX_DOT_LENGTH ||
        (int64_t)p->batches * p->in_features > INT32_MAX || (int64_t)p->batches * p->out_features > INT32_MAX ||
        (int64_t)p->out_features * p->in_features > INT32_MAX) {
        return EA_ERR_BAD_DIMS;
    }
    if (!int8_value_ok(p->input_zero_point) || !int8_value_ok(p->output_zero_point) ||
        !act_ok(p->act_min, p->act_max)) {
        return EA_ERR_BAD_PARAM;
    }
    return requant_ok(&p->requant, p->out_features);
}

ea_status_t ea_validate_pool(const ea_pool_params_t *p, const int8_t *input, const int8_t *output) {
    if (p == NULL || input == NULL || output == NULL) {
        return EA_ERR_NULL_POINTER;
    }
    if (!shape_ok(&p->input) || !shape_ok(&p->output) || p->output.n != p->input.n || p->output.c != p->input.c) {
        return EA_ERR_BAD_DIMS;
    }
    if (p->filter_h < 1 || p->filter_w < 1 || p->stride_h < 1 || p->stride_w < 1 || !padding_ok(&p->pad) ||
        p->pad.top >= p->filter_h || p->pad.bottom >= p->filter_h || p->pad.left >= p->filter_w ||
        p->pad.right >= p->filter_w || !act_ok(p->act_min, p->act_max)) {
        return EA_ERR_BAD_PARAM; /* padding < filter keeps every window non-empty */
    }
    if (window_output_size(p->input.h, p->filter_h, p->stride_h, p->pad.top, p->pad.bottom) != p->output.h ||
        window_output_size(p->input.w, p->filter_w, p->stride_w, p->pad.left, p->pad.right) != p->output.w) {
        return EA_ERR_BAD_DIMS;
    }
    return EA_OK;
}

ea_status_t ea_validate_mean(const ea_mean_params_t *p, const int8_t *input, const int8_t *output) {
    if (p == NULL || input == NULL || output == NULL) {
        return EA_ERR_NULL_POINTER;
    }
    if (!shape_ok(&p->input) || (int64_t)p->input.h * p->input.w > EA_MAX_DOT_LENGTH) {
        return EA_ERR_BAD_DIMS;
    }
    if (!int8_value_ok(p->input_zero_point) || !int8_value_ok(p->output_zero_point) || !shift_ok(p->shift) ||
        !act_ok(p->act_min, p->act_max)) {
        return EA_ERR_BAD_PARAM;
    }
    return EA_OK;
}

ea_status_t ea_validate_add(const ea_add_params_t *p, const int8_t *input1, const int8_t *input2,
                            const int8_t *output) {
    if (p == NULL || input1 == NULL || input2 == NULL || output == NULL) {
        return EA_ERR_NULL_POINTER;
    }
    if (p->size < 1) {
        return EA_ERR_BAD_DIMS;
    }
    /* left_shift <= 23 keeps (x - zp) * 2^left_shift inside int32. */
    if (!int8_value_ok(p->input1_zero_point) || !int8_value_ok(p->input2_zero_point) ||
        !int8_value_ok(p->output_zero_point) || p->left_shift < 0 || p->left_shift > 23 ||
        !shift_ok(p->input1_shift) || !shift_ok(p->input2_shift) || !shift_ok(p->output_shift) ||
        !act_ok(p->act_min, p->act_max)) {
        return EA_ERR_BAD_PARAM;
    }
    return EA_OK;
}

ea_status_t ea_validate_softmax(const ea_softmax_params_t *p, const int8_t *input, const int8_t *output) {
    if (p == NULL || input == NULL || output == NULL) {
        return EA_ERR_NULL_POINTER;
    }
    if (p->rows < 1 || p->depth < 1 || p->depth > EA_SOFTMAX_MAX_DEPTH || (int64_t)p->rows * p->depth > INT32_MAX) {
        return EA_ERR_BAD_DIMS;
    }
    if (p->input_left_shift < 0 || p->input_left_shift > 31 || p->diff_min > 0) {
        return EA_ERR_BAD_PARAM;
    }
    return EA_OK;
}

ea_status_t ea_validate_quantize(const ea_quantize_params_t *p, const float *input, const int8_t *output) {
    if (p == NULL || input == NULL || output == NULL) {
        return EA_ERR_NULL_POINTER;
    }
    if (p->size < 1) {
        return EA_ERR_BAD_DIMS;
    }
    if (!(p->scale > 0.0f && p->scale <= FLT_MAX) || !int8_value_ok(p->zero_point)) {
        return EA_ERR_BAD_PARAM; /* also rejects NaN */
    }
    return EA_OK;
}

ea_status_t ea_validate_requantize(const ea_requantize_params_t *p, const int8_t *input, const int8_t *output) {
    if (p == NULL || input == NULL || output == NULL) {
        return EA_ERR_NULL_POINTER;
    }
    if (p->size < 1) {
        return EA_ERR_BAD_DIMS;
    }
    if (!int8_value_ok(p->input_zero_point) || !int8_value_ok(p->output_zero_point) || !shift_ok(p->shift)) {
        return EA_ERR_BAD_PARAM;
    }
    return EA_OK;
}

ea_status_t ea_validate_scratch(const void *scratch, size_t scratch_size, size_t required) {
    if (required == 0) {
        return EA_OK;
    }
    if (scratch == NULL) {
        return EA_ERR_NULL_POINTER;
    }
    if (((uintptr_t)scratch & 3u) != 0) {
        return EA_ERR_MISALIGNED;
    }
    return scratch_size < required ? EA_ERR_SCRATCH_TOO_SMALL : EA_OK;
}
