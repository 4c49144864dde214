import KetenzichtCore
import XMLStreaming

/// Decodes the canonical exchange document (SPEC §2.2): streams it, validates every child of
/// `<exchanges>` against `ExchangeSchema` (`ExchangeValidation`: common shapes in Swift, the rest
/// by libxml2, which on its own would cost more than the parse) and turns it into an event
/// through the shared `EventAssembler`, so that XML accepts and refuses exactly what JSON does.
///
/// Two paths read the document, with the same verdicts and messages:
/// - `scan`: libxml2's SAX2 parser (`XMLEventScanner`), no tree. An event of a common, valid
///   shape is decoded straight from the parser's bytes; any other element is copied and goes
///   through `record(for: XMLElement…)`. This reads documents that give libxml2 nothing to say.
/// - `read`: libxml2's reader (`XMLStreamReader`), each element copied. It takes over whenever
///   the scanner stops (a libxml2 error, a DOCTYPE, an entity, anything unusual), passing over
///   the events the scanner has already passed on, and reports every error as it always has.
///
/// A bad event element becomes one failure record and its neighbours are kept. A document that
/// stops being well-formed (or carries a DOCTYPE or an entity) ends with one failure record at
/// that line; the events before it stand.
public struct CanonicalXMLDecoder: EventDecoder, Sendable {
    public var assembler: EventAssembler
    /// Validates with libxml2 while streaming, as before `ExchangeValidation` existed: the
    /// reference the tests compare the fast path with, and the way to read a document whose root
    /// carries `xsi:` attributes (an `xsi:type` there changes how every event is validated).
    var streamingValidation = false
    /// Reads with `XMLEventScanner` first and hands over to `XMLStreamReader` only when the
    /// scanner stops. Off: the reader alone, the reference the tests compare the scanner with.
    var scanning = true
    /// The scanner's chunk size; tests move its boundaries against the reader's.
    var scanChunkSize = 65_536

    public init(assembler: EventAssembler) {
        self.assembler = assembler
    }

    static let schemaInstanceNamespace = "http://www.w3.org/2001/XMLSchema-instance"

    /// The event type of an element of the exchange namespace (the copy's name; the scanner's
    /// elements carry their `ExchangeName` as a tag).
    static func eventType(ofElement name: String) -> EventType? {
        var name = name
        return name.withUTF8 { ExchangeName($0)?.eventType }
    }

    static let elementNames = "party, assessment, referral, accepted, started, completed, rejected, withdrawn, regie"

    /// Compiled once per process and shared by every decoder and reader.
    private static let compiledSchema: Result<XMLSchema, XMLReaderError> = Result { () throws(XMLReaderError) in
        try XMLSchema(xsd: ExchangeSchema.xsd, baseURL: "exchange-1.xsd")
    }

    static let progressInterval = 1 << 20

    /// Records waiting to settle, at most: a few hundred bytes each. An exchange event is about
    /// 190 bytes of XML, so the settling lag holds about 1,700 of them.
    static let maxUnsettled = 8_192

    /// Reports progress every `progressInterval` bytes and never backwards: after a hand-over,
    /// the reader counts from the start of the document again.
    private struct ProgressReporter {
        let progress: DecodeProgress?
        var next = CanonicalXMLDecoder.progressInterval

        mutating func report(_ consumed: Int, total: Int) {
            guard let progress, consumed >= next else { return }
            progress(consumed, total)
            next = consumed + CanonicalXMLDecoder.progressInterval
        }

        func finish(_ consumed: Int, total: Int) {
            progress?(max(total, consumed), total)
        }
    }

    public func decode(_ input: IngestInput, progress: DecodeProgress?, sink: (DecodeRecord) -> Void) {
        let schema: XMLSchema
        switch Self.compiledSchema {
        case .success(let compiled): schema = compiled
        case .failure(let error):
            let location = InputLocation(origin: input.origin, line: nil)
            let issue = IngestIssue(location: location, event: nil, field: nil, message: "internal error: the exchange schema does not compile: \(error)")
            sink(DecodeRecord(location: location, outcome: .failure(issue, raw: nil)))
            return
        }
        var reporter = ProgressReporter(progress: progress)
        var alreadyDecoded = 0
        if scanning, !streamingValidation {
            guard let settled = scan(input, schema: schema, reporter: &reporter, sink: sink) else { return }
            alreadyDecoded = settled
        }
        read(input, schema: schema, passingOver: alreadyDecoded, reporter: &reporter, sink: sink)
    }

    /// The fast path: libxml2's SAX2 parser (`XMLEventScanner`), each element decoded from its
    /// bytes. Answers nil when the whole document was decoded, or how many leading events it
    /// passed on before the scanner handed over (an error, or anything unusual, further on).
    private func scan(_ input: IngestInput, schema: XMLSchema, reporter: inout ProgressReporter, sink: (DecodeRecord) -> Void) -> Int? {
        let scanner: XMLEventScanner
        switch input {
        case .file(let path):
            // The reader says why a file cannot be read.
            guard let opened = try? XMLEventScanner(path: path, chunkSize: scanChunkSize, tagging: ExchangeName.tag(of:)) else { return 0 }
            scanner = opened
        case .bytes(let bytes, let origin):
            scanner = XMLEventScanner(bytes: bytes, documentURL: origin, chunkSize: scanChunkSize, tagging: ExchangeName.tag(of:))
        }
        let origin = input.origin
        let total = scanner.totalBytes ?? 0
        // Records wait here until the scanner says no error can be attributed to them any more
        // (see XMLEventScanner); what has not settled when it hands over is read again.
        let unsettled = SettlingQueue()
        var passedOn = 0
        let outcome = scanner.scan(
            acceptingRoot: { name, namespace, hasInstanceAttributes in
                // Anything else (another root, xsi: attributes on it) is the reader's to report.
                name == "exchanges" && namespace == ExchangeSchema.namespace && !hasInstanceAttributes
            },
            element: { element in
                unsettled.append(record(for: element, origin: origin, schema: schema), end: scanner.elementEnd)
                // Bytes bound what waits to settle, but not how many records: a document of
                // tiny elements is the reader's, so that memory stays flat.
                return unsettled.count <= Self.maxUnsettled
            },
            settled: { offset in
                passedOn += unsettled.release(endingBy: offset, to: sink)
                reporter.report(scanner.bytesFed, total: total)
            }
        )
        switch outcome {
        case .finished:
            reporter.finish(scanner.bytesFed, total: total)
            return nil
        case .handOver:
            return passedOn
        }
    }

    /// The general path: libxml2's reader (`XMLStreamReader`), each element copied. It reads
    /// every document the scanner hands over, passing over the first `alreadyDecoded` events,
    /// and reports every error.
    private func read(_ input: IngestInput, schema: XMLSchema, passingOver alreadyDecoded: Int, reporter: inout ProgressReporter, sink: (DecodeRecord) -> Void) {
        let origin = input.origin
        func fail(line: Int?, event: EventIdentity? = nil, field: String? = nil, _ message: String, raw: String? = nil) {
            let location = InputLocation(origin: origin, line: line)
            sink(DecodeRecord(location: location, outcome: .failure(IngestIssue(location: location, event: event, field: field, message: message), raw: raw)))
        }
        let reader: XMLStreamReader
        let streamingSchema = streamingValidation ? schema : nil
        let checkedSchema = streamingValidation ? nil : schema
        do {
            switch input {
            case .file(let path): reader = try XMLStreamReader(path: path, schema: streamingSchema)
            case .bytes(let bytes, let origin): reader = try XMLStreamReader(bytes: bytes, documentURL: origin, schema: streamingSchema)
            }
        } catch {
            fail(line: nil, error.message)
            return
        }

        let total = reader.totalBytes ?? 0
        func reportProgress(final: Bool = false) {
            if final {
                reporter.finish(reader.bytesConsumed, total: total)
            } else {
                reporter.report(reader.bytesConsumed, total: total)
            }
        }
        var passedOver = 0
        func flushDocumentIssues() {
            for issue in reader.takeUnattributedIssues() {
                let problem = SchemaMessage(issue.message, eventElement: "exchanges").problem
                fail(line: issue.line, field: problem.field, problem.message)
            }
        }
        func stopAtFatal() {
            // Events the scanner passed on are not decoded twice, even when recovered here.
            for element in reader.completeTopLevelElementsAfterFailure().dropFirst(alreadyDecoded - passedOver) {
                sink(record(for: element, origin: origin, schema: checkedSchema))
            }
            flushDocumentIssues()
            let issue = reader.fatalIssue ?? XMLIssue(kind: .fatal, message: "the document could not be parsed", line: nil)
            fail(line: issue.line, Self.fatalMessage(issue.message))
            reportProgress(final: true)
        }

        // The root: skip the prolog's comments and processing instructions.
        rootSearch: while true {
            switch reader.read() {
            case .failed: stopAtFatal(); return
            case .endOfDocument:
                fail(line: nil, "empty document: no <exchanges> root element")
                return
            case .node:
                if reader.nodeKind == .element { break rootSearch }
            }
        }
        let rootName = reader.localName ?? ""
        let rootNamespace = reader.namespaceURI
        guard rootName == "exchanges", rootNamespace == ExchangeSchema.namespace else {
            let found = rootNamespace.map { "in namespace \($0)" } ?? "without a namespace"
            fail(line: reader.lineNumber, "root element is <\(rootName)> \(found); expected <exchanges> in namespace \(ExchangeSchema.namespace)")
            return
        }
        if !streamingValidation, reader.hasAttribute(inNamespace: Self.schemaInstanceNamespace) {
            // Nothing has been passed on yet (the scanner hands such a root over at once), so
            // the document can start over.
            var streaming = self
            streaming.streamingValidation = true
            streaming.read(input, schema: schema, passingOver: 0, reporter: &reporter, sink: sink)
            return
        }
        flushDocumentIssues()
        if reader.isEmptyElement {
            reportProgress(final: true)
            return
        }
        while true {
            switch reader.read() {
            case .failed:
                stopAtFatal()
                return
            case .endOfDocument:
                flushDocumentIssues()
                reportProgress(final: true)
                return
            case .node:
                guard reader.depth == 1, reader.nodeKind == .element else { continue }
                if passedOver < alreadyDecoded {
                    let passed = reader.passOverElement()
                    passedOver += 1
                    guard passed else {
                        stopAtFatal()
                        return
                    }
                    flushDocumentIssues()
                    reportProgress()
                    continue
                }
                guard let element = reader.readElement() else {
                    stopAtFatal()
                    return
                }
                flushDocumentIssues()
                sink(record(for: element, origin: origin, schema: checkedSchema))
                reportProgress()
            }
        }
    }

    /// One event element from the scanner. Decoded from its bytes in place when it has a
    /// common, valid shape and the assembler takes it; anything else is copied and goes to
    /// `record(for: XMLElement…)`, so every refusal reads exactly as on the general path.
    func record(for element: ScannedElement, origin: String, schema: XMLSchema) -> DecodeRecord {
        let root = element.root
        if root.isInExchangeNamespace, let type = ExchangeName(rawValue: root.nameTag)?.eventType,
           ExchangeValidation.isPlainlyValid(root, type: type),
           let time = root.value(ofAttributeTagged: ExchangeName.time.rawValue),
           let timestamp = try? Timestamp(rfc3339: time),
           let event = try? assembler.assemble(
               // Ids differ on every event; only the source goes through the repeated-value cache.
               id: root.value(ofAttributeTagged: ExchangeName.id.rawValue).map { String(decoding: $0, as: UTF8.self) },
               source: root.unqualifiedAttribute(.source),
               type: type, timestamp: timestamp,
               fields: XMLEventFields(element: root), names: .xmlAttributes
           ) {
            return DecodeRecord(location: InputLocation(origin: origin, line: root.line), outcome: .event(event))
        }
        return record(for: element.copy(), origin: origin, schema: schema)
    }

    /// One event element to one record.
    /// With `schema`, the element is checked against it here (it was not while streaming).
    func record(for element: XMLElement, origin: String, schema: XMLSchema?) -> DecodeRecord {
        let location = InputLocation(origin: origin, line: element.line)
        let identity = EventAssembler.identity(id: element.attribute("id"), source: element.attribute("source"))
        func failure(_ problem: FieldProblem) -> DecodeRecord {
            DecodeRecord(location: location, outcome: .failure(IngestIssue(location: location, event: identity, problem: problem), raw: element.xml))
        }
        guard element.namespaceURI == ExchangeSchema.namespace, let type = Self.eventType(ofElement: element.localName) else {
            let namespace = element.namespaceURI == ExchangeSchema.namespace ? "" : " " + (element.namespaceURI.map { "in namespace \($0)" } ?? "without a namespace")
            return failure(FieldProblem(field: nil, "unknown element <\(EventAssembler.clip(element.localName))>\(namespace); expected one of \(Self.elementNames) in namespace \(ExchangeSchema.namespace)"))
        }
        var issues = element.issues
        if let schema {
            let schemaIssues = ExchangeValidation.issues(in: element, type: type, schema: schema)
            if !schemaIssues.isEmpty {
                // Streaming, libxml2 raised these while the element was parsed: before the
                // reader's own note that it stopped copying an oversized element.
                let readerNotes = issues.firstIndex { $0.kind == .error && $0.message.hasPrefix("element holds more than") } ?? issues.endIndex
                issues.insert(contentsOf: schemaIssues, at: readerNotes)
            }
        }
        let schemaProblem = issues.first.map { issue -> FieldProblem in
            var problem = SchemaMessage(issue.message, eventElement: element.localName).problem
            if issues.count > 1 {
                problem.message += " (and \(issues.count - 1) more schema error\(issues.count == 2 ? "" : "s"))"
            }
            return problem
        }
        do {
            let event = try assembler.assemble(
                id: element.attribute("id"), source: element.attribute("source"),
                type: type, time: element.attribute("time"),
                fields: XMLEventFields(element: element), names: .xmlAttributes
            )
            if let schemaProblem { return failure(schemaProblem) }
            return DecodeRecord(location: location, outcome: .event(event))
        } catch {
            // The assembler's wording is more specific ("impossible date … that month has 30
            // days") when both name the same field; otherwise the schema error came first.
            if let schemaProblem, schemaProblem.field != error.field { return failure(schemaProblem) }
            return failure(error)
        }
    }

    static func fatalMessage(_ message: String) -> String {
        // The reader's own refusals say what they are; anything else is libxml2 on broken XML.
        let own = ["DOCTYPE", "entity references", "read error", "not UTF-8", "too long", "too deep", "truncated"]
        let known = own.contains { message.hasPrefix($0) }
        return (known ? message : "not well-formed XML: " + SchemaMessage.redactDigits(message)) + "; reading stopped here"
    }
}

/// Decoded events waiting to settle (see `CanonicalXMLDecoder.scan`), oldest first, in a ring
/// of manually managed memory: each record is written once and handed to the sink where it lies.
/// A record is a few hundred bytes, and moving every one into and out of a collection cost more
/// than building it.
private final class SettlingQueue {
    private var records: UnsafeMutablePointer<DecodeRecord>
    private var ends: UnsafeMutablePointer<Int>
    private var capacity: Int
    private var head = 0
    private(set) var count = 0

    init(capacity: Int = 4096) {
        self.capacity = capacity
        records = .allocate(capacity: capacity)
        ends = .allocate(capacity: capacity)
    }

    deinit {
        for offset in 0..<count { (records + (head + offset) % capacity).deinitialize(count: 1) }
        records.deallocate()
        ends.deallocate()
    }

    /// Queues the record of an element that ended at byte `end`.
    func append(_ record: consuming DecodeRecord, end: Int) {
        if count == capacity { grow() }
        let slot = (head + count) % capacity
        (records + slot).initialize(to: record)
        ends[slot] = end
        count += 1
    }

    /// Hands every record of an element that ended by `offset` to `sink`, in order, and forgets
    /// it; answers how many.
    func release(endingBy offset: Int, to sink: (DecodeRecord) -> Void) -> Int {
        var released = 0
        while count > 0, ends[head] <= offset {
            sink((records + head).move())
            head = (head + 1) % capacity
            count -= 1
            released += 1
        }
        return released
    }

    private func grow() {
        let larger = UnsafeMutablePointer<DecodeRecord>.allocate(capacity: capacity * 2)
        let largerEnds = UnsafeMutablePointer<Int>.allocate(capacity: capacity * 2)
        for offset in 0..<count {
            let slot = (head + offset) % capacity
            (larger + offset).moveInitialize(from: records + slot, count: 1)
            largerEnds[offset] = ends[slot]
        }
        records.deallocate()
        ends.deallocate()
        records = larger
        ends = largerEnds
        capacity *= 2
        head = 0
    }
}

/// The data fields of one event element: attributes, plus `<name>`/`<reason>` text and the
/// `<dependsOn>`/`<score>` lists. Read from a copy or, on the fast path, from the scanner's bytes.
struct XMLEventFields<Element: ExchangeElement>: EventFieldSource {
    let element: Element

    func displayName(of field: DataField) -> String {
        ExchangeName(attributeFor: field) == nil ? field.keyText : "@" + field.keyText
    }

    func string(_ field: DataField) throws(FieldProblem) -> String? {
        switch field {
        case .name: element.children.first { $0.hasLocalName(.name) }?.text
        case .reason: element.children.first { $0.hasLocalName(.reason) }?.text
        default: ExchangeName(attributeFor: field).flatMap(element.unqualifiedAttribute)
        }
    }

    func number(_ field: DataField) throws(FieldProblem) -> Double? {
        guard let text = ExchangeName(attributeFor: field).flatMap(element.unqualifiedAttribute) else { return nil }
        guard let value = XMLNumber.parse(text) else {
            throw FieldProblem(field: displayName(of: field), "not a number: \"\(EventAssembler.clip(text))\"")
        }
        guard value.isFinite else { throw FieldProblem(field: displayName(of: field), "number out of range") }
        return value
    }

    func bool(_ field: DataField) throws(FieldProblem) -> Bool? {
        guard let text = ExchangeName(attributeFor: field).flatMap(element.unqualifiedAttribute) else { return nil }
        switch text.trimmingXMLWhitespace {
        case "true", "1": return true
        case "false", "0": return false
        default: throw FieldProblem(field: displayName(of: field), "must be true, false, 1 or 0, got \"\(EventAssembler.clip(text))\"")
        }
    }

    func stringList(_ field: DataField) throws(FieldProblem) -> [String]? {
        guard field == .dependsOn else { return nil }
        var list: [String] = []
        for item in element.children where item.hasLocalName(.dependsOn) {
            guard let reference = item.unqualifiedAttribute(.ref) else { throw FieldProblem(field: "dependsOn/@ref", "missing") }
            list.append(reference)
        }
        return list.isEmpty ? nil : list
    }

    func scores(_ field: DataField) throws(FieldProblem) -> [(String, Double)]? {
        guard field == .zrm, element.children.contains(where: { $0.hasLocalName(.score) }) else { return nil }
        var scores: [(String, Double)] = []
        scores.reserveCapacity(element.childCount)
        for item in element.children where item.hasLocalName(.score) {
            guard let domain = item.unqualifiedAttribute(.domain) else { throw FieldProblem(field: "score/@domain", "missing") }
            guard let text = item.unqualifiedAttribute(.value) else { throw FieldProblem(field: "zrm." + domain, "score/@value missing") }
            guard let value = XMLNumber.parse(text) else {
                throw FieldProblem(field: "zrm." + domain, "not a number: \"\(EventAssembler.clip(text))\"")
            }
            guard value.isFinite else { throw FieldProblem(field: "zrm." + domain, "number out of range") }
            scores.append((domain, value))
        }
        return scores
    }
}

enum XMLNumber {
    /// XSD decimal and integer lexical forms (surrounding whitespace allowed); not Swift's wider
    /// `Double(_:)` grammar, which would also take "nan", "inf" and hexadecimal.
    static func parse(_ text: String) -> Double? {
        // One digit (every ZRM score) needs no trimming and no strtod.
        if text.utf8.count == 1, let digit = text.utf8.first, digit >= 0x30, digit <= 0x39 {
            return Double(digit - 0x30)
        }
        let trimmed = text.trimmingXMLWhitespace
        var digits = 0
        var dots = 0
        for (index, byte) in trimmed.utf8.enumerated() {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digits += 1
            case UInt8(ascii: "."): dots += 1
            case UInt8(ascii: "+"), UInt8(ascii: "-"):
                guard index == 0 else { return nil }
            default: return nil
            }
        }
        guard digits > 0, dots <= 1 else { return nil }
        return Double(trimmed)
    }
}

private extension String {
    var trimmingXMLWhitespace: String {
        // Nothing to trim when neither end is a whitespace byte (a Character that is one of the
        // four starts and ends with it); the common case then costs two byte reads.
        if let first = utf8.first, let last = utf8.last,
           first != 0x20, first != 0x09, first != 0x0A, first != 0x0D,
           last != 0x20, last != 0x09, last != 0x0A, last != 0x0D {
            return self
        }
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}

/// A libxml2 schema-validity message made readable: `Element '{urn:…}score', attribute 'value':
/// [facet 'maxInclusive'] The value '7' is greater than …` becomes field `score/@value` and
/// message `the value '7' is greater than …`.
struct SchemaMessage {
    var problem: FieldProblem

    init(_ raw: String, eventElement: String) {
        var rest = Substring(raw)
        var elementName: String?
        var attributeName: String?
        if rest.hasPrefix("Element '"), let end = rest.dropFirst(9).firstIndex(of: "'") {
            let qualified = rest[rest.index(rest.startIndex, offsetBy: 9)..<end]
            elementName = String(qualified.split(separator: "}").last ?? qualified)
            rest = rest[rest.index(after: end)...]
            if rest.hasPrefix(", attribute '"), let attributeEnd = rest.dropFirst(13).firstIndex(of: "'") {
                attributeName = String(rest[rest.index(rest.startIndex, offsetBy: 13)..<attributeEnd])
                rest = rest[rest.index(after: attributeEnd)...]
            }
            if rest.hasPrefix(": ") { rest = rest.dropFirst(2) }
        }
        var message = String(rest)
        message = message.replacingAll("{" + ExchangeSchema.namespace + "}", with: "")
        if message.hasPrefix("[facet '"), let close = message.firstIndex(of: "]") {
            message = String(message[message.index(after: close)...]).trimmingXMLWhitespace
        }
        while message.hasSuffix(".") { message.removeLast() }
        if let first = message.first, first.isUppercase, message.dropFirst().first?.isLowercase == true || message.dropFirst().first == " " {
            message = first.lowercased() + message.dropFirst()
        }
        // libxml2 names a missing attribute or child only inside its sentence.
        if attributeName == nil, let name = Self.quoted(in: message, after: "attribute '"), message.hasSuffix("is required but missing") {
            attributeName = name
            message = "missing"
        } else if let expected = Self.between(message, "missing child element(s). Expected is ( ", " )"), !expected.contains(",") {
            elementName = expected
            message = "missing"
        }
        var field: String?
        let onEvent = elementName == nil || elementName == eventElement
        if let attributeName {
            field = (onEvent ? "" : (elementName ?? "") + "/") + "@" + attributeName
        } else if !onEvent {
            field = elementName
        }
        if attributeName == "bsn" {
            // The value is a (would-be) BSN: say what is wrong without repeating it.
            message = "a BSN is 9 digits (the value is not repeated here)"
        }
        problem = FieldProblem(field: field, Self.redactDigits(message))
    }

    /// The text between `prefix` at the start of `text` and the next `suffix`.
    static func between(_ text: String, _ prefix: String, _ suffix: String) -> String? {
        guard text.hasPrefix(prefix) else { return nil }
        let rest = text.dropFirst(prefix.count)
        guard let end = rest.firstRange(of: suffix) else { return nil }
        return String(rest[..<end.lowerBound])
    }

    static func quoted(in text: String, after prefix: String) -> String? {
        guard let start = text.firstRange(of: prefix)?.upperBound, let end = text[start...].firstIndex(of: "'") else { return nil }
        return String(text[start..<end])
    }

    /// Any run of nine or more digits could be a BSN; it never goes into a message.
    static func redactDigits(_ text: String) -> String {
        var out = ""
        var run = ""
        func flush() {
            out += run.count >= 9 ? "#########" : run
            run = ""
        }
        for character in text {
            if character.isASCII, character.isNumber { run.append(character) } else {
                flush()
                out.append(character)
            }
        }
        flush()
        return out
    }
}

private extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty, contains(target) else { return self }
        var out = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return out + rest
    }
}
