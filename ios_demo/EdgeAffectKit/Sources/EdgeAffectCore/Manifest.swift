import Foundation

public struct ManifestError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The spec's input section (edge_affect/spec.py): how a camera frame becomes the model input.
public struct InputSpec: Decodable {
    public let source: String        // face_box | landmarks68 | eye_slot | full_frame
    public let color: String         // gray | rgb
    public let size: [Int]           // [height, width]
    public let resize: String        // bilinear | nearest
    public let cropMargin: Double
    public let pad: String           // none | keep_aspect
    public let padValue: Int
    public let scale: [Float]        // x = pixel * scale[c] + offset[c], in float32
    public let offset: [Float]
    public let layout: String

    public var height: Int { size[0] }
    public var width: Int { size[1] }
    public var channels: Int { color == "gray" ? 1 : 3 }
    /// floor(margin * 1000 + 0.5), the integer the C preprocessing takes.
    public var marginPermille: Int32 { Int32((cropMargin * 1000 + 0.5).rounded(.down)) }

    enum CodingKeys: String, CodingKey {
        case source, color, size, resize, pad, scale, offset, layout
        case cropMargin = "crop_margin", padValue = "pad_value"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        source = try c.decode(String.self, forKey: .source)
        color = try c.decode(String.self, forKey: .color)
        size = try c.decode([Int].self, forKey: .size)
        resize = try c.decode(String.self, forKey: .resize)
        cropMargin = try c.decodeIfPresent(Double.self, forKey: .cropMargin) ?? 0
        pad = try c.decodeIfPresent(String.self, forKey: .pad) ?? "none"
        padValue = try c.decodeIfPresent(Int.self, forKey: .padValue) ?? 0
        // JSON numbers are float64; the reference normalises with float32 copies of them.
        scale = try c.decode([Double].self, forKey: .scale).map { Float($0) }
        offset = try c.decode([Double].self, forKey: .offset).map { Float($0) }
        layout = try c.decodeIfPresent(String.self, forKey: .layout) ?? "NCHW"
    }

    func validate() throws {
        guard ["face_box", "landmarks68", "eye_slot", "full_frame"].contains(source) else { throw ManifestError("input.source: unknown '\(source)'") }
        guard color == "gray" || color == "rgb" else { throw ManifestError("input.color: expected gray or rgb, got '\(color)'") }
        guard size.count == 2, size.allSatisfy({ (1...4096).contains($0) }) else { throw ManifestError("input.size: expected [height, width] in [1, 4096], got \(size)") }
        guard resize == "bilinear" || resize == "nearest" else { throw ManifestError("input.resize: unknown '\(resize)'") }
        guard (0...1).contains(cropMargin) else { throw ManifestError("input.crop_margin: expected [0, 1], got \(cropMargin)") }
        guard pad == "none" || pad == "keep_aspect" else { throw ManifestError("input.pad: unknown '\(pad)'") }
        guard (0...255).contains(padValue) else { throw ManifestError("input.pad_value: expected 0...255, got \(padValue)") }
        guard scale.count == channels, offset.count == channels else { throw ManifestError("input.scale/offset: expected \(channels) value(s) for \(color)") }
        guard layout == "NCHW" else { throw ManifestError("input.layout: expected NCHW, got '\(layout)'") }
    }
}

/// The spec's output section: what the raw output means and how it is shown.
public struct OutputSpec: Decodable {
    public let kind: String          // logits | probs | regression
    public let post: String          // softmax | sigmoid | clamp | none
    public let labels: [String]
    public let clampRange: [Double]?
    public let smoothAlpha: Double

    enum CodingKeys: String, CodingKey {
        case kind, post, labels
        case clampRange = "clamp_range", smoothAlpha = "smooth_alpha"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(String.self, forKey: .kind)
        post = try c.decode(String.self, forKey: .post)
        labels = try c.decode([String].self, forKey: .labels)
        clampRange = try c.decodeIfPresent([Double].self, forKey: .clampRange)
        smoothAlpha = try c.decodeIfPresent(Double.self, forKey: .smoothAlpha) ?? 1
    }

    func validate() throws {
        guard !labels.isEmpty else { throw ManifestError("output.labels: expected at least one label") }
        guard ["softmax", "sigmoid", "clamp", "none"].contains(post) else { throw ManifestError("output.post: unknown '\(post)'") }
        if post == "clamp" {
            guard let r = clampRange, r.count == 2, r[0] < r[1] else { throw ManifestError("output.clamp_range: expected [low, high] for post 'clamp'") }
        }
        guard smoothAlpha > 0, smoothAlpha <= 1 else { throw ManifestError("output.smooth_alpha: expected (0, 1], got \(smoothAlpha)") }
    }
}

/// The parts of a bundle's manifest.json the app uses.
public struct BundleManifest: Decodable {
    public struct Spec: Decodable { public let task: String; public let input: InputSpec; public let output: OutputSpec }
    public struct Tolerance: Decodable {
        public let rawMaxAbs: Double
        enum CodingKeys: String, CodingKey { case rawMaxAbs = "raw_max_abs" }
    }
    public struct CoreML: Decodable { public let input: String; public let output: String }

    public let model: String
    public let target: String
    public let precision: String
    public let artifact: String
    public let spec: Spec
    public let tolerance: Tolerance
    public let files: [String: String]
    public let coreml: CoreML?
    /// goldens/*.npy by key (crops, inputs, outputs, fp32_outputs): the hashed entries of "goldens".
    public let goldens: [String: String]

    enum CodingKeys: String, CodingKey { case model, target, precision, artifact, spec, tolerance, files, coreml, goldens }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decode(String.self, forKey: .model)
        target = try c.decode(String.self, forKey: .target)
        precision = try c.decode(String.self, forKey: .precision)
        artifact = try c.decode(String.self, forKey: .artifact)
        spec = try c.decode(Spec.self, forKey: .spec)
        tolerance = try c.decode(Tolerance.self, forKey: .tolerance)
        files = try c.decode([String: String].self, forKey: .files)
        coreml = try c.decodeIfPresent(CoreML.self, forKey: .coreml)
        let raw = try c.decode([String: JSONScalar].self, forKey: .goldens)
        var paths: [String: String] = [:]
        for (key, value) in raw { if case .string(let s) = value, files[s] != nil { paths[key] = s } }
        goldens = paths
    }

    public static func read(_ url: URL) throws -> BundleManifest {
        let m = try JSONDecoder().decode(BundleManifest.self, from: Data(contentsOf: url))
        try m.spec.input.validate()
        try m.spec.output.validate()
        guard m.files[m.artifact] != nil else { throw ManifestError("files: no sha256 for the artifact '\(m.artifact)'") }
        return m
    }
}

/// A JSON value that is not an object or array (the goldens section mixes paths and counts).
enum JSONScalar: Decodable {
    case string(String), number(Double), bool(Bool), null
    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else { self = .string(try c.decode(String.self)) }
    }
}
