/*
 * QEMU harness for the instruction-count plugin's sanity test: a loop of
 * EA_LOOP_N iterations (a compile-time define) between the markers. The
 * volatile accumulator keeps the compiler from folding the loop away.
 */
#include <stdint.h>

#include "ea_harness.h"

int ea_harness_run(void) {
    volatile uint32_t acc = 0u;
    uint32_t i;
    ea_measure_begin();
    for (i = 0u; i < (uint32_t)EA_LOOP_N; ++i) {
        acc += i;
    }
    ea_measure_end();
    ea_print_value("acc", (int32_t)acc);
    return 0;
}
