/*
 * Board layer for QEMU mps2-an386: console over semihosting. QEMU models no
 * cycle counter (DWT CYCCNT reads as zero), so timing is done from outside by
 * the instruction-count plugin (embedded/tools/qemu_insn_plugin.c).
 * ea_board_stack_high_water() lives in startup.c, beside the stack painting.
 */
#include "ea_board.h"
#include "semihost.h"

void ea_board_init(void) {}

uint32_t ea_board_cycles(void) { return 0u; }

int ea_board_has_cycles(void) { return 0; }

void ea_board_print(const char *text) { ea_semihost_write0(text); }
