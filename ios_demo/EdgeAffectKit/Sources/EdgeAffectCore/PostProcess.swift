import Foundation

/// The manifest's output section on one raw output row, in float64 like the reference (postprocess.py).
public enum PostProcess {
    public static func apply(_ raw: [Float], _ spec: OutputSpec) -> [Double] {
        let x = raw.map(Double.init)
        switch spec.post {
        case "softmax": return softmax(x)
        case "sigmoid": return x.map { 1 / (1 + exp(-$0)) }
        case "clamp":
            let r = spec.clampRange!  // validated when the manifest was read
            return x.map { min(max($0, r[0]), r[1]) }
        default: return x
        }
    }

    public static func softmax(_ x: [Double]) -> [Double] {
        guard let top = x.max() else { return x }
        let e = x.map { exp($0 - top) }
        let sum = e.reduce(0, +)
        return e.map { $0 / sum }
    }

    public static func top1(_ values: [Double]) -> Int {
        values.indices.max(by: { values[$0] < values[$1] }) ?? 0
    }
}

/// s_t = a * y_t + (1 - a) * s_{t-1}, a = output.smooth_alpha; reset when the face is lost.
public final class EmaSmoother {
    private let alpha: Double
    private var state: [Double]?

    public init(alpha: Double) { self.alpha = alpha }

    public func update(_ value: [Double]) -> [Double] {
        guard let prev = state, prev.count == value.count else { state = value; return value }
        let next = zip(value, prev).map { alpha * $0 + (1 - alpha) * $1 }
        state = next
        return next
    }

    public func reset() { state = nil }
}

public enum Parity {
    /// max |actual - expected|; NaN if any difference is NaN.
    public static func maxAbsDiff(_ actual: [Double], _ expected: [Double]) -> Double {
        precondition(actual.count == expected.count, "\(actual.count) values vs \(expected.count) expected")
        var worst = 0.0
        for (a, e) in zip(actual, expected) {
            let d = abs(a - e)
            if d.isNaN { return .nan }
            worst = max(worst, d)
        }
        return worst
    }
}
