// swift-tools-version:6.1
// Benchmarks for Ketenzicht: a separate package so that the main package never depends on the
// benchmark harness. Build it with its own scratch path (see README.md and run.sh).
import PackageDescription

let package = Package(
    name: "KetenzichtBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "Ketenzicht", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // Whole-file throughput runs, one JSON line per run; driven by run.sh.
        .executableTarget(
            name: "kz-bench",
            dependencies: [
                .product(name: "KetenzichtCore", package: "Ketenzicht"),
                .product(name: "KetenzichtIngest", package: "Ketenzicht"),
                .product(name: "KetenzichtStore", package: "Ketenzicht"),
            ],
            path: "Sources/kz-bench"
        ),
        // Micro-benchmarks: `swift package --package-path Benchmarks benchmark`.
        .executableTarget(
            name: "IngestBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "KetenzichtCore", package: "Ketenzicht"),
                .product(name: "KetenzichtIngest", package: "Ketenzicht"),
            ],
            path: "Benchmarks/IngestBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
