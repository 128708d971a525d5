package dev.edgeaffect.core

import java.io.File
import java.security.MessageDigest

/** How one run of a model on the golden inputs compares with the bundle's golden outputs. */
data class ParityResult(val maxAbsDiff: Double, val tolerance: Double, val n: Int) {
    val passed: Boolean get() = maxAbsDiff <= tolerance
}

object Parity {
    /** max |actual - expected| over every element; the arrays must have the same length. */
    fun maxAbsDiff(actual: DoubleArray, expected: DoubleArray): Double {
        if (actual.size != expected.size) throw IllegalArgumentException("${actual.size} values vs ${expected.size} expected")
        var worst = 0.0
        for (i in actual.indices) {
            val d = Math.abs(actual[i] - expected[i])
            if (d.isNaN()) return Double.NaN
            if (d > worst) worst = d
        }
        return worst
    }

    fun compare(actual: DoubleArray, expected: DoubleArray, manifest: BundleManifest, n: Int): ParityResult =
        ParityResult(maxAbsDiff(actual, expected), manifest.rawMaxAbs, n)
}

/** sha256 checks of a bundle's files against manifest.json (a modified model must not run). */
object Integrity {
    fun sha256(file: File): String {
        val digest = MessageDigest.getInstance("SHA-256")
        file.inputStream().use { stream ->
            val buf = ByteArray(1 shl 16)
            while (true) {
                val n = stream.read(buf)
                if (n < 0) break
                digest.update(buf, 0, n)
            }
        }
        return digest.digest().joinToString("") { String.format("%02x", it) }
    }

    /** Every plain file the manifest lists under `root` must exist and match; returns the files checked. */
    fun verify(root: File, manifest: BundleManifest, skip: (String) -> Boolean = { it.startsWith("calibration/") }): List<String> {
        val checked = ArrayList<String>()
        for ((rel, expected) in manifest.files) {
            if (skip(rel)) continue
            val file = File(root, rel)
            if (!file.isFile) throw ManifestException("$file: listed in the manifest but missing")
            val actual = sha256(file)
            if (actual != expected) throw ManifestException("$file: sha256 ${actual.take(16)}... does not match the manifest (${expected.take(16)}...)")
            checked.add(rel)
        }
        return checked
    }
}
