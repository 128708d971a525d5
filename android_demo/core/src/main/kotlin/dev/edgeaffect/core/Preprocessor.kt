package dev.edgeaffect.core

/** A face (or eye-slot, or whole-frame) box in frame pixels; x/y may be negative. */
data class Box(val x: Int, val y: Int, val width: Int, val height: Int)

/** A camera frame in one of the layouts the C preprocessing reads: 1 = 8-bit gray, 3 = interleaved RGB888. */
class Frame(val pixels: ByteArray, val width: Int, val height: Int, val channels: Int, val stride: Int = width * channels) {
    init {
        require(channels == 1 || channels == 3) { "frame: channels must be 1 or 3, got $channels" }
        require(stride >= width * channels && pixels.size >= stride * (height - 1) + width * channels) {
            "frame: ${pixels.size} bytes do not hold ${width}x$height x $channels with stride $stride"
        }
    }

    val fullBox: Box get() = Box(0, 0, width, height)

    companion object {
        /** RGBA8888 (CameraX's OUTPUT_IMAGE_FORMAT_RGBA_8888, Android Bitmaps) -> RGB888, dropping alpha. */
        fun fromRgba(rgba: ByteArray, width: Int, height: Int, rowStride: Int, reuse: ByteArray? = null): Frame {
            val rgb = if (reuse != null && reuse.size == width * height * 3) reuse else ByteArray(width * height * 3)
            var o = 0
            for (y in 0 until height) {
                var i = y * rowStride
                for (x in 0 until width) {
                    rgb[o] = rgba[i]; rgb[o + 1] = rgba[i + 1]; rgb[o + 2] = rgba[i + 2]
                    o += 3
                    i += 4
                }
            }
            return Frame(rgb, width, height, 3)
        }
    }
}

/**
 * Steps 1-4 of the preprocessing (colour, crop + margin, keep-aspect pad,
 * integer resize) through the embedded C code (embedded/src/ea_preprocess.c,
 * bit-exact with the numpy reference), then step 5 in [InputTensor].
 * Every parameter comes from the manifest's input section.
 */
class Preprocessor(val spec: InputSpec) {
    private val crop = ByteArray(spec.height * spec.width * spec.channels)
    private val tensor = FloatArray(crop.size)

    /** uint8 crop at the model size (HWC); the returned array is reused by the next call. */
    fun crop(frame: Frame, box: Box): ByteArray {
        val status = NativePreprocessor.preprocess(
            frame.pixels, frame.width, frame.height, frame.stride, frame.channels,
            box.x, box.y, box.width, box.height,
            spec.height, spec.width, spec.channels, if (spec.resize == "nearest") 1 else 0,
            spec.marginPermille, spec.pad == "keep_aspect", spec.padValue, crop)
        if (status != 0) throw IllegalArgumentException("preprocess: ${NativePreprocessor.describe(status)} (box $box, frame ${frame.width}x${frame.height})")
        return crop
    }

    /** float32 NCHW model input (batch of one); the returned array is reused by the next call. */
    fun tensor(frame: Frame, box: Box): FloatArray = InputTensor.normalize(crop(frame, box), spec, tensor)
}

/** The JNI bridge (app/src/main/cpp/ea_jni.c) to the embedded C preprocessing. */
object NativePreprocessor {
    const val LIBRARY = "edgeaffect_jni"

    /** Android: loads lib$LIBRARY.so from the APK; a host test passes the absolute path of its build. */
    fun load(path: String? = null) {
        if (path == null) System.loadLibrary(LIBRARY) else System.load(path)
    }

    fun describe(status: Int): String = when (status) {
        0 -> "ok"
        -1 -> "a required buffer is null"
        -2 -> "a frame, box or output size is < 1, or the stride is too small"
        -3 -> "colour, resize, margin or keep_aspect out of range"
        -4 -> "the box does not overlap the frame"
        -5 -> "the output buffer is too small"
        -6 -> "a dimension exceeds the C limits"
        -100 -> "frame channels must be 1 or 3"
        -101 -> "the frame array is smaller than stride * height"
        else -> "status $status"
    }

    /** Returns an ea_pp_status_t (0 = ok); writes outHeight x outWidth x color bytes into `out`. */
    @JvmStatic
    external fun preprocess(frame: ByteArray, frameWidth: Int, frameHeight: Int, stride: Int, frameChannels: Int,
                            boxX: Int, boxY: Int, boxWidth: Int, boxHeight: Int,
                            outHeight: Int, outWidth: Int, color: Int, resize: Int,
                            marginPermille: Int, keepAspect: Boolean, padValue: Int, out: ByteArray): Int
}
