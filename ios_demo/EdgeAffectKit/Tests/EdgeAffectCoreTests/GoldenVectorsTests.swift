import CoreML
import EdgeAffectCore
import XCTest

/// The exported bundle's golden vectors (EDGEAFFECT_BUNDLE, else the first bundle under
/// ../EdgeAffectApp/Resources/edge_affect/) through the C preprocessing, the Swift core and Core ML.
final class GoldenVectorsTests: XCTestCase {
    private func bundleURL() throws -> URL {
        if let path = ProcessInfo.processInfo.environment["EDGEAFFECT_BUNDLE"] { return URL(fileURLWithPath: path) }
        let resources = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../../EdgeAffectApp/Resources/edge_affect").standardizedFileURL
        let fm = FileManager.default
        for model in (try? fm.contentsOfDirectory(atPath: resources.path))?.sorted() ?? [] {
            for build in (try? fm.contentsOfDirectory(atPath: resources.appendingPathComponent(model).path))?.sorted() ?? [] {
                let dir = resources.appendingPathComponent(model).appendingPathComponent(build)
                if fm.fileExists(atPath: dir.appendingPathComponent("manifest.json").path) { return dir }
            }
        }
        throw XCTSkip("no exported bundle: run `edge-affect export-app-assets --platform ios ios_demo` or set EDGEAFFECT_BUNDLE")
    }

    private func golden(_ root: URL, _ m: BundleManifest, _ key: String) throws -> NpyArray {
        guard let rel = m.goldens[key] else { throw ManifestError("manifest has no goldens.\(key)") }
        return try Npy.read(root.appendingPathComponent(rel))
    }

    func testEveryShippedFileMatchesItsSha256() throws {
        let root = try bundleURL()
        try Integrity.verify(bundle: root, manifest: try BundleManifest.read(root.appendingPathComponent("manifest.json")))
    }

    func testGoldenCropsThroughTheCPreprocessingEqualGoldenInputs() throws {
        let root = try bundleURL()
        let m = try BundleManifest.read(root.appendingPathComponent("manifest.json"))
        let crops = try golden(root, m, "crops"), inputs = try golden(root, m, "inputs").float32()
        let pixels = try crops.uint8()
        let (h, w) = (crops.shape[1], crops.shape[2])
        let c = crops.shape.count == 4 ? crops.shape[3] : 1
        let pre = Preprocessor(spec: m.spec.input)
        let per = m.spec.input.channels * m.spec.input.height * m.spec.input.width
        for i in 0..<crops.shape[0] {
            let frame = PixelFrame(pixels: Array(pixels[(i * h * w * c)..<((i + 1) * h * w * c)]), width: w, height: h, channels: c)
            let tensor = try pre.tensor(frame, box: frame.fullBox)
            let expected = Array(inputs[(i * per)..<((i + 1) * per)])
            XCTAssertEqual(tensor.map(\.bitPattern), expected.map(\.bitPattern), "crop \(i)")
        }
    }

    func testCoreMLOnGoldenInputsIsWithinTheManifestTolerance() throws {
        let root = try bundleURL()
        let m = try BundleManifest.read(root.appendingPathComponent("manifest.json"))
        guard m.target == "coreml" else { throw XCTSkip("\(m.target) bundle: Core ML runs coreml bundles only") }
        let inputs = try golden(root, m, "inputs"), expected = try golden(root, m, "outputs").float64()
        let all = try inputs.float32()
        let n = inputs.shape[0], per = all.count / n
        let runner = try CoreMLRunner(bundle: root, manifest: m, computeUnits: .cpuOnly)
        var actual: [Double] = []
        for i in 0..<n { actual += try runner.run(Array(all[(i * per)..<((i + 1) * per)])).map(Double.init) }
        let diff = Parity.maxAbsDiff(actual, expected)
        XCTAssertLessThanOrEqual(diff, m.tolerance.rawMaxAbs, "max abs diff on raw outputs")
    }

    func testPostProcessingAndSmoothingFollowTheManifest() throws {
        let root = try bundleURL()
        let m = try BundleManifest.read(root.appendingPathComponent("manifest.json"))
        let raw = try golden(root, m, "outputs").float32()
        let k = m.spec.output.labels.count
        let shown = PostProcess.apply(Array(raw[0..<k]), m.spec.output)
        if m.spec.output.post == "softmax" { XCTAssertEqual(shown.reduce(0, +), 1, accuracy: 1e-9) }
        let ema = EmaSmoother(alpha: 0.25)
        XCTAssertEqual(ema.update([1, 0]), [1, 0])
        XCTAssertEqual(ema.update([0, 1]), [0.75, 0.25])
    }
}
