import CryptoKit
import Foundation

/// sha256 checks of a bundle against manifest.json, with edge_affect.fileio.sha256_tree's rule for
/// directories (an .mlpackage): sha256 over "relpath\0hex(sha256(file))\n" for every file, sorted by path parts.
public enum Integrity {
    public static func sha256(file url: URL) throws -> String {
        hex(SHA256.hash(data: try Data(contentsOf: url, options: .mappedIfSafe)))
    }

    public static func sha256(tree url: URL) throws -> String {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else { throw ManifestError("\(url.path): missing") }
        if !isDir.boolValue { return try sha256(file: url) }
        var rels: [[String]] = []
        let base = url.standardizedFileURL.pathComponents.count
        if let walker = FileManager.default.enumerator(at: url, includingPropertiesForKeys: [.isRegularFileKey]) {
            for case let f as URL in walker where (try? f.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
                rels.append(Array(f.standardizedFileURL.pathComponents.dropFirst(base)))
            }
        }
        // Python sorts Path objects part by part, not as joined strings ("a/x" before "a.b/x").
        rels.sort { $0.lexicographicallyPrecedes($1) }
        var hasher = SHA256()
        for parts in rels {
            let rel = parts.joined(separator: "/")
            let digest = try sha256(file: url.appendingPathComponent(rel))
            hasher.update(data: Data((rel + "\u{0}" + digest + "\n").utf8))
        }
        return hex(hasher.finalize())
    }

    /// Every file the manifest lists (calibration/ is never shipped) must exist and match.
    public static func verify(bundle root: URL, manifest: BundleManifest) throws {
        for (rel, expected) in manifest.files where !rel.hasPrefix("calibration/") {
            let actual = try sha256(tree: root.appendingPathComponent(rel))
            guard actual == expected else {
                throw ManifestError("\(root.appendingPathComponent(rel).path): sha256 \(actual.prefix(16))... does not match the manifest (\(expected.prefix(16))...)")
            }
        }
    }

    private static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}
