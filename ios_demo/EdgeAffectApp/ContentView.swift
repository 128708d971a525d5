import AVFoundation
import SwiftUI

/// Camera preview, overlay (box, labels/values, FPS), bundle and mode pickers.
struct ContentView: View {
    @StateObject private var pipeline = CameraPipeline()

    var body: some View {
        ZStack(alignment: .bottom) {
            CameraPreview(session: pipeline.session).ignoresSafeArea()
            GeometryReader { geo in OverlayShape(result: pipeline.result, size: geo.size) }
            VStack(alignment: .leading, spacing: 6) {
                Text(String(format: "%.1f FPS", pipeline.result.fps)).bold()
                if let message = pipeline.result.message { Text(message) }
                ForEach(Array(pipeline.result.values.enumerated()), id: \.offset) { i, v in
                    Text(String(format: "%@ %.3f", pipeline.result.labels[i], v))
                }
                Picker("Bundle", selection: $pipeline.selected) {
                    ForEach(pipeline.bundles, id: \.self) { Text($0.lastPathComponent(2)).tag(Optional($0)) }
                }
                Picker("Mode", selection: $pipeline.mode) {
                    ForEach(CameraPipeline.Mode.allCases, id: \.self) { Text($0.rawValue).tag($0) }
                }.pickerStyle(.segmented)
            }
            .padding().background(.black.opacity(0.5)).foregroundColor(.white)
        }
        .onAppear { pipeline.start() }
    }
}

private extension URL {
    func lastPathComponent(_ n: Int) -> String { pathComponents.suffix(n).joined(separator: "/") }
}

/// The face box, mapped from frame pixels to the view (aspect fill, centred).
struct OverlayShape: View {
    let result: CameraPipeline.Result
    let size: CGSize

    var body: some View {
        if let box = result.box, result.frameSize.width > 0 {
            let scale = max(size.width / result.frameSize.width, size.height / result.frameSize.height)
            let dx = (size.width - result.frameSize.width * scale) / 2, dy = (size.height - result.frameSize.height * scale) / 2
            Rectangle().stroke(Color.green, lineWidth: 3)
                .frame(width: CGFloat(box.width) * scale, height: CGFloat(box.height) * scale)
                .position(x: dx + (CGFloat(box.x) + CGFloat(box.width) / 2) * scale,
                          y: dy + (CGFloat(box.y) + CGFloat(box.height) / 2) * scale)
        }
    }
}

struct CameraPreview: UIViewRepresentable {
    let session: AVCaptureSession

    final class PreviewView: UIView {
        override class var layerClass: AnyClass { AVCaptureVideoPreviewLayer.self }
        var previewLayer: AVCaptureVideoPreviewLayer { layer as! AVCaptureVideoPreviewLayer }
    }

    func makeUIView(context: Context) -> PreviewView {
        let view = PreviewView()
        view.previewLayer.session = session
        view.previewLayer.videoGravity = .resizeAspectFill
        return view
    }

    func updateUIView(_ view: PreviewView, context: Context) {}
}
