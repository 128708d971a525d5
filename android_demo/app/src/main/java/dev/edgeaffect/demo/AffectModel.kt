package dev.edgeaffect.demo

import dev.edgeaffect.core.BundleManifest
import org.pytorch.executorch.EValue
import org.pytorch.executorch.Module
import org.pytorch.executorch.Tensor
import java.io.File

/** One ExecuTorch program: float32 NCHW input of the manifest's shape -> raw outputs (one row). */
class AffectModel(artifact: File, private val manifest: BundleManifest) : AutoCloseable {
    private val module: Module = Module.load(artifact.absolutePath)
    private val shape = longArrayOf(1, manifest.input.channels.toLong(), manifest.input.height.toLong(),
            manifest.input.width.toLong())

    fun run(input: FloatArray): FloatArray {
        val outputs = module.forward(EValue.from(Tensor.fromBlob(input, shape)))
        val raw = outputs[0].toTensor().dataAsFloatArray
        if (raw.size != manifest.output.labels.size)
            throw IllegalStateException("${manifest.artifact}: ${raw.size} outputs, the manifest has ${manifest.output.labels.size} labels")
        return raw
    }

    override fun close() = module.destroy()
}
