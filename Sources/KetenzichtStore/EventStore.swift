import GRDB
import GRDBSQLite
public import KetenzichtCore
import Foundation

/// The durable store of accepted events and quarantined input: SQLite in WAL mode through GRDB.
///
/// Events are kept as their canonical CloudEvents line (pseudonymised; no BSN ever reaches it).
/// A batch is one transaction with `synchronous = FULL`, so an event counts as acknowledged
/// exactly when `commit` returns. Rebuilding the model replays the lines in arrival order, which
/// reproduces every decision the model took the first time.
public final class EventStore: Sendable {
    public let path: String
    private let pool: DatabasePool

    public init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.label = "ketenzicht.events"
        // The state lock keeps a second process out; within one, a store being closed (its last
        // checkpoint) while the next one opens waits instead of failing with SQLITE_BUSY.
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Takes effect only on a new, empty file (before WAL mode is set); a store made with
            // 4 KiB pages keeps them and opens as before. Rows are ~250-byte lines appended in
            // seq order: 16 KiB pages mean a quarter of the page writes, WAL frames and syscalls.
            try db.execute(sql: "PRAGMA page_size = \(Self.pageSize)")
            // The checkpoint threshold counts pages: keep it near SQLite's default 4 MiB of WAL.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \((4 << 20) / Self.pageSize)")
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(pool)
    }

    static let pageSize = 16384

    /// SQLITE_TRANSIENT (the C macro does not reach Swift): SQLite copies the bound value.
    private static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            // No unique index on (source, id): the model deduplicates in memory, and pending events
            // are addressed by seq, so inserts stay append-only.
            try db.execute(sql: """
                CREATE TABLE events (
                    seq INTEGER PRIMARY KEY,
                    body TEXT NOT NULL
                );
                CREATE TABLE quarantine (
                    seq INTEGER PRIMARY KEY,
                    receivedAt TEXT NOT NULL,
                    origin TEXT NOT NULL,
                    line INTEGER,
                    eventSource TEXT,
                    eventId TEXT,
                    field TEXT,
                    message TEXT NOT NULL,
                    raw TEXT
                );
                """)
        }
        return migrator
    }

    /// One transaction's worth of changes.
    public struct Batch: Sendable {
        /// Newly accepted events: their seq (assigned by the writer, in arrival order) and where
        /// their canonical line lies: bytes `start..<end` of `segments[segment]`.
        public private(set) var accepted: [(seq: Int64, segment: Int, start: Int, end: Int)] = []
        /// Buffers holding the canonical lines of `accepted`, shared with the decoder's chunks
        /// rather than copied: the insert binds each line straight from them.
        private var segments: [[UInt8]] = []
        private var lastSegmentID: Int?
        /// Seqs in `accepted` not to write after all (pending events refused before the commit).
        public var dropped: Set<Int64> = []
        /// Stored events to move to the quarantine (pending events that turned out invalid).
        public var evicted: [(seq: Int64, entry: QuarantineEntry)] = []
        /// Input refused outright.
        public var quarantined: [QuarantineEntry] = []

        public init() {}
        public var isEmpty: Bool { accepted.isEmpty && evicted.isEmpty && quarantined.isEmpty }

        /// Accepts the line at `range` of `buffer`. Lines of one buffer pass the same
        /// `bufferID`, so the batch keeps one reference to it however many of its lines it takes.
        public mutating func accept(seq: Int64, line range: Range<Int>, of buffer: [UInt8], bufferID: Int) {
            if bufferID != lastSegmentID {
                segments.append(buffer)
                lastSegmentID = bufferID
            }
            accepted.append((seq, segments.count - 1, range.lowerBound, range.upperBound))
        }

        /// The canonical line of `accepted[index]`.
        public func body(at index: Int) -> String {
            let line = accepted[index]
            return String(decoding: segments[line.segment][line.start..<line.end], as: UTF8.self)
        }

        /// Calls `body` with each line to insert, in order, skipping `dropped`.
        func forEachLine(_ body: (_ seq: Int64, _ line: UnsafeBufferPointer<UInt8>) throws -> Void) rethrows {
            for line in accepted where dropped.isEmpty || !dropped.contains(line.seq) {
                try segments[line.segment].withUnsafeBufferPointer { buffer in
                    try body(line.seq, UnsafeBufferPointer(rebasing: buffer[line.start..<line.end]))
                }
            }
        }
    }

    public struct QuarantineEntry: Sendable, Equatable {
        public var receivedAt: Timestamp
        public var origin: String
        public var line: Int?
        public var event: EventIdentity?
        public var field: String?
        public var message: String
        /// The refused text with BSN-shaped digits already redacted.
        public var raw: String?

        public init(receivedAt: Timestamp, origin: String, line: Int?, event: EventIdentity?, field: String?, message: String, raw: String?) {
            self.receivedAt = receivedAt
            self.origin = origin
            self.line = line
            self.event = event
            self.field = field
            self.message = message
            self.raw = raw
        }
    }

    /// Commits a batch in one transaction; when this returns, its events are acknowledged.
    public func commit(_ batch: Batch) throws {
        try pool.write { db in
            if !batch.accepted.isEmpty {
                let insert = try db.cachedStatement(sql: "INSERT INTO events (seq, body) VALUES (?, ?)")
                try Self.insert(batch, with: insert, in: db)
            }
            if !batch.evicted.isEmpty {
                let delete = try db.cachedStatement(sql: "DELETE FROM events WHERE seq = ?")
                for (seq, _) in batch.evicted { try delete.execute(arguments: [seq]) }
            }
            let quarantine = try db.cachedStatement(sql: """
                INSERT INTO quarantine (receivedAt, origin, line, eventSource, eventId, field, message, raw)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for entry in batch.quarantined + batch.evicted.map(\.entry) {
                try quarantine.execute(arguments: [
                    entry.receivedAt.rfc3339, entry.origin, entry.line, entry.event?.source, entry.event?.id,
                    entry.field, entry.message, entry.raw,
                ])
            }
        }
    }

    /// Binds each line straight from the batch's buffers (SQLITE_STATIC: SQLite reads it during
    /// the step and keeps no pointer), where GRDB's arguments would make a String and SQLite a
    /// copy of it for every row.
    private static func insert(_ batch: Batch, with statement: Statement, in db: Database) throws {
        let handle = statement.sqliteStatement
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        try batch.forEachLine { seq, line in
            sqlite3_bind_int64(handle, 1, seq)
            if let base = line.baseAddress {
                sqlite3_bind_text(handle, 2, UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self), Int32(line.count), nil)
            } else {
                sqlite3_bind_text(handle, 2, "", 0, Self.transient)
            }
            let code = sqlite3_step(handle)
            sqlite3_reset(handle)
            guard code == SQLITE_DONE else {
                throw DatabaseError(
                    resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)),
                    sql: statement.sql)
            }
        }
    }

    /// Calls `body` with chunks of stored events, in seq order: their seqs and an NDJSON buffer
    /// of their canonical lines (one line per event, in the same order).
    public func replay(chunkBytes: Int = 4 << 20, _ body: (_ seqs: [Int64], _ ndjson: [UInt8]) throws -> Void) throws {
        try pool.read { db in
            let cursor = try Row.fetchCursor(db, sql: "SELECT seq, body FROM events ORDER BY seq")
            var seqs: [Int64] = []
            var buffer: [UInt8] = []
            buffer.reserveCapacity(chunkBytes + 4096)
            while let row = try cursor.next() {
                seqs.append(row[0])
                try row.withUnsafeData(atIndex: 1) { data in
                    if let data { buffer.append(contentsOf: data) }
                }
                buffer.append(0x0a)
                if buffer.count >= chunkBytes {
                    try body(seqs, buffer)
                    seqs.removeAll(keepingCapacity: true)
                    buffer.removeAll(keepingCapacity: true)
                }
            }
            if !seqs.isEmpty { try body(seqs, buffer) }
        }
    }

    public struct Counts: Sendable, Equatable {
        public var events: Int
        public var quarantined: Int
    }

    public func counts() throws -> Counts {
        try pool.read { db in
            Counts(
                events: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events") ?? 0,
                quarantined: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM quarantine") ?? 0)
        }
    }

    public func quarantineEntries(limit: Int = 100) throws -> [QuarantineEntry] {
        try pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT receivedAt, origin, line, eventSource, eventId, field, message, raw
                FROM quarantine ORDER BY seq DESC LIMIT ?
                """, arguments: [limit]).map { row in
                let source: String? = row[3]
                let id: String? = row[4]
                return QuarantineEntry(
                    receivedAt: (try? Timestamp(rfc3339: row[0] as String)) ?? Timestamp(millisecondsSinceEpoch: 0),
                    origin: row[1], line: row[2],
                    event: source.flatMap { source in id.map { EventIdentity(source: source, id: $0) } },
                    field: row[5], message: row[6], raw: row[7])
            }
        }
    }

    /// Every stored event line, for audits and tests.
    public func allEventLines() throws -> [String] {
        try pool.read { db in try String.fetchAll(db, sql: "SELECT body FROM events ORDER BY seq") }
    }
}
