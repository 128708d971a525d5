/* The reference kernel set, for generated code that dispatches through a table. */
#include "ea_kernels.h"

const ea_kernel_set_t ea_kernels_reference = {
    "reference",
    ea_ref_conv2d_s8,
    ea_ref_conv2d_s8_scratch_size,
    ea_ref_depthwise_conv2d_s8,
    ea_ref_depthwise_conv2d_s8_scratch_size,
    ea_ref_pointwise_conv2d_s8,
    ea_ref_pointwise_conv2d_s8_scratch_size,
    ea_ref_fully_connected_s8,
    ea_ref_fully_connected_s8_scratch_size,
    ea_ref_max_pool2d_s8,
    ea_ref_avg_pool2d_s8,
    ea_ref_global_avg_pool_s8,
    ea_ref_add_s8,
    ea_ref_softmax_s8,
    ea_ref_quantize_s8,
    ea_ref_requantize_s8,
};
