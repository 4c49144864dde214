import Foundation

/// The `ketenzicht` executable built beside the running test bundle, for tests that drive the
/// real command line (`.build/debug/ketenzicht` when it cannot be found there).
public let builtKetenzichtBinary: String = {
    let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var directory = bundle.deletingLastPathComponent()
    while directory.path != "/" {
        let candidate = directory.appendingPathComponent("ketenzicht").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build/debug/ketenzicht").path
}()
