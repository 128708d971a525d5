/*
 * QEMU/host harness for tests/embedded/test_qemu.py: runs the on-device
 * preprocessing on a linked-in camera frame for each case of a table, each
 * call between the measurement markers, and prints every crop.
 *
 * Linked-in data (written by the test with toolchain.write_data_source):
 *   ea_test_frame   gray frame, EA_TEST_FRAME_W x EA_TEST_FRAME_H
 *   ea_test_cases   EA_CASE_FIELDS int32 per case (see the enum below)
 *   ea_test_lut     a 256-entry int8 input table, applied to case 0's crop
 */
#include <stddef.h>
#include <stdint.h>

#include "ea_harness.h"
#include "ea_preprocess.h"

enum {
    CASE_X, CASE_Y, CASE_W, CASE_H, CASE_OUT_H, CASE_OUT_W, CASE_COLOR, CASE_RESIZE, CASE_MARGIN,
    CASE_KEEP_ASPECT, CASE_PAD, EA_CASE_FIELDS
};

#define EA_TEST_MAX_CROP (96 * 96 * 3)

extern const uint8_t ea_test_frame[];
extern const int32_t ea_test_cases[];
extern const size_t ea_test_cases_len;
extern const int8_t ea_test_lut[];

static uint8_t crop[EA_TEST_MAX_CROP];
static int8_t quantized[EA_TEST_MAX_CROP];

static void tag_of(char *tag, const char *prefix, size_t index) {
    while (*prefix != '\0') {
        *tag++ = *prefix++;
    }
    tag[0] = (char)('0' + (index / 10u) % 10u);
    tag[1] = (char)('0' + index % 10u);
    tag[2] = '\0';
}

int ea_harness_run(void) {
    const size_t n_cases = ea_test_cases_len / EA_CASE_FIELDS;
    size_t i;
    int failures = 0;
    for (i = 0; i < n_cases; ++i) {
        const int32_t *c = &ea_test_cases[i * EA_CASE_FIELDS];
        ea_box_t box;
        ea_preprocess_config_t cfg;
        ea_pp_status_t status;
        char tag[16];
        box.x = c[CASE_X];
        box.y = c[CASE_Y];
        box.width = c[CASE_W];
        box.height = c[CASE_H];
        cfg.out_height = c[CASE_OUT_H];
        cfg.out_width = c[CASE_OUT_W];
        cfg.color = c[CASE_COLOR] == 3 ? EA_COLOR_RGB : EA_COLOR_GRAY;
        cfg.resize = c[CASE_RESIZE] == 1 ? EA_RESIZE_NEAREST : EA_RESIZE_BILINEAR;
        cfg.margin_permille = c[CASE_MARGIN];
        cfg.keep_aspect = c[CASE_KEEP_ASPECT];
        cfg.pad_value = (uint8_t)c[CASE_PAD];

        ea_measure_begin();
        status = ea_preprocess_gray_u8(ea_test_frame, EA_TEST_FRAME_W, EA_TEST_FRAME_H, EA_TEST_FRAME_W, box, &cfg,
                                       crop, sizeof crop);
        ea_measure_end();

        tag_of(tag, "status", i);
        ea_print_value(tag, status);
        if (status != EA_PP_OK) {
            ++failures;
            continue;
        }
        tag_of(tag, "crop", i);
        ea_print_hex(tag, crop, (size_t)(cfg.out_height * cfg.out_width * (int32_t)cfg.color));
        if (i == 0) {
            const size_t n = (size_t)(cfg.out_height * cfg.out_width);
            ea_measure_begin();
            status = ea_quantize_input_lut(crop, n, ea_test_lut, quantized);
            ea_measure_end();
            failures += status != EA_PP_OK;
            ea_print_hex("quantized", quantized, n);
        }
    }
    return failures;
}
