// swift-tools-version:5.9
// EdgeAffectKit: the on-device preprocessing (the embedded C, one implementation
// on every device) and the platform-independent Swift core (manifest, goldens,
// post-processing, smoothing, parity). The C sources are copied into
// Sources/CEdgeAffectPreprocess by `edge-affect export-app-assets --platform ios`.
import PackageDescription

let package = Package(
    name: "EdgeAffectKit",
    platforms: [.iOS(.v16), .macOS(.v13)],
    products: [
        .library(name: "EdgeAffectCore", targets: ["EdgeAffectCore"]),
    ],
    targets: [
        .target(
            name: "CEdgeAffectPreprocess",
            path: "Sources/CEdgeAffectPreprocess",
            publicHeadersPath: "include"
        ),
        .target(
            name: "EdgeAffectCore",
            dependencies: ["CEdgeAffectPreprocess"],
            path: "Sources/EdgeAffectCore"
        ),
        .testTarget(
            name: "EdgeAffectCoreTests",
            dependencies: ["EdgeAffectCore"],
            path: "Tests/EdgeAffectCoreTests"
        ),
    ]
)
