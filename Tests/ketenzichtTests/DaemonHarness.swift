import Foundation
import KetenzichtTestSupport
import Testing

/// Runs the real `ketenzicht serve` on a temporary state directory and socket, and talks to it
/// as any outside client would: through the socket, by the line.
enum Harness {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let sample = root.appendingPathComponent("samples/municipality.ndjson").path
    static let invalidSample = root.appendingPathComponent("samples/municipality-invalid.ndjson").path

    static var binary: String { builtKetenzichtBinary }

    /// Polls `condition` until it holds; records an issue when it never does. The timeout is a
    /// safety net for a hung daemon, not a latency requirement.
    static func waitFor(_ what: String, timeout: Double = 30, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return }
            usleep(100_000)
        }
        Issue.record("timed out waiting for \(what)")
    }

    static func which(_ name: String) -> String? {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }

    static func output(_ executable: String, _ arguments: [String]) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        guard (try? process.run()) != nil else { return "" }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Copies a file through descriptors closed on exec. `FileManager.copyItem`'s are not: a child
    /// that another test spawns during the copy keeps the copy open for writing for as long as
    /// it runs, and executing the copy then fails with "Text file busy".
    static func copyClosingOnExec(_ source: String, to destination: String, mode: mode_t) throws {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw CocoaError(.fileReadNoSuchFile) }
        defer { close(input) }
        let output = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard output >= 0 else { throw CocoaError(.fileWriteUnknown) }
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count == 0 { break }
            guard count > 0, buffer.withUnsafeBytes({ write(output, $0.baseAddress, count) }) == count else { throw CocoaError(.fileWriteUnknown) }
        }
        fchmod(output, mode)
    }

    /// The code of a JSON-RPC error answer, nil for a result or no answer.
    static func errorCode(_ response: [String: Any]?) -> Int? {
        (response?["error"] as? [String: Any])?["code"] as? Int
    }
}

/// A temporary directory holding a daemon's config, state, socket and graphs.
final class Workspace {
    let path: String
    init() throws {
        path = "/tmp/kz-e2e-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    var socket: String { path + "/run/k.sock" }
    var config: String { path + "/ketenzicht.yaml" }
    var state: String { path + "/state" }

    /// Runs a copy of the CLI as uid/gid 65534 (nobody), which can execute it, against this
    /// workspace's daemon; the workspace, run directory and socket are opened to other users first,
    /// so the peer gets whatever level `access.others` gives. Needs root and `setpriv`.
    func runAsNobody(_ arguments: [String]) throws -> String {
        let setpriv = try #require(Harness.which("setpriv"))
        chmod(path, 0o755)
        chmod(path + "/run", 0o755)
        chmod(socket, 0o666)
        let client = path + "/ketenzicht-client"
        if !FileManager.default.fileExists(atPath: client) {
            try Harness.copyClosingOnExec(Harness.binary, to: client, mode: 0o755)
        }
        return Harness.output(setpriv, ["--reuid=65534", "--regid=65534", "--clear-groups", client] + arguments)
    }

    /// `socket` and `access` are the bodies of those sections in YAML flow style.
    func writeConfig(ggzNorm: Int = 98, broken: Bool = false, socket: String = "maxRequestBytes: 4096", access: String? = nil) throws {
        let text = """
            version: 1
            paths: { state: \(state), socket: \(self.socket), graphs: \(path)/graphs, inbox: \(path)/inbox }
            socket: { \(socket) }
            inbox: { pollSeconds: 0.3 }
            graphs: { debounceSeconds: 0.3, maxEdges: 120 }
            domains:
              list:
                ggz: { normDays: \(ggzNorm) }
            \(access.map { "access: { \($0) }" } ?? "")
            \(broken ? "bogus: true" : "")
            """
        try text.write(toFile: config, atomically: true, encoding: .utf8)
    }
}

/// `ketenzicht serve --config <workspace config>`, its stderr in `daemon.log`.
final class DaemonProcess {
    let process = Process()
    let log: String

    /// Starts the daemon and returns once it answers `health`.
    init(_ workspace: Workspace) throws {
        log = workspace.path + "/daemon.log"
        if !FileManager.default.fileExists(atPath: log) { _ = FileManager.default.createFile(atPath: log, contents: nil) }
        process.executableURL = URL(fileURLWithPath: Harness.binary)
        process.arguments = ["serve", "--config", workspace.config]
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        handle.seekToEndOfFile()
        process.standardError = handle
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        for _ in 0..<600 {
            if (try? RPCClient(workspace.socket).call("health")) != nil { return }
            if !process.isRunning { break }
            usleep(50_000)
        }
        Issue.record("daemon did not come up: \(logText)")
    }

    var pid: Int32 { process.processIdentifier }
    var logText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    func stop() -> Int32 {
        signal(SIGTERM)
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// SIGKILL: no flush, no cleanup, the lock and the socket file left as they are.
    func crash() {
        signal(SIGKILL)
        process.waitUntilExit()
    }

    deinit { if process.isRunning { crash() } }
}

/// A line-oriented JSON-RPC client on a plain blocking socket.
final class RPCClient {
    let descriptor: Int32
    var buffer: [UInt8] = []
    var nextID = 1

    struct ConnectFailed: Error {
        var errno: Int32
    }

    init(_ path: String, receiveTimeoutSeconds: Int = 60) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            let failure = errno
            close(descriptor)
            throw ConnectFailed(errno: failure)
        }
        var timeout = timeval(tv_sec: receiveTimeoutSeconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }
    deinit { close(descriptor) }

    /// Writes all of `bytes`; false when the daemon closed the connection.
    @discardableResult
    func sendBytes(_ bytes: [UInt8]) -> Bool { SocketWriter(descriptor: descriptor).sendBytes(bytes) }

    @discardableResult
    func send(_ line: String) -> Bool { SocketWriter(descriptor: descriptor).send(line) }

    /// The next line as a JSON object; nil at the end of the connection (or a receive timeout).
    func readLine() -> [String: Any]? {
        guard let line = readRawLine() else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any] ?? [:]
    }

    func readRawLine() -> [UInt8]? {
        while true {
            if let newline = buffer.firstIndex(of: 0x0a) {
                let line = Array(buffer[..<newline])
                buffer.removeFirst(newline + 1)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count <= 0 { return nil }
            buffer += chunk[0..<count]
        }
    }

    /// Whether the daemon has closed the connection: reads (and drops) what is left until the end.
    func isClosedByDaemon() -> Bool {
        while readRawLine() != nil {}
        return true
    }

    static func requestLine(id: Int, _ method: String, _ params: [String: Any] = [:]) throws -> String {
        let object: [String: Any] = ["jsonrpc": "2.0", "id": id, "method": method, "params": params]
        return String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    /// Sends a request and returns its whole response object.
    func request(_ method: String, _ params: [String: Any] = [:]) throws -> [String: Any] {
        let id = nextID
        nextID += 1
        guard send(try Self.requestLine(id: id, method, params)) else { throw RPCError(message: "connection closed by the daemon") }
        while let response = readLine() {
            if response["id"] as? Int == id { return response }
        }
        throw RPCError(message: "no answer to \(method): connection closed")
    }

    func call(_ method: String, _ params: [String: Any] = [:]) throws -> [String: Any] {
        let response = try request(method, params)
        guard let result = response["result"] as? [String: Any] else {
            throw RPCError(message: (response["error"] as? [String: Any])?["message"] as? String ?? "no result")
        }
        return result
    }
}

struct RPCError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Writes to a connected socket; false once the daemon has closed it.
struct SocketWriter: Sendable {
    let descriptor: Int32

    @discardableResult
    func sendBytes(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count <= 0 { return false }
            sent += count
        }
        return true
    }

    @discardableResult
    func send(_ line: String) -> Bool { sendBytes(Array((line + "\n").utf8)) }
}
