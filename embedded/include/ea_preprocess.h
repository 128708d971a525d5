/*
 * On-device preprocessing: camera frame + face box -> the model's input.
 *
 * A C99, integer-only, allocation-free port of the numpy reference
 * (edge_affect/runtime/preprocess.py and resize.py); the two are tested
 * bit-exact. The steps, exactly as the reference orders them:
 *
 *   1. colour    RGB -> gray: (4899 R + 9617 G + 1868 B + 2^13) >> 14;
 *                gray -> RGB replicates the value.
 *   2. crop      grow the box by margin_permille of its width/height on every
 *                side (rounded half up); pixels outside the frame read as
 *                pad_value.
 *   3. pad       with keep_aspect, grow the crop along one axis to the output
 *                aspect ratio (the odd extra pixel goes bottom/right).
 *   4. resize    bilinear (half-pixel centres, Q11 taps) or nearest.
 *   5. quantize  pixel -> int8 through a 256-entry table per channel that the
 *                converter computes from the spec (normalisation + input
 *                quantization folded together).
 *
 * Steps 1-4 sample the virtual padded crop straight from the frame: the crop
 * is never materialised, so the only memory used is the caller's output.
 */
#ifndef EA_PREPROCESS_H
#define EA_PREPROCESS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    EA_PP_OK = 0,
    EA_PP_ERR_NULL = -1,         /* a required pointer is NULL */
    EA_PP_ERR_SIZE = -2,         /* a frame/output/box size is < 1, or the stride is too small */
    EA_PP_ERR_CONFIG = -3,       /* colour, resize, margin or keep_aspect out of range */
    EA_PP_ERR_BOX_OUTSIDE = -4,  /* the face box does not overlap the frame */
    EA_PP_ERR_OUTPUT_SIZE = -5,  /* out_capacity < out_height * out_width * channels */
    EA_PP_ERR_RANGE = -6         /* a dimension exceeds the limits below */
} ea_pp_status_t;

/* Limits that keep every intermediate inside int32 on the device. */
#define EA_PP_MAX_FRAME_DIM 16384  /* frame width/height, box width/height */
#define EA_PP_MAX_OUT_DIM 4096     /* model input height/width (the spec's limit) */
#define EA_PP_MAX_REGION_DIM 65535 /* crop after margin and keep-aspect growth */

/* A face box in frame pixels; x/y may be negative (partly outside). */
typedef struct {
    int32_t x;
    int32_t y;
    int32_t width;
    int32_t height;
} ea_box_t;

/* The value is the number of channels of the output crop. */
typedef enum { EA_COLOR_GRAY = 1, EA_COLOR_RGB = 3 } ea_color_t;

typedef enum { EA_RESIZE_BILINEAR = 0, EA_RESIZE_NEAREST = 1 } ea_resize_t;

/* The spec's input section, as the generated model code fills it in. */
typedef struct {
    int32_t out_height;      /* input.size[0] */
    int32_t out_width;       /* input.size[1] */
    ea_color_t color;        /* input.color */
    ea_resize_t resize;      /* input.resize */
    int32_t margin_permille; /* floor(input.crop_margin * 1000 + 0.5), 0..1000 */
    int32_t keep_aspect;     /* input.pad == "keep_aspect" (0 or 1) */
    uint8_t pad_value;       /* input.pad_value */
} ea_preprocess_config_t;

/*
 * The region of the frame that is resampled to the output: `box` grown by
 * the margin, then (keep_aspect) to the output's aspect ratio. Validates
 * `box` against a frame of frame_width x frame_height like the crop calls.
 */
ea_pp_status_t ea_preprocess_region(int32_t frame_width, int32_t frame_height, ea_box_t box,
                                    const ea_preprocess_config_t *cfg, ea_box_t *region);

/*
 * 8-bit grayscale frame (e.g. the HM01B0's 324x244) -> uint8 crop of
 * out_height x out_width x channels(cfg->color), row-major, channels
 * interleaved. `stride` is the distance between rows in bytes (>= width).
 * For a full-frame model pass box = {0, 0, frame_width, frame_height}.
 */
ea_pp_status_t ea_preprocess_gray_u8(const uint8_t *frame, int32_t frame_width, int32_t frame_height,
                                     int32_t stride, ea_box_t box, const ea_preprocess_config_t *cfg,
                                     uint8_t *out, size_t out_capacity);

/* Same from an interleaved RGB888 frame (R, G, B bytes); stride >= 3 * width. */
ea_pp_status_t ea_preprocess_rgb888(const uint8_t *frame, int32_t frame_width, int32_t frame_height,
                                    int32_t stride, ea_box_t box, const ea_preprocess_config_t *cfg,
                                    uint8_t *out, size_t out_capacity);

/* out[i] = lut[crop[i]] for n pixels of a one-channel crop. */
ea_pp_status_t ea_quantize_input_lut(const uint8_t *crop, size_t n, const int8_t lut[256], int8_t *out);

/*
 * Per-channel tables for an interleaved crop of `pixels` pixels with
 * `channels` channels: out[p*C + c] = luts[c*256 + crop[p*C + c]]. The
 * layout (HWC) is kept. `out` may alias `crop` only if it is the same buffer
 * reinterpreted (element sizes match).
 */
ea_pp_status_t ea_quantize_input_lut_hwc(const uint8_t *crop, size_t pixels, int32_t channels,
                                         const int8_t *luts, int8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* EA_PREPROCESS_H */
