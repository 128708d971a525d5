/*
 * Reading a libFuzzer input as a stream of typed values.
 *
 * Every read is defined for every input: once the bytes run out, reads
 * return 0, so the harness never needs to check lengths. Most values are
 * drawn from a plausible range (so the fuzzer spends its time past the
 * parameter checks), and fuzz_raw_or() lets the input replace one with an
 * arbitrary int32 (so the checks themselves get exercised).
 */
#ifndef EA_FUZZ_INPUT_H
#define EA_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t pos;
} fuzz_input_t;

static inline fuzz_input_t fuzz_input(const uint8_t *data, size_t size) {
    fuzz_input_t in;
    in.data = data;
    in.size = size;
    in.pos = 0;
    return in;
}

static inline uint8_t fuzz_u8(fuzz_input_t *in) {
    return in->pos < in->size ? in->data[in->pos++] : 0u;
}

static inline int32_t fuzz_i32(fuzz_input_t *in) {
    uint32_t v = 0;
    int i;
    for (i = 0; i < 4; ++i) {
        v = (v << 8) | fuzz_u8(in);
    }
    return (int32_t)v;
}

/* A value in [lo, hi] (hi - lo < 2^16). */
static inline int32_t fuzz_range(fuzz_input_t *in, int32_t lo, int32_t hi) {
    const uint32_t span = (uint32_t)(hi - lo) + 1u;
    const uint32_t v = ((uint32_t)fuzz_u8(in) << 8) | fuzz_u8(in);
    return lo + (int32_t)(v % span);
}

static inline int fuzz_bool(fuzz_input_t *in) { return fuzz_u8(in) & 1u; }

/* `value`, or, when the next byte says so (about 1 in 16), an arbitrary int32. */
static inline int32_t fuzz_raw_or(fuzz_input_t *in, int32_t value) {
    return (fuzz_u8(in) & 0x0fu) == 0x0fu ? fuzz_i32(in) : value;
}

/* Fills `dst` from the input; what the input no longer covers gets a fixed pattern. */
static inline void fuzz_fill(fuzz_input_t *in, void *dst, size_t n) {
    uint8_t *out = (uint8_t *)dst;
    const size_t left = in->size - in->pos;
    const size_t take = n < left ? n : left;
    size_t i;
    memcpy(out, in->data + in->pos, take);
    in->pos += take;
    for (i = take; i < n; ++i) {
        out[i] = (uint8_t)(i * 37u + 11u);
    }
}

#endif /* EA_FUZZ_INPUT_H */
