package dev.edgeaffect.core

import java.io.File

/** Affine int8 quantization of the model input: real = (q - zeroPoint) * scale. */
data class QuantParams(val scale: Double, val zeroPoint: Int)

/** The spec's input section: how a camera frame becomes the model's input (see edge_affect/spec.py). */
data class InputSpec(
    val source: String,          // face_box | landmarks68 | eye_slot | full_frame
    val color: String,           // gray | rgb
    val height: Int,
    val width: Int,
    val resize: String,          // bilinear | nearest
    val cropMargin: Double,
    val pad: String,             // none | keep_aspect
    val padValue: Int,
    val scale: FloatArray,       // x = pixel * scale[c] + offset[c]
    val offset: FloatArray,
    val layout: String,
    val quant: QuantParams?
) {
    val channels: Int get() = if (color == "gray") 1 else 3

    /** The integer margin the C preprocessing takes: floor(margin * 1000 + 0.5), as the reference computes it. */
    val marginPermille: Int get() = Math.floor(cropMargin * 1000.0 + 0.5).toInt()
}

/** The spec's output section: what the raw model output means and how the app shows it. */
data class OutputSpec(
    val kind: String,            // logits | probs | regression
    val post: String,            // softmax | sigmoid | clamp | none
    val labels: List<String>,
    val clampRange: Pair<Double, Double>?,
    val smoothAlpha: Double
)

/** The parts of a bundle's manifest.json an app uses. */
data class BundleManifest(
    val model: String,
    val task: String,
    val target: String,
    val precision: String,
    val artifact: String,
    val input: InputSpec,
    val output: OutputSpec,
    val rawMaxAbs: Double,               // tolerance on raw outputs vs goldens/outputs.npy
    val goldens: Map<String, String>,    // crops, inputs, outputs, fp32_outputs -> relative path
    val files: Map<String, String>       // relative path -> sha256 (hex)
) {
    companion object {
        private val SOURCES = setOf("face_box", "landmarks68", "eye_slot", "full_frame")
        private val POSTS = setOf("softmax", "sigmoid", "clamp", "none")

        fun parse(text: String): BundleManifest = fromJson(Json.parse(text))

        fun read(file: File): BundleManifest = parse(file.readText(Charsets.UTF_8))

        fun fromJson(root: Any?): BundleManifest {
            val m = root.obj("manifest")
            val spec = m.field("spec").obj("spec")
            val inp = spec.field("input").obj("spec.input")
            val out = spec.field("output").obj("spec.output")
            val input = parseInput(inp)
            val output = parseOutput(out)
            val tolerance = m.field("tolerance").obj("tolerance")
            val files = m.field("files").obj("files").mapValues { (k, v) -> v.str("files.$k") }
            // goldens also holds counts and the reference's name; the golden files are the hashed entries
            val goldens = m.field("goldens").obj("goldens").filterValues { it is String && it in files }
                .mapValues { it.value as String }
            val artifact = m.field("artifact").str("artifact")
            if (artifact !in files) throw ManifestException("files: no sha256 for the artifact '$artifact'")
            return BundleManifest(
                model = m.field("model").str("model"), task = m.field("task").str("task"),
                target = m.field("target").str("target"), precision = m.field("precision").str("precision"),
                artifact = artifact, input = input, output = output,
                rawMaxAbs = tolerance.field("raw_max_abs").num("tolerance.raw_max_abs"),
                goldens = goldens, files = files)
        }

        private fun parseInput(inp: Map<String, Any?>): InputSpec {
            val size = inp.field("size").list("input.size").map { it.int("input.size") }
            if (size.size != 2 || size.any { it < 1 || it > 4096 })
                throw ManifestException("input.size: expected [height, width] in [1, 4096], got $size")
            val color = inp.field("color").oneOf("input.color", setOf("gray", "rgb"))
            val channels = if (color == "gray") 1 else 3
            val scale = floats(inp, "scale", channels)
            val offset = floats(inp, "offset", channels)
            val quantRaw = inp["quant"]
            val quant = if (quantRaw == null) null else quantRaw.obj("input.quant").let {
                QuantParams(it.field("scale").num("input.quant.scale"), it.field("zero_point").int("input.quant.zero_point"))
            }
            val padValue = (inp["pad_value"] ?: 0.0).int("input.pad_value")
            if (padValue !in 0..255) throw ManifestException("input.pad_value: expected 0..255, got $padValue")
            val margin = (inp["crop_margin"] ?: 0.0).num("input.crop_margin")
            if (margin < 0.0 || margin > 1.0) throw ManifestException("input.crop_margin: expected [0, 1], got $margin")
            return InputSpec(
                source = inp.field("source").oneOf("input.source", SOURCES), color = color,
                height = size[0], width = size[1],
                resize = inp.field("resize").oneOf("input.resize", setOf("bilinear", "nearest")),
                cropMargin = margin, pad = (inp["pad"] ?: "none").oneOf("input.pad", setOf("none", "keep_aspect")),
                padValue = padValue, scale = scale, offset = offset,
                layout = (inp["layout"] ?: "NCHW").oneOf("input.layout", setOf("NCHW")), quant = quant)
        }

        private fun parseOutput(out: Map<String, Any?>): OutputSpec {
            val labels = out.field("labels").list("output.labels").map { it.str("output.labels") }
            if (labels.isEmpty()) throw ManifestException("output.labels: expected at least one label")
            val post = out.field("post").oneOf("output.post", POSTS)
            val clamp = out["clamp_range"]?.list("output.clamp_range")?.map { it.num("output.clamp_range") }
            if (post == "clamp" && (clamp == null || clamp.size != 2 || clamp[0] >= clamp[1]))
                throw ManifestException("output.clamp_range: expected [low, high] for post 'clamp', got $clamp")
            val alpha = (out["smooth_alpha"] ?: 1.0).num("output.smooth_alpha")
            if (alpha <= 0.0 || alpha > 1.0) throw ManifestException("output.smooth_alpha: expected (0, 1], got $alpha")
            return OutputSpec(
                kind = out.field("kind").oneOf("output.kind", setOf("logits", "probs", "regression")),
                post = post, labels = labels, clampRange = clamp?.let { Pair(it[0], it[1]) }, smoothAlpha = alpha)
        }

        private fun floats(inp: Map<String, Any?>, key: String, channels: Int): FloatArray {
            val values = inp.field(key).list("input.$key").map { it.num("input.$key") }
            if (values.size != channels)
                throw ManifestException("input.$key: expected $channels value(s), got ${values.size}")
            // float32, as the reference normalises in float32
            return FloatArray(values.size) { values[it].toFloat() }
        }

        private fun Map<String, Any?>.field(key: String): Any? =
            if (containsKey(key)) get(key) else throw ManifestException("missing field '$key'")

        @Suppress("UNCHECKED_CAST")
        private fun Any?.obj(where: String): Map<String, Any?> =
            this as? Map<String, Any?> ?: throw ManifestException("$where: expected an object")

        private fun Any?.list(where: String): List<Any?> =
            this as? List<Any?> ?: throw ManifestException("$where: expected an array")

        private fun Any?.str(where: String): String =
            this as? String ?: throw ManifestException("$where: expected a string, got $this")

        private fun Any?.num(where: String): Double =
            this as? Double ?: throw ManifestException("$where: expected a number, got $this")

        private fun Any?.int(where: String): Int {
            val d = num(where)
            if (d != Math.floor(d) || Math.abs(d) > Int.MAX_VALUE) throw ManifestException("$where: expected an integer, got $d")
            return d.toInt()
        }

        private fun Any?.oneOf(where: String, allowed: Set<String>): String {
            val s = str(where)
            if (s !in allowed) throw ManifestException("$where: expected one of ${allowed.sorted()}, got '$s'")
            return s
        }
    }
}
