package dev.edgeaffect.core

/** The manifest's output section applied to one raw output row, in float64 like the reference (postprocess.py). */
object PostProcess {
    fun apply(raw: FloatArray, spec: OutputSpec): DoubleArray {
        if (raw.size != spec.labels.size)
            throw IllegalArgumentException("output: ${raw.size} values, the manifest has ${spec.labels.size} labels")
        val x = DoubleArray(raw.size) { raw[it].toDouble() }
        return when (spec.post) {
            "softmax" -> softmax(x)
            "sigmoid" -> DoubleArray(x.size) { 1.0 / (1.0 + Math.exp(-x[it])) }
            "clamp" -> {
                val (lo, hi) = spec.clampRange!!
                DoubleArray(x.size) { Math.min(Math.max(x[it], lo), hi) }
            }
            else -> x
        }
    }

    fun softmax(x: DoubleArray): DoubleArray {
        var max = Double.NEGATIVE_INFINITY
        for (v in x) if (v > max) max = v
        val e = DoubleArray(x.size) { Math.exp(x[it] - max) }
        val sum = e.sum()
        return DoubleArray(e.size) { e[it] / sum }
    }

    fun top1(values: DoubleArray): Int {
        var best = 0
        for (i in 1 until values.size) if (values[i] > values[best]) best = i
        return best
    }
}

/** s_t = a * y_t + (1 - a) * s_{t-1} with a = output.smooth_alpha; reset when the tracked face is lost. */
class EmaSmoother(private val alpha: Double) {
    private var state: DoubleArray? = null

    init {
        require(alpha > 0.0 && alpha <= 1.0) { "smooth_alpha: expected (0, 1], got $alpha" }
    }

    fun update(value: DoubleArray): DoubleArray {
        val prev = state
        val next = if (prev == null || prev.size != value.size) value.copyOf()
        else DoubleArray(value.size) { alpha * value[it] + (1 - alpha) * prev[it] }
        state = next
        return next
    }

    fun reset() {
        state = null
    }
}
