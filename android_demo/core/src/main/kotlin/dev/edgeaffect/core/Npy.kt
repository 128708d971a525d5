package dev.edgeaffect.core

import java.io.File
import java.nio.ByteBuffer
import java.nio.ByteOrder

/** A C-ordered array read from a .npy file: uint8 data stays bytes, float data becomes FloatArray/DoubleArray. */
class NpyArray(val shape: IntArray, val dtype: String, private val data: ByteBuffer) {
    val size: Int get() = shape.fold(1) { a, b -> a * b }

    fun uint8(): ByteArray {
        if (dtype != "|u1") throw ManifestException("npy: expected dtype |u1, got $dtype")
        val out = ByteArray(size)
        data.duplicate().get(out)
        return out
    }

    /** float32 or float64 data as float64 (exact for both). */
    fun float64(): DoubleArray = when (dtype) {
        "<f4" -> DoubleArray(size) { data.getFloat(it * 4).toDouble() }
        "<f8" -> DoubleArray(size) { data.getDouble(it * 8) }
        else -> throw ManifestException("npy: expected dtype <f4 or <f8, got $dtype")
    }

    fun float32(): FloatArray {
        if (dtype != "<f4") throw ManifestException("npy: expected dtype <f4, got $dtype")
        return FloatArray(size) { data.getFloat(it * 4) }
    }
}

/** Reader of NumPy's .npy format (versions 1-3), C order, little-endian u1/f4/f8 — what the goldens use. */
object Npy {
    private val MAGIC = byteArrayOf(0x93.toByte(), 0x4E, 0x55, 0x4D, 0x50, 0x59) // \x93NUMPY
    private val ITEM_SIZE = mapOf("|u1" to 1, "<f4" to 4, "<f8" to 8)

    fun read(file: File): NpyArray = parse(file.readBytes(), file.path)

    fun parse(bytes: ByteArray, name: String = "npy"): NpyArray {
        if (bytes.size < 10 || !bytes.copyOfRange(0, 6).contentEquals(MAGIC)) throw ManifestException("$name: not a .npy file")
        val buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN)
        val major = bytes[6].toInt()
        val (headerLen, headerStart) = when (major) {
            1 -> Pair(buf.getShort(8).toInt() and 0xFFFF, 10)
            2, 3 -> Pair(buf.getInt(8), 12)
            else -> throw ManifestException("$name: unsupported .npy version $major")
        }
        val header = String(bytes, headerStart, headerLen, Charsets.ISO_8859_1)
        val descr = Regex("'descr':\\s*'([^']+)'").find(header)?.groupValues?.get(1)
            ?: throw ManifestException("$name: header has no descr")
        if (Regex("'fortran_order':\\s*True").containsMatchIn(header)) throw ManifestException("$name: Fortran order unsupported")
        val shapeText = Regex("'shape':\\s*\\(([^)]*)\\)").find(header)?.groupValues?.get(1)
            ?: throw ManifestException("$name: header has no shape")
        val shape = shapeText.split(',').map { it.trim() }.filter { it.isNotEmpty() }.map { it.toInt() }.toIntArray()
        val item = ITEM_SIZE[descr] ?: throw ManifestException("$name: unsupported dtype $descr")
        val dataStart = headerStart + headerLen
        val expected = shape.fold(1L) { a, b -> a * b } * item
        if (bytes.size - dataStart.toLong() != expected)
            throw ManifestException("$name: ${bytes.size - dataStart} data bytes, expected $expected for shape ${shape.toList()}")
        val data = ByteBuffer.wrap(bytes, dataStart, bytes.size - dataStart).slice().order(ByteOrder.LITTLE_ENDIAN)
        return NpyArray(shape, descr, data)
    }
}
