import Foundation
public import KetenzichtCore
public import KetenzichtIngest

/// Input files read into a model in memory, nothing written: what `ketenzicht bottlenecks --input
/// FILE…` and the other analysis commands use to look at an export without a daemon or a state
/// directory. The decoders, the validation, the pseudonymisation and the model are the ones
/// `Ledger.ingest` uses, in the same order, so an answer is the one a state directory that
/// ingested the same files would give.
///
/// Like an ingest, decoding runs on a thread of its own ahead of the model, so both cores work.
/// Refused events are counted and described in the summary; there is no quarantine to keep them.
public struct InMemoryIngest {
    public private(set) var model: ChainModel
    private let assembler: EventAssembler
    private let maxLineBytes: Int

    public init(settings: Ledger.Settings, pseudonymizer: Pseudonymizer) {
        model = ChainModel(catalog: settings.catalog, unknownParties: settings.unknownParties, pendingHorizonDays: settings.pendingHorizonDays)
        assembler = EventAssembler(pseudonymizer: pseudonymizer, lifeDomains: Set(settings.catalog.lifeDomainCarriers.keys))
        maxLineBytes = settings.maxLineBytes
    }

    /// The pseudonymisation key for reading without a state directory: the key file when it
    /// exists (so case ids made from BSNs match the daemon's), else a random key that lives as
    /// long as the process, since nothing made with it is kept. `usedKeyFile` says which.
    public static func pseudonymizer(keyFile: String) throws -> (pseudonymizer: Pseudonymizer, usedKeyFile: Bool) {
        if access(keyFile, F_OK) == 0 { return (try Pseudonymizer.loadOrCreateKey(at: keyFile), true) }
        var generator = SystemRandomNumberGenerator()
        return (Pseudonymizer(keyBytes: (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }), false)
    }

    static let decodingThreads = 2

    /// An event, or what could not become one. The event is kept apart so that the model's
    /// thread can read it in place, and only the line of its location: the file's path would be
    /// one string whose reference count every decoding and freeing thread changes.
    private struct Item: Sendable {
        var event: Event?
        var line: Int?
        var fingerprint: UInt64
        /// Boxed: failures are rare, and every item is moved a few times on its way.
        var failure: Failure?
    }

    private final class Failure: Sendable {
        let record: DecodeRecord
        init(_ record: DecodeRecord) { self.record = record }
    }

    /// Decoded records, and the hashes of their keys in an array of their own (`ChainModel.prefetch(ahead:)`).
    private struct Chunk: Sendable {
        var items: [Item] = []
        var keys: [ChainModel.EventKeys] = []
        /// The last chunk of a block: the next comes from the next decoding thread.
        var endsBlock = false

        static func reserving(_ count: Int) -> Chunk {
            var chunk = Chunk()
            chunk.items.reserveCapacity(count)
            chunk.keys.reserveCapacity(count)
            return chunk
        }
    }

    /// Reads one input into the model and says what became of its events.
    public mutating func ingest(_ input: IngestInput, format: InputFormat? = nil, progress: DecodeProgress? = nil) -> Ledger.Summary {
        var summary = Ledger.Summary()
        let resolved: InputFormat
        do {
            resolved = try InputFormat.resolve(format, for: input)
        } catch {
            summary.report(IngestIssue(location: InputLocation(origin: input.origin), event: nil, problem: error))
            return summary
        }
        let decoder: any EventDecoder
        switch resolved {
        case .cloudevents: decoder = CloudEventsDecoder(assembler: assembler, maxLineBytes: maxLineBytes)
        case .xml: decoder = CanonicalXMLDecoder(assembler: assembler)
        case .ijw, .iwmo:
            // Their statuses and links refer to messages ingested earlier, kept in a state directory.
            summary.report(IngestIssue(
                location: InputLocation(origin: input.origin), event: nil, field: nil,
                message: "\(resolved.rawValue) messages can only be read into a state directory (ketenzicht ingest --state D), which keeps the links between messages"))
            return summary
        }
        // Decoding a line costs about what applying it does, so a file of lines is decoded by two
        // threads (alternate blocks) and the model takes their blocks in turn, in input order.
        let workers: Int
        let share: @Sendable (Int, (consuming DecodeRecord) -> Void, () -> Void) -> Void
        if case .file(let path) = input, let lines = decoder as? CloudEventsDecoder {
            workers = Self.decodingThreads
            share = { part, sink, endOfBlock in lines.decode(path: path, part: part, of: workers, progress: progress, sink: sink, endOfBlock: endOfBlock) }
        } else {
            workers = 1
            share = { _, sink, endOfBlock in
                decoder.decode(input, progress: progress, sink: sink)
                endOfBlock()
            }
        }
        let pipes = (0..<workers).map { _ in BoundedPipe<Chunk>(capacity: 8) }
        for part in 0..<workers {
            let pipe = pipes[part]
            BackgroundThread.start(name: "ketenzicht.decode") {
                var chunk = Chunk.reserving(RecordChunk.size)
                share(part, { (record: consuming DecodeRecord) in
                    // Moved into the chunk, not copied: a copy retains every string of the event.
                    let line = record.location.line
                    if case .failure = record.outcome {
                        chunk.keys.append(.none)
                        chunk.items.append(Item(event: nil, line: line, fingerprint: 0, failure: Failure(record)))
                    } else if let event = record.takeEvent() {
                        chunk.keys.append(ChainModel.EventKeys(event))
                        chunk.items.append(Item(event: event, line: line, fingerprint: event.fingerprint, failure: nil))
                    }
                    if chunk.items.count == RecordChunk.size {
                        pipe.put(chunk)
                        chunk = Chunk.reserving(RecordChunk.size)
                    }
                }, {
                    chunk.endsBlock = true
                    pipe.put(chunk)
                    chunk = Chunk.reserving(RecordChunk.size)
                })
                pipe.close()
            }
        }
        // Spent chunks are dropped on another thread: freeing their strings would otherwise cost
        // the model's thread, the one that bounds the whole read.
        let disposal = DispatchQueue(label: "ketenzicht.release")
        var part = 0
        while var chunk = pipes[part].take() {
            Self.apply(chunk, to: &model, summary: &summary, origin: input.origin, format: resolved)
            if chunk.endsBlock { part = (part + 1) % workers }
            var spent = Chunk()
            swap(&spent, &chunk)
            disposal.async { [spent] in withExtendedLifetime(spent) {} }
        }
        // The worker with the next block has none: the input is done, and so are the others.
        for pipe in pipes { while pipe.take() != nil {} }
        // Pending events past the horizon are refused once the whole input is in, as on ingest.
        for (event, refusal) in model.expirePending() { summary.report(Self.pendingIssue(event, refusal)) }
        return summary
    }

    /// A static function with the model `inout`: a closure over `self` made a copy of the whole
    /// model for every `prefetch` call.
    private static func apply(_ chunk: Chunk, to model: inout ChainModel, summary: inout Ledger.Summary, origin: String, format: InputFormat) {
        chunk.items.withUnsafeBufferPointer { items in
            chunk.keys.withUnsafeBufferPointer { keys in apply(items, keys: keys, to: &model, summary: &summary, origin: origin, format: format) }
        }
    }

    private static func apply(_ chunk: UnsafeBufferPointer<Item>, keys: UnsafeBufferPointer<ChainModel.EventKeys>, to model: inout ChainModel,
                              summary: inout Ledger.Summary, origin: String, format: InputFormat) {
        for index in chunk.indices {
            model.prefetch(ahead: index, keys: keys)
            guard chunk[index].event != nil else {
                if let issue = chunk[index].failure?.record.issue { summary.report(issue) }
                continue
            }
            let result = model.apply(chunk[index].event!, fingerprint: chunk[index].fingerprint, keys: keys[index])
            switch result.disposition {
            case .applied(let warnings):
                summary.accepted += 1
                for warning in warnings {
                    summary.report(IngestIssue(severity: .warning, location: InputLocation(origin: origin, line: chunk[index].line),
                                               event: chunk[index].event!.identity, field: warning.field, message: warning.message))
                }
            case .pending:
                summary.pending += 1
            case .duplicate:
                summary.duplicates += 1
            case .refused(let refusal):
                summary.report(IngestIssue(location: InputLocation(origin: origin, line: chunk[index].line), event: chunk[index].event!.identity,
                                           field: Ledger.fieldName(refusal.field, format: format), message: refusal.message))
            }
            summary.released += result.released.count
            for (event, refusal) in result.evicted { summary.report(pendingIssue(event, refusal)) }
        }
    }

    private static func pendingIssue(_ event: Event, _ refusal: ChainModel.Refusal) -> IngestIssue {
        IngestIssue(location: InputLocation(origin: "pending"), event: event.identity, field: refusal.field, message: refusal.message)
    }
}
