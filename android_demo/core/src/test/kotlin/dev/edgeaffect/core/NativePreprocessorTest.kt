package dev.edgeaffect.core

import org.junit.Assert.assertEquals
import org.junit.Assert.fail
import org.junit.Assume.assumeTrue
import org.junit.BeforeClass
import org.junit.Test
import java.io.File

/**
 * The JNI bridge + embedded C preprocessing (a host build of
 * app/src/main/cpp, -Dedgeaffect.jni.lib=/abs/libedgeaffect_jni.so) against
 * the numpy reference: the bundle's golden crops, and frames with off-centre
 * boxes from -Dedgeaffect.frames (written by the pytest that drives this).
 */
class NativePreprocessorTest {
    companion object {
        @BeforeClass
        @JvmStatic
        fun loadLibrary() {
            val lib = System.getProperty("edgeaffect.jni.lib") ?: ""
            assumeTrue("set -Dedgeaffect.jni.lib to a host build of libedgeaffect_jni (got '$lib')", File(lib).isFile)
            NativePreprocessor.load(lib)
        }

        fun assertBitEqual(actual: FloatArray, expected: FloatArray, offset: Int, what: String) {
            for (j in actual.indices) {
                val e = expected[offset + j]
                if (java.lang.Float.floatToIntBits(actual[j]) != java.lang.Float.floatToIntBits(e))
                    fail("$what element $j: ${actual[j]} != $e")
            }
        }
    }

    private fun bundle(): File {
        val root = File(System.getProperty("edgeaffect.bundle") ?: "")
        assumeTrue("set -Dedgeaffect.bundle to an exported bundle directory", File(root, "manifest.json").isFile)
        return root
    }

    @Test
    fun goldenCropsThroughCEqualGoldenInputs() {
        val root = bundle()
        val manifest = BundleManifest.read(File(root, "manifest.json"))
        val spec = manifest.input
        val crops = Npy.read(File(root, manifest.goldens.getValue("crops")))
        val inputs = Npy.read(File(root, manifest.goldens.getValue("inputs"))).float32()
        val pre = Preprocessor(spec)
        val h = crops.shape[1]
        val w = crops.shape[2]
        val c = if (crops.shape.size == 4) crops.shape[3] else 1
        val all = crops.uint8()
        val per = h * w * c
        for (i in 0 until crops.shape[0]) {
            // Each golden crop is a whole image whose face box is the image (preprocess_crops).
            val frame = Frame(all.copyOfRange(i * per, (i + 1) * per), w, h, c)
            assertBitEqual(pre.tensor(frame, frame.fullBox), inputs, i * spec.channels * spec.height * spec.width, "crop $i")
            if (c == 1) {  // the same crop as an RGB888 frame: the Q14 gray conversion returns the value
                val rgb = ByteArray(per * 3) { all[i * per + it / 3] }
                assertBitEqual(pre.tensor(Frame(rgb, w, h, 3), Box(0, 0, w, h)), inputs,
                        i * spec.channels * spec.height * spec.width, "crop $i as RGB")
            }
        }
    }

    @Test
    fun framesWithOffCentreBoxesEqualTheReference() {
        val dir = File(System.getProperty("edgeaffect.frames") ?: "")
        assumeTrue("set -Dedgeaffect.frames to the directory of frame.npy/boxes.npy/expected.npy", File(dir, "frame.npy").isFile)
        val manifest = BundleManifest.read(File(bundle(), "manifest.json"))
        val frameArr = Npy.read(File(dir, "frame.npy"))
        val boxes = Npy.read(File(dir, "boxes.npy")).float64()
        val expected = Npy.read(File(dir, "expected.npy")).float32()
        val frame = Frame(frameArr.uint8(), frameArr.shape[1], frameArr.shape[0], if (frameArr.shape.size == 3) 3 else 1)
        val pre = Preprocessor(manifest.input)
        val per = manifest.input.channels * manifest.input.height * manifest.input.width
        for (k in 0 until boxes.size / 4) {
            val box = Box(boxes[4 * k].toInt(), boxes[4 * k + 1].toInt(), boxes[4 * k + 2].toInt(), boxes[4 * k + 3].toInt())
            assertBitEqual(pre.tensor(frame, box), expected, k * per, "box $box")
        }
    }

    @Test
    fun boxOutsideTheFrameIsRefusedWithItsReason() {
        bundle()
        val manifest = BundleManifest.read(File(bundle(), "manifest.json"))
        val frame = Frame(ByteArray(32 * 24), 32, 24, 1)
        try {
            Preprocessor(manifest.input).crop(frame, Box(40, 0, 10, 10))
            fail("a box outside the frame was accepted")
        } catch (e: IllegalArgumentException) {
            assertEquals(true, e.message!!.contains("does not overlap"))
        }
    }
}
