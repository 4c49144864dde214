// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Ketenzicht",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "ketenzicht", targets: ["ketenzicht"]),
        .library(name: "KetenzichtCore", targets: ["KetenzichtCore"]),
        .library(name: "KetenzichtIngest", targets: ["KetenzichtIngest"]),
        .library(name: "KetenzichtStore", targets: ["KetenzichtStore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // libxml2 through pkg-config; the shim undefines ICU so it never meets Foundation's.
        .systemLibrary(
            name: "CLibXML2",
            pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]
        ),
        // Foundation-free streaming reader over libxml2's xmlTextReader.
        .target(name: "XMLStreaming", dependencies: ["CLibXML2"], swiftSettings: strict),
        // The pure model: no I/O, no clock.
        .target(name: "KetenzichtCore", swiftSettings: strict),
        .target(
            name: "KetenzichtIngest",
            dependencies: [
                "KetenzichtCore", "XMLStreaming",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        // The config file of SPEC §8: parsed, validated, documented defaults.
        .target(
            name: "KetenzichtConfig",
            dependencies: ["KetenzichtCore", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
        .target(
            name: "KetenzichtStore",
            dependencies: [
                "KetenzichtCore", "KetenzichtIngest",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "ketenzicht",
            dependencies: [
                "KetenzichtCore", "KetenzichtIngest", "KetenzichtStore", "KetenzichtConfig",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "KetenzichtCoreTests", dependencies: ["KetenzichtCore"],
            exclude: ["Fixtures"], swiftSettings: strict
        ),
        .testTarget(
            name: "KetenzichtIngestTests",
            dependencies: ["KetenzichtIngest", "KetenzichtCore", "XMLStreaming"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "KetenzichtStoreTests",
            dependencies: ["KetenzichtStore", "KetenzichtIngest", "KetenzichtCore"],
            swiftSettings: strict
        ),
        .testTarget(name: "KetenzichtConfigTests", dependencies: ["KetenzichtConfig", "KetenzichtCore"], swiftSettings: strict),
        .testTarget(name: "ketenzichtTests", dependencies: ["KetenzichtStore"], swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
