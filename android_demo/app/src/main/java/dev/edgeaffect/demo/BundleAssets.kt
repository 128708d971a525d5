package dev.edgeaffect.demo

import android.content.Context
import dev.edgeaffect.core.BundleManifest
import dev.edgeaffect.core.Integrity
import java.io.File

/**
 * The bundles `edge-affect export-app-assets --platform android` put under
 * assets/edge_affect/<model>/<target>-<precision>/. ExecuTorch loads a .pte
 * from a file path, so a bundle is copied out of the APK once and its sha256s
 * are checked against manifest.json before the model is loaded.
 */
object BundleAssets {
    private const val ROOT = "edge_affect"

    data class Entry(val model: String, val build: String) {
        val assetPath: String get() = "$ROOT/$model/$build"
        override fun toString() = "$model ($build)"
    }

    class Loaded(val dir: File, val manifest: BundleManifest) {
        val artifact: File get() = File(dir, manifest.artifact)
    }

    fun list(context: Context): List<Entry> {
        val assets = context.assets
        return (assets.list(ROOT) ?: emptyArray()).sorted().flatMap { model ->
            (assets.list("$ROOT/$model") ?: emptyArray()).sorted()
                .filter { build -> "manifest.json" in (assets.list("$ROOT/$model/$build") ?: emptyArray()) }
                .map { Entry(model, it) }
        }
    }

    fun load(context: Context, entry: Entry): Loaded {
        val dest = File(context.filesDir, entry.assetPath)
        copyTree(context, entry.assetPath, dest)
        val manifest = BundleManifest.read(File(dest, "manifest.json"))
        Integrity.verify(dest, manifest)  // throws, naming the file, if anything was modified
        return Loaded(dest, manifest)
    }

    private fun copyTree(context: Context, asset: String, dest: File) {
        val children = context.assets.list(asset) ?: emptyArray()
        if (children.isEmpty()) {
            dest.parentFile?.mkdirs()
            val tmp = File(dest.path + ".part")
            context.assets.open(asset).use { input -> tmp.outputStream().use { input.copyTo(it) } }
            if (!tmp.renameTo(dest)) throw IllegalStateException("cannot move $tmp to $dest")
            return
        }
        for (child in children) copyTree(context, "$asset/$child", File(dest, child))
    }
}
