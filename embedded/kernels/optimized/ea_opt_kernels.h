/*
 * Optimized kernels beyond those of ea_kernels.h, with the reference
 * signatures; only ea_kernels_optimized refers to them. Internal to
 * embedded/kernels.
 */
#ifndef EA_OPT_KERNELS_H
#define EA_OPT_KERNELS_H

#include "ea_kernels.h"

ea_status_t ea_opt_max_pool2d_s8(const ea_pool_params_t *params, const int8_t *input, int8_t *output);
ea_status_t ea_opt_add_s8(const ea_add_params_t *params, const int8_t *input1, const int8_t *input2,
                          int8_t *output);

#endif /* EA_OPT_KERNELS_H */
