/*
 * libFuzzer target: the on-device preprocessing (embedded/src/ea_preprocess.c).
 *
 * Frame, box and config come from the input. The frame buffer is allocated
 * at exactly (height - 1) * stride + width * channels bytes and the output
 * at exactly out_capacity bytes, so AddressSanitizer reports any read or
 * write outside what the caller provided. Beyond "no crash", every call must
 * satisfy:
 *   - dimensions over the documented limits (EA_PP_MAX_*) are refused;
 *   - a refused call leaves the output untouched;
 *   - ea_preprocess_region() agrees with the crop call on the box/config;
 *   - an RGB frame with R = G = B = v gives exactly what the gray frame of v
 *     gives (BT.601 Q14 weights sum to 2^14), for gray and RGB models.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ea_preprocess.h"
#include "fuzz_input.h"

/* Frames larger than this are legal but not worth the fuzzer's time. */
#define FUZZ_MAX_FRAME_BYTES (128u << 10)
#define FUZZ_OUT_GUARD 0xA5u

#define FUZZ_CHECK(cond)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "fuzz_preprocess: check failed: %s\n", #cond); \
            abort();                                                       \
        }                                                                  \
    } while (0)

static int over_limits(int32_t w, int32_t h, ea_box_t box, const ea_preprocess_config_t *cfg) {
    return w > EA_PP_MAX_FRAME_DIM || h > EA_PP_MAX_FRAME_DIM || box.width > EA_PP_MAX_FRAME_DIM ||
           box.height > EA_PP_MAX_FRAME_DIM || cfg->out_width > EA_PP_MAX_OUT_DIM ||
           cfg->out_height > EA_PP_MAX_OUT_DIM;
}

/* width * channels + extra, saturated (width may be any int32 here). */
static int32_t row_bytes(int32_t width, int32_t channels, int32_t extra) {
    const int64_t n = (int64_t)width * channels + extra;
    return n > INT32_MAX ? INT32_MAX : (n < INT32_MIN ? INT32_MIN : (int32_t)n);
}

/* Bytes a frame of these dimensions occupies (the last row needs only its
 * pixels), or 1 (a token buffer) when the dimensions are not valid. */
static size_t frame_bytes(int32_t width, int32_t height, int32_t stride, int32_t channels) {
    if (width < 1 || height < 1 || stride < 1 || (int64_t)stride < (int64_t)width * channels) {
        return 1;
    }
    return (size_t)((uint64_t)(height - 1) * (uint64_t)stride + (uint64_t)width * (uint64_t)channels);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_input_t in = fuzz_input(data, size);
    ea_preprocess_config_t cfg;
    ea_box_t box;
    ea_box_t region;
    int32_t width, height, stride_gray, stride_rgb;
    size_t out_needed, out_capacity, gray_bytes, rgb_bytes, i;
    uint8_t *gray, *rgb, *out_gray, *out_rgb;
    ea_pp_status_t status_gray, status_rgb, status_region;
    int replicated;

    width = fuzz_raw_or(&in, fuzz_range(&in, 1, 160));
    height = fuzz_raw_or(&in, fuzz_range(&in, 1, 128));
    stride_gray = fuzz_raw_or(&in, row_bytes(width, 1, fuzz_range(&in, 0, 7)));
    stride_rgb = fuzz_raw_or(&in, row_bytes(width, 3, fuzz_range(&in, 0, 7)));
    box.x = fuzz_raw_or(&in, fuzz_range(&in, -600, 600));
    box.y = fuzz_raw_or(&in, fuzz_range(&in, -600, 600));
    box.width = fuzz_raw_or(&in, fuzz_range(&in, 1, 800));
    box.height = fuzz_raw_or(&in, fuzz_range(&in, 1, 800));
    cfg.out_height = fuzz_raw_or(&in, fuzz_range(&in, 1, 96));
    cfg.out_width = fuzz_raw_or(&in, fuzz_range(&in, 1, 96));
    cfg.color = (ea_color_t)fuzz_raw_or(&in, fuzz_bool(&in) ? EA_COLOR_RGB : EA_COLOR_GRAY);
    cfg.resize = (ea_resize_t)fuzz_raw_or(&in, fuzz_bool(&in) ? EA_RESIZE_NEAREST : EA_RESIZE_BILINEAR);
    cfg.margin_permille = fuzz_raw_or(&in, fuzz_range(&in, 0, 1000));
    cfg.keep_aspect = fuzz_raw_or(&in, fuzz_bool(&in));
    cfg.pad_value = fuzz_u8(&in);

    /* The output: exactly what the config needs, or (1 in 8) a few bytes short. */
    out_needed = 1;
    if (cfg.out_height > 0 && cfg.out_width > 0 && cfg.out_height <= EA_PP_MAX_OUT_DIM &&
        cfg.out_width <= EA_PP_MAX_OUT_DIM) {
        out_needed = (size_t)cfg.out_height * (size_t)cfg.out_width * (cfg.color == EA_COLOR_RGB ? 3u : 1u);
    }
    out_capacity = out_needed;
    if ((fuzz_u8(&in) & 7u) == 7u && out_needed > 1) {
        out_capacity = out_needed - 1 - (size_t)fuzz_range(&in, 0, 3) % (out_needed - 1);
    }

    /* Frames with invalid sizes get a 1-byte buffer: the call must refuse
     * them before reading (ASan reports the read otherwise). */
    gray_bytes = frame_bytes(width, height, stride_gray, 1);
    rgb_bytes = frame_bytes(width, height, stride_rgb, 3);
    if ((gray_bytes > FUZZ_MAX_FRAME_BYTES || rgb_bytes > FUZZ_MAX_FRAME_BYTES) && !over_limits(width, height, box, &cfg)) {
        return 0; /* legal but too big to be worth the time */
    }
    gray_bytes = gray_bytes > FUZZ_MAX_FRAME_BYTES ? 1 : gray_bytes;
    rgb_bytes = rgb_bytes > FUZZ_MAX_FRAME_BYTES ? 1 : rgb_bytes;
    gray = (uint8_t *)malloc(gray_bytes);
    rgb = (uint8_t *)malloc(rgb_bytes);
    out_gray = (uint8_t *)malloc(out_capacity);
    out_rgb = (uint8_t *)malloc(out_capacity);
    FUZZ_CHECK(gray != NULL && rgb != NULL && out_gray != NULL && out_rgb != NULL);
    fuzz_fill(&in, gray, gray_bytes);
    fuzz_fill(&in, rgb, rgb_bytes);
    replicated = gray_bytes > 1 && rgb_bytes > 1;
    if (replicated) { /* the RGB frame replicates the gray one */
        int32_t x, y;
        for (y = 0; y < height; ++y) {
            for (x = 0; x < width; ++x) {
                const uint8_t v = gray[(size_t)y * (size_t)stride_gray + (size_t)x];
                uint8_t *p = rgb + (size_t)y * (size_t)stride_rgb + 3u * (size_t)x;
                p[0] = p[1] = p[2] = v;
            }
        }
    }
    memset(out_gray, FUZZ_OUT_GUARD, out_capacity);
    memset(out_rgb, FUZZ_OUT_GUARD, out_capacity);

    status_region = ea_preprocess_region(width, height, box, &cfg, &region);
    status_gray = ea_preprocess_gray_u8(gray, width, height, stride_gray, box, &cfg, out_gray, out_capacity);
    status_rgb = ea_preprocess_rgb888(rgb, width, height, stride_rgb, box, &cfg, out_rgb, out_capacity);

    if (over_limits(width, height, box, &cfg)) {
        FUZZ_CHECK(status_gray != EA_PP_OK && status_rgb != EA_PP_OK && status_region != EA_PP_OK);
    }
    if (status_region != EA_PP_OK) { /* region problems come first, in every entry point */
        FUZZ_CHECK(status_gray == status_region && status_rgb == status_region);
    } else {
        FUZZ_CHECK(region.width >= 1 && region.height >= 1 && region.width <= EA_PP_MAX_REGION_DIM &&
                   region.height <= EA_PP_MAX_REGION_DIM);
    }
    if (status_gray != EA_PP_OK) {
        for (i = 0; i < out_capacity; ++i) {
            FUZZ_CHECK(out_gray[i] == FUZZ_OUT_GUARD);
        }
    }
    if (status_rgb != EA_PP_OK) {
        for (i = 0; i < out_capacity; ++i) {
            FUZZ_CHECK(out_rgb[i] == FUZZ_OUT_GUARD);
        }
    }
    if (replicated && status_gray == EA_PP_OK && status_rgb == EA_PP_OK) {
        FUZZ_CHECK(memcmp(out_gray, out_rgb, out_needed) == 0);
    }

    /* The int8 input tables: every byte of a crop maps through its channel's table. */
    if (status_gray == EA_PP_OK) {
        const int32_t channels = cfg.color == EA_COLOR_RGB ? 3 : 1;
        const size_t pixels = out_needed / (size_t)channels;
        int8_t luts[3 * 256];
        int8_t *q = (int8_t *)malloc(out_needed);
        FUZZ_CHECK(q != NULL);
        fuzz_fill(&in, luts, sizeof luts);
        FUZZ_CHECK(ea_quantize_input_lut_hwc(out_gray, pixels, channels, luts, q) == EA_PP_OK);
        for (i = 0; i < out_needed; ++i) {
            FUZZ_CHECK(q[i] == luts[(i % (size_t)channels) * 256u + out_gray[i]]);
        }
        free(q);
    }

    free(gray);
    free(rgb);
    free(out_gray);
    free(out_rgb);
    return 0;
}
