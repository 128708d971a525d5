/*
 * Board layer for the Ambiq Apollo3 (Cortex-M4F, 48 MHz, 96 MHz in burst
 * mode): the ONLY file of edge-affect that includes AmbiqSuite headers.
 * Everything else (runtime, generated model, harness) builds without them.
 *
 * Build with -DEA_HAVE_AMBIQSUITE, the AmbiqSuite include paths and your
 * board's BSP (see README.md). Options:
 *   -DEA_APOLLO3_BURST=1      run at 96 MHz (TurboSPOT burst mode) when the
 *                             part supports it; default 48 MHz
 *   -DEA_APOLLO3_CONSOLE_ITM  console over ITM/SWO instead of the BSP's UART
 */
#ifndef EA_HAVE_AMBIQSUITE
#error "ea_board_apollo3.c needs AmbiqSuite: add -DEA_HAVE_AMBIQSUITE and the AmbiqSuite/BSP include paths (embedded/ports/apollo3/README.md)"
#else

#include "am_bsp.h"
#include "am_mcu_apollo.h"
#include "am_util.h"

#include "ea_board.h"

static void enable_cycle_counter(void) {
    /* DWT needs trace enabled in the debug block; CMSIS names from core_cm4.h */
    CoreDebug->DEMCR |= CoreDebug_DEMCR_TRCENA_Msk;
    DWT->CYCCNT = 0u;
    DWT->CTRL |= DWT_CTRL_CYCCNTENA_Msk;
}

#if defined(EA_APOLLO3_BURST) && EA_APOLLO3_BURST
static void enter_burst_mode(void) {
    am_hal_burst_avail_e available;
    am_hal_burst_mode_e mode;
    if (am_hal_burst_mode_initialize(&available) == AM_HAL_STATUS_SUCCESS && available == AM_HAL_BURST_AVAIL) {
        (void)am_hal_burst_mode_enable(&mode);
    }
}
#endif

void ea_board_init(void) {
    am_hal_clkgen_control(AM_HAL_CLKGEN_CONTROL_SYSCLK_MAX, 0);
    /* flash cache: without it every instruction fetch waits on flash */
    am_hal_cachectrl_config(&am_hal_cachectrl_defaults);
    am_hal_cachectrl_enable();
    am_bsp_low_power_init();
#if defined(EA_APOLLO3_BURST) && EA_APOLLO3_BURST
    enter_burst_mode();
#endif
#ifdef EA_APOLLO3_CONSOLE_ITM
    am_bsp_itm_printf_enable();
#else
    am_bsp_uart_printf_enable();
#endif
    enable_cycle_counter();
}

uint32_t ea_board_cycles(void) { return DWT->CYCCNT; }

int ea_board_has_cycles(void) { return 1; }

void ea_board_print(const char *text) { am_util_stdio_printf("%s", text); }

/* AmbiqSuite's startup owns the stack (a static array): not measured here;
   the QEMU image of the same code reports the high-water mark. */
size_t ea_board_stack_high_water(void) { return 0u; }

#endif /* EA_HAVE_AMBIQSUITE */
