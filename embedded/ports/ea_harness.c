/*
 * Harness main() and console helpers; see ea_harness.h for the protocol.
 * Formats numbers itself so that images need no printf (keeps the flash
 * figure of a QEMU/Apollo3 image close to what a product would ship).
 */
#include "ea_harness.h"

#include "ea_board.h"

#define EA_HEX_BYTES_PER_LINE 32

/*
 * Written by the markers so that their bodies differ (no identical-code
 * folding) and have a side effect (never optimised away).
 */
static volatile uint32_t ea_marker_word;
static uint32_t ea_region_start;

__attribute__((noinline)) void ea_marker_begin(void) { ea_marker_word = 0xEA0B0001u; }

__attribute__((noinline)) void ea_marker_end(void) { ea_marker_word = 0xEA0E0002u; }

/* Decimal text of `value` into buf (>= 11 bytes); returns buf. */
static char *format_unsigned(char *buf, uint32_t value) {
    char digits[10];
    int n = 0;
    char *p = buf;
    do {
        digits[n++] = (char)('0' + value % 10u);
        value /= 10u;
    } while (value != 0u);
    while (n > 0) {
        *p++ = digits[--n];
    }
    *p = '\0';
    return buf;
}

/* Decimal text of `value` into buf (>= 12 bytes); returns buf. */
static char *format_decimal(char *buf, int32_t value) {
    if (value < 0) {
        buf[0] = '-';
        /* via uint32_t so that INT32_MIN negates without overflow */
        (void)format_unsigned(buf + 1, 0u - (uint32_t)value);
        return buf;
    }
    return format_unsigned(buf, (uint32_t)value);
}

static void print_line2(const char *a, const char *b) {
    ea_board_print(a);
    ea_board_print(b);
    ea_board_print("\n");
}

void ea_measure_begin(void) {
    ea_board_print("EA_BEGIN\n");
    ea_region_start = ea_board_cycles();
    ea_marker_begin();
}

void ea_measure_end(void) {
    uint32_t elapsed;
    ea_marker_end();
    elapsed = ea_board_cycles() - ea_region_start;
    if (ea_board_has_cycles()) {
        char buf[12];
        /* unsigned: a region can exceed 2^31 cycles */
        print_line2("EA_END ", format_unsigned(buf, elapsed));
    } else {
        ea_board_print("EA_END\n");
    }
}

void ea_print_hex(const char *tag, const void *data, size_t n) {
    static const char hex[] = "0123456789abcdef";
    const uint8_t *bytes = (const uint8_t *)data;
    char line[2 * EA_HEX_BYTES_PER_LINE + 2];
    size_t i = 0;
    while (i < n) {
        size_t k = 0;
        while (k < EA_HEX_BYTES_PER_LINE && i < n) {
            line[2 * k] = hex[bytes[i] >> 4];
            line[2 * k + 1] = hex[bytes[i] & 0x0Fu];
            ++k;
            ++i;
        }
        line[2 * k] = '\n';
        line[2 * k + 1] = '\0';
        ea_board_print("EA_HEX ");
        ea_board_print(tag);
        ea_board_print(" ");
        ea_board_print(line);
    }
}

void ea_print_value(const char *name, int32_t value) {
    char buf[12];
    ea_board_print("EA_VALUE ");
    ea_board_print(name);
    print_line2(" ", format_decimal(buf, value));
}

int main(void) {
    char buf[12];
    int code;
    ea_board_init();
    code = ea_harness_run();
    print_line2("EA_STACK ", format_decimal(buf, (int32_t)ea_board_stack_high_water()));
    print_line2("EA_EXIT ", format_decimal(buf, (int32_t)code));
    return code;
}
