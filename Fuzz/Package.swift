// swift-tools-version:5.4
// libFuzzer targets for Ketenzicht's input paths (SPEC §3: the daemon never crashes or hangs on
// input). A separate package, like Benchmarks/, so that the main package and CI never build with
// sanitizers. The sanitizer flags are not in this manifest: they must reach every Swift module,
// the decoders under test included (a flag here would instrument only the harness), so run.sh
// passes them on the command line:
//
//   swift build -c debug --package-path Fuzz --scratch-path Fuzz/.build \
//       -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
//
// Tools version 5.4 on purpose: from 5.5 on, SwiftPM renames an executable's `main` to
// `<target>_main` and links `--defsym main=<target>_main`, which fails here, because the entry
// point is libFuzzer's own `main` (it calls LLVMFuzzerTestOneInput). The harness is therefore in
// Swift 5 mode; the package under test keeps its own settings (Swift 6, strict concurrency).
// See README.md.
import PackageDescription

let package = Package(
    name: "KetenzichtFuzz",
    dependencies: [
        .package(name: "Ketenzicht", path: ".."),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // What every target shares: decoders configured as in production, input helpers.
        .target(
            name: "FuzzSupport",
            dependencies: [
                .product(name: "KetenzichtCore", package: "Ketenzicht"),
                .product(name: "KetenzichtIngest", package: "Ketenzicht"),
            ],
            path: "Sources/FuzzSupport"
        ),
        // CloudEvents NDJSON / batch arrays: CloudEventsDecoder over JSONScanner.
        .executableTarget(
            name: "fuzz-cloudevents",
            dependencies: ["FuzzSupport", .product(name: "KetenzichtIngest", package: "Ketenzicht")],
            path: "Sources/fuzz-cloudevents"
        ),
        // The canonical exchange document: CanonicalXMLDecoder with XSD validation (libxml2).
        .executableTarget(
            name: "fuzz-xml",
            dependencies: ["FuzzSupport", .product(name: "KetenzichtIngest", package: "Ketenzicht")],
            path: "Sources/fuzz-xml"
        ),
        // iJw / iWmo 3.2 messages: IStandaardenDecoder with the real XSDs.
        .executableTarget(
            name: "fuzz-istandaarden",
            dependencies: ["FuzzSupport", .product(name: "KetenzichtIngest", package: "Ketenzicht")],
            path: "Sources/fuzz-istandaarden"
        ),
        // One socket request line: JSONRPC.parse and the response serialisation.
        .executableTarget(
            name: "fuzz-jsonrpc",
            dependencies: [
                .product(name: "KetenzichtCore", package: "Ketenzicht"),
                .product(name: "KetenzichtDaemon", package: "Ketenzicht"),
            ],
            path: "Sources/fuzz-jsonrpc"
        ),
        // A request line through parse and MethodTable dispatch (params validation, read-level
        // methods) on an empty model.
        .executableTarget(
            name: "fuzz-rpc-dispatch",
            dependencies: [
                .product(name: "KetenzichtCore", package: "Ketenzicht"),
                .product(name: "KetenzichtConfig", package: "Ketenzicht"),
                .product(name: "KetenzichtDaemon", package: "Ketenzicht"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/fuzz-rpc-dispatch"
        ),
    ],
    swiftLanguageVersions: [.v5]
)
