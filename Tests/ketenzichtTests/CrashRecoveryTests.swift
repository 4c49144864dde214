import Foundation
import GRDB
import Testing
import KetenzichtTestSupport

/// SPEC §8: "a restart rebuilds the graph from it and loses no acknowledged event". The short
/// form of `scripts/crash-recovery.sh`: a client streams batches through `ingest`, the daemon is
/// killed with SIGKILL at a random moment, restarted on the same state directory, and every
/// acknowledged event must be stored exactly once; re-sending every batch is then safe.
@Suite(.serialized) struct CrashRecoveryTests {
    static let rounds = 3
    static let eventsPerRound = 600
    static let eventsPerBatch = 25
    static let seed: UInt64 = 20_261_101

    @Test func acknowledgedEventsSurviveSIGKILLAndResendingIsSafe() throws {
        let lines = try String(contentsOfFile: Harness.sample, encoding: .utf8)
            .split(separator: "\n").prefix(Self.rounds * Self.eventsPerRound).map(String.init)
        let workspace = try Workspace()
        try workspace.writeConfig(socket: "maxRequestBytes: 1048576")
        var random = SplitMix64(seed: Self.seed)
        var daemon = try DaemonProcess(workspace)
        var sent = Set<EventKey>()

        // Cumulative: the state carries over, so every restart replays everything the earlier
        // crashes left behind, and a later crash must not disturb what an earlier round stored.
        for round in 0..<Self.rounds {
            let slice = lines[(round * Self.eventsPerRound)..<((round + 1) * Self.eventsPerRound)]
            let batches = stride(from: slice.startIndex, to: slice.endIndex, by: Self.eventsPerBatch).map {
                Array(slice[$0..<min($0 + Self.eventsPerBatch, slice.endIndex)])
            }
            let streamer = BatchStreamer(socket: workspace.socket, batches: batches)
            streamer.start()
            // The moment is random but always inside the stream, however fast this machine is:
            // after a random number of answers, plus a random part of a batch's time.
            let answersBeforeKill = Int.random(in: 1..<(batches.count - 2), using: &random)
            let delay = Double.random(in: 0...0.03, using: &random)
            streamer.waitUntilAcknowledged(answersBeforeKill)
            usleep(UInt32(delay * 1_000_000))
            daemon.crash()
            streamer.waitUntilStopped()
            let acknowledged = streamer.acknowledged
            for (index, answer) in acknowledged {
                #expect(answer.rejected == 0, "round \(round) batch \(index): \(answer)")
                #expect(answer.stored + answer.duplicates == batches[index].count, "round \(round) batch \(index): \(answer)")
            }
            let acknowledgedKeys = Set(acknowledged.keys.flatMap { batches[$0].map(EventKey.init(line:)) })
            sent.formUnion(acknowledgedKeys)

            // On disk, as the crash left it: every acknowledged event exactly once.
            #expect(FileManager.default.fileExists(atPath: workspace.socket), "the killed daemon leaves its socket file behind")
            let onDisk = try StoredEvents(stateDirectory: workspace.state)
            #expect(onDisk.duplicated.isEmpty, "round \(round): stored twice: \(onDisk.duplicated.prefix(5))")
            let lost = sent.subtracting(onDisk.keys)
            #expect(lost.isEmpty, "round \(round) (seed \(Self.seed), kill \(delay) s after answer \(answersBeforeKill)): acknowledged but not stored: \(lost.prefix(5))")

            // A restart over the stale socket file and lock; the socket counts agree with the disk.
            daemon = try DaemonProcess(workspace)
            let client = try RPCClient(workspace.socket)
            #expect(try client.call("stats")["events"] as? Int == onDisk.count)

            // Re-sending everything of this round: the unacknowledged batches are stored now, the
            // acknowledged ones are all duplicates, nothing is an error.
            for (index, batch) in batches.enumerated() {
                let answer = try IngestAnswer(client.call("ingest", ["format": "cloudevents", "data": batch.joined(separator: "\n")]))
                #expect(answer.rejected == 0, "resend of round \(round) batch \(index): \(answer)")
                #expect(answer.stored + answer.duplicates == batch.count)
                if acknowledged[index] != nil { #expect(answer.duplicates == batch.count, "acknowledged batch \(index) stored again: \(answer)") }
            }
            sent.formUnion(batches.joined().map(EventKey.init(line:)))
            #expect(try client.call("stats")["events"] as? Int == sent.count)
            let afterResend = try StoredEvents(stateDirectory: workspace.state)
            #expect(afterResend.duplicated.isEmpty)
            #expect(afterResend.keys == sent)
        }
        #expect(daemon.stop() == 0)
    }
}

/// An event's identity, (`source`, `id`).
struct EventKey: Hashable, CustomStringConvertible {
    var source: String
    var id: String

    init(source: String, id: String) {
        self.source = source
        self.id = id
    }

    init(line: String) {
        let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        self.init(source: object?["source"] as? String ?? "", id: object?["id"] as? String ?? "")
    }

    var description: String { "\(id) (\(source))" }
}

/// The events table of a state directory, read-only, by event identity.
struct StoredEvents {
    var keys: Set<EventKey> = []
    var count = 0
    var duplicated: [EventKey] = []

    init(stateDirectory: String) throws {
        var configuration = Configuration()
        configuration.readonly = true
        let database = try DatabaseQueue(path: stateDirectory + "/events.sqlite", configuration: configuration)
        let bodies = try database.read { db in try String.fetchAll(db, sql: "SELECT body FROM events") }
        for body in bodies {
            let key = EventKey(line: body)
            if !keys.insert(key).inserted { duplicated.append(key) }
        }
        count = bodies.count
    }
}

/// The counts of one `ingest` answer.
struct IngestAnswer: CustomStringConvertible {
    var accepted: Int
    var pending: Int
    var duplicates: Int
    var rejected: Int
    /// Events the answer says are in the store now for the first time.
    var stored: Int { accepted + pending }

    init(_ result: [String: Any]) {
        accepted = result["accepted"] as? Int ?? -1
        pending = result["pending"] as? Int ?? -1
        duplicates = result["duplicates"] as? Int ?? -1
        rejected = result["rejected"] as? Int ?? -1
    }

    var description: String { "accepted \(accepted), pending \(pending), duplicates \(duplicates), rejected \(rejected)" }
}

/// Sends batches through `ingest`, one at a time, on its own thread, and records exactly which
/// were acknowledged (answered with a result) until the connection breaks.
final class BatchStreamer: @unchecked Sendable {
    private let socket: String
    private let batches: [[String]]
    private let condition = NSCondition()
    private var answers: [Int: IngestAnswer] = [:]
    private var running = true

    init(socket: String, batches: [[String]]) {
        self.socket = socket
        self.batches = batches
    }

    var acknowledged: [Int: IngestAnswer] {
        condition.lock()
        defer { condition.unlock() }
        return answers
    }

    func start() {
        let (socket, batches) = (self.socket, self.batches)
        Thread.detachNewThread { [self] in
            defer { finish() }
            guard let client = try? RPCClient(socket) else { return }
            for (index, batch) in batches.enumerated() {
                guard let response = try? client.request("ingest", ["format": "cloudevents", "data": batch.joined(separator: "\n")]),
                      let result = response["result"] as? [String: Any]
                else { return }
                condition.lock()
                answers[index] = IngestAnswer(result)
                condition.broadcast()
                condition.unlock()
            }
        }
    }

    private func finish() {
        condition.lock()
        running = false
        condition.broadcast()
        condition.unlock()
    }

    /// Returns once `count` batches are acknowledged, or the stream has ended.
    func waitUntilAcknowledged(_ count: Int) {
        condition.lock()
        defer { condition.unlock() }
        while running, answers.count < count { condition.wait() }
    }

    func waitUntilStopped() {
        condition.lock()
        defer { condition.unlock() }
        while running { condition.wait() }
    }
}
