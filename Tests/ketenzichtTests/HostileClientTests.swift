import Foundation
import Testing

/// The short form of `scripts/hostile-clients.sh`: clients that hold, flood, dawdle or never
/// read, one kind at a time, each against the real daemon, and a well-behaved client beside them
/// that must keep getting its answers.
@Suite(.serialized) struct HostileClientTests {
    static let parseError = -32700
    static let invalidRequest = -32600
    static let permissionDenied = -32001
    static let requestTooLarge = -32003
    static let tooManyConnections = -32006
    static let requestTimeout = -32007

    @Test func twoHundredConnectionsAtOnceAndSubscriptionsStay() throws {
        let workspace = try Workspace()
        try workspace.writeConfig(socket: "requestTimeoutSeconds: 1")
        let daemon = try DaemonProcess(workspace)
        let clients = try (0..<200).map { _ in try RPCClient(workspace.socket) }
        // Every connection asks at once before any reads its answer.
        for (index, client) in clients.enumerated() {
            #expect(client.send(try RPCClient.requestLine(id: index, index % 4 == 0 ? "alerts.subscribe" : "echo", ["n": index])))
        }
        for (index, client) in clients.enumerated() {
            let answer = client.readLine()
            #expect(answer?["id"] as? Int == index && answer?["result"] != nil, "connection \(index): \(answer ?? [:])")
        }
        #expect(try RPCClient(workspace.socket).call("health")["status"] as? String == "ok")
        // Idle connections without a begun request line are not timed out, subscribers included:
        // they still answer after several request timeouts have passed.
        sleep(3)
        for (index, client) in clients.enumerated() {
            #expect(try client.call("echo", ["again": index])["again"] as? Int == index, "connection \(index) was dropped")
        }
        #expect(daemon.stop() == 0)
    }

    @Test func connectionsBeyondTheLimitGetOneErrorLineAndAreClosed() throws {
        let workspace = try Workspace()
        try workspace.writeConfig(socket: "maxConnections: 10")
        let daemon = try DaemonProcess(workspace)
        var held = try (0..<10).map { _ in try RPCClient(workspace.socket) }
        for client in held { #expect(try client.call("echo")["x"] == nil) }
        let refused = try RPCClient(workspace.socket)
        #expect(Harness.errorCode(refused.readLine()) == Self.tooManyConnections)
        #expect(refused.readLine() == nil)
        // A freed place is taken again.
        held.removeLast()
        try Harness.waitFor("a connection after one was freed") {
            guard let client = try? RPCClient(workspace.socket), let answer = try? client.request("health") else { return false }
            return answer["result"] != nil
        }
        #expect(try held[0].call("health")["status"] as? String == "ok")
        try Harness.waitFor("the refusal in the log") { daemon.logText.contains("socket.maxConnections reached") }
        #expect(daemon.stop() == 0)
    }

    @Test func anOversizedLineIsRefusedWithoutReadingItAndOthersCarryOn() throws {
        let workspace = try Workspace()
        try workspace.writeConfig(socket: "maxRequestBytes: 4096")
        let daemon = try DaemonProcess(workspace)
        let bystander = try RPCClient(workspace.socket)
        let greedy = try RPCClient(workspace.socket)
        // 64 MiB without a line end: the daemon stops at 4 KiB and closes, so the send fails long
        // before the end instead of the daemon taking it all in.
        let total = 64 << 20
        let sender = BackgroundSender(client: greedy) { client in
            let chunk = [UInt8](repeating: 0x78, count: 1 << 16)
            var sent = 0
            while sent < total, client.sendBytes(chunk) { sent += chunk.count }
            return sent
        }
        #expect(Harness.errorCode(greedy.readLine()) == Self.requestTooLarge)
        #expect(greedy.isClosedByDaemon())
        let sent = sender.wait()
        #expect(sent < 16 << 20, "the daemon took \(sent) bytes of an oversized line")
        #expect(try bystander.call("health")["status"] as? String == "ok")
        #expect(try RPCClient(workspace.socket).call("echo", ["still": "here"])["still"] as? String == "here")
        #expect(daemon.stop() == 0)
    }

    @Test func anInvalidJSONFloodGetsParseErrorsAndTheConnectionLives() throws {
        let workspace = try Workspace()
        try workspace.writeConfig()
        let daemon = try DaemonProcess(workspace)
        let flooder = try RPCClient(workspace.socket)
        let garbage = ["{not json", "[1,2,3]", "\u{7f}\u{1}binary", "{\"jsonrpc\":\"2.0\",\"method\":", "42", "\"x\""]
        let count = 1200
        let sender = BackgroundSender(client: flooder) { client in
            var sent = 0
            for index in 0..<count where client.send(garbage[index % garbage.count]) { sent += 1 }
            return sent
        }
        var codes: [Int: Int] = [:]
        for _ in 0..<count {
            guard let answer = flooder.readLine(), let code = Harness.errorCode(answer) else { break }
            codes[code, default: 0] += 1
        }
        #expect(sender.wait() == count)
        #expect(codes.values.reduce(0, +) == count)
        #expect(codes[Self.parseError] == 600 && codes[Self.invalidRequest] == 600, "\(codes)")
        #expect(try flooder.call("echo", ["after": "flood"])["after"] as? String == "flood")
        #expect(try RPCClient(workspace.socket).call("health")["status"] as? String == "ok")
        #expect(daemon.stop() == 0)
    }

    @Test func aRequestLineSentByteByByteIsCutOffAfterTheRequestTimeout() throws {
        let workspace = try Workspace()
        try workspace.writeConfig(socket: "requestTimeoutSeconds: 1")
        let daemon = try DaemonProcess(workspace)
        let subscriber = try RPCClient(workspace.socket)
        _ = try subscriber.call("alerts.subscribe")
        let slow = try RPCClient(workspace.socket)
        // A byte every 100 ms never finishes the line: each byte must not restart the clock.
        let sender = BackgroundSender(client: slow) { client in
            var sent = 0
            for byte in Array(#"{"jsonrpc":"2.0","id":1,"method":"echo","params":{"padding":""#.utf8) + Array(repeating: 0x61, count: 10_000) {
                guard client.sendBytes([byte]) else { break }
                sent += 1
                usleep(100_000)
            }
            return sent
        }
        let answer = slow.readLine()
        #expect(Harness.errorCode(answer) == Self.requestTimeout, "\(answer ?? [:])")
        #expect(slow.isClosedByDaemon())
        _ = sender.wait()
        // The subscriber, idle all along, is still served.
        #expect(try subscriber.call("echo", ["idle": true])["idle"] as? Bool == true)
        try Harness.waitFor("the timeout in the log") { daemon.logText.contains("request line not completed in time") }
        #expect(daemon.stop() == 0)
    }

    @Test func aClientThatNeverReadsIsCutOffAndDoesNotStopOthers() throws {
        let workspace = try Workspace()
        try workspace.writeConfig(socket: "maxRequestBytes: 131072, sendTimeoutSeconds: 1")
        let daemon = try DaemonProcess(workspace)
        let baseline = Self.residentKiB(daemon.pid)
        let deaf = try RPCClient(workspace.socket)
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(deaf.descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        // Each echo answer is 100 KB: the unread answers pass the 4 MiB high-water mark quickly.
        let padding = String(repeating: "p", count: 100_000)
        let sender = BackgroundSender(client: deaf) { client in
            var sent = 0
            let deadline = Date().addingTimeInterval(120)
            while Date() < deadline {
                let line = Array(((try? RPCClient.requestLine(id: sent, "echo", ["padding": padding])) ?? "") .utf8) + [0x0a]
                var offset = 0
                while offset < line.count {
                    let count = line[offset...].withUnsafeBytes { send(client.descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    if count > 0 { offset += count; continue }
                    if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { continue }
                    return sent
                }
                sent += 1
            }
            return sent
        }
        let bystander = try RPCClient(workspace.socket)
        for index in 0..<50 {
            #expect(try bystander.call("echo", ["n": index])["n"] as? Int == index)
        }
        try Harness.waitFor("the unread answers to close the connection") { daemon.logText.contains("client leaves its answers unread") }
        let requests = sender.wait()
        #expect(requests > 0)
        #expect(try bystander.call("health")["status"] as? String == "ok")
        // Generous: the unread answers and the requests read ahead stay a few MiB, not the
        // hundreds of MiB the client offered.
        let growth = Self.residentKiB(daemon.pid) - baseline
        #expect(growth < 256 << 10, "daemon grew by \(growth) KiB")
        #expect(daemon.stop() == 0)
    }

    @Test(.enabled(if: getuid() == 0 && Harness.which("setpriv") != nil, "needs root and setpriv to connect as another user"))
    func aPeerWithoutALevelIsRefusedAtConnect() throws {
        let workspace = try Workspace()
        try workspace.writeConfig(access: "others: none")
        let daemon = try DaemonProcess(workspace)
        let answer = try workspace.runAsNobody(["bottlenecks", "--socket", workspace.socket, "--json"])
        #expect(answer.contains("permission denied") && answer.contains("no access level") && answer.contains("-32001"), "got: \(answer)")
        try Harness.waitFor("the refusal in the log") { daemon.logText.contains("peer has no access level") && daemon.logText.contains("uid=65534") }
        // Root stays admin whatever `others` says.
        #expect(try RPCClient(workspace.socket).call("health")["level"] as? String == "admin")
        #expect(daemon.stop() == 0)
    }

    /// VmRSS of a process, in KiB.
    static func residentKiB(_ pid: Int32) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }
}

/// Runs a sending loop on its own thread, so the test can read answers meanwhile. The loop gets
/// only the connection's descriptor: the client object, with its read buffer, stays with the test.
final class BackgroundSender: Sendable {
    private let finished = SentCount()

    init(client: RPCClient, _ body: @escaping @Sendable (SocketWriter) -> Int) {
        let writer = SocketWriter(descriptor: client.descriptor)
        let finished = self.finished
        Thread.detachNewThread { finished.set(body(writer)) }
    }

    /// What the loop returned.
    func wait() -> Int { finished.wait() }
}

/// A value set once by one thread and waited for by another.
final class SentCount: @unchecked Sendable {
    private let condition = NSCondition()
    private var value: Int?

    func set(_ newValue: Int) {
        condition.lock()
        value = newValue
        condition.broadcast()
        condition.unlock()
    }

    func wait() -> Int {
        condition.lock()
        defer { condition.unlock() }
        while value == nil { condition.wait() }
        return value!
    }
}
