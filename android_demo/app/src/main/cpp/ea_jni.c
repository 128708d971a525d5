/*
 * JNI bridge: dev.edgeaffect.core.NativePreprocessor.preprocess -> the
 * embedded C preprocessing (ea_preprocess.c). Only argument checks and array
 * pinning live here; every pixel rule is in the shared C file, so the app,
 * the Apollo3 firmware and the iOS package run the same code.
 */
#include <jni.h>
#include <stddef.h>

#include "ea_preprocess.h"

#define EA_JNI_ERR_CHANNELS (-100)
#define EA_JNI_ERR_FRAME_ARRAY (-101)

JNIEXPORT jint JNICALL Java_dev_edgeaffect_core_NativePreprocessor_preprocess(
    JNIEnv *env, jclass cls, jbyteArray frame, jint frame_width, jint frame_height, jint stride,
    jint frame_channels, jint box_x, jint box_y, jint box_width, jint box_height, jint out_height,
    jint out_width, jint color, jint resize, jint margin_permille, jboolean keep_aspect, jint pad_value,
    jbyteArray out) {
    ea_preprocess_config_t cfg;
    ea_box_t box;
    jsize frame_len;
    jsize out_len;
    uint8_t *frame_px;
    uint8_t *out_px;
    ea_pp_status_t status;
    (void)cls;
    if (frame == NULL || out == NULL) {
        return EA_PP_ERR_NULL;
    }
    if (frame_channels != 1 && frame_channels != 3) {
        return EA_JNI_ERR_CHANNELS;
    }
    if (frame_height < 1 || stride < 1) {
        return EA_PP_ERR_SIZE;
    }
    frame_len = (*env)->GetArrayLength(env, frame);
    /* the C code reads rows up to stride * (height - 1) + width * channels */
    if ((long long)stride * (frame_height - 1) + (long long)frame_width * frame_channels > (long long)frame_len) {
        return EA_JNI_ERR_FRAME_ARRAY;
    }
    out_len = (*env)->GetArrayLength(env, out);
    cfg.out_height = out_height;
    cfg.out_width = out_width;
    cfg.color = (ea_color_t)color;
    cfg.resize = (ea_resize_t)resize;
    cfg.margin_permille = margin_permille;
    cfg.keep_aspect = keep_aspect ? 1 : 0;
    cfg.pad_value = (uint8_t)(pad_value & 0xFF);
    if (pad_value < 0 || pad_value > 255) {
        return EA_PP_ERR_CONFIG;
    }
    box.x = box_x;
    box.y = box_y;
    box.width = box_width;
    box.height = box_height;

    /* Critical sections: no JNI calls and no blocking until released. */
    frame_px = (uint8_t *)(*env)->GetPrimitiveArrayCritical(env, frame, NULL);
    if (frame_px == NULL) {
        return EA_PP_ERR_NULL;
    }
    out_px = (uint8_t *)(*env)->GetPrimitiveArrayCritical(env, out, NULL);
    if (out_px == NULL) {
        (*env)->ReleasePrimitiveArrayCritical(env, frame, frame_px, JNI_ABORT);
        return EA_PP_ERR_NULL;
    }
    if (frame_channels == 1) {
        status = ea_preprocess_gray_u8(frame_px, frame_width, frame_height, stride, box, &cfg, out_px,
                                       (size_t)out_len);
    } else {
        status = ea_preprocess_rgb888(frame_px, frame_width, frame_height, stride, box, &cfg, out_px,
                                      (size_t)out_len);
    }
    (*env)->ReleasePrimitiveArrayCritical(env, out, out_px, 0);
    (*env)->ReleasePrimitiveArrayCritical(env, frame, frame_px, JNI_ABORT);
    return (jint)status;
}
