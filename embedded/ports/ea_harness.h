/*
 * The test/benchmark harness shared by every port (host, QEMU, Apollo3).
 *
 * ea_harness.c owns main(): it initialises the board, calls the user's
 * ea_harness_run(), then reports the stack high-water mark and the exit code.
 * The user's function brackets the region to measure with
 * ea_measure_begin()/ea_measure_end() and prints results with the helpers.
 *
 * Console protocol (one record per line, parsed by
 * edge_affect.converters.apollo3.toolchain):
 *   EA_BEGIN                          measured region starts
 *   EA_END [cycles]                   region ends; cycles where the board has a counter
 *   EA_HEX <tag> <hex bytes>          data, up to 32 bytes per line; lines with the
 *                                     same tag concatenate in order
 *   EA_VALUE <name> <decimal>         a named number
 *   EA_STACK <bytes>                  stack high-water mark (0: not measured)
 *   EA_EXIT <code>                    ea_harness_run()'s return value
 *   EA_FAULT <n>                      (QEMU) exception n ended the run, exit status 3
 *
 * Instruction counting on QEMU: ea_measure_begin()/ea_measure_end() call the
 * marker functions ea_marker_begin()/ea_marker_end(); the instruction-count
 * plugin is given their addresses (from the ELF symbol table) and counts the
 * guest instructions executed between the two. The count therefore includes
 * the marker functions' few instructions: a constant, not a proportion.
 */
#ifndef EA_HARNESS_H
#define EA_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Provided by the user of the harness; its return value is the exit code. */
int ea_harness_run(void);

void ea_measure_begin(void);
void ea_measure_end(void);

/* Where the instruction-count plugin starts and stops counting. */
void ea_marker_begin(void);
void ea_marker_end(void);

void ea_print_hex(const char *tag, const void *data, size_t n);
void ea_print_value(const char *name, int32_t value);

#ifdef __cplusplus
}
#endif

#endif /* EA_HARNESS_H */
