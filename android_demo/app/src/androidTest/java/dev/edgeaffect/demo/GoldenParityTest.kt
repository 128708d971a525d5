package dev.edgeaffect.demo

import androidx.test.ext.junit.runners.AndroidJUnit4
import androidx.test.platform.app.InstrumentationRegistry
import dev.edgeaffect.core.Npy
import dev.edgeaffect.core.Parity
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import java.io.File

/**
 * On the device: every exported bundle's model.pte through the ExecuTorch AAR
 * on goldens/inputs.npy vs goldens/outputs.npy, within the manifest's
 * tolerance.raw_max_abs (`./gradlew :app:connectedAndroidTest`).
 */
@RunWith(AndroidJUnit4::class)
class GoldenParityTest {
    @Test
    fun everyBundleMatchesItsGoldenOutputs() {
        val context = InstrumentationRegistry.getInstrumentation().targetContext
        val entries = BundleAssets.list(context)
        assertFalse("no bundles in assets: run edge-affect export-app-assets", entries.isEmpty())
        for (entry in entries) {
            val bundle = BundleAssets.load(context, entry)
            val m = bundle.manifest
            val inputs = Npy.read(File(bundle.dir, m.goldens.getValue("inputs")))
            val expected = Npy.read(File(bundle.dir, m.goldens.getValue("outputs"))).float64()
            val all = inputs.float32()
            val n = inputs.shape[0]
            val per = all.size / n
            val actual = DoubleArray(expected.size)
            AffectModel(bundle.artifact, m).use { model ->
                for (i in 0 until n) {
                    val raw = model.run(all.copyOfRange(i * per, (i + 1) * per))
                    for (k in raw.indices) actual[i * raw.size + k] = raw[k].toDouble()
                }
            }
            val result = Parity.compare(actual, expected, m, n)
            assertTrue("$entry: max abs diff ${result.maxAbsDiff} > ${result.tolerance}", result.passed)
        }
    }
}
