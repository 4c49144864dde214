import Foundation
public import KetenzichtCore
public import KetenzichtIngest

/// Input files read into a model in memory, nothing written: what `ketenzicht bottlenecks --input
/// FILE…` and the other analysis commands use to look at an export without a daemon or a state
/// directory. The decoders, the validation, the pseudonymisation and the model are the ones
/// `Ledger.ingest` uses, in the same order, so an answer is the one a state directory that
/// ingested the same files would give.
///
/// Like an ingest, decoding runs on threads of its own ahead of the model (`DecodePipeline`), so
/// every core works. Refused events are counted and described in the summary; there is no
/// quarantine to keep them.
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
        return (Pseudonymizer(keyBytes: Pseudonymizer.randomKeyBytes()), false)
    }

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
    private struct Chunk: DecodedChunk {
        var items: [Item] = []
        var keys: [ChainModel.EventKeys] = []
        var endsBlock = false

        init(id _: Int) {
            items.reserveCapacity(DecodePipeline.chunkSize)
            keys.reserveCapacity(DecodePipeline.chunkSize)
        }

        var count: Int { items.count }

        /// Moves the record in, not a copy: a copy retains every string of the event.
        mutating func append(_ record: consuming DecodeRecord) {
            let line = record.location.line
            if case .failure = record.outcome {
                keys.append(.none)
                items.append(Item(event: nil, line: line, fingerprint: 0, failure: Failure(record)))
            } else if let event = record.takeEvent() {
                keys.append(ChainModel.EventKeys(event))
                items.append(Item(event: event, line: line, fingerprint: event.fingerprint, failure: nil))
            }
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
        // Spent chunks are dropped on another thread: freeing their strings would otherwise cost
        // the model's thread, the one that bounds the whole read.
        let disposal = DispatchQueue(label: "ketenzicht.release")
        DecodePipeline.run(decoder, input, progress: progress, as: Chunk.self) { chunk in
            Self.apply(chunk, to: &model, summary: &summary, origin: input.origin, format: resolved)
            disposal.async { [spent = chunk] in withExtendedLifetime(spent) {} }
            (chunk.items, chunk.keys) = ([], [])
        }
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
