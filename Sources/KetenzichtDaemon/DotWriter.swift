public import KetenzichtCore
public import Logging
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes the dot views of SPEC §7 under a graphs directory: `network.dot`, `bottlenecks.dot` and
/// `cases/<case>.dot`, each atomically (a temporary file in the same directory, fsync, rename,
/// fsync of the directory), so a reader or a crash never sees half a file. Where Graphviz `dot` is
/// available, an SVG is rendered beside each file the same way, with a timeout.
///
/// Calls block (file I/O and up to `renderTimeoutSeconds` per SVG): run them off the request path.
public struct DotWriter: Sendable {
    public enum View: Sendable, Equatable {
        case network
        case bottlenecks
        case `case`(String)
    }

    /// What one call wrote.
    public struct Written: Sendable, Equatable {
        public var dotPath: String
        /// The SVG beside it; nil when Graphviz is absent or rendering failed.
        public var svgPath: String?
        /// Why no SVG was written although Graphviz is configured.
        public var svgError: String?
        /// For the network view: what was left out.
        public var pruning: DotViews.NetworkPruning?
    }

    public var directory: String
    /// Path of the `dot` executable; nil writes dot files only.
    public var dotExecutable: String?
    public var renderTimeoutSeconds: Double
    public var maxEdges: Int
    public var top: Int
    public var logger: Logger

    public static let casesDirectory = "cases"

    public init(
        directory: String,
        dotExecutable: String? = DotWriter.findExecutable("dot"),
        renderTimeoutSeconds: Double = 30,
        maxEdges: Int = DotViews.defaultMaxEdges,
        top: Int = DotViews.defaultTop,
        logger: Logger = Logger(label: "ketenzicht.dot")
    ) {
        self.directory = directory
        self.dotExecutable = dotExecutable
        self.renderTimeoutSeconds = renderTimeoutSeconds
        self.maxEdges = maxEdges
        self.top = top
        self.logger = logger
    }

    /// Renders and writes one view. `metrics` lets a caller that already computed PartyMetrics for
    /// this window share them across views.
    public func write(_ view: View, model: ChainModel, window: AnalysisWindow, metrics: [PartyMetrics]? = nil) throws(DotWriterError) -> Written {
        let metrics = metrics ?? PartyMetrics.compute(model, window: window)
        switch view {
        case .network:
            let network = DotViews.network(model, window: window, metrics: metrics, maxEdges: maxEdges)
            var written = try write(network.dot, to: "network.dot")
            written.pruning = network.pruning
            return written
        case .bottlenecks:
            return try write(DotViews.bottlenecks(model, window: window, metrics: metrics, top: top), to: "bottlenecks.dot")
        case .case(let id):
            let name: String
            do { name = try CaseFileName.dotFileName(for: id) } catch { throw .unsafeCaseID(error.description) }
            guard let text = DotViews.caseGraph(caseID: id, model: model, window: window, metrics: metrics) else {
                throw .unknownCase(id)
            }
            return try write(text, to: Self.casesDirectory + "/" + name)
        }
    }

    /// Writes `text` to `relativePath` under the directory (creating it and `cases/` as needed) and
    /// renders its SVG. `relativePath` is built by this type, never taken from a request.
    public func write(_ text: String, to relativePath: String) throws(DotWriterError) -> Written {
        let components = relativePath.split(separator: "/", omittingEmptySubsequences: false)
        guard relativePath.hasSuffix(".dot"), !relativePath.hasPrefix("/"),
              !components.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." })
        else { throw .unsafePath(relativePath) }
        let path = directory + "/" + relativePath
        let parent = String(path[..<path.lastIndex(of: "/")!])
        try Self.makeDirectories(parent)
        try Self.writeAtomically(text, to: path)
        var written = Written(dotPath: path)
        guard let dotExecutable else { return written }
        let svgPath = String(path.dropLast(4)) + ".svg"
        let started = ContinuousClock.now
        do {
            try Self.renderSVG(dotFile: path, svgFile: svgPath, executable: dotExecutable, timeoutSeconds: renderTimeoutSeconds)
            written.svgPath = svgPath
            logger.debug("rendered svg", metadata: ["file": "\(svgPath)", "duration": "\(ContinuousClock.now - started)"])
        } catch {
            // A stale picture beside a new dot file would show an MDT the wrong graph.
            _ = unlink(svgPath)
            written.svgError = error.description
            logger.warning("svg not rendered", metadata: ["file": "\(path)", "error": "\(error.description)"])
        }
        return written
    }

    // MARK: Files

    /// Writes `text` so that `path` holds either the old or the whole new content: a temporary file
    /// beside it (same file system, so rename is atomic), fsync, rename, fsync of the directory (so
    /// the rename itself survives a crash). The temporary file is removed on any failure.
    public static func writeAtomically(_ text: String, to path: String, permissions: Int = 0o640) throws(DotWriterError) {
        let temporary = temporaryPath(for: path)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode_t(permissions))
        guard fd >= 0 else { throw .io(operation: "create", path: temporary, errno: errno) }
        var failure: DotWriterError?
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let count = Glibc_write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if count < 0 {
                    if errno == EINTR { continue }
                    failure = .io(operation: "write", path: temporary, errno: errno)
                    return
                }
                offset += count
            }
        }
        bytes = []
        // The umask may have narrowed the mode at creation; the files' mode is part of the contract.
        if failure == nil, fchmod(fd, mode_t(permissions)) != 0 { failure = .io(operation: "chmod", path: temporary, errno: errno) }
        if failure == nil, fsync(fd) != 0 { failure = .io(operation: "fsync", path: temporary, errno: errno) }
        if close(fd) != 0, failure == nil { failure = .io(operation: "close", path: temporary, errno: errno) }
        if failure == nil, rename(temporary, path) != 0 { failure = .io(operation: "rename", path: path, errno: errno) }
        if let failure {
            _ = unlink(temporary)
            throw failure
        }
        try syncDirectory(of: path)
    }

    /// `.name.tmp-<pid>-<random>`: hidden, unique per writer, and recognisable as ours.
    static func temporaryPath(for path: String) -> String {
        let slash = path.lastIndex(of: "/")
        let parent = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        return parent + "." + name + ".tmp-\(getpid())-\(UInt32.random(in: .min ... .max))"
    }

    static func syncDirectory(of path: String) throws(DotWriterError) {
        let parent = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let fd = open(parent.isEmpty ? "/" : parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(operation: "open directory", path: parent, errno: errno) }
        defer { close(fd) }
        if fsync(fd) != 0, errno != EINVAL { throw .io(operation: "fsync directory", path: parent, errno: errno) }
    }

    /// mkdir -p with mode 0750: the graphs hold pseudonymous case data, readable by the daemon's group.
    static func makeDirectories(_ path: String) throws(DotWriterError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            current += "/" + component
            if mkdir(current, 0o750) != 0, errno != EEXIST {
                throw .io(operation: "mkdir", path: current, errno: errno)
            }
        }
    }

    // MARK: Graphviz

    /// The first executable `name` on `path` (default: the PATH environment variable), if any.
    public static func findExecutable(_ name: String, path: String? = nil) -> String? {
        let path = path ?? ProcessInfo.processInfo.environment["PATH"] ?? ""
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = directory + "/" + name
            var status = stat()
            if access(candidate, X_OK) == 0, stat(candidate, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG {
                return candidate
            }
        }
        return nil
    }

    /// Runs `dot -Tsvg` into a temporary file beside `svgFile` and renames it into place. A run
    /// longer than `timeoutSeconds` is terminated (SIGTERM, then SIGKILL), so a pathological graph
    /// costs at most the timeout plus a few seconds and never blocks the caller for good.
    public static func renderSVG(dotFile: String, svgFile: String, executable: String, timeoutSeconds: Double) throws(DotWriterError) {
        let temporary = temporaryPath(for: svgFile)
        // Diagnostics go to a file rather than a pipe: a pipe nobody drains would stall Graphviz.
        let diagnostics = temporaryPath(for: svgFile) + ".err"
        defer { _ = unlink(diagnostics) }
        guard FileManager.default.createFile(atPath: diagnostics, contents: nil),
              let errorHandle = FileHandle(forWritingAtPath: diagnostics)
        else { throw .io(operation: "create", path: diagnostics, errno: errno) }
        defer { try? errorHandle.close() }

        let process = Process()
        // Layout can take a core for seconds on a large view: at low priority it never slows answers.
        if let nice = findExecutable("nice") {
            process.executableURL = URL(fileURLWithPath: nice)
            process.arguments = ["-n", "10", executable, "-Tsvg", "-o", temporary, dotFile]
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = ["-Tsvg", "-o", temporary, dotFile]
        }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errorHandle
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        do {
            try process.run()
        } catch {
            throw .renderFailed("cannot run \(executable): \(error)")
        }
        if finished.wait(timeout: .now() + timeoutSeconds) == .timedOut {
            process.terminate()
            if finished.wait(timeout: .now() + 2) == .timedOut {
                _ = kill(process.processIdentifier, SIGKILL)
                // SIGKILL cannot be caught; the bound only guards against a process stuck in the kernel.
                _ = finished.wait(timeout: .now() + 5)
            }
            _ = unlink(temporary)
            throw .renderTimedOut(seconds: timeoutSeconds)
        }
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            _ = unlink(temporary)
            let message = (try? String(contentsOfFile: diagnostics, encoding: .utf8)) ?? ""
            let status = process.terminationReason == .exit ? "exit status \(process.terminationStatus)" : "signal \(process.terminationStatus)"
            throw .renderFailed("\(executable) -Tsvg failed with \(status): \(message.prefix(500).trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        let fd = open(temporary, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(operation: "open", path: temporary, errno: errno) }
        var failure: DotWriterError?
        if fchmod(fd, 0o640) != 0 { failure = .io(operation: "chmod", path: temporary, errno: errno) }
        if failure == nil, fsync(fd) != 0 { failure = .io(operation: "fsync", path: temporary, errno: errno) }
        close(fd)
        if failure == nil, rename(temporary, svgFile) != 0 { failure = .io(operation: "rename", path: svgFile, errno: errno) }
        if let failure {
            _ = unlink(temporary)
            throw failure
        }
        try syncDirectory(of: svgFile)
    }
}

public enum DotWriterError: Error, Equatable, Sendable, CustomStringConvertible {
    case io(operation: String, path: String, errno: Int32)
    case unknownCase(String)
    case unsafeCaseID(String)
    case unsafePath(String)
    case renderFailed(String)
    case renderTimedOut(seconds: Double)

    public var description: String {
        switch self {
        case let .io(operation, path, code): "\(operation) \(path): \(String(cString: strerror(code)))"
        case .unknownCase(let id): "no case \(id)"
        case .unsafeCaseID(let reason): reason
        case .unsafePath(let path): "refusing to write \(path): a graph file is a relative path ending in .dot, without empty, . or .. components"
        case .renderFailed(let message): message
        case .renderTimedOut(let seconds): "dot -Tsvg did not finish within \(DotViews.days(seconds)) seconds and was stopped; the dot file is written, lower the edge limit to get an SVG"
        }
    }
}

/// `write(2)`, named apart from the method and Foundation's overloads.
private func Glibc_write(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, buffer, count)
    #else
    return Darwin.write(fd, buffer, count)
    #endif
}

extension DotWriter {
    /// Writes the view named as on the socket (`network`, `bottlenecks`, `case` with `id`) and
    /// returns the files written: the dot file, and its SVG when one was rendered.
    public func files(view: String, id: String?, model: ChainModel, window: AnalysisWindow) throws(DotWriterError) -> [String] {
        let written: Written
        switch view {
        case "network": written = try write(.network, model: model, window: window)
        case "bottlenecks": written = try write(.bottlenecks, model: model, window: window)
        default: written = try write(.case(id ?? ""), model: model, window: window)
        }
        return [written.dotPath] + (written.svgPath.map { [$0] } ?? [])
    }
}
