/*
 * Packed 16-bit SIMD helpers of the optimized kernels.
 *
 * On cores with the Armv7E-M DSP extension (Cortex-M4/M7/M33...) they map to
 * single instructions through ACLE <arm_acle.h> (SXTB16, SXTAB16, SMLAD,
 * SMLABB/SMLATT); elsewhere they are portable C with the same lane semantics,
 * so host builds run the very loop structure the device runs.
 *
 * A 32-bit word holds four int8 lanes b0..b3 (b0 at the lowest address: the
 * kernels assume a little-endian target, as every Cortex-M build is) or two
 * int16 lanes lo/hi. Loads and stores go through memcpy, which compiles to a
 * single LDR/STR (unaligned access is allowed on these cores) without breaking
 * C aliasing rules.
 */
#ifndef EA_SIMD_H
#define EA_SIMD_H

#include <stdint.h>
#include <string.h>

#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FEATURE_SIMD32)
#include <arm_acle.h>
#define EA_SIMD_DSP 1
#else
#define EA_SIMD_DSP 0
#endif

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the optimized kernels assume a little-endian target"
#endif

static inline uint32_t ea_load_u32(const void *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void ea_store_u32(void *p, uint32_t v) { memcpy(p, &v, sizeof v); }

/* Load from a 4-byte aligned address: lets GCC pair loads into LDRD. */
static inline uint32_t ea_load_u32_aligned(const void *p) {
#if defined(__GNUC__)
    p = __builtin_assume_aligned(p, 4);
#endif
    return ea_load_u32(p);
}

/* Two int16 lanes with the same value. */
static inline uint32_t ea_dup_s16(int32_t v) { return ((uint32_t)v & 0xFFFFu) * 0x00010001u; }

#if !EA_SIMD_DSP
/* Sign extension without implementation-defined narrowing conversions. */
static inline int32_t ea_sext8(uint32_t v) { return (int32_t)(v & 0x7Fu) - (int32_t)(v & 0x80u); }
static inline int32_t ea_sext16(uint32_t v) { return (int32_t)(v & 0x7FFFu) - (int32_t)(v & 0x8000u); }
static inline uint32_t ea_pack_s16x2(int32_t lo, int32_t hi) {
    return ((uint32_t)lo & 0xFFFFu) | (((uint32_t)hi & 0xFFFFu) << 16);
}
#endif

static inline uint32_t ea_ror8(uint32_t x) { return (x >> 8) | (x << 24); }

/* (int16)b0, (int16)b2 */
static inline uint32_t ea_sxtb16(uint32_t x) {
#if EA_SIMD_DSP
    return (uint32_t)__sxtb16((int32_t)x);
#else
    return ea_pack_s16x2(ea_sext8(x), ea_sext8(x >> 16));
#endif
}

/* (int16)b1, (int16)b3. GCC does not fold the rotation into SXTB16's ROR
 * operand by itself: say it in asm (one instruction instead of two). */
static inline uint32_t ea_sxtb16_ror8(uint32_t x) {
#if EA_SIMD_DSP && defined(__GNUC__)
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
#else
    return ea_sxtb16(ea_ror8(x));
#endif
}

/* lanes a.lo + b0, a.hi + b2 (modulo 2^16) */
static inline uint32_t ea_sxtab16(uint32_t a, uint32_t x) {
#if EA_SIMD_DSP
    return (uint32_t)__sxtab16((int32_t)a, (int32_t)x);
#else
    return ea_pack_s16x2(ea_sext16(a) + ea_sext8(x), ea_sext16(a >> 16) + ea_sext8(x >> 16));
#endif
}

/* lanes a.lo + b1, a.hi + b3 */
static inline uint32_t ea_sxtab16_ror8(uint32_t a, uint32_t x) {
#if EA_SIMD_DSP && defined(__GNUC__)
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
    return r;
#else
    return ea_sxtab16(a, ea_ror8(x));
#endif
}

#if !EA_SIMD_DSP
/* acc + p modulo 2^32, as the DSP multiply-accumulates wrap. */
static inline int32_t ea_wrap_acc(int32_t acc, int32_t p) { return (int32_t)((uint32_t)acc + (uint32_t)p); }
#endif

/* acc + a.lo * b.lo + a.hi * b.hi, modulo 2^32 like SMLAD: accumulators that
 * start at the bias may pass through the int32 limits and come back (the
 * products and their sum stay far inside int32: EA_MAX_DOT_LENGTH), so the
 * result is the reference's sum + bias modulo 2^32. */
static inline int32_t ea_smlad(uint32_t a, uint32_t b, int32_t acc) {
#if EA_SIMD_DSP
    return __smlad((int32_t)a, (int32_t)b, acc);
#else
    return ea_wrap_acc(acc, ea_sext16(a) * ea_sext16(b) + ea_sext16(a >> 16) * ea_sext16(b >> 16));
#endif
}

/* acc + a.lo * b.lo (modulo 2^32) */
static inline int32_t ea_smlabb(uint32_t a, uint32_t b, int32_t acc) {
#if EA_SIMD_DSP
    return __smlabb((int32_t)a, (int32_t)b, acc);
#else
    return ea_wrap_acc(acc, ea_sext16(a) * ea_sext16(b));
#endif
}

/* acc + a.hi * b.hi (modulo 2^32) */
static inline int32_t ea_smlatt(uint32_t a, uint32_t b, int32_t acc) {
#if EA_SIMD_DSP
    return __smlatt((int32_t)a, (int32_t)b, acc);
#else
    return ea_wrap_acc(acc, ea_sext16(a >> 16) * ea_sext16(b >> 16));
#endif
}

/* Lane-wise max of four int8 lanes: SSUB8 sets a GE flag per lane where
 * a >= b, SEL picks those lanes from a and the others from b. */
static inline uint32_t ea_max_s8x4(uint32_t a, uint32_t b) {
#if EA_SIMD_DSP
    (void)__ssub8((int8x4_t)a, (int8x4_t)b);
    return (uint32_t)__sel((uint8x4_t)a, (uint8x4_t)b);
#else
    uint32_t r = 0;
    int lane;
    for (lane = 0; lane < 32; lane += 8) {
        const int32_t x = ea_sext8(a >> lane), y = ea_sext8(b >> lane);
        r |= ((uint32_t)(x > y ? x : y) & 0xFFu) << lane;
    }
    return r;
#endif
}

/* Lane-wise min of four int8 lanes. */
static inline uint32_t ea_min_s8x4(uint32_t a, uint32_t b) {
#if EA_SIMD_DSP
    (void)__ssub8((int8x4_t)a, (int8x4_t)b);
    return (uint32_t)__sel((uint8x4_t)b, (uint8x4_t)a);
#else
    uint32_t r = 0;
    int lane;
    for (lane = 0; lane < 32; lane += 8) {
        const int32_t x = ea_sext8(a >> lane), y = ea_sext8(b >> lane);
        r |= ((uint32_t)(x < y ? x : y) & 0xFFu) << lane;
    }
    return r;
#endif
}

/* Four int8 lanes with the same value. */
static inline uint32_t ea_dup_s8(int32_t v) { return ((uint32_t)v & 0xFFu) * 0x01010101u; }

#endif /* EA_SIMD_H */
