/* Matrix core of the optimized convolutions; layout and contract in ea_opt_gemm.h. */
#include "ea_opt_gemm.h"

#if defined(__GNUC__)
#define EA_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define EA_ALWAYS_INLINE inline
#endif

static int32_t even(int32_t n) { return n + (n & 1); }

int32_t ea_opt_block_rows(ea_opt_dot_t d, int32_t c_out) {
    const int32_t row_bytes = ea_opt_padded_length(d) * (int32_t)sizeof(int16_t);
    int32_t rows = EA_OPT_WEIGHT_BLOCK_BYTES / row_bytes;
    if (rows >= c_out) {
        return c_out;
    }
    rows &= ~1;
    return rows < 2 ? 2 : rows;
}

size_t ea_opt_block_bytes(ea_opt_dot_t d, int32_t rows) {
    const size_t padded_rows = (size_t)even(rows);
    return padded_rows * sizeof(ea_opt_channel_t) + padded_rows * (size_t)ea_opt_padded_length(d) * sizeof(int16_t);
}

void ea_opt_zero_groups(int32_t n, int16_t *dst, int32_t stride) {
    for (; n > 0; n -= 4, dst += stride) {
        ea_store_u32(dst, 0);
        ea_store_u32(dst + 2, 0);
    }
}

void ea_opt_prepare_block(ea_opt_block_t *block, const int8_t *filter, ea_opt_dot_t d, int32_t first,
                          int32_t rows, const ea_requant_t *requant, const int32_t *bias,
                          const ea_opt_output_t *out, void *scratch) {
    const int32_t kp = ea_opt_padded_length(d);
    const int32_t segment = ea_opt_round4(d.run);
    const int32_t row_length = d.segments * d.run;
    ea_opt_channel_t *table = (ea_opt_channel_t *)scratch;
    int16_t *weights = (int16_t *)(table + even(rows));
    int32_t r, s;
    block->kp = kp;
    block->rows = rows;
    block->weights = weights;
    block->channels = table;
    block->out = *out;
    block->mode = ea_opt_rq_mode(ea_opt_prepare_channels(requant, bias, out->output_zero_point, first, rows, table),
                                 out);
    for (r = 0; r < rows; ++r) {
        const int8_t *w = filter + (first + r) * row_length;
        int16_t *dst = weights + (r >> 1) * 2 * kp + 4 * (r & 1);
        for (s = 0; s < d.segments; ++s) {
            /* segment s starts at group s * segment / 4: int16 offset 2 * s * segment */
            ea_opt_widen_run(w + s * d.run, d.run, d.run, 0, dst + 2 * s * segment, 8);
        }
    }
    if (rows & 1) { /* the odd block's partner row: zero weights and bias, never stored */
        const ea_opt_channel_t none = {0, 0, 0, 0};
        table[rows] = none;
        ea_opt_zero_groups(kp, weights + (rows >> 1) * 2 * kp + 4, 8);
    }
}

/* One group of 4 inputs for 2 rows x 2 columns: 8 loads, 8 SMLAD, 16 MACs.
 * The 4 column words stay live while the two rows stream past them: 13
 * registers with the loop's, no spills on Cortex-M4. */
static EA_ALWAYS_INLINE void group_step(int32_t *acc00, int32_t *acc01, int32_t *acc10, int32_t *acc11,
                                        const int16_t *c, const int16_t *w) {
    const uint32_t x0a = ea_load_u32_aligned(c), x0b = ea_load_u32_aligned(c + 2);
    const uint32_t x1a = ea_load_u32_aligned(c + 4), x1b = ea_load_u32_aligned(c + 6);
    uint32_t wa = ea_load_u32_aligned(w), wb = ea_load_u32_aligned(w + 2);
    *acc00 = ea_smlad(wa, x0a, *acc00);
    *acc01 = ea_smlad(wa, x1a, *acc01);
    *acc00 = ea_smlad(wb, x0b, *acc00);
    *acc01 = ea_smlad(wb, x1b, *acc01);
    wa = ea_load_u32_aligned(w + 4);
    wb = ea_load_u32_aligned(w + 6);
    *acc10 = ea_smlad(wa, x0a, *acc10);
    *acc11 = ea_smlad(wa, x1a, *acc11);
    *acc10 = ea_smlad(wb, x0b, *acc10);
    *acc11 = ea_smlad(wb, x1b, *acc11);
}

static EA_ALWAYS_INLINE void block_2cols(const ea_opt_block_t *block, const int16_t *cols, int8_t *out0,
                                         int8_t *out1, const int fast, const int full) {
    const ea_opt_output_t o = block->out;
    const ea_opt_channel_t *ch = block->channels;
    const int16_t *w = block->weights;
    const int16_t *const cols_end = cols + 2 * block->kp;
    const int32_t rows = block->rows;
    int32_t row;
    for (row = 0; row < rows; row += 2, ch += 2) {
        const int16_t *c = cols;
        /* cppcheck-suppress duplicateAssignExpression ; both columns of a row start at its bias */
        int32_t acc00 = ch[0].bias, acc01 = ch[0].bias; /* acc<row><column> */
        /* cppcheck-suppress duplicateAssignExpression */
        int32_t acc10 = ch[1].bias, acc11 = ch[1].bias;
        int8_t r00, r01, r10, r11;
        do {
            group_step(&acc00, &acc01, &acc10, &acc11, c, w);
            c += 8;
            w += 8;
        } while (c != cols_end);
        /* All four results before any store: an int8 store may alias the
         * table, and would make the compiler reload its fields. (The odd
         * block's partner row requantizes a zero entry, never stored.) */
        r00 = ea_opt_requantize(acc00, &ch[0], &o, fast, full);
        r01 = ea_opt_requantize(acc01, &ch[0], &o, fast, full);
        r10 = ea_opt_requantize(acc10, &ch[1], &o, fast, full);
        r11 = ea_opt_requantize(acc11, &ch[1], &o, fast, full);
        out0[row] = r00;
        if (out1 != NULL) {
            out1[row] = r01;
        }
        if (row + 1 < rows) {
            out0[row + 1] = r10;
            if (out1 != NULL) {
                out1[row + 1] = r11;
            }
        }
    }
}

void ea_opt_block_2cols(const ea_opt_block_t *block, const int16_t *cols, int8_t *out0, int8_t *out1) {
    switch (block->mode) {
    case EA_OPT_RQ_FAST_FULL:
        block_2cols(block, cols, out0, out1, 1, 1);
        break;
    case EA_OPT_RQ_FAST_CLAMP:
        block_2cols(block, cols, out0, out1, 1, 0);
        break;
    default:
        block_2cols(block, cols, out0, out1, 0, 0);
        break;
    }
}
