internal import CLibXML2
#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// The fast way through a well-formed document whose root holds many small elements: libxml2's
/// SAX2 push parser, with no tree and no reader. Each child of the root is collected as bytes
/// (`ScannedElement`) and handed out when it ends.
///
/// The scanner only reads documents that give libxml2 nothing to say. At the first libxml2 error
/// or the first thing it leaves to the reader (a DOCTYPE, an entity reference, a CDATA section,
/// `xsi:` or `xml:` attributes, the size limits below), it stops and answers `.handOver`. The
/// caller then reads the document again with `XMLStreamReader`, passing over the children it
/// has already settled (`XMLStreamReader.passOverElement()`), so that every error is reported
/// by the one path that knows how (attribution to elements, truncation, recovery after a fatal
/// error).
///
/// Settling: `XMLStreamReader` parses ahead of the node it stands on, and where a recoverable
/// error lands in its output depends on how far ahead it was. The scanner therefore reports,
/// after each chunk, up to which offset the document has been parsed error-free by more than
/// the reader can be ahead (`XMLStreamReader.lookaheadBound`); the caller holds on to what it
/// made of later elements until they settle, and drops what has not settled when handing over.
///
/// Safety is the reader's: the same parse options (no network, no entity substitution, no DTD
/// loading), the same `ByteFeeder` (DOCTYPE refused before libxml2 sees it, long markup and
/// non-UTF-8 input stopped), and memory bounded by the element size limits below.
///
/// Not thread-safe: one scanner belongs to one task at a time.
public final class XMLEventScanner {
    public enum Outcome: Sendable, Equatable {
        /// The whole document was read without an error, and every child of the root handed out.
        case finished
        /// The scanner stopped; the document must be read again by `XMLStreamReader`.
        case handOver
    }

    public let documentURL: String
    private let feeder: ByteFeeder
    private let scratch: ScannedElement
    private var context: xmlParserCtxtPtr?
    /// Open elements: 1 inside the root, 2 inside a child of the root.
    private var depth = 0
    private var stopped = false
    private var rootClosed = false
    /// Consecutive character data is one text node in libxml2's tree, and one run here.
    private var textRunOpen = false
    /// The length of the text run directly in the root that is still open.
    private var rootTextLength = 0
    private var acceptRoot: ((String, String?, Bool) -> Bool)?
    private var deliver: ((ScannedElement) -> Bool)?

    /// Larger than this is left to `XMLStreamReader`, which knows how to refuse or report it:
    /// elements nested deeper (libxml2's own limit is 256), more elements in one child of the
    /// root (the reader's copy stops at 10,000), more bytes of text and attribute values in one
    /// child, and longer text, comments or processing instructions directly in the root (which
    /// would let the reader parse further ahead than `lookaheadBound`).
    static let maxDepth = 32
    static let maxNodes = 1_000
    static let maxElementBytes = 1 << 20
    static let maxRootTextBytes = 16_384
    /// How much is parsed at a time (after the prolog, which goes byte by byte).
    private let chunkSize: Int

    /// Opens a file for scanning; it is read in chunks and never held whole. `tagging` gives
    /// the names the caller knows their tags (see `ScannedElement`); it is asked once per name.
    public convenience init(
        path: String, chunkSize: Int = 65_536,
        tagging: @escaping (UnsafeBufferPointer<UInt8>) -> Int16 = { _ in ScannedElement.untagged }
    ) throws(XMLReaderError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw XMLReaderError("cannot open: \(String(cString: strerror(errno)))") }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw XMLReaderError("not a regular file")
        }
        self.init(feeder: ByteFeeder(fd: fd, totalBytes: Int(info.st_size)), documentURL: path, chunkSize: chunkSize, tagging: tagging)
    }

    /// Scans a document held in memory.
    public convenience init(
        bytes: [UInt8], documentURL: String = "memory", chunkSize: Int = 65_536,
        tagging: @escaping (UnsafeBufferPointer<UInt8>) -> Int16 = { _ in ScannedElement.untagged }
    ) {
        self.init(feeder: ByteFeeder(bytes: bytes), documentURL: documentURL, chunkSize: chunkSize, tagging: tagging)
    }

    private init(feeder: ByteFeeder, documentURL: String, chunkSize: Int, tagging: @escaping (UnsafeBufferPointer<UInt8>) -> Int16) {
        scratch = ScannedElement(tagging: tagging)
        self.chunkSize = max(1, chunkSize)
        feeder.tracksLines = false
        self.feeder = feeder
        self.documentURL = documentURL
    }

    /// Bytes handed to the parser so far, for progress reports.
    public private(set) var bytesFed = 0

    /// The size of the input when known.
    public var totalBytes: Int? { feeder.totalBytes }

    /// Where the element being handed out ends (a byte offset), for `settled`.
    public private(set) var elementEnd = 0

    /// Scans the document once.
    /// - `acceptingRoot`: the root's local name, namespace URI and whether it carries `xsi:`
    ///   attributes; answering false hands over before any child is read.
    /// - `element`: every child of the root, in order, when its end tag has been read. The
    ///   element (and its byte views) is valid only during the call. Answering false hands over.
    /// - `settled`: after each chunk, the offset up to which nothing can change any more (see
    ///   the type's documentation).
    public func scan(
        acceptingRoot: (_ localName: String, _ namespaceURI: String?, _ hasInstanceAttributes: Bool) -> Bool,
        element: (ScannedElement) -> Bool,
        settled: (_ offset: Int) -> Void
    ) -> Outcome {
        LibXML2.ensureInitialised()
        return withoutActuallyEscaping(acceptingRoot) { acceptingRoot in
            withoutActuallyEscaping(element) { element in
                acceptRoot = acceptingRoot
                deliver = element
                defer {
                    acceptRoot = nil
                    deliver = nil
                }
                return run(settled: settled)
            }
        }
    }

    private func run(settled: (Int) -> Void) -> Outcome {
        var handler = xmlSAXHandler()
        handler.initialized = XML_SAX2_MAGIC
        handler.startElementNs = scannerStartElement
        handler.endElementNs = scannerEndElement
        handler.characters = scannerCharacters
        handler.ignorableWhitespace = scannerCharacters
        handler.comment = scannerComment
        handler.processingInstruction = scannerInstruction
        handler.cdataBlock = scannerRefusal
        handler.reference = scannerReference
        handler.internalSubset = scannerSubset
        handler.externalSubset = scannerSubset
        handler.serror = scannerError
        guard let context = xmlCreatePushParserCtxt(&handler, Unmanaged.passUnretained(self).toOpaque(), nil, 0, documentURL) else {
            return .handOver
        }
        self.context = context
        defer {
            self.context = nil
            xmlFreeParserCtxt(context)
        }
        _ = xmlCtxtUseOptions(context, XMLStreamReader.parseOptions)
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: chunkSize)
        defer { buffer.deallocate() }
        while !stopped {
            // A DOCTYPE, a read error or a breach of the feeder's limits: the reader reports it.
            let count = Int(feeder.read(into: buffer, capacity: chunkSize))
            guard count >= 0 else { return .handOver }
            bytesFed += count
            if xmlParseChunk(context, buffer, Int32(count), count == 0 ? 1 : 0) != 0 { stopped = true }
            guard !stopped else { break }
            if count == 0 { break }
            settled(Int(xmlByteConsumed(context)) - XMLStreamReader.lookaheadBound)
        }
        guard !stopped, rootClosed else { return .handOver }
        settled(Int.max)
        return .finished
    }

    private func stop() {
        stopped = true
        if let context { xmlStopParser(context) }
    }

    private var line: Int {
        guard let input = context?.pointee.input else { return 0 }
        return Int(input.pointee.line)
    }

    // MARK: SAX events

    fileprivate func startElement(
        _ localName: UnsafePointer<UInt8>, _ namespaceURI: UnsafePointer<UInt8>?,
        _ attributeCount: Int, _ attributes: UnsafeMutablePointer<UnsafePointer<UInt8>?>?
    ) {
        guard !stopped else { return }
        depth += 1
        textRunOpen = false
        rootTextLength = 0
        if depth == 1 {
            var hasInstanceAttributes = false
            for index in 0..<attributeCount {
                if let uri = attributes?[index * 5 + 2], matches(uri, Self.schemaInstanceNamespace) { hasInstanceAttributes = true }
            }
            feeder.trickle = false
            // Input in another encoding than UTF-8 goes through a converter, and libxml2 then
            // counts consumed bytes (`xmlByteConsumed`, for settling) by converting the unparsed
            // rest back: far too slow once per element. Such documents are the reader's.
            if context?.pointee.input?.pointee.buf?.pointee.encoder != nil { return stop() }
            let uri = namespaceURI.map { String(cString: $0) }
            if acceptRoot?(String(cString: localName), uri, hasInstanceAttributes) != true { stop() }
            return
        }
        if depth == 2 { scratch.reset() }
        guard depth <= Self.maxDepth, scratch.nodeCount < Self.maxNodes else { return stop() }
        scratch.open(name: localName, namespaceURI: namespaceURI, line: line)
        guard let attributes else { return }
        for index in 0..<attributeCount {
            let base = index * 5
            guard let name = attributes[base], let start = attributes[base + 3], let end = attributes[base + 4] else { return stop() }
            let uri = attributes[base + 2]
            // xsi: attributes need the namespaces in scope copied along, and xml:id is checked
            // by libxml2's tree builder, which the scanner does not run: both go to the reader.
            if let uri, matches(uri, Self.schemaInstanceNamespace) || matches(uri, Self.xmlNamespace) { return stop() }
            guard scratch.addAttribute(name: name, namespaceURI: uri, value: UnsafeBufferPointer(start: start, count: start.distance(to: end))) else {
                return stop()
            }
        }
        if scratch.byteCount > Self.maxElementBytes { stop() }
    }

    fileprivate func endElement() {
        guard !stopped else { return }
        textRunOpen = false
        rootTextLength = 0
        switch depth {
        case 1: rootClosed = true
        case 2:
            scratch.close()
            elementEnd = context.map { Int(xmlByteConsumed($0)) } ?? bytesFed
            if deliver?(scratch) == false { stop() }
        default: scratch.close()
        }
        depth -= 1
    }

    fileprivate func characters(_ bytes: UnsafePointer<UInt8>, _ count: Int) {
        guard !stopped, count > 0 else { return }
        if depth >= 2 {
            scratch.appendText(UnsafeBufferPointer(start: bytes, count: count), continuing: textRunOpen)
            textRunOpen = true
            if scratch.byteCount > Self.maxElementBytes { stop() }
        } else {
            rootTextLength += count
            if rootTextLength > Self.maxRootTextBytes { stop() }
        }
    }

    /// A comment or processing instruction ends a text run, as it splits text nodes in a tree.
    fileprivate func markup(length: Int) {
        guard !stopped else { return }
        textRunOpen = false
        rootTextLength = 0
        if depth < 2, length > Self.maxRootTextBytes { stop() }
    }

    fileprivate func refuse() {
        guard !stopped else { return }
        stop()
    }

    fileprivate func error(_ error: UnsafeMutablePointer<xmlError>) {
        guard error.pointee.level == XML_ERR_ERROR || error.pointee.level == XML_ERR_FATAL else { return }
        stop()
    }

    static let schemaInstanceNamespace = "http://www.w3.org/2001/XMLSchema-instance"
    static let xmlNamespace = "http://www.w3.org/XML/1998/namespace"
}

private func scanner(_ context: UnsafeMutableRawPointer?) -> XMLEventScanner? {
    context.map { Unmanaged<XMLEventScanner>.fromOpaque($0).takeUnretainedValue() }
}

private let scannerStartElement: startElementNsSAX2Func = { context, localName, _, uri, _, _, attributeCount, _, attributes in
    guard let localName else { return }
    scanner(context)?.startElement(localName, uri, Int(attributeCount), attributes)
}

private let scannerEndElement: endElementNsSAX2Func = { context, _, _, _ in
    scanner(context)?.endElement()
}

private let scannerCharacters: charactersSAXFunc = { context, bytes, count in
    guard let bytes else { return }
    scanner(context)?.characters(bytes, Int(count))
}

private let scannerComment: commentSAXFunc = { context, value in
    scanner(context)?.markup(length: value.map { byteLength($0) } ?? 0)
}

private let scannerInstruction: processingInstructionSAXFunc = { context, target, data in
    scanner(context)?.markup(length: (target.map { byteLength($0) } ?? 0) + (data.map { byteLength($0) } ?? 0))
}

/// CDATA sections: libxml2 may split one into several nodes depending on how the input arrived,
/// which the reader copies run by run; left to the reader.
private let scannerRefusal: cdataBlockSAXFunc = { context, _, _ in
    scanner(context)?.refuse()
}

private let scannerReference: referenceSAXFunc = { context, _ in
    scanner(context)?.refuse()
}

private let scannerSubset: internalSubsetSAXFunc = { context, _, _, _ in
    scanner(context)?.refuse()
}

private let scannerError: xmlStructuredErrorFunc = { context, error in
    guard let error else { return }
    scanner(context)?.error(error)
}

func byteLength(_ text: UnsafePointer<UInt8>) -> Int {
    text.withMemoryRebound(to: CChar.self, capacity: 1) { Int(strlen($0)) }
}

private func matches(_ text: UnsafePointer<UInt8>, _ other: String) -> Bool {
    text.withMemoryRebound(to: CChar.self, capacity: 1) { strcmp($0, other) == 0 }
}
