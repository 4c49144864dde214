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
        // For the separate Fuzz package (the socket's request parser and dispatch).
        .library(name: "KetenzichtConfig", targets: ["KetenzichtConfig"]),
        .library(name: "KetenzichtDaemon", targets: ["KetenzichtDaemon"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // libxml2 through pkg-config; the shim undefines ICU so it never meets Foundation's.
        .systemLibrary(
            name: "CLibXML2",
            pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]
        ),
        // Foundation-free streaming over libxml2: the SAX2 scanner and the xmlTextReader-based reader.
        .target(name: "XMLStreaming", dependencies: ["CLibXML2"], swiftSettings: strict),
        // The pure model: no I/O, no clock.
        .target(
            name: "KetenzichtCore",
            dependencies: ["CPrefetch", .product(name: "HashTreeCollections", package: "swift-collections")],
            swiftSettings: strict
        ),
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
                // The raw sqlite3 binding of the insert loop (EventStore.insert).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // A cache prefetch hint for the model's hash tables, which Swift cannot express.
        .target(name: "CPrefetch"),
        // SO_PEERCRED needs _GNU_SOURCE, which Swift's Glibc module does not define.
        .target(name: "CPeerCred"),
        // The daemon of SPEC §6–§8: socket, access levels, live ingest, alerts, inbox, dot files.
        .target(
            name: "KetenzichtDaemon",
            dependencies: [
                "KetenzichtCore", "KetenzichtIngest", "KetenzichtStore", "KetenzichtConfig", "CPeerCred",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "ketenzicht",
            dependencies: [
                "KetenzichtCore", "KetenzichtIngest", "KetenzichtStore", "KetenzichtConfig", "KetenzichtDaemon",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Helpers shared by the test targets (a seeded generator).
        .target(name: "KetenzichtTestSupport", path: "Tests/KetenzichtTestSupport", swiftSettings: strict),
        .testTarget(
            name: "KetenzichtCoreTests", dependencies: ["KetenzichtCore", "KetenzichtTestSupport"],
            exclude: ["Fixtures"], swiftSettings: strict
        ),
        .testTarget(
            name: "KetenzichtIngestTests",
            // The store too: the hostile corpus goes through the whole ingest, model refusals included.
            dependencies: ["KetenzichtIngest", "KetenzichtCore", "XMLStreaming", "KetenzichtStore", "KetenzichtTestSupport"],
            exclude: ["IStandaarden", "Hostile", "FuzzRegressions"], swiftSettings: strict
        ),
        .testTarget(
            name: "KetenzichtStoreTests",
            // GRDB directly: a test plants a failing trigger to see what a failed commit leaves behind.
            dependencies: ["KetenzichtStore", "KetenzichtIngest", "KetenzichtCore", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        .testTarget(name: "KetenzichtConfigTests", dependencies: ["KetenzichtConfig", "KetenzichtCore"], swiftSettings: strict),
        .testTarget(
            name: "KetenzichtDaemonTests",
            dependencies: [
                "KetenzichtDaemon", "KetenzichtCore", "KetenzichtStore", "KetenzichtConfig", "KetenzichtTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // GRDB directly: the crash tests read the store read-only, as it lies on disk after a SIGKILL.
        // KetenzichtIngest for the privacy audit, which derives the pseudonymous cases from the key.
        .testTarget(
            name: "ketenzichtTests",
            dependencies: ["KetenzichtStore", "KetenzichtIngest", "KetenzichtTestSupport", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
    ],
    swiftLanguageModes: [.v6]
)
