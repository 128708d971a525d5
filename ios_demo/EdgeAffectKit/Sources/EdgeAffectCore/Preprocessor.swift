import CEdgeAffectPreprocess
import Foundation

/// A box in frame pixels (top-left origin); x/y may be negative.
public struct PixelBox: Equatable {
    public var x, y, width, height: Int32
    public init(x: Int32, y: Int32, width: Int32, height: Int32) { (self.x, self.y, self.width, self.height) = (x, y, width, height) }
}

/// An 8-bit gray (channels 1) or interleaved RGB888 (channels 3) frame.
public struct PixelFrame {
    public let pixels: [UInt8]
    public let width, height, channels, stride: Int
    public init(pixels: [UInt8], width: Int, height: Int, channels: Int, stride: Int? = nil) {
        (self.pixels, self.width, self.height, self.channels) = (pixels, width, height, channels)
        self.stride = stride ?? width * channels
    }
    public var fullBox: PixelBox { PixelBox(x: 0, y: 0, width: Int32(width), height: Int32(height)) }
}

/// Steps 1-4 through the embedded C (ea_preprocess.c, bit-exact with the numpy reference), step 5 in Swift.
public final class Preprocessor {
    public let spec: InputSpec
    private var config: ea_preprocess_config_t

    public init(spec: InputSpec) {
        self.spec = spec
        config = ea_preprocess_config_t(
            out_height: Int32(spec.height), out_width: Int32(spec.width),
            color: spec.color == "gray" ? EA_COLOR_GRAY : EA_COLOR_RGB,
            resize: spec.resize == "nearest" ? EA_RESIZE_NEAREST : EA_RESIZE_BILINEAR,
            margin_permille: spec.marginPermille, keep_aspect: spec.pad == "keep_aspect" ? 1 : 0,
            pad_value: UInt8(spec.padValue))
    }

    /// uint8 crop at the model size, HWC.
    public func crop(_ frame: PixelFrame, box: PixelBox) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: spec.height * spec.width * spec.channels)
        let b = ea_box_t(x: box.x, y: box.y, width: box.width, height: box.height)
        guard frame.channels == 1 || frame.channels == 3,
              frame.pixels.count >= frame.stride * (frame.height - 1) + frame.width * frame.channels else {
            throw ManifestError("frame: \(frame.pixels.count) bytes do not hold \(frame.width)x\(frame.height)x\(frame.channels)")
        }
        let status: ea_pp_status_t = frame.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                frame.channels == 1
                    ? ea_preprocess_gray_u8(src.baseAddress, Int32(frame.width), Int32(frame.height), Int32(frame.stride), b, &config, dst.baseAddress, dst.count)
                    : ea_preprocess_rgb888(src.baseAddress, Int32(frame.width), Int32(frame.height), Int32(frame.stride), b, &config, dst.baseAddress, dst.count)
            }
        }
        guard status == EA_PP_OK else { throw ManifestError("preprocess: status \(status.rawValue) for box \(box)") }
        return out
    }

    /// float32 NCHW input, pixel * scale[c] + offset[c] (two float32 roundings, like numpy: no FMA).
    public func tensor(_ frame: PixelFrame, box: PixelBox) throws -> [Float] {
        Self.normalize(try crop(frame, box: box), spec: spec)
    }

    public static func normalize(_ crop: [UInt8], spec: InputSpec) -> [Float] {
        let c = spec.channels, plane = spec.height * spec.width
        var out = [Float](repeating: 0, count: plane * c)
        for ch in 0..<c {
            let s = spec.scale[ch], o = spec.offset[ch]
            for p in 0..<plane {
                let product = Float(crop[p * c + ch]) * s  // separate statements: Swift does not contract them
                out[ch * plane + p] = product + o
            }
        }
        return out
    }
}

/// Where the model looks, by the manifest's input.source (see android_demo/core Regions.kt).
public enum Regions {
    public static func bounds(_ points: [CGPoint]) -> PixelBox? {
        guard let first = points.first else { return nil }
        var (x0, y0, x1, y1) = (first.x, first.y, first.x, first.y)
        for p in points { x0 = min(x0, p.x); y0 = min(y0, p.y); x1 = max(x1, p.x); y1 = max(y1, p.y) }
        let left = Int32(x0.rounded(.down)), top = Int32(y0.rounded(.down))
        return PixelBox(x: left, y: top, width: max(Int32(x1.rounded(.up)) - left, 1), height: max(Int32(y1.rounded(.up)) - top, 1))
    }

    /// Eye/brow/nose-bridge bounds grown 10% x, 25% y about the centre; axis-aligned (no roll correction).
    public static func eyeSlot(_ points: [CGPoint]) -> PixelBox? {
        guard let b = bounds(points) else { return nil }
        let w = Int32((1.1 * Double(b.width) + 0.5).rounded(.down)), h = Int32((1.25 * Double(b.height) + 0.5).rounded(.down))
        return PixelBox(x: b.x - (w - b.width) / 2, y: b.y - (h - b.height) / 2, width: w, height: h)
    }

    public static func select(source: String, frame: PixelFrame, faceBox: PixelBox?, facePoints: [CGPoint],
                              eyePoints: [CGPoint], eyeCamera: Bool) -> PixelBox? {
        if eyeCamera || source == "full_frame" { return frame.fullBox }
        switch source {
        case "eye_slot": return eyeSlot(eyePoints)
        case "landmarks68": return bounds(facePoints) ?? faceBox
        default: return faceBox
        }
    }
}
