// swift-tools-version:6.1
// libFuzzer harnesses for the parsers of untrusted bytes (docs/DESIGN.md, "Fuzzing"). Built by
// tools/fuzz with -sanitize=fuzzer,address in debug mode (so `@testable import` reaches the
// internal parsers); not part of the main package's build.
import PackageDescription

let package = Package(
    name: "KuraFuzz",
    platforms: [.macOS(.v13)],
    dependencies: [.package(name: "Kura", path: "../..")],
    targets: [
        .executableTarget(
            name: "KuraFuzz",
            dependencies: [.product(name: "KuraCore", package: "Kura")],
            swiftSettings: [.swiftLanguageMode(.v5), .unsafeFlags(["-parse-as-library"])]
        ),
    ]
)
