package dev.edgeaffect.core

/**
 * Step 5 of the reference preprocessing: a uint8 crop at the model size
 * (H x W gray, or H x W x 3 interleaved RGB) -> float32 CHW, pixel * scale[c] + offset[c].
 *
 * Done here, not in C, because the JVM never fuses the multiply and add
 * (an Android NDK build of C may contract them into an FMA), so the result
 * equals numpy's float32 `crop * scale + offset` bit for bit.
 */
object InputTensor {
    fun normalize(crop: ByteArray, spec: InputSpec, out: FloatArray = FloatArray(spec.channels * spec.height * spec.width)): FloatArray {
        val c = spec.channels
        val plane = spec.height * spec.width
        if (crop.size != plane * c) throw IllegalArgumentException("crop: ${crop.size} bytes, expected ${plane * c}")
        if (out.size != plane * c) throw IllegalArgumentException("out: ${out.size} floats, expected ${plane * c}")
        for (ch in 0 until c) {
            val s = spec.scale[ch]
            val o = spec.offset[ch]
            val base = ch * plane
            for (p in 0 until plane) {
                val pixel = (crop[p * c + ch].toInt() and 0xFF).toFloat()
                out[base + p] = pixel * s + o
            }
        }
        return out
    }
}
