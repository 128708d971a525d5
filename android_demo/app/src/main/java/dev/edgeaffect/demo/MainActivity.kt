package dev.edgeaffect.demo

import android.Manifest
import android.content.pm.PackageManager
import android.os.Bundle
import android.view.View
import android.widget.AdapterView
import android.widget.ArrayAdapter
import android.widget.RadioGroup
import android.widget.Spinner
import android.widget.Toast
import androidx.activity.result.contract.ActivityResultContracts
import androidx.appcompat.app.AppCompatActivity
import androidx.camera.core.CameraSelector
import androidx.camera.core.ImageAnalysis
import androidx.camera.core.Preview
import androidx.camera.lifecycle.ProcessCameraProvider
import androidx.camera.view.PreviewView
import androidx.core.content.ContextCompat
import dev.edgeaffect.core.NativePreprocessor
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors

/**
 * Camera preview + overlay. The bundle list comes from the APK's assets; the
 * mode picks the camera and where the model looks: Face (front camera, the
 * manifest's face/landmark/eye-slot source), Glasses (front camera, eye slot
 * from landmarks) and Eye camera (back camera standing in for a glasses'
 * eye-facing camera: the whole frame is the eye region).
 */
class MainActivity : AppCompatActivity() {
    private lateinit var preview: PreviewView
    private lateinit var overlay: OverlayView
    private lateinit var bundles: List<BundleAssets.Entry>
    private val executor: ExecutorService = Executors.newSingleThreadExecutor()
    private var analyzer: FrameAnalyzer? = null
    private var selected = 0
    private var mode = R.id.mode_face

    private val permission = registerForActivityResult(ActivityResultContracts.RequestPermission()) { granted ->
        if (granted) bind() else Toast.makeText(this, "camera permission is required", Toast.LENGTH_LONG).show()
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_main)
        NativePreprocessor.load()
        preview = findViewById(R.id.preview)
        overlay = findViewById(R.id.overlay)
        bundles = BundleAssets.list(this)
        if (bundles.isEmpty()) {
            Toast.makeText(this, "no bundles in assets: run edge-affect export-app-assets", Toast.LENGTH_LONG).show()
            return
        }
        findViewById<Spinner>(R.id.bundle).apply {
            adapter = ArrayAdapter(this@MainActivity, android.R.layout.simple_spinner_dropdown_item, bundles)
            onItemSelectedListener = object : AdapterView.OnItemSelectedListener {
                override fun onItemSelected(parent: AdapterView<*>?, view: View?, position: Int, id: Long) {
                    selected = position
                    startIfPermitted()
                }
                override fun onNothingSelected(parent: AdapterView<*>?) {}
            }
        }
        findViewById<RadioGroup>(R.id.mode).setOnCheckedChangeListener { _, id ->
            mode = id
            startIfPermitted()
        }
    }

    private fun startIfPermitted() {
        if (ContextCompat.checkSelfPermission(this, Manifest.permission.CAMERA) == PackageManager.PERMISSION_GRANTED) bind()
        else permission.launch(Manifest.permission.CAMERA)
    }

    private fun bind() {
        val entry = bundles[selected]
        val eyeCamera = mode == R.id.mode_eye_camera
        val providerFuture = ProcessCameraProvider.getInstance(this)
        providerFuture.addListener({
            val provider = providerFuture.get()
            provider.unbindAll()
            analyzer?.let { old -> executor.execute { old.close() } }
            val loaded = try {
                BundleAssets.load(this, entry)
            } catch (e: Exception) {
                Toast.makeText(this, "${entry}: ${e.message}", Toast.LENGTH_LONG).show()
                return@addListener
            }
            if (mode == R.id.mode_glasses && loaded.manifest.input.source != "eye_slot")
                Toast.makeText(this, "$entry reads ${loaded.manifest.input.source}, not the eye slot", Toast.LENGTH_SHORT).show()
            val next = FrameAnalyzer(loaded, eyeCamera) { overlay.show(it) }
            analyzer = next
            val analysis = ImageAnalysis.Builder()
                    .setBackpressureStrategy(ImageAnalysis.STRATEGY_KEEP_ONLY_LATEST)
                    .setOutputImageFormat(ImageAnalysis.OUTPUT_IMAGE_FORMAT_RGBA_8888)
                    .build()
                    .also { it.setAnalyzer(executor, next) }
            val previewUseCase = Preview.Builder().build().also { it.setSurfaceProvider(preview.surfaceProvider) }
            val camera = if (eyeCamera) CameraSelector.DEFAULT_BACK_CAMERA else CameraSelector.DEFAULT_FRONT_CAMERA
            provider.bindToLifecycle(this, camera, previewUseCase, analysis)
        }, ContextCompat.getMainExecutor(this))
    }

    override fun onDestroy() {
        super.onDestroy()
        analyzer?.let { a -> executor.execute { a.close() } }
        executor.shutdown()
    }
}
