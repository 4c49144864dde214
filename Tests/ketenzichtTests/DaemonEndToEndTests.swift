import Foundation
import Testing

/// The whole loop through the real binary, the real socket and real files: `ketenzicht serve`
/// on a temporary state directory, driven as a coordinator, an MDT and an operator would.
@Suite(.serialized) struct DaemonEndToEndTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let sample = root.appendingPathComponent("samples/municipality.ndjson").path
    static let invalidSample = root.appendingPathComponent("samples/municipality-invalid.ndjson").path

    /// The `ketenzicht` binary built beside this test bundle.
    static var binary: String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = bundle.deletingLastPathComponent()
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("ketenzicht").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return root.appendingPathComponent(".build/debug/ketenzicht").path
    }

    final class Workspace {
        let path: String
        init() throws {
            path = "/tmp/kz-e2e-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        deinit { try? FileManager.default.removeItem(atPath: path) }
        var socket: String { path + "/run/k.sock" }
        var config: String { path + "/ketenzicht.yaml" }

        func writeConfig(ggzNorm: Int = 98, broken: Bool = false) throws {
            let text = """
                version: 1
                paths: { state: \(path)/state, socket: \(socket), graphs: \(path)/graphs, inbox: \(path)/inbox }
                socket: { maxRequestBytes: 4096 }
                inbox: { pollSeconds: 0.3 }
                graphs: { debounceSeconds: 0.3, maxEdges: 120 }
                domains:
                  list:
                    ggz: { normDays: \(ggzNorm) }
                \(broken ? "bogus: true" : "")
                """
            try text.write(toFile: config, atomically: true, encoding: .utf8)
        }
    }

    final class Daemon {
        let process = Process()
        let log: String
        init(_ workspace: Workspace) throws {
            log = workspace.path + "/daemon.log"
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            process.executableURL = URL(fileURLWithPath: DaemonEndToEndTests.binary)
            process.arguments = ["serve", "--config", workspace.config]
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            for _ in 0..<200 {
                if (try? Client(workspace.socket).call("health")) != nil { return }
                usleep(50_000)
            }
            Issue.record("daemon did not come up: \(logText)")
        }
        var logText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }
        func stop() -> Int32 {
            signal(SIGTERM)
            process.waitUntilExit()
            return process.terminationStatus
        }
        deinit { if process.isRunning { process.terminate() } }
    }

    /// A line-oriented JSON-RPC client on a plain socket.
    final class Client {
        let descriptor: Int32
        var buffer: [UInt8] = []
        var nextID = 1

        init(_ path: String) throws {
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
                close(descriptor)
                throw CocoaError(.fileReadNoSuchFile)
            }
            var timeout = timeval(tv_sec: 60, tv_usec: 0)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }
        deinit { close(descriptor) }

        func send(_ line: String) {
            let bytes = Array((line + "\n").utf8)
            _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        }

        func readLine() -> [String: Any]? {
            while true {
                if let newline = buffer.firstIndex(of: 0x0a) {
                    let line = Array(buffer[..<newline])
                    buffer.removeFirst(newline + 1)
                    return try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any]
                }
                var chunk = [UInt8](repeating: 0, count: 65_536)
                let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count <= 0 { return nil }
                buffer += chunk[0..<count]
            }
        }

        /// Sends a request and returns its whole response object.
        func request(_ method: String, _ params: [String: Any] = [:]) throws -> [String: Any] {
            let id = nextID
            nextID += 1
            let object: [String: Any] = ["jsonrpc": "2.0", "id": id, "method": method, "params": params]
            send(String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self))
            while let response = readLine() {
                if response["id"] as? Int == id { return response }
            }
            throw CocoaError(.fileReadUnknown)
        }

        func call(_ method: String, _ params: [String: Any] = [:]) throws -> [String: Any] {
            let response = try request(method, params)
            guard let result = response["result"] as? [String: Any] else {
                throw RPCError(message: (response["error"] as? [String: Any])?["message"] as? String ?? "no result")
            }
            return result
        }
    }

    struct RPCError: Error {
        var message: String
    }

    static func waitFor(_ what: String, timeout: Double = 20, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return }
            usleep(100_000)
        }
        Issue.record("timed out waiting for \(what)")
    }

    @Test func coordinatorMdtAndOperatorThroughTheSocket() throws {
        let workspace = try Workspace()
        try workspace.writeConfig()
        var daemon = try Daemon(workspace)
        let client = try Client(workspace.socket)
        let asOf = "2026-11-01T00:00:00Z"

        // Ingest through the socket.
        let ingested = try client.call("ingest", ["path": Self.sample])
        #expect(ingested["accepted"] as? Int == 12864)
        #expect(ingested["rejected"] as? Int == 0)

        // The coordinator: where is it stuck?
        let bottlenecks = try client.call("bottlenecks", ["asOf": asOf, "top": 5])
        let listed = bottlenecks["bottlenecks"] as? [[String: Any]] ?? []
        #expect(listed.prefix(2).compactMap { $0["party"] as? String } == ["schuldhulp-kredietbank", "ggz-beukenkamp"])
        #expect(listed.first?["bottleneckScore"] as? Double ?? 0 > 1)
        #expect((try client.call("bottlenecks", ["asOf": asOf, "domain": "ggz"])["bottlenecks"] as? [[String: Any]])?.allSatisfy { $0["domain"] as? String == "ggz" } == true)

        // The MDT: one case.
        let caseID = "c-000001"
        let view = try client.call("case.get", ["id": caseID, "asOf": asOf])
        #expect((view["referrals"] as? [[String: Any]])?.isEmpty == false)
        #expect(view["regisseur"] != nil)
        #expect(try client.request("case.get", ["id": "c-nope"])["error"].map { ($0 as? [String: Any])?["code"] as? Int } == -32002)

        // Every other method answers.
        for method in ["version", "health", "stats", "parties", "regisseurs", "pingpong", "dropped", "structure", "alerts.list"] {
            #expect((try? client.call(method, ["asOf": asOf])) != nil, "\(method) failed")
        }
        #expect((try client.call("party.get", ["id": "ggz-beukenkamp", "asOf": asOf])["metrics"] as? [String: Any])?["backlog"] as? Int == 103)
        let whatIf = try client.call("propagation.whatIf", ["party": "ggz-beukenkamp", "extraWaitDays": 28, "asOf": asOf])
        #expect((whatIf["affectedParties"] as? [Any])?.isEmpty == false)
        let statsText = try client.request("stats", ["format": "prometheus"])["result"] as? String ?? ""
        #expect(statsText.contains("ketenzicht_referrals 3522"))

        // Dot files, each valid for Graphviz.
        for params in [["view": "network"], ["view": "bottlenecks"], ["view": "case", "id": caseID]] {
            let files = try client.call("dot.write", params.merging(["asOf": asOf]) { $1 })["files"] as? [String] ?? []
            #expect(files.first?.hasSuffix(".dot") == true)
            for file in files { #expect(FileManager.default.fileExists(atPath: file)) }
            if let dot = Self.which("dot"), let file = files.first {
                #expect(Self.run(dot, ["-Tsvg", "-o", "/dev/null", file]) == 0, "dot -Tsvg failed on \(file)")
            }
        }

        // Errors keep the connection usable.
        #expect(try client.request("nope")["error"].map { ($0 as? [String: Any])?["code"] as? Int } == -32601)
        #expect(try client.request("bottlenecks", ["window": "x"])["error"].map { ($0 as? [String: Any])?["code"] as? Int } == -32602)
        client.send("{not json")
        #expect((client.readLine()?["error"] as? [String: Any])?["code"] as? Int == -32700)
        #expect(try client.call("version")["version"] != nil)

        // An oversized line is refused and that connection closed; the daemon carries on.
        let greedy = try Client(workspace.socket)
        greedy.send(String(repeating: "x", count: 10_000))
        #expect((greedy.readLine()?["error"] as? [String: Any])?["code"] as? Int == -32003)
        #expect(greedy.readLine() == nil)
        #expect(try client.call("health")["status"] as? String == "ok")

        // The inbox: a bad file goes to rejected/ with its report, a good one to processed/.
        let inbox = workspace.path + "/inbox"
        try FileManager.default.copyItem(atPath: Self.invalidSample, toPath: inbox + "/.partial")
        try FileManager.default.moveItem(atPath: inbox + "/.partial", toPath: inbox + "/invalid.ndjson")
        try Self.waitFor("the inbox to reject invalid.ndjson") { FileManager.default.fileExists(atPath: inbox + "/rejected/invalid.ndjson.errors.txt") }
        let report = (try? String(contentsOfFile: inbox + "/rejected/invalid.ndjson.errors.txt", encoding: .utf8)) ?? ""
        #expect(report.contains("impossible date 2027-06-31"))
        let extra = #"{"specversion":"1.0","id":"inbox-1","source":"urn:test:inbox","type":"nl.ketenzicht.party.registered","time":"2026-10-01T10:00:00Z","data":{"party":"welzijn-test","name":"Welzijn Test","domain":"welzijn"}}"#
        try (extra + "\n").write(toFile: inbox + "/.extra", atomically: true, encoding: .utf8)
        try FileManager.default.moveItem(atPath: inbox + "/.extra", toPath: inbox + "/extra.ndjson")
        try Self.waitFor("the inbox to process extra.ndjson") { FileManager.default.fileExists(atPath: inbox + "/processed/extra.ndjson") }
        #expect(try client.call("party.get", ["id": "welzijn-test"])["domain"] as? String == "welzijn")

        // Alerts: a subscription sees a referral go over its norm, then resolve once it starts.
        let subscriber = try Client(workspace.socket)
        _ = try subscriber.call("alerts.subscribe")
        let stuck = #"{"specversion":"1.0","id":"alert-1","source":"urn:test:alerts","type":"nl.ketenzicht.referral.created","time":"2026-05-01T10:00:00Z","data":{"referral":"r-alert","case":"c-alert","from":"welzijn-test","to":"ggz-beukenkamp"}}"#
        _ = try client.call("ingest", ["data": stuck])
        var firing: [String: Any]?
        try Self.waitFor("a firing alert for r-alert") {
            while firing == nil, let line = subscriber.readLine() {
                if let params = line["params"] as? [String: Any], (params["labels"] as? [String: Any])?["referral"] as? String == "r-alert" {
                    firing = params
                }
            }
            return firing != nil
        }
        #expect(firing?["status"] as? String == "firing")
        #expect((firing?["labels"] as? [String: Any])?["alertname"] as? String == "ReferralOverNorm")
        let started = #"{"specversion":"1.0","id":"alert-2","source":"urn:test:alerts","type":"nl.ketenzicht.referral.started","time":"2026-11-20T10:00:00Z","data":{"referral":"r-alert"}}"#
        _ = try client.call("ingest", ["data": started])
        var resolved: [String: Any]?
        try Self.waitFor("the alert for r-alert to resolve") {
            while resolved == nil, let line = subscriber.readLine() {
                if let params = line["params"] as? [String: Any], (params["labels"] as? [String: Any])?["referral"] as? String == "r-alert",
                   params["status"] as? String == "resolved" {
                    resolved = params
                }
            }
            return resolved != nil
        }
        #expect(resolved?["endsAt"] is String)
        let alertLog = (try? String(contentsOfFile: workspace.path + "/state/alerts.jsonl", encoding: .utf8)) ?? ""
        #expect(alertLog.contains("r-alert"))

        // SIGHUP: a broken config is refused and the old one kept; a good one takes effect.
        try workspace.writeConfig(broken: true)
        daemon.signal(SIGHUP)
        try Self.waitFor("the refused reload in the log") { daemon.logText.contains("config not reloaded") }
        #expect(try client.call("party.get", ["id": "ggz-beukenkamp"])["normDays"] as? Double == 98)
        try workspace.writeConfig(ggzNorm: 70)
        daemon.signal(SIGHUP)
        try Self.waitFor("the new ggz norm") { try client.call("party.get", ["id": "ggz-beukenkamp"])["normDays"] as? Double == 70 }

        // SIGTERM: exit 0, and a restart has every acknowledged event.
        let before = try client.call("stats")["events"] as? Int
        #expect(daemon.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: workspace.socket))
        daemon = try Daemon(workspace)
        #expect(try Client(workspace.socket).call("stats")["events"] as? Int == before)
        #expect(daemon.stop() == 0)
        #expect(!daemon.logText.contains("111222333"))
    }

    @Test func readLevelCannotIngest() throws {
        guard getuid() == 0, let setpriv = Self.which("setpriv") else { return }
        let workspace = try Workspace()
        try workspace.writeConfig()
        let daemon = try Daemon(workspace)
        // Let another user reach the socket: it then gets the `read` level of "others".
        chmod(workspace.path, 0o755)
        chmod(workspace.path + "/run", 0o755)
        chmod(workspace.socket, 0o666)
        // The CLI client is the simplest peer: run a copy nobody can execute, as nobody.
        let client = workspace.path + "/ketenzicht-client"
        try Self.copyClosingOnExec(Self.binary, to: client, mode: 0o755)
        func asNobody(_ request: String) -> String {
            Self.output(setpriv, ["--reuid=65534", "--regid=65534", "--clear-groups", client] + request.split(separator: " ").map(String.init))
        }
        let denied = asNobody("ingest --socket \(workspace.socket) \(Self.sample)")
        #expect(denied.contains("permission denied"), "got: \(denied)")
        let allowed = asNobody("bottlenecks --socket \(workspace.socket) --as-of 2026-11-01 --json")
        #expect(allowed.contains("\"bottlenecks\""), "got: \(allowed)")
        try Self.waitFor("the denial in the log") { daemon.logText.contains("permission denied") && daemon.logText.contains("uid=65534") }
        #expect(daemon.stop() == 0)
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
}
