/*
 * Startup for QEMU mps2-an386 (Cortex-M4F): vector table and reset handler.
 *
 * Reset: enable the FPU (before any code that may use it), paint the stack,
 * copy .data from flash, zero .bss, call main() and end the emulation with
 * main's return value as QEMU's exit status (semihosting SYS_EXIT_EXTENDED).
 * The console is ea_board_print() (SYS_WRITE0). Code that wants newlib's
 * printf (linked with --specs=rdimon.specs) must call
 * initialise_monitor_handles() first; the harness does not, so that images
 * carry no stdio and their flash figure is the product's.
 * A fault prints "EA_FAULT <exception number>" and exits with status 3, so a
 * crash fails fast instead of hanging the emulator.
 */
#include <stddef.h>
#include <stdint.h>

#include "ea_board.h"
#include "semihost.h"

#define EA_STACK_PAINT 0xC5AC5AC5u
#define EA_FAULT_EXIT_CODE 3

#define EA_SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)
#define EA_CPACR_CP10_CP11_FULL (0xFu << 20)

/* Linker-script symbols: addresses only, never read as objects. */
extern uint32_t __ea_data_start[], __ea_data_end[], __ea_data_load[];
extern uint32_t __ea_bss_start[], __ea_bss_end[];
extern uint32_t __ea_stack_limit[], __ea_stack_top[];

int main(void);

void ea_reset_handler(void);
void ea_fault_handler(void);

static void enable_fpu(void) {
    EA_SCB_CPACR |= EA_CPACR_CP10_CP11_FULL;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
}

/* Linker symbols are addresses of distinct "objects" to C: measure in integers. */
static size_t words_between(const uint32_t *first, const uint32_t *last) {
    return (size_t)(((uintptr_t)last - (uintptr_t)first) / sizeof(uint32_t));
}

/* Fill the unused stack (below the current stack pointer) with the pattern. */
static void paint_stack(void) {
    const uint32_t *sp;
    size_t i;
    size_t n;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    n = words_between(__ea_stack_limit, sp);
    for (i = 0; i < n; ++i) {
        __ea_stack_limit[i] = EA_STACK_PAINT;
    }
}

size_t ea_board_stack_high_water(void) {
    const size_t n = words_between(__ea_stack_limit, __ea_stack_top);
    size_t untouched = 0;
    while (untouched < n && __ea_stack_limit[untouched] == EA_STACK_PAINT) {
        ++untouched;
    }
    return (n - untouched) * sizeof(uint32_t);
}

__attribute__((noreturn)) void ea_reset_handler(void) {
    size_t i;
    size_t n;
    enable_fpu();
    paint_stack();
    n = words_between(__ea_data_start, __ea_data_end);
    for (i = 0; i < n; ++i) {
        __ea_data_start[i] = __ea_data_load[i];
    }
    n = words_between(__ea_bss_start, __ea_bss_end);
    for (i = 0; i < n; ++i) {
        __ea_bss_start[i] = 0u;
    }
    ea_semihost_exit(main());
    for (;;) {
    }
}

__attribute__((noreturn)) void ea_fault_handler(void) {
    static const char digits[] = "0123456789";
    char message[] = "EA_FAULT ??\n";
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    ipsr &= 0x1FFu;
    message[9] = digits[(ipsr / 10u) % 10u];
    message[10] = digits[ipsr % 10u];
    ea_semihost_write0(message);
    ea_semihost_exit(EA_FAULT_EXIT_CODE);
    for (;;) {
    }
}

typedef void (*ea_vector_t)(void);

/* Cortex-M4 system exceptions; no peripheral interrupt is enabled. */
__attribute__((section(".vectors"), used)) static const ea_vector_t ea_vectors[16] = {
    (ea_vector_t)(uintptr_t)__ea_stack_top, /* initial stack pointer */
    ea_reset_handler,
    ea_fault_handler, /* NMI */
    ea_fault_handler, /* HardFault */
    ea_fault_handler, /* MemManage */
    ea_fault_handler, /* BusFault */
    ea_fault_handler, /* UsageFault */
    NULL,
    NULL,
    NULL,
    NULL,
    ea_fault_handler, /* SVCall */
    ea_fault_handler, /* DebugMonitor */
    NULL,
    ea_fault_handler, /* PendSV */
    ea_fault_handler, /* SysTick */
};
