package dev.edgeaffect.demo

import android.graphics.Bitmap
import android.graphics.Matrix
import android.graphics.PointF
import android.os.SystemClock
import androidx.camera.core.ImageAnalysis
import androidx.camera.core.ImageProxy
import com.google.android.gms.tasks.Tasks
import com.google.mlkit.vision.common.InputImage
import com.google.mlkit.vision.face.FaceContour
import com.google.mlkit.vision.face.FaceDetection
import com.google.mlkit.vision.face.FaceDetector
import com.google.mlkit.vision.face.FaceDetectorOptions
import dev.edgeaffect.core.Box
import dev.edgeaffect.core.EmaSmoother
import dev.edgeaffect.core.Frame
import dev.edgeaffect.core.PostProcess
import dev.edgeaffect.core.Preprocessor
import dev.edgeaffect.core.Regions
import java.nio.ByteBuffer

/** What the overlay draws for one frame, in the upright frame's pixel coordinates. */
data class Result(val frameWidth: Int, val frameHeight: Int, val box: Box?, val labels: List<String>,
                  val values: DoubleArray?, val kind: String, val fps: Double, val message: String?,
                  val mirrored: Boolean = false)

/**
 * CameraX RGBA frame -> upright bitmap -> ML Kit face (box + contours) -> the
 * box the manifest's input.source asks for -> C preprocessing (JNI) -> ExecuTorch
 * -> post-processing + EMA from the manifest -> [Result]. Runs on the analysis executor.
 */
class FrameAnalyzer(
    private val bundle: BundleAssets.Loaded,
    private val eyeCamera: Boolean,
    private val onResult: (Result) -> Unit
) : ImageAnalysis.Analyzer, AutoCloseable {
    private val manifest = bundle.manifest
    private val model = AffectModel(bundle.artifact, manifest)
    private val preprocessor = Preprocessor(manifest.input)
    private val smoother = EmaSmoother(manifest.output.smoothAlpha)
    private val needsFace = !eyeCamera && manifest.input.source != "full_frame"
    private val detector: FaceDetector? = if (!needsFace) null else FaceDetection.getClient(
            FaceDetectorOptions.Builder()
                    .setPerformanceMode(FaceDetectorOptions.PERFORMANCE_MODE_FAST)
                    .setContourMode(if (manifest.input.source == "face_box") FaceDetectorOptions.CONTOUR_MODE_NONE
                                    else FaceDetectorOptions.CONTOUR_MODE_ALL)
                    .build())
    private var rgb: ByteArray? = null
    private var rgba: ByteBuffer? = null
    private var lastFrameMs = 0L
    private var fps = 0.0

    override fun analyze(image: ImageProxy) {
        try {
            onResult(process(upright(image)))
        } catch (e: Exception) {
            onResult(Result(1, 1, null, manifest.output.labels, null, manifest.output.kind, fps, e.message))
        } finally {
            image.close()
        }
    }

    private fun upright(image: ImageProxy): Bitmap {
        val bitmap = image.toBitmap()
        val degrees = image.imageInfo.rotationDegrees
        if (degrees == 0) return bitmap
        val m = Matrix().apply { postRotate(degrees.toFloat()) }
        return Bitmap.createBitmap(bitmap, 0, 0, bitmap.width, bitmap.height, m, true)
    }

    private fun process(bitmap: Bitmap): Result {
        val now = SystemClock.elapsedRealtime()
        if (lastFrameMs > 0) fps = 0.9 * fps + 0.1 * (1000.0 / Math.max(1L, now - lastFrameMs))
        lastFrameMs = now
        val frame = toFrame(bitmap)
        var faceBox: Box? = null
        var facePoints: Pair<FloatArray, FloatArray>? = null
        var eyePoints: Pair<FloatArray, FloatArray>? = null
        if (detector != null) {
            val face = Tasks.await(detector.process(InputImage.fromBitmap(bitmap, 0)))
                    .maxByOrNull { it.boundingBox.width() * it.boundingBox.height() }
            if (face != null) {
                val r = face.boundingBox
                faceBox = Box(r.left, r.top, r.width(), r.height())
                facePoints = points(face.allContours.flatMap { it.points })
                eyePoints = points(EYE_CONTOURS.flatMap { face.getContour(it)?.points ?: emptyList() })
            }
        }
        val box = Regions.select(manifest.input.source, frame, faceBox, facePoints, eyePoints, eyeCamera)
        if (box == null) {
            smoother.reset()  // a new face must not inherit the last one's state
            return Result(frame.width, frame.height, null, manifest.output.labels, null, manifest.output.kind, fps, "no face")
        }
        val raw = model.run(preprocessor.tensor(frame, box))
        val shown = smoother.update(PostProcess.apply(raw, manifest.output))
        // PreviewView mirrors the front camera; analysis frames are not mirrored.
        return Result(frame.width, frame.height, box, manifest.output.labels, shown, manifest.output.kind, fps, null,
                mirrored = !eyeCamera)
    }

    private fun toFrame(bitmap: Bitmap): Frame {
        val argb = if (bitmap.config == Bitmap.Config.ARGB_8888) bitmap else bitmap.copy(Bitmap.Config.ARGB_8888, false)
        val bytes = argb.rowBytes * argb.height
        val buf = rgba?.takeIf { it.capacity() == bytes } ?: ByteBuffer.allocate(bytes).also { rgba = it }
        buf.rewind()
        argb.copyPixelsToBuffer(buf)  // ARGB_8888 is R, G, B, A in memory
        val frame = Frame.fromRgba(buf.array(), argb.width, argb.height, argb.rowBytes, rgb)
        rgb = frame.pixels
        return frame
    }

    private fun points(list: List<PointF>): Pair<FloatArray, FloatArray>? =
            if (list.isEmpty()) null else Pair(FloatArray(list.size) { list[it].x }, FloatArray(list.size) { list[it].y })

    override fun close() {
        detector?.close()
        model.close()
    }

    companion object {
        // Eyes, brows and the nose bridge: the points the eye slot is built from.
        private val EYE_CONTOURS = listOf(FaceContour.LEFT_EYE, FaceContour.RIGHT_EYE, FaceContour.LEFT_EYEBROW_TOP,
                FaceContour.LEFT_EYEBROW_BOTTOM, FaceContour.RIGHT_EYEBROW_TOP, FaceContour.RIGHT_EYEBROW_BOTTOM,
                FaceContour.NOSE_BRIDGE)
    }
}
