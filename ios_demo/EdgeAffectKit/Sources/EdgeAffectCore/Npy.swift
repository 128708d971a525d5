import Foundation

/// A C-ordered array from a .npy file (versions 1-3, little-endian |u1, <f4, <f8): the goldens' formats.
public struct NpyArray {
    public let shape: [Int]
    public let dtype: String
    let data: Data

    public var count: Int { shape.reduce(1, *) }

    public func uint8() throws -> [UInt8] {
        guard dtype == "|u1" else { throw ManifestError("npy: expected |u1, got \(dtype)") }
        return [UInt8](data)
    }

    public func float32() throws -> [Float] {
        guard dtype == "<f4" else { throw ManifestError("npy: expected <f4, got \(dtype)") }
        return data.withUnsafeBytes { raw in (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) } }
    }

    public func float64() throws -> [Double] {
        switch dtype {
        case "<f4": return try float32().map(Double.init)
        case "<f8": return data.withUnsafeBytes { raw in (0..<count).map { Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self))) } }
        default: throw ManifestError("npy: expected <f4 or <f8, got \(dtype)")
        }
    }
}

public enum Npy {
    static let itemSize = ["|u1": 1, "<f4": 4, "<f8": 8]

    public static func read(_ url: URL) throws -> NpyArray { try parse(Data(contentsOf: url), name: url.path) }

    public static func parse(_ bytes: Data, name: String = "npy") throws -> NpyArray {
        let b = [UInt8](bytes)
        guard b.count >= 10, Array(b[0..<6]) == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59] else { throw ManifestError("\(name): not a .npy file") }
        let headerLen: Int, start: Int
        switch b[6] {
        case 1: headerLen = Int(b[8]) | Int(b[9]) << 8; start = 10
        case 2, 3: headerLen = Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24; start = 12
        default: throw ManifestError("\(name): unsupported .npy version \(b[6])")
        }
        guard let header = String(bytes: b[start..<(start + headerLen)], encoding: .isoLatin1) else { throw ManifestError("\(name): bad header") }
        guard let descr = capture(header, #"'descr':\s*'([^']+)'"#), let item = itemSize[descr] else { throw ManifestError("\(name): unsupported dtype") }
        guard header.range(of: #"'fortran_order':\s*True"#, options: .regularExpression) == nil else { throw ManifestError("\(name): Fortran order unsupported") }
        guard let shapeText = capture(header, #"'shape':\s*\(([^)]*)\)"#) else { throw ManifestError("\(name): header has no shape") }
        let shape = shapeText.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let dataStart = start + headerLen
        guard b.count - dataStart == shape.reduce(1, *) * item else { throw ManifestError("\(name): data size does not match shape \(shape)") }
        return NpyArray(shape: shape, dtype: descr, data: bytes.subdata(in: (bytes.startIndex + dataStart)..<bytes.endIndex))
    }

    private static func capture(_ text: String, _ pattern: String) -> String? {
        guard let re = try? NSRegularExpression(pattern: pattern),
              let m = re.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
              let r = Range(m.range(at: 1), in: text) else { return nil }
        return String(text[r])
    }
}
