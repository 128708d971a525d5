/* Per-channel requantization tables of the optimized kernels (ea_opt_requant.h). */
#include "ea_opt_requant.h"

/* Largest |K_hi| for which the fast form provably never overflows. */
#define EA_OPT_ROUND_HI_LIMIT ((1LL << 30) - 8)

/* H = 2^(e-2) + z*2^(e-1), the high word of K = 2^30 + 2^(30+e) + z*2^(31+e), e in [2, 31]. */
static int64_t round_hi(int32_t e, int32_t output_zero_point) {
    return (int64_t)output_zero_point * (1LL << (e - 1)) + (1LL << (e - 2));
}

static int fast_form_ok(int32_t multiplier, int32_t shift, int32_t output_zero_point) {
    int64_t hi;
    if (multiplier < 0 || shift > -2) {
        return 0;
    }
    hi = round_hi(-shift, output_zero_point);
    return hi >= -EA_OPT_ROUND_HI_LIMIT && hi <= EA_OPT_ROUND_HI_LIMIT;
}

int ea_opt_prepare_channels(const ea_requant_t *requant, const int32_t *bias, int32_t output_zero_point,
                            int32_t first, int32_t count, ea_opt_channel_t *table) {
    const int32_t step = requant->count > 1 ? 1 : 0;
    int fast = 1;
    int32_t i;
    for (i = 0; i < count && fast; ++i) {
        const int32_t q = (first + i) * step;
        fast = fast_form_ok(requant->multiplier[q], requant->shift[q], output_zero_point);
    }
    for (i = 0; i < count; ++i) {
        const int32_t q = (first + i) * step;
        ea_opt_channel_t *ch = &table[i];
        ch->bias = bias != NULL ? bias[first + i] : 0;
        ch->multiplier = requant->multiplier[q];
        if (fast) {
            const int32_t e = -requant->shift[q];
            ch->shift = e - 1;
            ch->round_hi = (int32_t)round_hi(e, output_zero_point);
        } else {
            ch->shift = requant->shift[q];
            ch->round_hi = 0;
        }
    }
    return fast;
}
