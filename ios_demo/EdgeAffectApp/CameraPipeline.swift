import Accelerate
import AVFoundation
import CoreML
import EdgeAffectCore
import Vision

/// AVFoundation BGRA frame -> RGB888 -> Vision face + landmarks -> the box the manifest's
/// input.source asks for -> C preprocessing -> Core ML -> post-processing + EMA -> Result.
final class CameraPipeline: NSObject, ObservableObject, AVCaptureVideoDataOutputSampleBufferDelegate {
    enum Mode: String, CaseIterable { case face = "Face", glasses = "Glasses", eyeCamera = "Eye camera" }

    struct Result {
        var frameSize = CGSize.zero
        var box: PixelBox?
        var labels: [String] = []
        var values: [Double] = []
        var fps = 0.0
        var message: String?
    }

    @Published var result = Result()
    @Published var selected: URL? { didSet { reload() } }
    @Published var mode: Mode = .face { didSet { reload() } }
    let session = AVCaptureSession()
    let bundles: [URL]

    private let queue = DispatchQueue(label: "edge-affect.frames")
    private var state: (manifest: BundleManifest, runner: CoreMLRunner, pre: Preprocessor, ema: EmaSmoother)?
    private var lastFrame: CFTimeInterval = 0
    private var fps = 0.0

    override init() {
        bundles = Self.findBundles()
        super.init()
        selected = bundles.first
        reload()  // property observers do not fire for assignments inside init
    }

    /// Bundles exported into Resources/edge_affect/<model>/<target>-<precision> (a folder reference).
    static func findBundles() -> [URL] {
        guard let root = Bundle.main.url(forResource: "edge_affect", withExtension: nil) else { return [] }
        let fm = FileManager.default
        return ((try? fm.contentsOfDirectory(at: root, includingPropertiesForKeys: nil)) ?? []).flatMap { model in
            ((try? fm.contentsOfDirectory(at: model, includingPropertiesForKeys: nil)) ?? [])
                .filter { fm.fileExists(atPath: $0.appendingPathComponent("manifest.json").path) }
        }.sorted { $0.path < $1.path }
    }

    func start() {
        AVCaptureDevice.requestAccess(for: .video) { granted in
            guard granted else { DispatchQueue.main.async { self.result.message = "camera permission is required" }; return }
            self.queue.async { self.configureSession() }
        }
    }

    private func reload() {
        guard let url = selected else { return }
        queue.async {
            do {
                let manifest = try BundleManifest.read(url.appendingPathComponent("manifest.json"))
                try Integrity.verify(bundle: url, manifest: manifest)  // a modified model must not run
                self.state = (manifest, try CoreMLRunner(bundle: url, manifest: manifest),
                              Preprocessor(spec: manifest.spec.input), EmaSmoother(alpha: manifest.spec.output.smoothAlpha))
            } catch {
                self.state = nil
                DispatchQueue.main.async { self.result.message = "\(url.lastPathComponent): \(error)" }
            }
            if self.session.isRunning { self.configureSession() }
        }
    }

    private func configureSession() {
        session.beginConfiguration()
        session.inputs.forEach(session.removeInput)
        session.outputs.forEach(session.removeOutput)
        session.sessionPreset = .vga640x480
        // Eye camera: the back camera stands in for a glasses' eye-facing camera.
        let position: AVCaptureDevice.Position = mode == .eyeCamera ? .back : .front
        if let device = AVCaptureDevice.default(.builtInWideAngleCamera, for: .video, position: position),
           let input = try? AVCaptureDeviceInput(device: device), session.canAddInput(input) {
            session.addInput(input)
        }
        let output = AVCaptureVideoDataOutput()
        output.videoSettings = [kCVPixelBufferPixelFormatTypeKey as String: kCVPixelFormatType_32BGRA]
        output.alwaysDiscardsLateVideoFrames = true
        output.setSampleBufferDelegate(self, queue: queue)
        if session.canAddOutput(output) { session.addOutput(output) }
        output.connection(with: .video)?.videoOrientation = .portrait  // frames upright, like the preview
        session.commitConfiguration()
        if !session.isRunning { session.startRunning() }
    }

    func captureOutput(_ output: AVCaptureOutput, didOutput sampleBuffer: CMSampleBuffer, from connection: AVCaptureConnection) {
        guard let pixelBuffer = CMSampleBufferGetImageBuffer(sampleBuffer), let state else { return }
        let now = CACurrentMediaTime()
        if lastFrame > 0 { fps = 0.9 * fps + 0.1 / max(now - lastFrame, 1e-3) }
        lastFrame = now
        var next = Result(labels: state.manifest.spec.output.labels, fps: fps)
        do {
            let frame = try Self.rgbFrame(pixelBuffer)
            next.frameSize = CGSize(width: frame.width, height: frame.height)
            let source = state.manifest.spec.input.source
            var faceBox: PixelBox?, facePoints: [CGPoint] = [], eyePoints: [CGPoint] = []
            if mode != .eyeCamera && source != "full_frame" {
                (faceBox, facePoints, eyePoints) = try Self.detectFace(pixelBuffer, width: frame.width, height: frame.height)
            }
            if let box = Regions.select(source: source, frame: frame, faceBox: faceBox, facePoints: facePoints,
                                        eyePoints: eyePoints, eyeCamera: mode == .eyeCamera) {
                let raw = try state.runner.run(try state.pre.tensor(frame, box: box))
                next.values = state.ema.update(PostProcess.apply(raw, state.manifest.spec.output))
                next.box = box
            } else {
                state.ema.reset()  // a new face must not inherit the last one's state
                next.message = "no face"
            }
        } catch {
            next.message = "\(error)"
        }
        DispatchQueue.main.async { self.result = next }
    }

    /// BGRA pixel buffer -> packed RGB888 (the C preprocessing's colour input).
    static func rgbFrame(_ buffer: CVPixelBuffer) throws -> PixelFrame {
        CVPixelBufferLockBaseAddress(buffer, .readOnly)
        defer { CVPixelBufferUnlockBaseAddress(buffer, .readOnly) }
        let width = CVPixelBufferGetWidth(buffer), height = CVPixelBufferGetHeight(buffer)
        guard let base = CVPixelBufferGetBaseAddress(buffer) else { throw ManifestError("camera frame has no pixels") }
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        var src = vImage_Buffer(data: base, height: vImagePixelCount(height), width: vImagePixelCount(width),
                                rowBytes: CVPixelBufferGetBytesPerRow(buffer))
        let error = rgb.withUnsafeMutableBytes { ptr -> vImage_Error in
            var dst = vImage_Buffer(data: ptr.baseAddress, height: vImagePixelCount(height), width: vImagePixelCount(width), rowBytes: width * 3)
            return vImageConvert_BGRA8888toRGB888(&src, &dst, vImage_Flags(kvImageNoFlags))
        }
        guard error == kvImageNoError else { throw ManifestError("BGRA -> RGB conversion failed (\(error))") }
        return PixelFrame(pixels: rgb, width: width, height: height, channels: 3)
    }

    /// The largest face: its box, all landmark points and the eye-slot points, in top-left pixel coordinates.
    static func detectFace(_ buffer: CVPixelBuffer, width: Int, height: Int) throws -> (PixelBox?, [CGPoint], [CGPoint]) {
        let request = VNDetectFaceLandmarksRequest()
        try VNImageRequestHandler(cvPixelBuffer: buffer, orientation: .up).perform([request])
        guard let face = (request.results ?? []).max(by: { $0.boundingBox.width * $0.boundingBox.height < $1.boundingBox.width * $1.boundingBox.height })
        else { return (nil, [], []) }
        let size = CGSize(width: width, height: height)
        // Vision's origin is bottom-left: flip to the frame's top-left origin.
        let r = VNImageRectForNormalizedRect(face.boundingBox, width, height)
        let box = PixelBox(x: Int32(r.minX.rounded(.down)), y: Int32((size.height - r.maxY).rounded(.down)),
                           width: Int32(r.width.rounded()), height: Int32(r.height.rounded()))
        func flipped(_ region: VNFaceLandmarkRegion2D?) -> [CGPoint] {
            (region?.pointsInImage(imageSize: size) ?? []).map { CGPoint(x: $0.x, y: size.height - $0.y) }
        }
        let l = face.landmarks
        let eyes = [l?.leftEye, l?.rightEye, l?.leftEyebrow, l?.rightEyebrow, l?.noseCrest].flatMap(flipped)
        return (box, flipped(l?.allPoints), eyes)
    }
}
