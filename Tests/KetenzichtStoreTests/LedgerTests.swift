import Foundation
import GRDB
import KetenzichtCore
import KetenzichtIngest
import Testing
@testable import KetenzichtStore

/// The whole ingest loop through real files, the real decoders and a real SQLite store.
@Suite struct LedgerTests {
    static let received = try! Timestamp(rfc3339: "2026-11-25T12:00:00Z")

    /// A temporary state directory, removed when the test ends.
    final class TempDirectory {
        let path: String
        init() throws {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("kz-ledger-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        deinit { try? FileManager.default.removeItem(atPath: path) }

        func write(_ name: String, _ text: String) throws -> String {
            let file = path + "/" + name
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            return file
        }
    }

    static func line(_ id: String, _ type: String, _ time: String, _ data: String, source: String = "urn:test") -> String {
        #"{"specversion":"1.0","id":"\#(id)","source":"\#(source)","type":"nl.ketenzicht.\#(type)","time":"\#(time)","data":\#(data)}"#
    }

    static let history = [
        line("e1", "party.registered", "2026-01-01T09:00:00+01:00", #"{"party":"km-noord","name":"Klantmanagers Noord","domain":"participatie"}"#),
        line("e2", "party.registered", "2026-01-01T09:00:00+01:00", #"{"party":"ggz-a","name":"GGZ A","domain":"ggz","capacityPerWeek":4}"#),
        line("e3", "case.assessed", "2026-01-02T09:00:00+01:00", #"{"bsn":"111222333","zrm":{"geestelijke-gezondheid":2,"financien":3}}"#),
        line("e4", "referral.created", "2026-01-03T09:00:00+01:00", #"{"referral":"r-1","bsn":"111222333","from":"km-noord","to":"ggz-a","urgency":"regulier","lifeDomain":"geestelijke-gezondheid"}"#),
        line("e5", "referral.accepted", "2026-01-04T09:00:00+01:00", #"{"referral":"r-1"}"#),
        line("e6", "referral.started", "2026-02-20T09:00:00+01:00", #"{"referral":"r-1"}"#),
        line("e7", "referral.created", "2026-01-05T09:00:00+01:00", #"{"referral":"r-2","case":"c-2","from":"km-noord","to":"shv-b"}"#),
        line("e8", "referral.rejected", "2026-01-09T09:00:00+01:00", #"{"referral":"r-2","reason":"geen capaciteit"}"#),
        line("e9", "regie.assigned", "2026-01-06T09:00:00+01:00", #"{"case":"c-2","party":"km-noord"}"#),
    ]

    @Test func restartRebuildsTheSameModel() throws {
        let directory = try TempDirectory()
        let file = try directory.write("history.ndjson", Self.history.joined(separator: "\n") + "\n")
        let state = directory.path + "/state"
        let before: ChainModel
        do {
            let ledger = try Ledger(stateDirectory: state)
            let summary = try ledger.ingest(.file(path: file), receivedAt: Self.received)
            #expect(summary.accepted == 9)
            #expect(summary.rejected == 0)
            #expect(summary.warnings.map(\.message) == ["unknown party shv-b: registered with domain overig until a party.registered event names its domain"])
            before = ledger.model
        }
        let reopened = try Ledger(stateDirectory: state)
        #expect(reopened.model.referrals == before.referrals)
        #expect(reopened.model.cases == before.cases)
        #expect(reopened.model.parties == before.parties)
        #expect(reopened.model.eventCount == 9)
        #expect(try reopened.store.counts() == EventStore.Counts(events: 9, quarantined: 0))
        #expect(reopened.replayIssues.isEmpty)
        // The digests rebuilt from the stored lines recognise the same events again.
        let again = try reopened.ingest(.file(path: file), receivedAt: Self.received)
        #expect(again.duplicates == 9 && again.accepted == 0 && again.rejected == 0)
    }

    @Test func secondIngestIsAllDuplicates() throws {
        let directory = try TempDirectory()
        let file = try directory.write("history.ndjson", Self.history.joined(separator: "\n"))
        let ledger = try Ledger(stateDirectory: directory.path + "/state")
        _ = try ledger.ingest(.file(path: file), receivedAt: Self.received)
        let lines = try ledger.store.allEventLines()
        let again = try ledger.ingest(.file(path: file), receivedAt: Self.received)
        #expect(again.duplicates == 9)
        #expect(again.accepted == 0 && again.rejected == 0)
        #expect(try ledger.store.allEventLines() == lines)
    }

    @Test func conflictingDuplicateIsRejectedAndQuarantined() throws {
        let directory = try TempDirectory()
        let ledger = try Ledger(stateDirectory: directory.path + "/state")
        _ = try ledger.ingest(.bytes(Array(Self.history.joined(separator: "\n").utf8), origin: "request 1"), receivedAt: Self.received)
        let conflict = Self.line("e5", "referral.accepted", "2026-01-04T10:00:00+01:00", #"{"referral":"r-1"}"#)
        let summary = try ledger.ingest(.bytes(Array(conflict.utf8), origin: "request 2"), receivedAt: Self.received)
        #expect(summary.rejected == 1)
        #expect(summary.errors.first?.description == "request 2:1: event e5 (urn:test): id: conflict: event e5 (urn:test) was already ingested with different content")
        let quarantine = try ledger.store.quarantineEntries()
        #expect(quarantine.count == 1)
        #expect(quarantine.first?.field == "id")
        #expect(quarantine.first?.raw?.contains("2026-01-04T09:00:00Z") == true)
    }

    @Test func pendingSurvivesRestartAndIsEvictedFromTheStore() throws {
        let directory = try TempDirectory()
        let state = directory.path + "/state"
        let early = Self.line("s1", "referral.accepted", "2026-03-01T00:00:00Z", #"{"referral":"r-late"}"#)
        let valid = Self.line("s2", "referral.started", "2026-03-10T00:00:00Z", #"{"referral":"r-late"}"#)
        do {
            let ledger = try Ledger(stateDirectory: state)
            let summary = try ledger.ingest(.bytes(Array((early + "\n" + valid).utf8), origin: "a"), receivedAt: Self.received)
            #expect(summary.pending == 2)
            #expect(try ledger.store.counts().events == 2)
        }
        let ledger = try Ledger(stateDirectory: state)
        #expect(ledger.model.pendingCount == 2)
        // The referral is created after the acceptance: that one is refused, the start applies.
        let creation = Self.line("s3", "referral.created", "2026-03-05T00:00:00Z", #"{"referral":"r-late","case":"c-9","from":"a","to":"b"}"#)
        let summary = try ledger.ingest(.bytes(Array(creation.utf8), origin: "b"), receivedAt: Self.received)
        #expect(summary.accepted == 1)
        #expect(summary.released == 1)
        #expect(summary.rejected == 1)
        #expect(summary.errors.first?.message == "accepted at 2026-03-01T00:00:00Z is before the referral's creation at 2026-03-05T00:00:00Z")
        #expect(try ledger.store.counts() == EventStore.Counts(events: 2, quarantined: 1))
        #expect(ledger.model.referrals["r-late"]?.started != nil)
        #expect(ledger.model.pendingCount == 0)
    }

    @Test func pendingPastTheHorizonIsQuarantined() throws {
        let directory = try TempDirectory()
        let ledger = try Ledger(stateDirectory: directory.path + "/state")
        let lines = [
            Self.line("h1", "referral.accepted", "2026-01-01T00:00:00Z", #"{"referral":"r-ghost"}"#),
            Self.line("h2", "referral.created", "2026-03-01T00:00:00Z", #"{"referral":"r-5","case":"c-9","from":"a","to":"b"}"#),
        ]
        let summary = try ledger.ingest(.bytes(Array(lines.joined(separator: "\n").utf8), origin: "c"), receivedAt: Self.received)
        #expect(summary.pending == 1)
        #expect(summary.rejected == 1)
        #expect(summary.errors.first?.description == "pending: event h1 (urn:test): data.referral: referral r-ghost is still unknown 30 days (event time) after this event; quarantined")
        #expect(try ledger.store.counts() == EventStore.Counts(events: 1, quarantined: 1))
    }

    @Test func invalidNeighboursDoNotStopValidEvents() throws {
        let directory = try TempDirectory()
        let ledger = try Ledger(stateDirectory: directory.path + "/state")
        let lines = [
            Self.history[0],
            Self.line("b1", "referral.created", "2027-06-31T10:00:00Z", #"{"referral":"r-9","case":"c-9","from":"a","to":"b"}"#),
            Self.line("b2", "case.assessed", "2026-01-02T09:00:00Z", #"{"bsn":"123456789","zrm":{"financien":1}}"#),
            "{not json",
            Self.history[1],
        ]
        let file = try directory.write("mixed.ndjson", lines.joined(separator: "\n"))
        let summary = try ledger.ingest(.file(path: file), receivedAt: Self.received)
        #expect(summary.accepted == 2)
        #expect(summary.rejected == 3)
        #expect(summary.errors.map(\.location.line) == [2, 3, 4])
        #expect(summary.errors[0].description == "\(file):2: event b1 (urn:test): time: impossible date 2027-06-31: that month has 30 days (got \"2027-06-31T10:00:00Z\")")
        #expect(summary.errors[1].description == "\(file):3: event b2 (urn:test): data.bsn: BSN fails the elfproef (11-check)")
        #expect(try ledger.store.counts() == EventStore.Counts(events: 2, quarantined: 3))
    }

    @Test func rawBSNsNeverReachTheStateDirectory() throws {
        let directory = try TempDirectory()
        let state = directory.path + "/state"
        let lines = Self.history + [
            Self.line("x1", "case.assessed", "2026-01-02T09:00:00Z", #"{"bsn":"123456789","zrm":{"financien":1}}"#),
            Self.line("x2", "referral.created", "2026-01-02T09:00:00Z", #"{"referral":"r-x","bsn":"999999990","from":"a","to":"a"}"#),
            Self.line("x3", "referral.created", "2026-01-02T09:00:00Z", #"{"referral":"r-y","case":"111222333","from":"a","to":"b"}"#),
        ]
        let file = try directory.write("bsn.ndjson", lines.joined(separator: "\n"))
        do {
            let ledger = try Ledger(stateDirectory: state)
            let summary = try ledger.ingest(.file(path: file), receivedAt: Self.received)
            #expect(summary.rejected == 3)
            for issue in summary.errors + summary.warnings {
                for bsn in ["111222333", "123456789", "999999990"] { #expect(!issue.description.contains(bsn)) }
            }
        }
        for name in try FileManager.default.subpathsOfDirectory(atPath: state) {
            let data = try Data(contentsOf: URL(fileURLWithPath: state + "/" + name))
            for bsn in ["111222333", "123456789", "999999990"] {
                #expect(data.range(of: Data(bsn.utf8)) == nil, "raw BSN \(bsn) found in \(name)")
            }
        }
    }

    /// A commit that fails (disk full, I/O error) must leave the model as the store is: a client
    /// that re-sends the refused batch gets its events stored, not "duplicates" of nothing.
    @Test func aFailedCommitIsForgottenSoTheResendIsStored() throws {
        let directory = try TempDirectory()
        let state = directory.path + "/state"
        let ledger = try Ledger(stateDirectory: state)
        _ = try ledger.ingest(.bytes(Array(Self.history.prefix(4).joined(separator: "\n").utf8), origin: "request 1"), receivedAt: Self.received)
        let batch = Array(Self.history.dropFirst(4).joined(separator: "\n").utf8)

        // A second connection makes every insert of e9 fail, as a full disk would.
        let saboteur = try DatabaseQueue(path: state + "/events.sqlite")
        try saboteur.write { db in
            try db.execute(sql: """
                CREATE TRIGGER simulated_storage_failure BEFORE INSERT ON events
                WHEN NEW.body LIKE '%"id":"e9"%' BEGIN SELECT RAISE(ABORT, 'simulated storage failure'); END
                """)
        }
        #expect(throws: (any Error).self) { try ledger.ingest(.bytes(batch, origin: "request 2"), receivedAt: Self.received) }
        #expect(ledger.model.eventCount == 4)
        #expect(try ledger.store.counts().events == 4)

        try saboteur.write { db in try db.execute(sql: "DROP TRIGGER simulated_storage_failure") }
        let resent = try ledger.ingest(.bytes(batch, origin: "request 3"), receivedAt: Self.received)
        #expect(resent.accepted == 5 && resent.duplicates == 0 && resent.rejected == 0)
        #expect(try ledger.store.counts().events == 9)
        #expect(try Set(ledger.store.allEventLines()).count == 9)
    }

    @Test func aSecondWriterIsKeptOut() throws {
        let directory = try TempDirectory()
        let ledger = try Ledger(stateDirectory: directory.path + "/state")
        #expect(throws: LedgerError.self) { try Ledger(stateDirectory: directory.path + "/state") }
        _ = ledger
    }

    /// A lost key must not be replaced silently: the cases of BSNs that arrive again would split.
    @Test func aMissingKeyBesideStoredEventsStopsTheStart() throws {
        let directory = try TempDirectory()
        let file = try directory.write("history.ndjson", Self.history.joined(separator: "\n"))
        let state = directory.path + "/state"
        do { _ = try Ledger(stateDirectory: state).ingest(.file(path: file), receivedAt: Self.received) }
        try FileManager.default.removeItem(atPath: state + "/pseudonym.key")
        let refusal = #expect(throws: LedgerError.self) { try Ledger(stateDirectory: state) }
        #expect(refusal?.description.hasPrefix("the pseudonymisation key \(state)/pseudonym.key is missing, but the store holds 9 events") == true)
        #expect(!FileManager.default.fileExists(atPath: state + "/pseudonym.key"))
        // An empty store still gets its key made on first start.
        let fresh = directory.path + "/fresh"
        _ = try Ledger(stateDirectory: fresh)
        #expect(FileManager.default.fileExists(atPath: fresh + "/pseudonym.key"))
    }

    // Batches are committed on a thread of their own while the model takes the next batch: the
    // tests below use tiny batches so that a single ingest has several batches in flight in turn.

    /// A batch that fails after the model moved on into the next one: the model forgets both,
    /// and a resend stores every event exactly once.
    @Test func aFailedBatchBehindTheModelIsForgottenToo() throws {
        let directory = try TempDirectory()
        let state = directory.path + "/state"
        let ledger = try Ledger(stateDirectory: state, settings: Ledger.Settings(batchSize: 2))
        let saboteur = try DatabaseQueue(path: state + "/events.sqlite")
        try saboteur.write { db in
            try db.execute(sql: """
                CREATE TRIGGER simulated_storage_failure BEFORE INSERT ON events
                WHEN NEW.body LIKE '%"id":"e5"%' BEGIN SELECT RAISE(ABORT, 'simulated storage failure'); END
                """)
        }
        let input = Array(Self.history.joined(separator: "\n").utf8)
        #expect(throws: (any Error).self) { try ledger.ingest(.bytes(input, origin: "request 1"), receivedAt: Self.received) }
        // e1–e4 went in two batches before the failing one (e5, e6).
        #expect(try ledger.store.counts().events == 4)
        #expect(ledger.model.eventCount == 4)

        try saboteur.write { db in try db.execute(sql: "DROP TRIGGER simulated_storage_failure") }
        let resent = try ledger.ingest(.bytes(input, origin: "request 2"), receivedAt: Self.received)
        #expect(resent.accepted == 5 && resent.duplicates == 4 && resent.rejected == 0)
        #expect(try ledger.store.counts().events == 9)
        #expect(try Set(ledger.store.allEventLines()).count == 9)
    }

    /// A pending event stored by one batch and evicted by the next, in one ingest: its DELETE
    /// lands after its INSERT, and a restart sees the same model.
    @Test func aPendingEventIsEvictedByTheBatchAfterItsOwn() throws {
        let directory = try TempDirectory()
        let state = directory.path + "/state"
        let lines = [
            Self.line("s1", "referral.accepted", "2026-03-01T00:00:00Z", #"{"referral":"r-late"}"#),
            Self.line("s2", "referral.started", "2026-03-10T00:00:00Z", #"{"referral":"r-late"}"#),
            Self.line("s3", "referral.created", "2026-03-05T00:00:00Z", #"{"referral":"r-late","case":"c-9","from":"a","to":"b"}"#),
        ]
        do {
            let ledger = try Ledger(stateDirectory: state, settings: Ledger.Settings(batchSize: 1))
            let summary = try ledger.ingest(.bytes(Array(lines.joined(separator: "\n").utf8), origin: "a"), receivedAt: Self.received)
            #expect(summary.pending == 2 && summary.accepted == 1 && summary.released == 1 && summary.rejected == 1)
            #expect(try ledger.store.counts() == EventStore.Counts(events: 2, quarantined: 1))
            #expect(ledger.model.pendingCount == 0)
        }
        let reopened = try Ledger(stateDirectory: state)
        #expect(reopened.replayIssues.isEmpty)
        #expect(reopened.model.referrals["r-late"]?.started != nil)
        #expect(reopened.model.referrals["r-late"]?.accepted == nil)
        #expect(reopened.model.pendingCount == 0)
    }

    /// `afterCommit` gets the model as committed: never one holding events still in flight.
    @Test func afterCommitSeesOnlyCommittedEvents() throws {
        let directory = try TempDirectory()
        let ledger = try Ledger(stateDirectory: directory.path + "/state", settings: Ledger.Settings(batchSize: 2))
        var seen: [(model: Int, stored: Int)] = []
        ledger.afterCommit = { [unowned ledger] model in seen.append((model.eventCount, (try? ledger.store.counts().events) ?? -1)) }
        _ = try ledger.ingest(.bytes(Array(Self.history.joined(separator: "\n").utf8), origin: "a"), receivedAt: Self.received)
        #expect(seen.map(\.model) == [2, 4, 6, 8, 9])
        #expect(seen.allSatisfy { $0.model == $0.stored })
    }

    /// A store written before the page size was raised (4 KiB pages) opens, replays and takes
    /// new events, and keeps its page size.
    @Test func aStoreWithTheOldPageSizeStillOpens() throws {
        let directory = try TempDirectory()
        let state = directory.path + "/state"
        do {
            let ledger = try Ledger(stateDirectory: state)
            _ = try ledger.ingest(.bytes(Array(Self.history.prefix(4).joined(separator: "\n").utf8), origin: "a"), receivedAt: Self.received)
        }
        let lines = try Ledger(stateDirectory: state).store.allEventLines()
        try FileManager.default.removeItem(atPath: state + "/events.sqlite")
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: state + "/events.sqlite" + suffix) }
        // The file as the previous version laid it out.
        let old = try DatabaseQueue(path: state + "/events.sqlite")
        try old.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA page_size = 4096")
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: """
                CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
                INSERT INTO grdb_migrations VALUES ('v1');
                CREATE TABLE events (seq INTEGER PRIMARY KEY, body TEXT NOT NULL);
                CREATE TABLE quarantine (
                    seq INTEGER PRIMARY KEY, receivedAt TEXT NOT NULL, origin TEXT NOT NULL, line INTEGER,
                    eventSource TEXT, eventId TEXT, field TEXT, message TEXT NOT NULL, raw TEXT);
                """)
            for (index, line) in lines.enumerated() {
                try db.execute(sql: "INSERT INTO events (seq, body) VALUES (?, ?)", arguments: [index + 1, line])
            }
        }
        try old.close()

        let ledger = try Ledger(stateDirectory: state)
        #expect(ledger.replayIssues.isEmpty)
        #expect(ledger.model.eventCount == 4)
        let summary = try ledger.ingest(.bytes(Array(Self.history.joined(separator: "\n").utf8), origin: "b"), receivedAt: Self.received)
        #expect(summary.accepted == 5 && summary.duplicates == 4)
        #expect(try ledger.store.counts().events == 9)
        let pageSize = try DatabaseQueue(path: state + "/events.sqlite").read { db in try Int.fetchOne(db, sql: "PRAGMA page_size") }
        #expect(pageSize == 4096)
    }
}
