public import KetenzichtCore
import Foundation

/// What a decoder reads from: a file (streamed or memory-mapped, never loaded whole when large)
/// or bytes received over the socket.
public enum IngestInput: Sendable {
    case file(path: String)
    case bytes([UInt8], origin: String)

    public var origin: String {
        switch self {
        case .file(let path): path
        case .bytes(_, let origin): origin
        }
    }
}

/// One decoded event, or one piece of input that could not become an event.
public struct DecodeRecord: Sendable {
    public enum Outcome: Sendable {
        case event(Event)
        /// The input at `location` was refused. `raw` is the offending text (a JSON line, an XML
        /// element) for the quarantine, or nil when there is nothing sensible to keep; callers
        /// redact BSN-shaped digits before it touches disk.
        case failure(IngestIssue, raw: String?)
    }

    public var location: InputLocation
    public var outcome: Outcome

    public init(location: InputLocation, outcome: Outcome) {
        self.location = location
        self.outcome = outcome
    }

    public var event: Event? {
        if case .event(let event) = outcome { return event }
        return nil
    }

    /// The event, moved out of a record that is not needed any more (no copy of its strings).
    public consuming func takeEvent() -> Event? {
        switch consume self {
        case let record:
            if case .event(let event) = record.outcome { return event }
            return nil
        }
    }

    public var issue: IngestIssue? {
        if case .failure(let issue, _) = outcome { return issue }
        return nil
    }

    public var raw: String? {
        if case .failure(_, let raw) = outcome { return raw }
        return nil
    }
}

/// Progress of a long decode: bytes consumed of the total, for a progress bar.
public typealias DecodeProgress = @Sendable (_ bytesRead: Int, _ totalBytes: Int) -> Void

/// A decoder for one input format. `decode` reports every event and every failure, in input
/// order, through `sink`; it never throws: an unreadable file or a fatal syntax error is one
/// more failure record, and the events before it stand.
public protocol EventDecoder: Sendable {
    func decode(_ input: IngestInput, progress: DecodeProgress?, sink: (DecodeRecord) -> Void)
}

/// Collects progress reports (for tests and tools that read them after the decode).
public final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [(bytesRead: Int, totalBytes: Int)] = []

    public init() {}

    public var callback: DecodeProgress {
        { [self] read, total in
            lock.lock()
            entries.append((read, total))
            lock.unlock()
        }
    }

    public var reports: [(bytesRead: Int, totalBytes: Int)] {
        lock.lock()
        defer { lock.unlock() }
        return entries
    }
}
