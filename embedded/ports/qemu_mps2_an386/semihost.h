/*
 * Arm semihosting from an M-profile core (BKPT 0xAB): the debugger or
 * emulator on the other side (here QEMU with -semihosting-config
 * enable=on,target=native) performs the request on the host.
 */
#ifndef EA_SEMIHOST_H
#define EA_SEMIHOST_H

#include <stdint.h>

#define EA_SH_SYS_WRITE0 0x04        /* write a NUL-terminated string to the console */
#define EA_SH_SYS_EXIT_EXTENDED 0x20 /* exit with a status code */
#define EA_SH_ADP_STOPPED_APPLICATION_EXIT 0x20026

static inline uint32_t ea_semihost_call(uint32_t op, const void *arg) {
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static inline void ea_semihost_write0(const char *text) { (void)ea_semihost_call(EA_SH_SYS_WRITE0, text); }

/* Ends the emulation; QEMU exits with `code` as its own status. */
static inline void ea_semihost_exit(int code) {
    const uint32_t block[2] = {EA_SH_ADP_STOPPED_APPLICATION_EXIT, (uint32_t)code};
    (void)ea_semihost_call(EA_SH_SYS_EXIT_EXTENDED, block);
}

#endif /* EA_SEMIHOST_H */
