/* Status strings and out-of-line copies of the ea_quant.h primitives. */
#include "ea_quant.h"
#include "ea_status.h"

const char *ea_status_str(ea_status_t status) {
    switch (status) {
    case EA_OK:
        return "ok";
    case EA_ERR_NULL_POINTER:
        return "null pointer";
    case EA_ERR_BAD_DIMS:
        return "bad dims";
    case EA_ERR_BAD_PARAM:
        return "bad parameter";
    case EA_ERR_UNSUPPORTED:
        return "unsupported";
    case EA_ERR_SCRATCH_TOO_SMALL:
        return "scratch too small";
    case EA_ERR_MISALIGNED:
        return "misaligned scratch";
    case EA_ERR_ARENA_TOO_SMALL:
        return "arena too small";
    }
    return "unknown status";
}

int32_t ea_saturating_rounding_doubling_high_mul(int32_t a, int32_t b) { return ea_srdhm(a, b); }

int32_t ea_rounding_divide_by_power_of_two(int32_t x, int32_t exponent) {
    return ea_rounding_divide_by_pot(x, exponent);
}

int32_t ea_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int32_t shift) {
    return ea_mbqm(x, multiplier, shift);
}
