/*
 * int8 kernels, TFLite-Micro / CMSIS-NN arithmetic, in two sets with one
 * interface:
 *   ea_ref_*  reference: plain loops, obviously correct;
 *   ea_opt_*  optimized for Cortex-M4 DSP (packed 16-bit SIMD, im2col);
 *             portable C fallbacks elsewhere, bit-exact with the reference.
 * The numpy reference (edge_affect/runtime/int8/kernels.py) has a function of
 * the same base name for each kernel and computes the same integers.
 *
 * Conventions: activations NHWC int8, per-tensor zero points; conv weights
 * OHWI, depthwise weights 1HWC (depth multiplier 1), fully-connected weights
 * [out][in]; weights symmetric (zero point 0); bias int32 or NULL.
 * Kernels use no heap and no globals; those needing scratch memory take it
 * from the caller and say how much through *_scratch_size() (4-byte aligned).
 * Each kernel validates its parameters first and returns an ea_status_t.
 */
#ifndef EA_KERNELS_H
#define EA_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "ea_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Longest dot product a kernel accepts: 65536 * |(x - zp) * w| <= 65536 * 255 * 128
 * < 2^31, so no int32 partial sum overflows in any summation order. */
#define EA_MAX_DOT_LENGTH 65536
/* Softmax row length limit: TFLM's final RoundingDivideByPOT exponent leaves
 * [0, 31] (undefined) once the sum of exps (each <= 1.0) reaches 512. */
#define EA_SOFTMAX_MAX_DEPTH 511

typedef struct {
    int32_t n;
    int32_t h;
    int32_t w;
    int32_t c;
} ea_shape_t;

typedef struct {
    int32_t top;
    int32_t bottom;
    int32_t left;
    int32_t right;
} ea_padding_t;

/* Requantization of int32 accumulators: real multiplier ~= multiplier * 2^(shift - 31)
 * (TFLite QuantizeMultiplier). count is 1 (per tensor) or the number of
 * output channels (per channel); shift in [-31, 31]. */
typedef struct {
    const int32_t *multiplier;
    const int32_t *shift;
    int32_t count;
} ea_requant_t;

/* conv2d, depthwise_conv2d and pointwise_conv2d. output h/w must equal
 * (in + pad_before + pad_after - kernel) / stride + 1. */
typedef struct {
    ea_shape_t input;  /* N, H, W, C_in */
    ea_shape_t filter; /* conv: C_out, KH, KW, C_in (OHWI); depthwise: 1, KH, KW, C */
    ea_shape_t output; /* N, OH, OW, C_out */
    int32_t stride_h;
    int32_t stride_w;
    ea_padding_t pad;
    int32_t input_zero_point;
    int32_t output_zero_point;
    ea_requant_t requant;
    int32_t act_min; /* fused ReLU / ReLU6 as a clamp, within [-128, 127] */
    int32_t act_max;
} ea_conv_params_t;

typedef struct {
    int32_t batches;
    int32_t in_features;
    int32_t out_features;
    int32_t input_zero_point;
    int32_t output_zero_point;
    ea_requant_t requant;
    int32_t act_min;
    int32_t act_max;
} ea_fc_params_t;

/* max / average pooling; every padding must be smaller than the filter. */
typedef struct {
    ea_shape_t input;
    ea_shape_t output;
    int32_t filter_h;
    int32_t filter_w;
    int32_t stride_h;
    int32_t stride_w;
    ea_padding_t pad;
    int32_t act_min;
    int32_t act_max;
} ea_pool_params_t;

/* Mean over H and W (TFLM int8 MEAN); output is N x 1 x 1 x C.
 * out = MBQM(sum - input_zero_point * H*W, multiplier, shift) + output_zero_point,
 * with 1/(H*W) folded into multiplier/shift (quant_math.mean_multiplier). */
typedef struct {
    ea_shape_t input;
    int32_t input_zero_point;
    int32_t output_zero_point;
    int32_t multiplier;
    int32_t shift;
    int32_t act_min;
    int32_t act_max;
} ea_mean_params_t;

/* Residual add of two same-shape tensors (TFLM ADD int8; quant_math.add_params). */
typedef struct {
    int32_t size;
    int32_t input1_zero_point;
    int32_t input2_zero_point;
    int32_t output_zero_point;
    int32_t left_shift; /* 20 for int8 */
    int32_t input1_multiplier;
    int32_t input1_shift;
    int32_t input2_multiplier;
    int32_t input2_shift;
    int32_t output_multiplier;
    int32_t output_shift;
    int32_t act_min;
    int32_t act_max;
} ea_add_params_t;

/* Softmax over rows of `depth` (TFLM int8; output scale 1/256, zero point -128;
 * quant_math.softmax_params). */
typedef struct {
    int32_t rows;
    int32_t depth;
    int32_t input_multiplier;
    int32_t input_left_shift;
    int32_t diff_min;
} ea_softmax_params_t;

/* float -> int8: round_half_away(x / scale) + zero_point in float32, saturated; NaN -> zero_point. */
typedef struct {
    int32_t size;
    float scale;
    int32_t zero_point;
} ea_quantize_params_t;

/* int8 -> int8 with another scale / zero point (TFLM Requantize). */
typedef struct {
    int32_t size;
    int32_t input_zero_point;
    int32_t output_zero_point;
    int32_t multiplier;
    int32_t shift;
} ea_requantize_params_t;

typedef ea_status_t (*ea_conv_fn)(const ea_conv_params_t *params, const int8_t *input, const int8_t *filter,
                                  const int32_t *bias, int8_t *output, void *scratch, size_t scratch_size);
typedef size_t (*ea_conv_scratch_fn)(const ea_conv_params_t *params);
typedef ea_status_t (*ea_fc_fn)(const ea_fc_params_t *params, const int8_t *input, const int8_t *weights,
                                const int32_t *bias, int8_t *output, void *scratch, size_t scratch_size);
typedef size_t (*ea_fc_scratch_fn)(const ea_fc_params_t *params);
typedef ea_status_t (*ea_pool_fn)(const ea_pool_params_t *params, const int8_t *input, int8_t *output);
typedef ea_status_t (*ea_mean_fn)(const ea_mean_params_t *params, const int8_t *input, int8_t *output);
typedef ea_status_t (*ea_add_fn)(const ea_add_params_t *params, const int8_t *input1, const int8_t *input2,
                                 int8_t *output);
typedef ea_status_t (*ea_softmax_fn)(const ea_softmax_params_t *params, const int8_t *input, int8_t *output);
typedef ea_status_t (*ea_quantize_fn)(const ea_quantize_params_t *params, const float *input, int8_t *output);
typedef ea_status_t (*ea_requantize_fn)(const ea_requantize_params_t *params, const int8_t *input,
                                        int8_t *output);

/* ---------------------------------------------------------------- reference set */
ea_status_t ea_ref_conv2d_s8(const ea_conv_params_t *params, const int8_t *input, const int8_t *filter,
                             const int32_t *bias, int8_t *output, void *scratch, size_t scratch_size);
size_t ea_ref_conv2d_s8_scratch_size(const ea_conv_params_t *params);
ea_status_t ea_ref_depthwise_conv2d_s8(const ea_conv_params_t *params, const int8_t *input, const int8_t *filter,
                                       const int32_t *bias, int8_t *output, void *scratch, size_t scratch_size);
size_t ea_ref_depthwise_conv2d_s8_scratch_size(const ea_conv_params_t *params);
ea_status_t ea_ref_pointwise_conv2d_s8(const ea_conv_params_t *params, const int8_t *input, const int8_t *filter,
                                       const int32_t *bias, int8_t *output, void *scratch, size_t scratch_size);
size_t ea_ref_pointwise_conv2d_s8_scratch_size(const ea_conv_params_t *params);
ea_status_t ea_ref_fully_connected_s8(const ea_fc_params_t *params, const int8_t *input, const int8_t *weights,
                                      const int32_t *bias, int8_t *output, void *scratch, size_t scratch_size);
size_t ea_ref_fully_connected_s8_scratch_size(const ea_fc_params_t *params);
ea_status_t ea_ref_max_pool2d_s8(const ea_pool_params_t *params, const int8_t *input, int8_t *output);
ea_status_t ea_ref_avg_pool2d_s8(const ea_pool_params_t *params, const int8_t *input, int8_t *output);
ea_status_t ea_ref_global_avg_pool_s8(const ea_mean_params_t *params, const int8_t *input, int8_t *output);
ea_status_t ea_ref_add_s8(const ea_add_params_t *params, const int8_t *input1, const int8_t *input2,
                          int8_t *output);
ea_status_t ea_ref_softmax_s8(const ea_softmax_params_t *params, const int8_t *input, int8_t *output);
ea_status_t ea_ref_quantize_s8(const ea_quantize_params_t *params, const float *input, int8_t *output);
ea_status_t ea_ref_requantize_s8(const ea_requantize_params_t *params, const int8_t *input, int8_t *output);

/* ---------------------------------------------------------------- optimized set
 * Kernels without an ea_opt_ version (pooling, mean, add, softmax, quantize,
 * requantize: memory-bound, a few percent of a model's cycles) use the
 * reference implementation in ea_kernels_optimized. */
ea_status_t ea_opt_conv2d_s8(const ea_conv_params_t *params, const int8_t *input, const int8_t *filter,
                             const int32_t *bias, int8_t *output, void *scratch, size_t scratch_size);
size_t ea_opt_conv2d_s8_scratch_size(const ea_conv_params_t *params);
ea_status_t ea_opt_depthwise_conv2d_s8(const ea_conv_params_t *params, const int8_t *input, const int8_t *filter,
                                       const int32_t *bias, int8_t *output, void *scratch, size_t scratch_size);
size_t ea_opt_depthwise_conv2d_s8_scratch_size(const ea_conv_params_t *params);
ea_status_t ea_opt_pointwise_conv2d_s8(const ea_conv_params_t *params, const int8_t *input, const int8_t *filter,
                                       const int32_t *bias, int8_t *output, void *scratch, size_t scratch_size);
size_t ea_opt_pointwise_conv2d_s8_scratch_size(const ea_conv_params_t *params);
ea_status_t ea_opt_fully_connected_s8(const ea_fc_params_t *params, const int8_t *input, const int8_t *weights,
                                      const int32_t *bias, int8_t *output, void *scratch, size_t scratch_size);
size_t ea_opt_fully_connected_s8_scratch_size(const ea_fc_params_t *params);

/* ---------------------------------------------------------------- dispatch */
typedef struct {
    const char *name; /* "reference" or "optimized" */
    ea_conv_fn conv2d_s8;
    ea_conv_scratch_fn conv2d_s8_scratch_size;
    ea_conv_fn depthwise_conv2d_s8;
    ea_conv_scratch_fn depthwise_conv2d_s8_scratch_size;
    ea_conv_fn pointwise_conv2d_s8;
    ea_conv_scratch_fn pointwise_conv2d_s8_scratch_size;
    ea_fc_fn fully_connected_s8;
    ea_fc_scratch_fn fully_connected_s8_scratch_size;
    ea_pool_fn max_pool2d_s8;
    ea_pool_fn avg_pool2d_s8;
    ea_mean_fn global_avg_pool_s8;
    ea_add_fn add_s8;
    ea_softmax_fn softmax_s8;
    ea_quantize_fn quantize_s8;
    ea_requantize_fn requantize_s8;
} ea_kernel_set_t;

extern const ea_kernel_set_t ea_kernels_reference;
extern const ea_kernel_set_t ea_kernels_optimized;

#ifdef __cplusplus
}
#endif

#endif /* EA_KERNELS_H */
