/*
 * Status codes returned by every edge-affect kernel and runtime call.
 * Kernels validate their parameters before touching memory and return one of
 * these instead of overrunning a buffer or computing garbage.
 */
#ifndef EA_STATUS_H
#define EA_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    EA_OK = 0,
    EA_ERR_NULL_POINTER = 1,      /* a required pointer is NULL */
    EA_ERR_BAD_DIMS = 2,          /* shapes that do not fit together (or exceed the int32 limits) */
    EA_ERR_BAD_PARAM = 3,         /* stride, padding, zero point, shift, activation range... out of range */
    EA_ERR_UNSUPPORTED = 4,       /* a valid configuration this runtime does not implement */
    EA_ERR_SCRATCH_TOO_SMALL = 5, /* the kernel scratch buffer is smaller than its *_scratch_size() */
    EA_ERR_MISALIGNED = 6,        /* a scratch buffer that is not 4-byte aligned */
    EA_ERR_ARENA_TOO_SMALL = 7    /* the model arena is smaller than the converter's memory plan */
} ea_status_t;

/* A short constant description of the code ("ok", "bad dims", ...). */
const char *ea_status_str(ea_status_t status);

#ifdef __cplusplus
}
#endif

#endif /* EA_STATUS_H */
