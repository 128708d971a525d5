/*
 * The matrix core of the optimized conv2d and pointwise kernels: a block of
 * output channels (weight rows) times two "columns" (the receptive fields of
 * two output pixels), both as int16, 2 rows x 2 columns per step with SMLAD.
 *
 * Dot-product layout. A receptive field is KH runs of KW * C_in contiguous
 * int8 inputs (one per filter row, NHWC). Each run is padded with zeros to a
 * multiple of 4 ("segment"), so runs start on 4-value groups and are widened
 * straight from the input, and no step needs a tail: the padded length is
 * kp = KH * round4(KW * C_in). The weights get the same padding (zeros).
 * Each group of 4 values x0..x3 is stored as (x0, x2, x1, x3): the lane order
 * in which SXTB16 / SXTB16-ROR8 widen 4 packed int8 values.
 *   columns: group g of column j (0, 1) at int16 offset 8g + 4j (one pointer
 *            walks both columns);
 *   weights: rows padded to an even count; group g of row 2p + r at int16
 *            offset 2p*kp + 8g + 4r (one pointer walks a row pair).
 * The inner step is then 8 loads and 8 SMLAD for 16 MACs.
 *
 * Bit-exactness with the reference: every product w * (x - zp) is the same
 * integer (padding contributes 0 * 0); accumulators start at the bias and all
 * arithmetic is modulo 2^32 (SMLAD wraps), so the sum equals the reference's
 * sum + bias modulo 2^32 in any order; requantization is ea_opt_requant.h's,
 * proven equal to TFLM's.
 */
#ifndef EA_OPT_GEMM_H
#define EA_OPT_GEMM_H

#include <stddef.h>
#include <stdint.h>

#include "ea_opt_requant.h"
#include "ea_simd.h"

/* Upper bound on the widened weights a conv keeps in scratch at a time:
 * layers with more are processed in blocks of output channels (the columns
 * are then gathered once per block, a small cost against the MACs). */
#define EA_OPT_WEIGHT_BLOCK_BYTES 16384

static inline int32_t ea_opt_round4(int32_t k) { return (k + 3) & ~3; }

/* The padded dot product of a filter: `segments` runs of `run` int8 values. */
typedef struct {
    int32_t segments; /* KH */
    int32_t run;      /* KW * C_in */
} ea_opt_dot_t;

/* kp: segments * round4(run). */
static inline int32_t ea_opt_padded_length(ea_opt_dot_t d) { return d.segments * ea_opt_round4(d.run); }

/* Output channels per block: all of them if their widened weights fit
 * EA_OPT_WEIGHT_BLOCK_BYTES, else an even count >= 2. */
int32_t ea_opt_block_rows(ea_opt_dot_t d, int32_t c_out);

/* Scratch bytes of a block of `rows` rows: channel table + widened weights. */
size_t ea_opt_block_bytes(ea_opt_dot_t d, int32_t rows);

typedef struct {
    int32_t kp;                       /* padded dot length */
    int32_t rows;                     /* rows in the block */
    const int16_t *weights;           /* widened, see the layout above */
    const ea_opt_channel_t *channels; /* rows entries (+ 1 when rows is odd) */
    ea_opt_rq_mode_t mode;            /* the requantization form of every row */
    ea_opt_output_t out;
} ea_opt_block_t;

/* Prepares rows first .. first + rows - 1 of `filter` (rows of
 * segments * run int8 values) into `scratch` (ea_opt_block_bytes bytes,
 * 4-byte aligned). */
void ea_opt_prepare_block(ea_opt_block_t *block, const int8_t *filter, ea_opt_dot_t d, int32_t first,
                          int32_t rows, const ea_requant_t *requant, const int32_t *bias,
                          const ea_opt_output_t *out, void *scratch);

/* Widens src[0 .. n) + offset into the group layout (`stride` int16 between
 * groups: 8 for a column of a pair), the last group completed with zeros.
 * `readable`: bytes that may be read from src (>= n); when the 4 bytes of
 * the tail group are readable, it is one 32-bit load with the lanes past n
 * masked to 0, else a scalar loop. */
static inline void ea_opt_widen_run(const int8_t *src, int32_t n, int32_t readable, int32_t offset, int16_t *dst,
                                    int32_t stride) {
    /* lanes (x0, x2) and (x1, x3) kept for a tail of 1, 2, 3 values */
    static const uint32_t keep02[4] = {0u, 0x0000FFFFu, 0x0000FFFFu, 0xFFFFFFFFu};
    static const uint32_t keep13[4] = {0u, 0u, 0x0000FFFFu, 0x0000FFFFu};
    const uint32_t offset2 = ea_dup_s16(offset);
    const int32_t tail = n & 3;
    int32_t i;
    for (i = n >> 2; i > 0; --i, src += 4, dst += stride) {
        const uint32_t x = ea_load_u32(src);
        ea_store_u32(dst, ea_sxtab16(offset2, x));
        ea_store_u32(dst + 2, ea_sxtab16_ror8(offset2, x));
    }
    if (tail == 0) {
        return;
    }
    if (readable - (n & ~3) >= 4) {
        const uint32_t x = ea_load_u32(src);
        ea_store_u32(dst, ea_sxtab16(offset2, x) & keep02[tail]);
        ea_store_u32(dst + 2, ea_sxtab16_ror8(offset2, x) & keep13[tail]);
    } else {
        static const uint8_t lane[3] = {0, 2, 1}; /* position of x0..x2 in a group */
        ea_store_u32(dst, 0);
        ea_store_u32(dst + 2, 0);
        for (i = 0; i < tail; ++i) {
            dst[lane[i]] = (int16_t)(src[i] + offset);
        }
    }
}

/* Zeros for n int16 values (n a multiple of 4) in the group layout. */
void ea_opt_zero_groups(int32_t n, int16_t *dst, int32_t stride);

/* out0[r] / out1[r] = requantized dot(row r, column 0 / 1) for the block's
 * rows; out1 may be NULL (an odd last pixel: column 1 is ignored). */
void ea_opt_block_2cols(const ea_opt_block_t *block, const int16_t *cols, int8_t *out0, int8_t *out1);

#endif /* EA_OPT_GEMM_H */
