import KetenzichtCore
import Foundation

/// Structured-mode CloudEvents 1.0 (SPEC §2.1): newline-delimited JSON, one event per line, or a
/// batch JSON array. The bulk ingest path: files are memory-mapped and scanned in place, and each
/// event costs one pass over its bytes plus the Strings the event keeps.
///
/// Failures never stop a file: a bad line is one failure record and the next line is decoded. In a
/// batch array, a bad element is one failure record too, unless the JSON is broken in a way that
/// hides where the next element starts; then the array stops there with one failure record.
public struct CloudEventsDecoder: EventDecoder, Sendable {
    public var assembler: EventAssembler
    /// Lines (batch elements) longer than this are refused without being decoded.
    public var maxLineBytes: Int

    /// Nesting deeper than this is refused; the scanner never recurses further.
    public static let maxDepth = 64
    /// The most of an offending line kept as `raw` for the quarantine.
    public static let maxRawBytes = 64 << 10
    static let progressInterval = 1 << 20

    public init(assembler: EventAssembler, maxLineBytes: Int = 16 << 20) {
        self.assembler = assembler
        self.maxLineBytes = max(1, maxLineBytes)
    }

    public func decode(_ input: IngestInput, progress: DecodeProgress?, sink: (DecodeRecord) -> Void) {
        switch input {
        case .file(let path):
            do {
                try MappedFile.withContents(of: path) { buffer in
                    var run = Run(decoder: self, buffer: buffer, origin: path, progress: progress)
                    run.isMapped = true
                    run.decode(sink: sink)
                }
            } catch {
                let issue = IngestIssue(location: InputLocation(origin: path), event: nil, field: nil, message: error.description)
                sink(DecodeRecord(location: issue.location, outcome: .failure(issue, raw: nil)))
            }
        case .bytes(let bytes, let origin):
            bytes.withUnsafeBufferPointer { decode($0, origin: origin, progress: progress, sink: sink) }
        }
    }

    /// Decodes worker `part`'s share of a file read by `parts` workers at once: the lines are
    /// cut into blocks of about `blockBytes` at line ends, and block k is worker k mod `parts`'s.
    /// Records come in input order within the share, with their real line numbers (a worker
    /// counts the lines of the blocks it skips), and `endOfBlock` follows each of its blocks,
    /// however few records it held: taking blocks from worker 0, 1, … in turn until one has no
    /// more gives exactly what `decode` gives. A batch array, a file that is not UTF-8 or cannot
    /// be mapped is worker 0's alone, as one block.
    public func decode(path: String, part: Int, of parts: Int, blockBytes: Int = 1 << 20, progress: DecodeProgress?,
                       sink: (consuming DecodeRecord) -> Void, endOfBlock: () -> Void) {
        precondition(parts > 0 && (0..<parts).contains(part), "part \(part) of \(parts)")
        do {
            try MappedFile.withContents(of: path) { buffer in
                var run = Run(decoder: self, buffer: buffer, origin: path, progress: part == 0 ? progress : nil)
                run.isMapped = true
                run.decode(part: part, of: parts, blockBytes: max(1, blockBytes), sink: sink, endOfBlock: endOfBlock)
            }
        } catch {
            guard part == 0 else { return }
            let issue = IngestIssue(location: InputLocation(origin: path), event: nil, field: nil, message: error.description)
            sink(DecodeRecord(location: issue.location, outcome: .failure(issue, raw: nil)))
            endOfBlock()
        }
    }

    func decode(_ buffer: UnsafeBufferPointer<UInt8>, origin: String, progress: DecodeProgress?, sink: (DecodeRecord) -> Void) {
        var run = Run(decoder: self, buffer: buffer, origin: origin, progress: progress)
        run.decode(sink: sink)
    }
}

/// The state of one `decode` call: the scanner with its reusable scratch space, line counting and
/// progress reporting.
private struct Run {
    let decoder: CloudEventsDecoder
    let base: UnsafePointer<UInt8>
    let count: Int
    let origin: String
    let progress: DecodeProgress?
    var scanner: JSONScanner
    var nextProgress = CloudEventsDecoder.progressInterval
    /// The buffer is a file mapping whose pages are managed as the scan moves (`MappedFile.advance`).
    var isMapped = false
    /// Where the pages let go of so far end; moved back to the start of a record that was read
    /// again after its first pages had been let go of.
    var releasedTo = 0
    let strings = StringCache()
    /// Batch mode counts lines lazily, only up to the offsets it needs to name.
    var countedTo = 0
    var countedLine = 1
    var countedLineStart = 0

    init(decoder: CloudEventsDecoder, buffer: UnsafeBufferPointer<UInt8>, origin: String, progress: DecodeProgress?) {
        self.decoder = decoder
        self.base = buffer.baseAddress.map { UnsafePointer($0) } ?? UnsafePointer(bitPattern: 0x10)!
        self.count = buffer.count
        self.origin = origin
        self.progress = progress
        scanner = JSONScanner(base: buffer.baseAddress, position: 0, end: buffer.count, maxDepth: CloudEventsDecoder.maxDepth)
        scanner.reserveScratch()
    }

    mutating func decode(sink: (consuming DecodeRecord) -> Void) {
        if let problem = InputFormat.notUTF8(prefix: UnsafeBufferPointer(start: base, count: min(count, 4))) {
            // Read as UTF-8, every line would fail on a NUL byte and none would say why.
            let location = InputLocation(origin: origin)
            sink(DecodeRecord(location: location, outcome: .failure(IngestIssue(location: location, event: nil, field: nil, message: problem), raw: nil)))
            progress?(count, count)
            return
        }
        var start = 0
        if count >= 3, base[0] == 0xEF, base[1] == 0xBB, base[2] == 0xBF { start = 3 }
        scanner.reset(position: start, end: count)
        scanner.skipWhitespace()
        if !scanner.atEnd, scanner.peek == UInt8(ascii: "[") {
            decodeBatch(from: scanner.position, sink: sink)
        } else {
            decodeLines(from: start, sink: sink)
        }
        progress?(count, count)
    }

    /// `CloudEventsDecoder.decode(path:part:of:…)`'s share.
    mutating func decode(part: Int, of parts: Int, blockBytes: Int, sink: (consuming DecodeRecord) -> Void, endOfBlock: () -> Void) {
        var start = 0
        if count >= 3, base[0] == 0xEF, base[1] == 0xBB, base[2] == 0xBF { start = 3 }
        scanner.reset(position: start, end: count)
        scanner.skipWhitespace()
        let isBatch = !scanner.atEnd && scanner.peek == UInt8(ascii: "[")
        if parts == 1 || isBatch || InputFormat.notUTF8(prefix: UnsafeBufferPointer(start: base, count: min(count, 4))) != nil {
            guard part == 0 else { return }
            decode(sink: sink)
            return endOfBlock()
        }
        var blockStart = start
        var line = 1
        var block = 0
        while blockStart < count {
            let target = blockStart + blockBytes
            let blockEnd = target >= count ? count : min(count, lineEnd(from: target) + 1)
            // Finding the block's end let go of the pages behind it; reading the block comes back
            // to its start, and must let go of them again as it passes.
            releasedTo = min(releasedTo, blockStart)
            if block % parts == part {
                line = decodeLines(from: blockStart, to: blockEnd, firstLine: line, sink: sink)
                endOfBlock()
            } else {
                line += newlines(from: blockStart, to: blockEnd)
                reportProgress(blockEnd)
            }
            blockStart = blockEnd
            block += 1
        }
        progress?(count, count)
    }

    /// How many line ends lie in `start..<end`. A window at a time, letting go of the pages
    /// behind it as `lineEnd` does: a skipped block may hold a line of a gigabyte.
    private mutating func newlines(from start: Int, to end: Int) -> Int {
        var found = 0
        var position = start
        while position < end {
            let stop = isMapped ? min(end, position + MappedFile.window) : end
            var cursor = position
            while cursor < stop, let newline = memchr(base + cursor, 0x0A, stop - cursor) {
                found += 1
                cursor = base.distance(to: newline.assumingMemoryBound(to: UInt8.self)) + 1
            }
            position = stop
            if isMapped { MappedFile.advance(base, count: count, to: position, releasedTo: &releasedTo) }
        }
        return found
    }

    @inline(__always)
    mutating func reportProgress(_ offset: Int) {
        if offset >= nextProgress {
            progress?(offset, count)
            nextProgress = offset + CloudEventsDecoder.progressInterval
            if isMapped { MappedFile.advance(base, count: count, to: offset, releasedTo: &releasedTo) }
        }
    }

    // MARK: - NDJSON

    /// Decodes the lines in `start..<end` (which ends at a line end or at `count`), numbering
    /// them from `firstLine`; answers the number of the line after them.
    @discardableResult
    mutating func decodeLines(from start: Int, to end: Int? = nil, firstLine: Int = 1, sink: (consuming DecodeRecord) -> Void) -> Int {
        let end = end ?? count
        var lineStart = start
        var line = firstLine
        while lineStart < end {
            let lineEnd = min(self.lineEnd(from: lineStart), end)
            decodeLine(start: lineStart, end: lineEnd, line: line, sink: sink)
            releasedTo = min(releasedTo, lineStart)
            lineStart = lineEnd + 1
            line += 1
            reportProgress(lineStart)
        }
        return line
    }

    /// The offset of the newline ending the line that starts at `start`, or `count`. In a file
    /// mapping the search goes a window at a time and lets go of the pages behind it, so that a
    /// line of a gigabyte (which `decodeLine` refuses unread) is passed over in flat memory.
    mutating func lineEnd(from start: Int) -> Int {
        var position = start
        while position < count {
            let length = isMapped ? min(count - position, MappedFile.window) : count - position
            if let newline = memchr(base + position, 0x0A, length) {
                return base.distance(to: newline.assumingMemoryBound(to: UInt8.self))
            }
            position += length
            if isMapped { MappedFile.advance(base, count: count, to: position, releasedTo: &releasedTo) }
        }
        return count
    }

    mutating func decodeLine(start: Int, end: Int, line: Int, sink: (consuming DecodeRecord) -> Void) {
        let location = InputLocation(origin: origin, line: line)
        if end - start > decoder.maxLineBytes {
            let message = "line is \(end - start) bytes, longer than the limit of \(decoder.maxLineBytes) bytes; not decoded"
            return fail(location, nil, nil, message, rawStart: start, rawEnd: end, sink: sink)
        }
        scanner.reset(position: start, end: end)
        scanner.skipWhitespace()
        if scanner.atEnd { return }
        guard scanner.peek == UInt8(ascii: "{") else {
            let message = malformed("expected a JSON object (one event per line), found \(scanner.foundDescription())", at: scanner.position, lineStart: start, line: line)
            return fail(location, nil, nil, message, rawStart: start, rawEnd: end, sink: sink)
        }
        do throws(JSONSyntaxError) {
            try scanner.scanObject(depth: 1, collect: .envelope)
            scanner.skipWhitespace()
            if !scanner.atEnd {
                throw scanner.fatal("unexpected \(scanner.foundDescription()) after the event's closing '}'")
            }
        } catch {
            let message = malformed(error.message, at: error.offset, lineStart: start, line: line)
            return fail(location, error, nil, message, rawStart: start, rawEnd: end, sink: sink)
        }
        finishEvent(location: location, lineStart: start, rawStart: start, rawEnd: end, sink: sink)
    }

    // MARK: - Batch arrays

    mutating func decodeBatch(from arrayStart: Int, sink: (consuming DecodeRecord) -> Void) {
        scanner.reset(position: arrayStart + 1, end: count)
        scanner.skipWhitespace()
        if !scanner.atEnd, scanner.peek == UInt8(ascii: "]") {
            scanner.position += 1
            return checkAfterArray(sink: sink)
        }
        while true {
            let elementStart = scanner.position
            let (line, lineStart) = locate(elementStart)
            let location = InputLocation(origin: origin, line: line)
            let limit = count - elementStart > decoder.maxLineBytes ? elementStart + decoder.maxLineBytes : count
            scanner.reset(position: elementStart, end: limit)
            do throws(JSONSyntaxError) {
                if scanner.atEnd {
                    throw scanner.unexpectedEnd(inside: "the batch array")
                }
                if scanner.peek == UInt8(ascii: "{") {
                    try scanner.scanObject(depth: 1, collect: .envelope)
                    finishEvent(location: location, lineStart: lineStart, rawStart: elementStart, rawEnd: scanner.position, sink: sink)
                } else {
                    let value = try scanner.scanValue(depth: 1)
                    let message = "a batch array element must be an event object, got \(value.kind.describedWithArticle)"
                    fail(location, nil, nil, message, rawStart: elementStart, rawEnd: scanner.position, sink: sink)
                }
            } catch {
                if error.offset >= limit, limit < count {
                    // Too long, not broken: step over it so that the elements after it still count.
                    scanner.reset(position: elementStart, end: count)
                    let (base, count, isMapped) = (self.base, self.count, self.isMapped)
                    var releasedTo = self.releasedTo
                    let skipped = (try? scanner.skipStructurally(passing: { offset in
                        if isMapped { MappedFile.advance(base, count: count, to: offset, releasedTo: &releasedTo) }
                    })) != nil
                    self.releasedTo = releasedTo
                    let message = "batch array element is longer than the limit of \(decoder.maxLineBytes) bytes; not decoded"
                    fail(location, nil, nil, message, rawStart: elementStart, rawEnd: skipped ? scanner.position : count, sink: sink)
                    if !skipped { return }
                } else {
                    let message = malformed(error.message, at: error.offset, from: elementStart, lineStart: lineStart, line: line)
                        + "; the rest of the batch array cannot be read"
                    return fail(location, error, nil, message, rawStart: elementStart, rawEnd: count, sink: sink)
                }
            }
            releasedTo = min(releasedTo, elementStart)
            scanner.end = count
            scanner.skipWhitespace()
            reportProgress(scanner.position)
            guard !scanner.atEnd else {
                let issueLine = locate(scanner.position).line
                let message = "malformed JSON (line \(issueLine)): unexpected end of input inside the batch array (truncated?)"
                return fail(InputLocation(origin: origin, line: issueLine), nil, nil, message, rawStart: scanner.position, rawEnd: count, sink: sink)
            }
            switch scanner.peek {
            case UInt8(ascii: ","):
                scanner.position += 1
                scanner.skipWhitespace()
                if !scanner.atEnd, scanner.peek == UInt8(ascii: "]") {
                    let (issueLine, issueLineStart) = locate(scanner.position)
                    let message = malformed("trailing ',' before the batch array's closing ']'", at: scanner.position, lineStart: issueLineStart, line: issueLine)
                    fail(InputLocation(origin: origin, line: issueLine), nil, nil, message, rawStart: scanner.position, rawEnd: scanner.position + 1, sink: sink)
                    scanner.position += 1
                    return checkAfterArray(sink: sink)
                }
            case UInt8(ascii: "]"):
                scanner.position += 1
                return checkAfterArray(sink: sink)
            default:
                let (issueLine, issueLineStart) = locate(scanner.position)
                let message = malformed("expected ',' or ']' after a batch array element, found \(scanner.foundDescription())", at: scanner.position, lineStart: issueLineStart, line: issueLine)
                    + "; the rest of the batch array cannot be read"
                return fail(InputLocation(origin: origin, line: issueLine), nil, nil, message, rawStart: scanner.position, rawEnd: count, sink: sink)
            }
        }
    }

    mutating func checkAfterArray(sink: (consuming DecodeRecord) -> Void) {
        scanner.end = count
        scanner.skipWhitespace()
        guard !scanner.atEnd else { return }
        let (issueLine, issueLineStart) = locate(scanner.position)
        let message = malformed("unexpected \(scanner.foundDescription()) after the batch array's closing ']'", at: scanner.position, lineStart: issueLineStart, line: issueLine)
        fail(InputLocation(origin: origin, line: issueLine), nil, nil, message, rawStart: scanner.position, rawEnd: count, sink: sink)
    }

    /// The 1-based line of `offset` and the offset where that line starts; offsets must not go
    /// backwards between calls. Only the bytes since the previous call are read (a window at a
    /// time in a file mapping), so a batch on one line of a gigabyte costs one pass, not one per element.
    mutating func locate(_ offset: Int) -> (line: Int, lineStart: Int) {
        var position = countedTo
        // Counting reads again what a skipped element already passed: let go of it again too.
        releasedTo = min(releasedTo, position)
        while position < offset {
            let length = isMapped ? min(offset - position, MappedFile.window) : offset - position
            if let newline = memchr(base + position, 0x0A, length) {
                countedLine += 1
                position = base.distance(to: newline.assumingMemoryBound(to: UInt8.self)) + 1
                countedLineStart = position
            } else {
                position += length
                if isMapped { MappedFile.advance(base, count: count, to: position, releasedTo: &releasedTo) }
            }
        }
        countedTo = max(countedTo, offset)
        return (countedLine, countedLineStart)
    }

    // MARK: - One event

    /// "malformed JSON (column 12): …", or with the line too when the error is not on the line
    /// where the event starts (a pretty-printed batch). The event starts at `from` (by default
    /// its line's start), on `line`, which starts at `lineStart`; only the bytes from the event's
    /// start to the error are read, however long the line before it.
    func malformed(_ message: String, at offset: Int, from: Int? = nil, lineStart: Int, line: Int) -> String {
        var errorLineStart = lineStart
        var errorLine = line
        var position = from ?? lineStart
        let end = min(offset, count)
        while position < end, let newline = memchr(base + position, 0x0A, end - position) {
            errorLine += 1
            errorLineStart = base.distance(to: newline.assumingMemoryBound(to: UInt8.self)) + 1
            position = errorLineStart
        }
        let column = offset - errorLineStart + 1
        let place = errorLine == line ? "column \(column)" : "line \(errorLine), column \(column)"
        return "malformed JSON (\(place)): \(message)"
    }

    /// The identity from the envelope members read so far, when `id` and `source` are readable
    /// strings (not the ones a content error sits in).
    func readableIdentity(_ envelope: EnvelopeMembers, error: JSONSyntaxError?) -> EventIdentity? {
        func text(_ span: JSONSpan?) -> String? {
            guard let span, span.kind == .string else { return nil }
            if let error, span.contains(error.offset) { return nil }
            return JSONScanner.string(base, span)
        }
        return EventAssembler.identity(id: text(envelope.id), source: text(envelope.source))
    }

    mutating func fail(
        _ location: InputLocation, _ syntax: JSONSyntaxError?, _ event: EventIdentity?, _ message: String,
        field: String? = nil, rawStart: Int, rawEnd: Int, sink: (consuming DecodeRecord) -> Void
    ) {
        var identity = event
        if identity == nil, syntax != nil {
            identity = readableIdentity(EnvelopeMembers(scanner.envelope, base: base), error: syntax)
        }
        let issue = IngestIssue(location: location, event: identity, field: field, message: message)
        sink(DecodeRecord(location: location, outcome: .failure(issue, raw: raw(rawStart, rawEnd))))
    }

    func raw(_ start: Int, _ end: Int) -> String {
        var end = min(end, start + CloudEventsDecoder.maxRawBytes)
        // Cut on a character boundary and drop the line ending.
        while end > start, end < count, base[end] & 0xC0 == 0x80 { end -= 1 }
        while end > start, base[end - 1] == 0x0D || base[end - 1] == 0x0A { end -= 1 }
        return String(decoding: UnsafeBufferPointer(start: base + start, count: end - start), as: UTF8.self)
    }

    /// Turns a syntactically complete event object into an event or a failure.
    mutating func finishEvent(location: InputLocation, lineStart: Int, rawStart: Int, rawEnd: Int, sink: (consuming DecodeRecord) -> Void) {
        let envelope = EnvelopeMembers(scanner.envelope, base: base)
        if let error = scanner.contentError {
            let message = malformed(error.message, at: error.offset, from: rawStart, lineStart: lineStart, line: location.line ?? 1)
            return fail(location, error, nil, message, rawStart: rawStart, rawEnd: rawEnd, sink: sink)
        }
        var identity: EventIdentity?
        do throws(FieldProblem) {
            let id = try envelopeString(envelope.id, field: "id")
            let source = try envelopeString(envelope.source, field: "source")
            identity = EventAssembler.identity(id: id, source: source)
            try checkEnvelope(envelope)
            let type = try eventType(envelope.type)
            let time = try envelopeString(envelope.time, field: "time")
            let event = try scanner.members.withUnsafeBufferPointer { members throws(FieldProblem) in
                let fields = DataFields(base: base, members: members, strings: strings)
                return try decoder.assembler.assemble(id: id, source: source, type: type, time: time, fields: fields)
            }
            sink(DecodeRecord(location: location, outcome: .event(event)))
        } catch {
            fail(location, nil, identity, error.message, field: error.field, rawStart: rawStart, rawEnd: rawEnd, sink: sink)
        }
    }

    func envelopeString(_ span: JSONSpan?, field: String) throws(FieldProblem) -> String? {
        guard let span, span.kind != .null else { return nil }
        guard span.kind == .string else { throw FieldProblem(field: field, "expected a string, got \(span.kind.describedWithArticle)") }
        return strings.string(base, span)
    }

    /// The type as the enum's own String when it is a known one, which costs no allocation.
    func eventType(_ span: JSONSpan?) throws(FieldProblem) -> String? {
        if let span, span.kind == .string, !span.hasEscapes {
            for type in EventType.allCases {
                var name = type.rawValue
                let matches = name.withUTF8 { bytes in
                    bytes.count == span.end - span.start && memcmp(base + span.start, bytes.baseAddress!, bytes.count) == 0
                }
                if matches { return type.rawValue }
            }
        }
        return try envelopeString(span, field: "type")
    }

    func checkEnvelope(_ envelope: EnvelopeMembers) throws(FieldProblem) {
        guard let version = try envelopeString(envelope.specversion, field: "specversion") else {
            throw FieldProblem(field: "specversion", "missing (this decoder reads CloudEvents 1.0: \"specversion\":\"1.0\")")
        }
        guard version == "1.0" else {
            throw FieldProblem(field: "specversion", "must be \"1.0\", got \"\(EventAssembler.clip(version))\"")
        }
        if let contentType = try envelopeString(envelope.datacontenttype, field: "datacontenttype"), !Self.isJSONMediaType(contentType) {
            throw FieldProblem(field: "datacontenttype", "must be a JSON media type (application/json, text/json or a type ending in +json), got \"\(EventAssembler.clip(contentType))\"")
        }
        if let base64 = envelope.dataBase64, base64.kind != .null {
            throw FieldProblem(field: "data_base64", "binary data is not supported; send the event data as a JSON object in data")
        }
        guard let data = envelope.data, data.kind != .null else { throw FieldProblem(field: "data", "missing") }
        guard data.kind == .object else { throw FieldProblem(field: "data", "expected an object, got \(data.kind.describedWithArticle)") }
    }

    /// RFC 6838 media types compare case-insensitively; parameters such as charset do not matter.
    static func isJSONMediaType(_ text: String) -> Bool {
        // Nearly every event says exactly this: skip the splitting and case folding.
        if text == "application/json" { return true }
        let essence = text.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let type = essence.trimmingCharacters(in: .whitespaces).lowercased()
        return type == "application/json" || type == "text/json" || (type.hasSuffix("+json") && type.contains("/"))
    }
}

/// The envelope attributes this decoder reads, picked out of the event object's members.
struct EnvelopeMembers {
    var specversion, id, source, type, time, datacontenttype, data, dataBase64: JSONSpan?

    init(_ members: [JSONMember], base: UnsafePointer<UInt8>) {
        for member in members {
            let count = member.keyEnd - member.keyStart
            let key = base + member.keyStart
            if member.keyEscaped {
                let decoded = JSONScanner.unescape(base, member.keyStart, member.keyEnd)
                decoded.withUnsafeBufferPointer { assign(member.value, key: $0.baseAddress!, count: $0.count) }
            } else {
                assign(member.value, key: key, count: count)
            }
        }
    }

    private mutating func assign(_ value: JSONSpan, key: UnsafePointer<UInt8>, count: Int) {
        @inline(__always) func matches(_ name: StaticString) -> Bool {
            count == name.utf8CodeUnitCount && memcmp(key, name.utf8Start, count) == 0
        }
        switch count {
        case 2: if matches("id") { id = value }
        case 4:
            if matches("type") { type = value } else if matches("time") { time = value } else if matches("data") { data = value }
        case 6: if matches("source") { source = value }
        case 11:
            if matches("specversion") { specversion = value } else if matches("data_base64") { dataBase64 = value }
        case 15: if matches("datacontenttype") { datacontenttype = value }
        default: break
        }
    }
}

/// The `data` object as the assembler sees it: members stay byte ranges in the input until a
/// field is asked for.
struct DataFields: EventFieldSource {
    let base: UnsafePointer<UInt8>
    let members: UnsafeBufferPointer<JSONMember>
    let strings: StringCache

    func displayName(of field: DataField) -> String { "data." + field.keyText }

    func lookup(_ field: DataField) -> JSONSpan? {
        let name = bytes(of: field.key)
        let prefix = bytePrefix(name.baseAddress!, count: name.count, readable: name.count)
        for member in members {
            if member.keyEscaped {
                if JSONScanner.stringEquals(base, member.keyStart, member.keyEnd, escaped: true, name) { return member.value }
            } else if member.keyEnd - member.keyStart == name.count, member.keyPrefix == prefix,
                      name.count <= 8 || memcmp(base + member.keyStart + 8, name.baseAddress! + 8, name.count - 8) == 0 {
                return member.value
            }
        }
        return nil
    }

    func string(_ key: DataField) throws(FieldProblem) -> String? {
        guard let span = lookup(key), span.kind != .null else { return nil }
        guard span.kind == .string else { throw mistyped(key, "a string", span) }
        return strings.string(base, span)
    }

    func number(_ key: DataField) throws(FieldProblem) -> Double? {
        guard let span = lookup(key), span.kind != .null else { return nil }
        guard span.kind == .number else { throw mistyped(key, "a number", span) }
        let value = JSONScanner.double(base, span)
        guard value.isFinite else { throw FieldProblem(field: displayName(of: key), "number out of range") }
        return value
    }

    func bool(_ key: DataField) throws(FieldProblem) -> Bool? {
        guard let span = lookup(key), span.kind != .null else { return nil }
        guard span.kind == .bool else { throw mistyped(key, "true or false", span) }
        return span.isTrue
    }

    func stringList(_ key: DataField) throws(FieldProblem) -> [String]? {
        guard let span = lookup(key), span.kind != .null else { return nil }
        guard span.kind == .array else { throw mistyped(key, "an array of strings", span) }
        var list: [String] = []
        var index = 0
        var problem: FieldProblem?
        forEachElement(of: span) { element in
            guard problem == nil else { return }
            if element.kind == .string {
                list.append(strings.string(base, element))
            } else {
                problem = FieldProblem(field: "\(displayName(of: key))[\(index)]", "expected a string, got \(element.kind.describedWithArticle)")
            }
            index += 1
        }
        if let problem { throw problem }
        return list
    }

    func scores(_ key: DataField) throws(FieldProblem) -> [(String, Double)]? {
        guard let span = lookup(key), span.kind != .null else { return nil }
        guard span.kind == .object else { throw mistyped(key, "an object of scores", span) }
        var scores: [(String, Double)] = []
        var problem: FieldProblem?
        forEachMember(of: span) { name, value in
            guard problem == nil else { return }
            let domain = strings.string(base, name)
            let field = displayName(of: key) + "." + domain
            guard value.kind == .number else {
                problem = FieldProblem(field: field, "expected a number, got \(value.kind.describedWithArticle)")
                return
            }
            let score = JSONScanner.double(base, value)
            guard score.isFinite else {
                problem = FieldProblem(field: field, "number out of range")
                return
            }
            scores.append((domain, score))
        }
        if let problem { throw problem }
        return scores
    }

    private func mistyped(_ key: DataField, _ expected: String, _ span: JSONSpan) -> FieldProblem {
        FieldProblem(field: displayName(of: key), "expected \(expected), got \(span.kind.describedWithArticle)")
    }

    // The spans below were validated when the line was scanned, so walking them again cannot fail.

    private func forEachElement(of array: JSONSpan, _ body: (JSONSpan) -> Void) {
        var scanner = JSONScanner(base: base, position: array.start + 1, end: array.end - 1, maxDepth: .max)
        scanner.skipWhitespace()
        while !scanner.atEnd {
            guard let element = try? scanner.scanValue(depth: 2) else { return }
            body(element)
            scanner.skipWhitespace()
            if !scanner.atEnd { scanner.position += 1 }
            scanner.skipWhitespace()
        }
    }

    private func forEachMember(of object: JSONSpan, _ body: (JSONSpan, JSONSpan) -> Void) {
        var scanner = JSONScanner(base: base, position: object.start + 1, end: object.end - 1, maxDepth: .max)
        scanner.skipWhitespace()
        while !scanner.atEnd {
            guard let name = try? scanner.scanString() else { return }
            scanner.skipWhitespace()
            scanner.position += 1
            scanner.skipWhitespace()
            guard let value = try? scanner.scanValue(depth: 2) else { return }
            body(name, value)
            scanner.skipWhitespace()
            if !scanner.atEnd { scanner.position += 1 }
            scanner.skipWhitespace()
        }
    }
}

/// Remembers recent Strings longer than the inline limit by their bytes, so that the values that
/// repeat across a file (sources, parties, life domains) are shared instead of allocated per event.
/// Direct-mapped: a miss simply replaces the slot.
final class StringCache {
    private static let slots = 1024
    private var entries: UnsafeMutablePointer<String?>

    init() {
        entries = .allocate(capacity: Self.slots)
        entries.initialize(repeating: nil, count: Self.slots)
    }

    deinit {
        entries.deinitialize(count: Self.slots)
        entries.deallocate()
    }

    func string(_ base: UnsafePointer<UInt8>, _ span: JSONSpan) -> String {
        let count = span.end - span.start
        // Short strings are stored inline and cost nothing; escaped ones are rare.
        guard count > 15, count <= 64, !span.hasEscapes else { return JSONScanner.string(base, span) }
        // Length and both ends tell apart the values that recur; a collision only costs a miss.
        let head = UnsafeRawPointer(base + span.start).loadUnaligned(as: UInt64.self)
        let tail = UnsafeRawPointer(base + span.end - 8).loadUnaligned(as: UInt64.self)
        let hash = (head &* 0x9E37_79B9_7F4A_7C15 ^ tail &+ UInt64(count)) &* 0xC2B2_AE3D_27D4_EB4F
        let slot = Int(truncatingIfNeeded: hash >> 54)
        if var cached = entries[slot] {
            let same = cached.withUTF8 { bytes in
                bytes.count == count && memcmp(bytes.baseAddress!, base + span.start, count) == 0
            }
            if same { return cached }
        }
        let made = JSONScanner.string(base, span)
        entries[slot] = made
        return made
    }
}

/// A read-only memory mapping of a whole file, so that multi-gigabyte inputs are decoded in flat
/// memory: the kernel pages the file in and out as the scan moves through it.
enum MappedFile {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func withContents<R>(of path: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) throws(Failure) -> R {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(description: "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw Failure(description: "cannot stat: \(String(cString: strerror(errno)))") }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw Failure(description: "not a regular file (JSON input must be a file that can be memory-mapped)")
        }
        let size = Int(info.st_size)
        guard size > 0 else { return body(UnsafeBufferPointer(start: nil, count: 0)) }
        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let address, address != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw Failure(description: "cannot memory-map: \(String(cString: strerror(errno)))")
        }
        defer { munmap(address, size) }
        _ = madvise(address, size, MADV_SEQUENTIAL)
        var releasedTo = 0
        advance(UnsafePointer(address.assumingMemoryBound(to: UInt8.self)), count: size, to: 0, releasedTo: &releasedTo)
        return body(UnsafeBufferPointer(start: address.assumingMemoryBound(to: UInt8.self), count: size))
    }

    static let window = 4 << 20

    /// Called as the scan passes `offset`: maps the next window in one call instead of one page
    /// fault at a time, and unmaps what lies well behind so that resident memory stays flat
    /// however large the file. Unmapped pages are re-read from the page cache if a failure
    /// report looks back at them, so this only ever costs time, never correctness. Only the
    /// range from `releasedTo` (where the previous call stopped, or the start of a record read
    /// again since) is unmapped: unmapping from the start every time costs more the further
    /// the scan has come.
    static func advance(_ base: UnsafePointer<UInt8>, count: Int, to offset: Int, releasedTo: inout Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = offset / page * page
        let length = min(window, count - start)
        if length > 0 {
            // MADV_POPULATE_READ (Linux 5.14); older kernels refuse it and fault page by page.
            _ = madvise(UnsafeMutableRawPointer(mutating: base + start), length, 22)
        }
        let behind = (offset - window) / page * page
        let from = releasedTo / page * page
        if behind > from {
            _ = madvise(UnsafeMutableRawPointer(mutating: base + from), behind - from, MADV_DONTNEED)
            releasedTo = behind
        }
    }
}
