package dev.edgeaffect.core

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

class JsonAndManifestTest {
    private val manifestText = """
        {"model": "m", "task": "ocular_va", "target": "executorch", "precision": "fp32", "artifact": "model.pte",
         "files": {"model.pte": "ab", "goldens/crops.npy": "cd"}, "tolerance": {"raw_max_abs": 1e-5},
         "goldens": {"crops": "goldens/crops.npy", "n": 3, "reference": "torch_eager_fp32"},
         "spec": {"task": "ocular_va", "version": 1,
           "input": {"source": "eye_slot", "color": "rgb", "size": [170, 520], "resize": "bilinear",
                     "crop_margin": 0.0, "pad": "keep_aspect", "pad_value": 0,
                     "scale": [0.0171, 0.0175, 0.0174], "offset": [-2.1179, -2.0357, -1.8044],
                     "layout": "NCHW", "quant": null},
           "output": {"kind": "regression", "post": "clamp", "labels": ["valence", "arousal"],
                      "clamp_range": [-1.0, 1.0], "smooth_alpha": 0.3}}}
    """

    @Test
    fun parsesAnOcularManifestWithoutAnythingModelSpecificInCode() {
        val m = BundleManifest.parse(manifestText)
        assertEquals("eye_slot", m.input.source)
        assertEquals(170, m.input.height)
        assertEquals(520, m.input.width)
        assertEquals(3, m.input.channels)
        assertArrayEquals(floatArrayOf(-2.1179f, -2.0357f, -1.8044f), m.input.offset, 0f)
        assertEquals(listOf("valence", "arousal"), m.output.labels)
        assertEquals(mapOf("crops" to "goldens/crops.npy"), m.goldens)
        val shown = PostProcess.apply(floatArrayOf(1.5f, -0.25f), m.output)
        assertArrayEquals(doubleArrayOf(1.0, -0.25), shown, 0.0)
    }

    @Test
    fun badFieldsAreNamed() {
        for ((bad, field) in listOf(
                manifestText.replace("\"rgb\"", "\"cmyk\"") to "input.color",
                manifestText.replace("[170, 520]", "[170]") to "input.size",
                manifestText.replace("\"smooth_alpha\": 0.3", "\"smooth_alpha\": 0") to "output.smooth_alpha",
                manifestText.replace("\"model.pte\": \"ab\", ", "") to "artifact",
                manifestText.replace("\"tolerance\"", "\"tol\"") to "tolerance")) {
            try {
                BundleManifest.parse(bad)
                fail("accepted a manifest with a bad $field")
            } catch (e: ManifestException) {
                assertTrue("'${e.message}' names $field", e.message!!.contains(field))
            }
        }
    }

    @Test
    fun jsonEscapesAndMalformedInput() {
        assertEquals(mapOf("a" to listOf("x\"\u00e9\n", true, null, -1.5e2)), Json.parse("{\"a\": [\"x\\\"\\u00e9\\n\", true, null, -1.5e2]}"))
        for (bad in listOf("{", "[1,]", "{\"a\" 1}", "\"unterminated", "[1] x", "nul")) {
            try {
                Json.parse(bad)
                fail("accepted '$bad'")
            } catch (e: ManifestException) {
            }
        }
    }

    @Test
    fun emaFollowsTheReferenceRecurrence() {
        val ema = EmaSmoother(0.25)
        assertArrayEquals(doubleArrayOf(1.0, 0.0), ema.update(doubleArrayOf(1.0, 0.0)), 0.0)
        assertArrayEquals(doubleArrayOf(0.75, 0.25), ema.update(doubleArrayOf(0.0, 1.0)), 1e-15)
        ema.reset()
        assertArrayEquals(doubleArrayOf(0.0, 1.0), ema.update(doubleArrayOf(0.0, 1.0)), 0.0)
    }

    @Test
    fun softmaxIsStableForLargeLogits() {
        val p = PostProcess.softmax(doubleArrayOf(1000.0, 1000.0, -1000.0))
        assertArrayEquals(doubleArrayOf(0.5, 0.5, 0.0), p, 1e-12)
    }

    @Test
    fun regionsFollowTheManifestSource() {
        val frame = Frame(ByteArray(100 * 80), 100, 80, 1)
        val xs = floatArrayOf(10.2f, 30.9f, 20f)
        val ys = floatArrayOf(5.5f, 7f, 15.1f)
        assertEquals(Box(10, 5, 21, 11), Regions.bounds(xs, ys))
        // 21 x 11 grown to floor(23.6) x floor(14.25): 23 x 14, centred
        assertEquals(Box(9, 4, 23, 14), Regions.eyeSlot(xs, ys))
        val face = Box(1, 2, 3, 4)
        assertEquals(frame.fullBox, Regions.select("eye_slot", frame, face, null, Pair(xs, ys), eyeCamera = true))
        assertEquals(Box(9, 4, 23, 14), Regions.select("eye_slot", frame, face, null, Pair(xs, ys), eyeCamera = false))
        assertEquals(null, Regions.select("eye_slot", frame, face, null, null, eyeCamera = false))
        assertEquals(face, Regions.select("face_box", frame, face, Pair(xs, ys), null, eyeCamera = false))
        assertEquals(frame.fullBox, Regions.select("full_frame", frame, null, null, null, eyeCamera = false))
    }
}
