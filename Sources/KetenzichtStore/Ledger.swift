public import KetenzichtCore
public import KetenzichtIngest
import Foundation

/// The single writer: decodes input, applies it to the model, and commits it to the store.
///
/// One `Ledger` owns one state directory (an exclusive lock file keeps a second process out).
/// Opening it rebuilds the model from the store; `ingest` acknowledges events batch by batch,
/// only after their transaction commits. Readers take `model` (a value) as a snapshot.
public final class Ledger {
    public struct Settings: Sendable {
        public var catalog: DomainCatalog
        public var unknownParties: ChainModel.UnknownPartyPolicy
        public var pendingHorizonDays: Double
        /// The pseudonymisation key file; nil means `<state>/pseudonym.key`.
        public var keyFile: String?
        public var maxLineBytes: Int
        /// Events per transaction: large enough to amortise the fsync, small enough to acknowledge often.
        public var batchSize: Int

        public init(
            catalog: DomainCatalog = .standard, unknownParties: ChainModel.UnknownPartyPolicy = .register,
            pendingHorizonDays: Double = 30, keyFile: String? = nil, maxLineBytes: Int = 16 << 20, batchSize: Int = 8192
        ) {
            self.catalog = catalog
            self.unknownParties = unknownParties
            self.pendingHorizonDays = pendingHorizonDays
            self.keyFile = keyFile
            self.maxLineBytes = maxLineBytes
            self.batchSize = batchSize
        }
    }

    public let stateDirectory: String
    public let store: EventStore
    public private(set) var model: ChainModel
    private let settings: Settings
    private let assembler: EventAssembler
    private let lock: StateLock
    /// Store seqs of the events the model holds as pending, so an eviction can remove them.
    private var pendingSeqs: [EventIdentity: Int64] = [:]
    private var nextSeq: Int64 = 1
    /// What went wrong while replaying the store (for example a domain removed from the config).
    public private(set) var replayIssues: [IngestIssue] = []
    /// Called after every committed batch with the model as committed, so a daemon can publish
    /// snapshots during a long ingest.
    public var afterCommit: ((ChainModel) -> Void)?
    /// Set when the model could not be brought back in line with the store: ingest refuses.
    private var unusable: LedgerError?
    /// The links file of the iStandaarden ingest under way, synced with every commit.
    private var iStandaardenLinks: IStandaardenLinks?

    public init(stateDirectory: String, settings: Settings = Settings()) throws {
        self.stateDirectory = stateDirectory
        self.settings = settings
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        lock = try StateLock(directory: stateDirectory)
        store = try EventStore(path: stateDirectory + "/events.sqlite")
        let keyPath = settings.keyFile ?? stateDirectory + "/pseudonym.key"
        // A key is made only for a store without events. Creating one silently beside stored
        // pseudonyms would split every case whose BSN arrives again into a second case.
        if access(keyPath, F_OK) != 0, errno == ENOENT, let stored = try? store.counts().events, stored > 0 {
            throw LedgerError(
                "the pseudonymisation key \(keyPath) is missing, but the store holds \(stored) events pseudonymised with it: "
                    + "restore the key from its backup. Only if no event ever carried a BSN, or splitting those cases is accepted, "
                    + "create a new key deliberately: (umask 077; head -c 32 /dev/urandom > \(keyPath))")
        }
        let pseudonymizer = try Pseudonymizer.loadOrCreateKey(at: keyPath)
        assembler = EventAssembler(pseudonymizer: pseudonymizer, lifeDomains: Set(settings.catalog.lifeDomainCarriers.keys))
        model = ChainModel(catalog: settings.catalog, unknownParties: settings.unknownParties, pendingHorizonDays: settings.pendingHorizonDays)
        try rebuild()
    }

    /// One stored event as decoded for replay: its sequence number, and the event with the digest of
    /// its stored line, or why it no longer decodes.
    private struct ReplayItem: Sendable {
        var seq: Int64
        var event: Event?
        var fingerprint: UInt64
        var issue: IngestIssue?
    }

    /// The error that ended a replay early, handed from the reading thread to the writer; the
    /// pipe's close/take orders the write before the read.
    private final class ReplayFailure: @unchecked Sendable {
        var error: (any Error)?
        /// The store being read, cleared by the reading thread when it is done.
        var store: EventStore?
    }

    private func rebuild() throws {
        let decoder = CloudEventsDecoder(assembler: assembler, maxLineBytes: settings.maxLineBytes)
        // One thread reads the store in batches and hands them in turn to the decoding threads;
        // the model takes their results in the same turn, so events come back in store order.
        // A restart thus uses every core, as an ingest does (DecodePipeline).
        typealias Decoded = (items: [ReplayItem], keys: [ChainModel.EventKeys])
        let workers = DecodePipeline.threads
        let batches = (0..<workers).map { _ in BoundedPipe<(seqs: [Int64], ndjson: [UInt8])>(capacity: 2) }
        let results = (0..<workers).map { _ in BoundedPipe<Decoded>(capacity: 2) }
        let failure = ReplayFailure()
        failure.store = store
        BackgroundThread.start(name: "ketenzicht.replay") {
            var next = 0
            do {
                try failure.store?.replay { seqs, ndjson in
                    batches[next].put((seqs, ndjson))
                    next = (next + 1) % workers
                }
            } catch {
                failure.error = error
            }
            // Let go of the store before the model can see the end: once the ledger is gone,
            // nothing may hold the database open (its files are removed when the last
            // connection closes, and a test or the next start looks at them right away).
            failure.store = nil
            for pipe in batches { pipe.close() }
        }
        for part in 0..<workers {
            BackgroundThread.start(name: "ketenzicht.replay-decode") {
                while let (seqs, ndjson) = batches[part].take() {
                    results[part].put(Self.decodeStored(seqs: seqs, ndjson: ndjson, with: decoder))
                }
                results[part].close()
            }
        }
        var part = 0
        while let (items, keys) = results[part].take() {
            part = (part + 1) % workers
            for index in items.indices {
                Self.prefetch(&model, ahead: index, keys: keys)
                let item = items[index]
                if let issue = item.issue {
                    replayIssues.append(issue)
                } else if let event = item.event {
                    let result = model.apply(event, fingerprint: item.fingerprint, keys: keys[index])
                    switch result.disposition {
                    case .pending: pendingSeqs[event.identity] = item.seq
                    case .refused(let refusal):
                        let location = InputLocation(origin: "store event #\(item.seq)")
                        replayIssues.append(IngestIssue(location: location, event: event.identity, field: refusal.field, message: "no longer valid under the current config: \(refusal.message)"))
                    case .applied, .duplicate: break
                    }
                    for identity in result.released { pendingSeqs[identity] = nil }
                }
                nextSeq = max(nextSeq, item.seq + 1)
            }
        }
        // The thread with the next batch has none: the store is read, and the others are done.
        for pipe in results { while pipe.take() != nil {} }
        if let error = failure.error { throw error }
    }

    /// One batch of stored lines as the model takes it: each event with its digest and keys, or
    /// why it no longer decodes, under its store seq.
    private static func decodeStored(seqs: [Int64], ndjson: [UInt8], with decoder: CloudEventsDecoder) -> (items: [ReplayItem], keys: [ChainModel.EventKeys]) {
        var items: [ReplayItem] = []
        var keys: [ChainModel.EventKeys] = []
        items.reserveCapacity(seqs.count)
        keys.reserveCapacity(seqs.count)
        decoder.decode(.bytes(ndjson, origin: "store"), progress: nil) { record in
            let index = items.count
            let seq = index < seqs.count ? seqs[index] : -1
            switch record.outcome {
            case .failure(let issue, _):
                let location = InputLocation(origin: "store event #\(seq)")
                keys.append(.none)
                items.append(ReplayItem(seq: seq, event: nil, fingerprint: 0,
                                        issue: IngestIssue(location: location, event: issue.event, field: issue.field, message: issue.message)))
            case .event(let event):
                keys.append(ChainModel.EventKeys(event))
                items.append(ReplayItem(seq: seq, event: event, fingerprint: event.fingerprint, issue: nil))
            }
        }
        return (items, keys)
    }

    /// Rebuilds the model from what the store holds, after a failed commit. Should the store not
    /// even be readable, every later ingest is refused rather than judged against a wrong model.
    private func restoreCommittedModel() {
        let current = model
        model = ChainModel(catalog: current.catalog, unknownParties: current.unknownParties, pendingHorizonDays: current.pendingHorizonDays)
        pendingSeqs = [:]
        replayIssues = []
        do {
            try rebuild()
        } catch {
            unusable = LedgerError("the store could not be read back after a failed commit (\(error)); restart to rebuild from \(store.path)")
        }
    }

    /// Applies a reloaded config: norms, domains and policies; the events stay as they are.
    public func update(catalog: DomainCatalog, unknownParties: ChainModel.UnknownPartyPolicy, pendingHorizonDays: Double) {
        model.updateCatalog(catalog)
        model.unknownParties = unknownParties
        model.pendingHorizonDays = pendingHorizonDays
    }

    // MARK: Ingest

    public struct Summary: Sendable, Equatable {
        public var accepted = 0
        public var duplicates = 0
        public var pending = 0
        public var rejected = 0
        /// Earlier pending events applied because this input brought their referral.
        public var released = 0
        public var warnings: [IngestIssue] = []
        /// Errors, capped at `maxReportedIssues`; `rejected` holds the full count.
        public var errors: [IngestIssue] = []
        public static let maxReportedIssues = 1000

        public init() {}

        mutating func report(_ issue: IngestIssue) {
            if issue.severity == .warning {
                if warnings.count < Self.maxReportedIssues { warnings.append(issue) }
            } else {
                rejected += 1
                if errors.count < Self.maxReportedIssues { errors.append(issue) }
            }
        }

        public static func += (lhs: inout Summary, rhs: Summary) {
            lhs.accepted += rhs.accepted
            lhs.duplicates += rhs.duplicates
            lhs.pending += rhs.pending
            lhs.rejected += rhs.rejected
            lhs.released += rhs.released
            lhs.warnings += rhs.warnings.prefix(max(0, maxReportedIssues - lhs.warnings.count))
            lhs.errors += rhs.errors.prefix(max(0, maxReportedIssues - lhs.errors.count))
        }
    }

    /// Ingests one input. `receivedAt` stamps quarantine entries (the only wall-clock value, passed in).
    public func ingest(_ input: IngestInput, format: InputFormat? = nil, receivedAt: Timestamp, progress: DecodeProgress? = nil) throws -> Summary {
        if let unusable { throw unusable }
        var summary = Summary()
        let resolved: InputFormat
        do {
            resolved = try InputFormat.resolve(format, for: input)
        } catch {
            let issue = IngestIssue(location: InputLocation(origin: input.origin), event: nil, problem: error)
            summary.report(issue)
            var batch = EventStore.Batch()
            batch.quarantined.append(quarantineEntry(issue, raw: nil, receivedAt: receivedAt))
            try store.commit(batch)
            return summary
        }
        let decoder: any EventDecoder = switch resolved {
        case .cloudevents: CloudEventsDecoder(assembler: assembler, maxLineBytes: settings.maxLineBytes)
        case .xml: CanonicalXMLDecoder(assembler: assembler)
        case .ijw, .iwmo: IStandaardenDecoder(assembler: assembler, stateDirectory: stateDirectory)
        }
        iStandaardenLinks = resolved == .ijw || resolved == .iwmo ? IStandaardenLinks.shared(stateDirectory: stateDirectory) : nil
        defer { iStandaardenLinks = nil }
        var batch = EventStore.Batch()
        var batchPending: [EventIdentity: Int] = [:]
        var commitError: (any Error)?
        // Decoding runs on its own threads, a bounded queue ahead of the model and the store
        // (DecodePipeline); records still arrive in input order. Batches are committed on the
        // store's own thread while the model takes the next one; `settleCommits` below waits for
        // the last, so nothing is acknowledged before its commit.
        let committer = Committer(store: store)
        DecodePipeline.run(decoder, input, progress: progress, as: RecordChunk.self) { chunk in
            // Freeing a chunk's records is the committer's job: this thread runs the model, the
            // bottleneck of ingest, and the committer waits on the disk most of the time.
            defer { committer.release(&chunk) }
            guard commitError == nil else { return }
            for index in chunk.items.indices {
                guard commitError == nil else { break }
                Self.prefetch(&model, ahead: index, keys: chunk.keys)
                let item = chunk.items[index]
                let record = item.record
                switch record.outcome {
                case .failure(let issue, let raw):
                    summary.report(issue)
                    // A warning is a note about input skipped on purpose (an iStandaarden retour message), not refused input.
                    if issue.severity == .error {
                        let kept = raw.map { QuarantineText.minimised($0, format: resolved) }
                        batch.quarantined.append(quarantineEntry(issue, raw: kept, receivedAt: receivedAt))
                    }
                case .event(let event):
                    let canonical = item.lineStart..<item.lineEnd
                    let result = model.apply(event, fingerprint: item.fingerprint, keys: chunk.keys[index])
                    switch result.disposition {
                    case .applied(let warnings):
                        summary.accepted += 1
                        append(canonical, of: chunk, to: &batch)
                        for warning in warnings {
                            summary.report(IngestIssue(severity: .warning, location: record.location, event: event.identity, field: warning.field, message: warning.message))
                        }
                    case .pending:
                        summary.pending += 1
                        batchPending[event.identity] = batch.accepted.count
                        append(canonical, of: chunk, to: &batch)
                    case .duplicate:
                        summary.duplicates += 1
                    case .refused(let refusal):
                        let field = Self.fieldName(refusal.field, format: resolved)
                        let issue = IngestIssue(location: record.location, event: event.identity, field: field, message: refusal.message)
                        summary.report(issue)
                        batch.quarantined.append(quarantineEntry(issue, raw: String(decoding: chunk.lines[canonical], as: UTF8.self), receivedAt: receivedAt))
                    }
                    settle(result, batch: &batch, batchPending: &batchPending, summary: &summary, receivedAt: receivedAt)
                }
                if batch.accepted.count >= settings.batchSize {
                    do { try commit(&batch, batchPending: &batchPending, through: committer) } catch { commitError = error }
                }
            }
        }
        if let commitError { throw commitError }
        // Pending events past the horizon are refused once the whole input is in.
        for (event, refusal) in model.expirePending() {
            let issue = IngestIssue(location: InputLocation(origin: "pending"), event: event.identity, field: refusal.field, message: refusal.message)
            summary.report(issue)
            evict(event, issue: issue, batch: &batch, batchPending: &batchPending, receivedAt: receivedAt)
        }
        try commit(&batch, batchPending: &batchPending, through: committer)
        try settleCommits(committer)
        // Held iStandaarden statuses live only in the links file: on disk before the answer too,
        // also when this input brought no event for the store.
        try iStandaardenLinks?.sync()
        return summary
    }

    /// `model.prefetch(ahead:)` for the items of a chunk. Static, with the model `inout`: called on
    /// the stored property directly, it would copy the whole model for every call.
    static func prefetch(_ model: inout ChainModel, ahead index: Int, keys: [ChainModel.EventKeys]) {
        keys.withUnsafeBufferPointer { model.prefetch(ahead: index, keys: $0) }
    }

    /// The model names fields as CloudEvents does (`data.to`, `time`); a canonical XML document
    /// names them as it writes them (`@to`, `@time`, `dependsOn`).
    static func fieldName(_ field: String?, format: InputFormat) -> String? {
        guard format == .xml, let field else { return field }
        switch field {
        case "data.dependsOn": return "dependsOn"
        case "type": return "element"
        case "id", "source", "time": return "@" + field
        default: return field.hasPrefix("data.") ? "@" + field.dropFirst(5) : field
        }
    }

    private func append(_ canonical: Range<Int>, of chunk: RecordChunk, to batch: inout EventStore.Batch) {
        batch.accept(seq: nextSeq, line: canonical, of: chunk.lines, bufferID: chunk.id)
        nextSeq += 1
    }

    private func settle(_ result: ChainModel.ApplyResult, batch: inout EventStore.Batch, batchPending: inout [EventIdentity: Int], summary: inout Summary, receivedAt: Timestamp) {
        for identity in result.released {
            pendingSeqs[identity] = nil
            batchPending[identity] = nil
            summary.released += 1
        }
        for (event, refusal) in result.evicted {
            let issue = IngestIssue(location: InputLocation(origin: "pending"), event: event.identity, field: refusal.field, message: refusal.message)
            summary.report(issue)
            evict(event, issue: issue, batch: &batch, batchPending: &batchPending, receivedAt: receivedAt)
        }
    }

    /// Moves a pending event, stored or still in this batch, to the quarantine.
    private func evict(_ event: Event, issue: IngestIssue, batch: inout EventStore.Batch, batchPending: inout [EventIdentity: Int], receivedAt: Timestamp) {
        let entry = quarantineEntry(issue, raw: event.canonicalJSON, receivedAt: receivedAt)
        if let index = batchPending.removeValue(forKey: event.identity) {
            batch.dropped.insert(batch.accepted[index].seq)
            batch.quarantined.append(entry)
        } else if let seq = pendingSeqs.removeValue(forKey: event.identity) {
            batch.evicted.append((seq, entry))
        }
    }

    /// Hands a batch to the committer once the one before it is committed: at most one batch is
    /// in flight, so the model runs at most one batch ahead of the store.
    private func commit(_ batch: inout EventStore.Batch, batchPending: inout [EventIdentity: Int], through committer: Committer) throws {
        guard !batch.isEmpty else { return }
        try settleCommits(committer)
        do {
            // The links the batch's events were decoded with reach the disk before the events do.
            try iStandaardenLinks?.sync()
        } catch {
            restoreCommittedModel()
            throw error
        }
        // Seqs are fixed when events join a batch, so a later batch may already evict a pending
        // event of this one: its DELETE commits after this INSERT.
        for (identity, index) in batchPending { pendingSeqs[identity] = batch.accepted[index].seq }
        // The model as of this batch, for `afterCommit` once it is durable: the model itself
        // will have moved on into the next batch by then.
        committer.submit(batch, snapshot: afterCommit == nil ? nil : model)
        batch = EventStore.Batch()
        batchPending = [:]
    }

    /// Waits for the batch in flight. On failure the model took events the store does not hold
    /// (that batch's and any taken since): it must forget them, or a re-sent copy would count as
    /// a duplicate of an event that was never stored, and be acknowledged without ever being kept.
    private func settleCommits(_ committer: Committer) throws {
        let snapshot: ChainModel?
        do {
            snapshot = try committer.wait()
        } catch {
            restoreCommittedModel()
            throw error
        }
        if let snapshot { afterCommit?(snapshot) }
    }

    private func quarantineEntry(_ issue: IngestIssue, raw: String?, receivedAt: Timestamp) -> EventStore.QuarantineEntry {
        EventStore.QuarantineEntry(
            receivedAt: receivedAt, origin: issue.location.origin, line: issue.location.line, event: issue.event,
            field: issue.field, message: redactingBSNs(issue.message),
            raw: raw.map { redactingBSNs(String($0.prefix(65_536))) })
    }
}

/// Commits batches on a thread of its own, one at a time and in order.
final class Committer: @unchecked Sendable {
    private let store: EventStore
    private let queue = DispatchQueue(label: "ketenzicht.store-commit")
    private let inFlight = DispatchGroup()
    // Written on `queue` inside the group, read only after `inFlight.wait()`: the group orders them.
    private var failure: (any Error)?
    // Only the ingesting thread touches this (submit and wait).
    private var snapshot: ChainModel?

    init(store: EventStore) { self.store = store }

    /// Call only after `wait()`: one batch in flight at a time.
    func submit(_ batch: EventStore.Batch, snapshot: ChainModel?) {
        self.snapshot = snapshot
        inFlight.enter()
        queue.async { [self] in
            defer { inFlight.leave() }
            do { try store.commit(batch) } catch { failure = error }
        }
    }

    /// Drops `chunk` on the commit thread, so its deallocation costs that thread's time.
    func release(_ chunk: inout RecordChunk) {
        var taken = RecordChunk(id: -1, reserving: 0)
        swap(&taken, &chunk)
        queue.async { [taken] in withExtendedLifetime(taken) {} }
    }

    /// Waits until the batch in flight is committed and returns its snapshot; throws its error.
    /// A failure sticks: every later wait throws it too.
    func wait() throws -> ChainModel? {
        inFlight.wait()
        // The commit block signals the group before it returns and lets go of this committer
        // (and so of the store); an empty block behind it waits for that too.
        queue.sync {}
        if let failure { throw failure }
        defer { snapshot = nil }
        return snapshot
    }
}

/// Decoded records with the canonical lines of their events, back to back in one buffer
/// (one allocation per chunk, not a String per event).
struct RecordChunk: DecodedChunk {
    struct Item: Sendable {
        var record: DecodeRecord
        var lineStart: Int
        var lineEnd: Int
        var fingerprint: UInt64
    }

    var items: [Item] = []
    /// The hashes of the items' keys, in an array of their own for `ChainModel.prefetch(ahead:)`.
    var keys: [ChainModel.EventKeys] = []
    var lines: [UInt8] = []
    /// Tells chunks apart for `EventStore.Batch.accept`, which keeps `lines` rather than copies.
    let id: Int
    var endsBlock = false

    init(id: Int) {
        self.init(id: id, reserving: DecodePipeline.chunkSize)
    }

    init(id: Int, reserving count: Int) {
        self.id = id
        items.reserveCapacity(count)
        keys.reserveCapacity(count)
        lines.reserveCapacity(count * 320)
    }

    var count: Int { items.count }

    mutating func append(_ record: consuming DecodeRecord) {
        let start = lines.count
        var fingerprint: UInt64 = 0
        if let event = record.event {
            event.appendCanonicalJSON(to: &lines)
            fingerprint = event.fingerprint
            keys.append(ChainModel.EventKeys(event))
        } else {
            keys.append(.none)
        }
        items.append(Item(record: record, lineStart: start, lineEnd: lines.count, fingerprint: fingerprint))
    }
}

/// A bounded, blocking hand-over from a producing thread to the writer (decoded records on ingest,
/// decoded stored events on replay), in order.
public final class BoundedPipe<Element: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var chunks: [Element] = []
    private var closed = false
    private let capacity: Int

    public init(capacity: Int) { self.capacity = capacity }

    public func put(_ chunk: Element) {
        condition.lock()
        while chunks.count >= capacity { condition.wait() }
        chunks.append(chunk)
        condition.broadcast()
        condition.unlock()
    }

    public func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// The next chunk, or nil once the producer closed and everything was taken.
    public func take() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        while chunks.isEmpty && !closed { condition.wait() }
        guard !chunks.isEmpty else { return nil }
        let chunk = chunks.removeFirst()
        condition.broadcast()
        return chunk
    }
}

/// An exclusive `flock` on `<state>/ketenzicht.lock`, held for the ledger's lifetime.
final class StateLock {
    private let descriptor: Int32

    init(directory: String) throws {
        let path = directory + "/ketenzicht.lock"
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else {
            throw LedgerError("\(path): cannot open the lock file: \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw LedgerError("state directory \(directory) is in use by another Ketenzicht process; stop it, or ingest through its socket")
        }
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}

public struct LedgerError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
