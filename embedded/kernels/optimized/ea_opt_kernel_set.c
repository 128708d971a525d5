/* The optimized kernel set. Average / global average pooling, softmax and
 * (re)quantization are memory-bound and well under 1% of a CNN's
 * instructions: they use the reference implementations. Max pool and the
 * residual add are not negligible at the large early feature maps (several
 * percent of mini-Xception with reference code) and have optimized versions. */
#include "ea_kernels.h"
#include "ea_opt_kernels.h"

const ea_kernel_set_t ea_kernels_optimized = {
    "optimized",
    ea_opt_conv2d_s8,
    ea_opt_conv2d_s8_scratch_size,
    ea_opt_depthwise_conv2d_s8,
    ea_opt_depthwise_conv2d_s8_scratch_size,
    ea_opt_pointwise_conv2d_s8,
    ea_opt_pointwise_conv2d_s8_scratch_size,
    ea_opt_fully_connected_s8,
    ea_opt_fully_connected_s8_scratch_size,
    ea_opt_max_pool2d_s8,
    ea_ref_avg_pool2d_s8,
    ea_ref_global_avg_pool_s8,
    ea_opt_add_s8,
    ea_ref_softmax_s8,
    ea_ref_quantize_s8,
    ea_ref_requantize_s8,
};
