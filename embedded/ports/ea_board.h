/*
 * The board interface: the only functions the harness needs from a target.
 *
 * Every port implements these in one file:
 *   ports/qemu_mps2_an386/board.c   QEMU mps2-an386 (Cortex-M4F), semihosting
 *   ports/host/board.c              the build machine (stdio, CLOCK_MONOTONIC)
 *   ports/apollo3/ea_board_apollo3.c  Ambiq Apollo3 (needs AmbiqSuite)
 * The runtime itself (preprocessing, kernels, generated model) never calls
 * them: it has no I/O and no clock.
 */
#ifndef EA_BOARD_H
#define EA_BOARD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Clocks, caches and the console; called once before anything else. */
void ea_board_init(void);

/*
 * A free-running 32-bit counter for timing a region (differences wrap
 * correctly modulo 2^32). Apollo3: core cycles (DWT CYCCNT). Host:
 * nanoseconds. Only meaningful when ea_board_has_cycles() is non-zero;
 * QEMU models no cycle counter (count instructions with the plugin instead).
 */
uint32_t ea_board_cycles(void);
int ea_board_has_cycles(void);

/* Write a NUL-terminated string to the board's console, as is. */
void ea_board_print(const char *text);

/*
 * Deepest stack use so far, in bytes, where the port paints its stack at
 * reset (QEMU); 0 where it cannot tell.
 */
size_t ea_board_stack_high_water(void);

#ifdef __cplusplus
}
#endif

#endif /* EA_BOARD_H */
