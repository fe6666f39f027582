// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Kura",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "kura", targets: ["kura"]),
        .library(name: "KuraCore", targets: ["KuraCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        // kura.toml (issue 18): a maintained TOML 1.0 parser (toml++ underneath).
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // System libraries, each a one-line shim header found through pkg-config.
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CPostgres", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .target(name: "CKuraSystem"),
        // libcurl for S3 (SigV4 signing by CURLOPT_AWS_SIGV4); a C shim, as Swift cannot call
        // libcurl's variadic setopt/getinfo.
        .target(name: "CKuraCurl", linkerSettings: [.linkedLibrary("curl")]),
        .target(
            name: "KuraCore",
            dependencies: [
                "CZstd", "CCrypto", "CZlib", "CKuraSystem", "CPostgres", "CKuraCurl",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            // Each stage folder opens with a README.md: how it fits the data flow.
            exclude: ["Archive", "Archiver", "BackupSources", "Checker", "Chunking", "Configuration", "Copier", "Crypto", "Database", "Errors",
                      "Maintenance", "Operations", "Repository", "Restorer", "Snapshot", "Storage", "Support"].map { $0 + "/README.md" },
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        .executableTarget(
            name: "kura",
            dependencies: [
                "KuraCore", "CKuraSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Fixtures shared by both test targets: scratch folders, the seeded generator, the
        // PostgreSQL server of tools/test, the CLI sandbox.
        .target(name: "KuraTestSupport", dependencies: ["KuraCore", .product(name: "GRDB", package: "GRDB.swift")],
                path: "Tests/KuraTestSupport"),
        .testTarget(name: "KuraCoreTests", dependencies: ["KuraCore", "KuraTestSupport", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "kuraTests", dependencies: ["KuraCore", "KuraTestSupport"], exclude: ["Help"]),
    ]
)
