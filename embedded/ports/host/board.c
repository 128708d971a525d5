/*
 * Board layer for the build machine: stdout console, CLOCK_MONOTONIC in
 * nanoseconds as the counter. The host harness checks results, it does not
 * benchmark, and its stack is the OS's (no high-water mark).
 */
#define _POSIX_C_SOURCE 199309L

#include <stdio.h>
#include <time.h>

#include "ea_board.h"

void ea_board_init(void) {}

uint32_t ea_board_cycles(void) {
    struct timespec now;
    if (clock_gettime(CLOCK_MONOTONIC, &now) != 0) {
        return 0u;
    }
    return (uint32_t)((uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec);
}

int ea_board_has_cycles(void) { return 1; }

void ea_board_print(const char *text) {
    (void)fputs(text, stdout);
    (void)fflush(stdout);
}

size_t ea_board_stack_high_water(void) { return 0u; }
