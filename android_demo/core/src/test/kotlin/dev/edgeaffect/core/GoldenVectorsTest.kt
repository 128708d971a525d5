package dev.edgeaffect.core

import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Assume.assumeTrue
import org.junit.Test
import java.io.File

/**
 * The bundle's golden vectors through the platform-independent core: the
 * bundle directory comes from -Dedgeaffect.bundle (an exported
 * app/src/main/assets/edge_affect/<model>/<target>-<precision>).
 */
class GoldenVectorsTest {
    private val root: File = File(System.getProperty("edgeaffect.bundle") ?: "").also {
        assumeTrue("set -Dedgeaffect.bundle to an exported bundle directory (got '$it')", File(it, "manifest.json").isFile)
    }
    private val manifest = BundleManifest.read(File(root, "manifest.json"))

    private fun golden(key: String): NpyArray =
        Npy.read(File(root, manifest.goldens[key] ?: throw AssertionError("manifest has no goldens.$key")))

    @Test
    fun everyShippedFileMatchesItsSha256() {
        val checked = Integrity.verify(root, manifest)
        assertTrue("artifact checked", manifest.artifact in checked)
    }

    @Test
    fun modifiedFileIsRefused() {
        val copy = createTempDir()
        try {
            File(root, manifest.artifact).copyTo(File(copy, manifest.artifact))
            val tampered = File(copy, manifest.artifact)
            val bytes = tampered.readBytes()
            bytes[bytes.size / 2] = (bytes[bytes.size / 2].toInt() xor 1).toByte()
            tampered.writeBytes(bytes)
            try {
                Integrity.verify(copy, manifest) { it != manifest.artifact }
                fail("a modified artifact passed the sha256 check")
            } catch (e: ManifestException) {
                assertTrue(e.message!!, e.message!!.contains("does not match"))
            }
        } finally {
            copy.deleteRecursively()
        }
    }

    @Test
    fun postProcessingOfGoldenOutputsFollowsTheManifest() {
        val outputs = golden("outputs")
        val fp32 = golden("fp32_outputs")
        val k = manifest.output.labels.size
        assertEquals(k, outputs.shape[1])
        val raw = outputs.float32()
        val reference = fp32.float32()
        var agree = 0
        val n = outputs.shape[0]
        for (i in 0 until n) {
            val shown = PostProcess.apply(raw.copyOfRange(i * k, (i + 1) * k), manifest.output)
            if (manifest.output.post == "softmax") assertEquals(1.0, shown.sum(), 1e-9)
            val ref = PostProcess.apply(reference.copyOfRange(i * k, (i + 1) * k), manifest.output)
            if (PostProcess.top1(shown) == PostProcess.top1(ref)) agree++
        }
        // int8 builds may flip near-ties; the Python parity gate holds the exact bar (>= 98% decisive).
        assertTrue("top-1 agreement $agree/$n", agree >= 0.9 * n)
    }

    @Test
    fun toleranceComparisonPassesGoldensAndFailsBeyondTheTolerance() {
        val expected = golden("outputs").float64()
        val same = Parity.compare(expected.copyOf(), expected, manifest, expected.size)
        assertTrue(same.passed)
        val off = expected.copyOf()
        off[off.size / 3] += manifest.rawMaxAbs * 2 + 1e-6
        val beyond = Parity.compare(off, expected, manifest, expected.size)
        assertTrue("a difference of twice the tolerance must fail", !beyond.passed)
    }
}
