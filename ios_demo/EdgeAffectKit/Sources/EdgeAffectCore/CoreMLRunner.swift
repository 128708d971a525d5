import CoreML
import Foundation

/// One Core ML program from a bundle: float32 NCHW input named by manifest.coreml.input -> raw outputs.
public final class CoreMLRunner {
    private let model: MLModel
    private let manifest: BundleManifest
    private let inputName: String
    private let outputName: String

    /// Compiles the bundle's .mlpackage (kept as shipped, so its sha256 can be checked) and loads it.
    public init(bundle root: URL, manifest: BundleManifest, computeUnits: MLComputeUnits = .all) throws {
        let compiled = try MLModel.compileModel(at: root.appendingPathComponent(manifest.artifact))
        let config = MLModelConfiguration()
        config.computeUnits = computeUnits
        model = try MLModel(contentsOf: compiled, configuration: config)
        self.manifest = manifest
        inputName = manifest.coreml?.input ?? "input"
        outputName = manifest.coreml?.output ?? "output"
    }

    public func run(_ input: [Float]) throws -> [Float] {
        let s = manifest.spec.input
        let shape = [1, s.channels, s.height, s.width].map { NSNumber(value: $0) }
        let array = try MLMultiArray(shape: shape, dataType: .float32)
        guard input.count == array.count else { throw ManifestError("input: \(input.count) values, expected \(array.count)") }
        array.withUnsafeMutableBufferPointer(ofType: Float.self) { ptr, _ in
            _ = ptr.initialize(from: input)  // a fresh float32 MLMultiArray is contiguous, C order
        }
        let features = try MLDictionaryFeatureProvider(dictionary: [inputName: MLFeatureValue(multiArray: array)])
        guard let out = try model.prediction(from: features).featureValue(for: outputName)?.multiArrayValue else {
            throw ManifestError("\(manifest.artifact): no output named '\(outputName)'")
        }
        let raw = (0..<out.count).map { out[$0].floatValue }  // fp16 or fp32 storage alike
        guard raw.count == manifest.spec.output.labels.count else {
            throw ManifestError("\(manifest.artifact): \(raw.count) outputs, the manifest has \(manifest.spec.output.labels.count) labels")
        }
        return raw
    }
}
