internal import CLibXML2
#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// The kinds of node the reader stops on.
public enum XMLNodeKind: Sendable, Equatable {
    case element, endElement, text, cdata, whitespace, comment, processingInstruction
    case documentType, entityReference, other
}

/// A forward-only reader over libxml2's `xmlTextReader`, safe for untrusted input and flat in
/// memory on documents of any size.
///
/// Safety: the network is off, entities are never substituted and no DTD is loaded; a DOCTYPE is
/// refused before libxml2 parses it (and again, should one slip through in a non-ASCII
/// encoding, when the reader meets it), and so is any entity reference. The process-wide
/// external entity loader refuses everything besides (see `LibXML2`).
///
/// Errors: libxml2 reports through a per-reader structured handler. Because libxml2 parses (and
/// validates) up to a few kilobytes ahead of the node the reader stands on, an error cannot be
/// matched to "the current node"; instead, at the moment it is raised, it is tagged on the child
/// of the root being parsed, and handed out with that element by `readElement()`.
///
/// Not thread-safe: one reader belongs to one task at a time.
public final class XMLStreamReader {
    public enum ReadResult: Sendable, Equatable {
        case node
        case endOfDocument
        /// Parsing stopped; `fatalIssue` says why.
        case failed
    }

    public let documentURL: String
    private let handle: OpaquePointer
    private let feeder: ByteFeeder
    private let diagnostics: Diagnostics
    // Held so the compiled schema outlives the reader that validates against it.
    private let schema: XMLSchema?
    private var started = false
    private var finished = false
    private var refusal: XMLIssue?
    private let names = NameCache()

    static let parseOptions = Int32(bitPattern: XML_PARSE_NONET.rawValue | XML_PARSE_BIG_LINES.rawValue | XML_PARSE_COMPACT.rawValue)

    /// How far (in bytes) libxml2 can have parsed beyond the end of the element `readElement()`
    /// or `passOverElement()` just finished, when the next child of the root starts within 16
    /// KiB of text, comments or processing instructions (`XMLEventScanner` hands over
    /// otherwise). xmlTextReader feeds its parser 512 bytes at a time until the next node
    /// exists and a tag has been seen: at most the node after the element (a start tag is at
    /// most `ByteFeeder.maxMarkupBytes`) and a chunk or two, about 82 KiB. With a wide margin.
    public static let lookaheadBound = 256 * 1024

    /// Opens a file for streaming. The file is read in small blocks and never held whole.
    public convenience init(path: String, schema: XMLSchema? = nil) throws(XMLReaderError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw XMLReaderError("cannot open: \(String(cString: strerror(errno)))") }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw XMLReaderError("cannot stat: \(reason)")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw XMLReaderError("not a regular file")
        }
        try self.init(feeder: ByteFeeder(fd: fd, totalBytes: Int(info.st_size)), documentURL: path, schema: schema)
    }

    /// Reads a document held in memory (a socket request, a test).
    public convenience init(bytes: [UInt8], documentURL: String = "memory", schema: XMLSchema? = nil) throws(XMLReaderError) {
        try self.init(feeder: ByteFeeder(bytes: bytes), documentURL: documentURL, schema: schema)
    }

    private init(feeder: ByteFeeder, documentURL: String, schema: XMLSchema?) throws(XMLReaderError) {
        LibXML2.ensureInitialised()
        self.feeder = feeder
        self.documentURL = documentURL
        self.schema = schema
        self.diagnostics = Diagnostics()
        // xmlReaderForIO rather than xmlReaderForFile/ForMemory: it lets the feeder trickle the
        // prolog byte by byte (see ByteFeeder) and spares libxml2 from interpreting the path as
        // a URL or a gzip file.
        guard let handle = xmlReaderForIO(
            { context, buffer, length in
                guard let context, let buffer, length > 0 else { return -1 }
                return Unmanaged<ByteFeeder>.fromOpaque(context).takeUnretainedValue().read(into: buffer, capacity: Int(length))
            },
            { _ in 0 },
            Unmanaged.passUnretained(feeder).toOpaque(),
            documentURL, nil, Self.parseOptions
        ) else {
            throw XMLReaderError("libxml2 could not create a reader")
        }
        self.handle = handle
        xmlTextReaderSetStructuredErrorHandler(handle, diagnosticsCallback, Unmanaged.passUnretained(diagnostics).toOpaque())
        if let schema, xmlTextReaderSetSchema(handle, schema.pointer) != 0 {
            xmlFreeTextReader(handle)
            throw XMLReaderError("libxml2 refused the schema")
        }
    }

    deinit {
        xmlFreeTextReader(handle)
    }

    // MARK: Moving

    /// Moves to the next node.
    public func read() -> ReadResult {
        guard !finished else { return fatalIssue == nil ? .endOfDocument : .failed }
        let status = parsing { xmlTextReaderRead(handle) }
        if !started {
            started = true
            feeder.trickle = false
            if let node = xmlTextReaderCurrentNode(handle), let document = node.pointee.doc {
                diagnostics.root = xmlDocGetRootElement(document)
            }
        }
        if status == 1 {
            switch nodeKind {
            case .documentType:
                return refuse("DOCTYPE declarations are not allowed (no DTDs, no entities)")
            case .entityReference:
                return refuse("entity references are not allowed")
            default:
                return .node
            }
        }
        finished = true
        if status == 0, fatalIssue == nil { return .endOfDocument }
        if fatalIssue == nil {
            diagnostics.fatal = XMLIssue(kind: .fatal, message: "the document could not be parsed", line: parserLineNumber)
        }
        return .failed
    }

    /// Skips the current element's subtree and moves to the node after it.
    public func skipSubtree() -> ReadResult {
        guard !finished else { return read() }
        guard nodeKind == .element, !isEmptyElement else { return read() }
        let startDepth = depth
        while true {
            let result = read()
            guard result == .node else { return result }
            if nodeKind == .endElement, depth == startDepth { return read() }
        }
    }

    /// Runs a libxml2 call that may parse. Once a schema is plugged into the reader, libxml2 no
    /// longer routes well-formedness errors to the reader's handler (the plug takes the parser's
    /// user data) but to the thread's global structured handler; so that handler points at this
    /// reader for the duration of the call, and is put back afterwards.
    private func parsing<T>(_ body: () -> T) -> T {
        // Without a schema the reader's own handler gets every error, and this per-node swap of
        // thread-local state would only cost time.
        guard schema != nil else { return body() }
        let savedHandler = __xmlStructuredError().pointee
        let savedContext = __xmlStructuredErrorContext().pointee
        xmlSetStructuredErrorFunc(Unmanaged.passUnretained(diagnostics).toOpaque(), diagnosticsCallback)
        defer { xmlSetStructuredErrorFunc(savedContext, savedHandler) }
        return body()
    }

    private func refuse(_ message: String) -> ReadResult {
        refusal = XMLIssue(kind: .fatal, message: message, line: lineNumber)
        finished = true
        return .failed
    }

    // MARK: The current node

    public var nodeKind: XMLNodeKind {
        switch xmlTextReaderNodeType(handle) {
        case 1: .element
        case 15: .endElement
        case 3: .text
        case 4: .cdata
        case 13, 14: .whitespace
        case 8: .comment
        case 7: .processingInstruction
        case 10: .documentType
        case 5: .entityReference
        default: .other
        }
    }

    /// 0 for the root element.
    public var depth: Int { Int(xmlTextReaderDepth(handle)) }

    public var localName: String? { xmlTextReaderConstLocalName(handle).map { String(cString: $0) } }

    public var namespaceURI: String? { xmlTextReaderConstNamespaceUri(handle).map { String(cString: $0) } }

    public var isEmptyElement: Bool { xmlTextReaderIsEmptyElement(handle) == 1 }

    /// The value of a text node, a comment or a processing instruction.
    public var value: String? { xmlTextReaderConstValue(handle).map { String(cString: $0) } }

    /// An attribute of the current element; without `namespace`, by qualified name.
    public func attribute(_ name: String, namespace: String? = nil) -> String? {
        let raw = namespace.map { xmlTextReaderGetAttributeNs(handle, name, $0) } ?? xmlTextReaderGetAttribute(handle, name)
        guard let raw else { return nil }
        defer { ketenzicht_xmlFree(raw) }
        return String(cString: raw)
    }

    /// The text content of the current (small) element; expands it in memory.
    public func textContent() -> String? {
        guard let raw = parsing({ xmlTextReaderReadString(handle) }) else { return nil }
        defer { ketenzicht_xmlFree(raw) }
        return String(cString: raw)
    }

    /// The current element as XML text, for error reports. Expands the element in memory: only
    /// for small elements, and only at the start tag (children already passed are gone).
    public func outerXML() -> String? {
        guard let raw = parsing({ xmlTextReaderReadOuterXml(handle) }) else { return nil }
        defer { ketenzicht_xmlFree(raw) }
        return String(cString: raw)
    }

    /// The line of the current node, or of the parser when there is none.
    public var lineNumber: Int? {
        if let node = xmlTextReaderCurrentNode(handle) {
            let line = Self.line(of: node)
            if line > 0 { return line }
        }
        return parserLineNumber
    }

    private var parserLineNumber: Int? {
        let line = Int(xmlTextReaderGetParserLineNumber(handle))
        return line > 0 ? line : nil
    }

    /// Bytes of the input the parser has consumed, for progress reports.
    public var bytesConsumed: Int { max(0, Int(xmlTextReaderByteConsumed(handle))) }

    /// The size of the input when known (files, byte buffers).
    public var totalBytes: Int? { feeder.totalBytes }

    /// Why parsing stopped, once `read()` has answered `.failed`.
    public var fatalIssue: XMLIssue? {
        if let line = feeder.doctypeLine {
            return XMLIssue(kind: .fatal, message: "DOCTYPE declarations are not allowed (no DTDs, no entities)", line: line)
        }
        if let reason = feeder.readError {
            return XMLIssue(kind: .fatal, message: "read error: \(reason)", line: parserLineNumber)
        }
        if let breach = feeder.breach {
            return XMLIssue(kind: .fatal, message: breach, line: parserLineNumber)
        }
        if let refusal { return refusal }
        return diagnostics.fatal.map(describingTruncation)
    }

    /// libxml2 words an input that simply stops in many ways ("Extra content at the end of the
    /// document", "Specification mandates value for attribute …"), none of which says so. An error
    /// on the last line of an input that does not end with the root's end tag is a truncation.
    private func describingTruncation(_ issue: XMLIssue) -> XMLIssue {
        guard feeder.reachedEnd, let line = issue.line, line >= feeder.lastContentLine,
              let rootName = diagnostics.root?.pointee.name.map({ String(cString: $0) }),
              !feeder.endsWithEndTag(of: rootName)
        else { return issue }
        return XMLIssue(kind: .fatal, message: "truncated: the input ends before the closing </\(rootName)>", line: line)
    }

    /// Recoverable errors not raised inside a child of the root (on the root itself, or text
    /// directly in it). Taking them clears them.
    public func takeUnattributedIssues() -> [XMLIssue] {
        defer { diagnostics.unattributed.removeAll() }
        return diagnostics.unattributed
    }

    // MARK: Copying elements

    /// Copies the current element with its subtree, reading through it node by node so that
    /// memory stays flat; on return the reader stands on the element's end (or on the element
    /// itself when it is empty). An element of more than `maxNodes` elements is copied only in
    /// part and carries an issue saying so. Answers nil when parsing fails inside the element.
    public func readElement(maxNodes: Int = 10_000) -> XMLElement? {
        guard nodeKind == .element, let start = xmlTextReaderCurrentNode(handle) else { return nil }
        let startDepth = depth
        var stack: [XMLElement] = []
        stack.reserveCapacity(4)
        stack.append(shell(of: start))
        var nodes = 1
        var truncated = false
        // Depth of an over-budget element whose subtree is being read past without copying.
        var skipping: Int?
        if !isEmptyElement {
            reading: while true {
                guard read() == .node else { return nil }
                let kind = nodeKind
                if let skipDepth = skipping {
                    if kind == .endElement, depth == skipDepth { skipping = nil }
                    continue
                }
                switch kind {
                case .element:
                    nodes += 1
                    if nodes > maxNodes {
                        truncated = true
                        if !isEmptyElement { skipping = depth }
                        continue
                    }
                    guard let node = xmlTextReaderCurrentNode(handle) else { continue }
                    let child = shell(of: node)
                    if isEmptyElement {
                        stack[stack.count - 1].children.append(child)
                    } else {
                        stack.append(child)
                    }
                case .endElement:
                    if depth == startDepth { break reading }
                    let done = stack.removeLast()
                    stack[stack.count - 1].children.append(done)
                case .text, .cdata, .whitespace:
                    if let text = value { stack[stack.count - 1].appendText(text) }
                default:
                    continue
                }
            }
        }
        var element = stack.removeLast()
        if truncated {
            element.issues.append(XMLIssue(kind: .error, message: "element holds more than \(maxNodes) elements; the rest was skipped", line: element.line))
        }
        if startDepth == 1 {
            element.issues.insert(contentsOf: diagnostics.take(for: start), at: 0)
            diagnostics.markCopied(start)
        }
        return element
    }

    /// Moves past the current element as `readElement()` does, without copying it, for a
    /// caller that has already decoded it another way (after `XMLEventScanner` handed over):
    /// it is never handed out again, not even by `completeTopLevelElementsAfterFailure()`,
    /// which it is marked for even when parsing fails inside it. Answers false when it does.
    public func passOverElement() -> Bool {
        guard nodeKind == .element, let start = xmlTextReaderCurrentNode(handle) else { return false }
        let startDepth = depth
        defer {
            if startDepth == 1 {
                _ = diagnostics.take(for: start)
                diagnostics.markCopied(start)
            }
        }
        guard !isEmptyElement else { return true }
        while true {
            guard read() == .node else { return false }
            if nodeKind == .endElement, depth == startDepth { return true }
        }
    }

    /// After a fatal error: the children of the root that libxml2 had parsed completely but the
    /// reader had not reached yet. libxml2 parses ahead of the reader, so without this a good
    /// event just before a syntax error would be lost with it.
    public func completeTopLevelElementsAfterFailure(maxNodes: Int = 10_000) -> [XMLElement] {
        guard finished, let root = diagnostics.root else { return [] }
        var next = root.pointee.children
        if let current = xmlTextReaderCurrentNode(handle), current != root {
            var node = current
            var underRoot = false
            while let parent = node.pointee.parent {
                if parent == root { underRoot = true; break }
                node = parent
            }
            if underRoot { next = node }
        }
        var elements: [XMLElement] = []
        while let node = next {
            next = node.pointee.next
            guard node.pointee.type == XML_ELEMENT_NODE else { continue }
            if node == diagnostics.incompleteTopLevel { break }
            if diagnostics.wasCopied(node) { continue }
            var budget = maxNodes - 1
            var element = copyTree(node, budget: &budget)
            if budget < 0 {
                element.issues.append(XMLIssue(kind: .error, message: "element holds more than \(maxNodes) elements; the rest was skipped", line: element.line))
            }
            element.issues.insert(contentsOf: diagnostics.take(for: node), at: 0)
            diagnostics.markCopied(node)
            elements.append(element)
        }
        return elements
    }

    private func copyTree(_ node: UnsafeMutablePointer<xmlNode>, budget: inout Int) -> XMLElement {
        var element = shell(of: node)
        var child = node.pointee.children
        while let current = child {
            switch current.pointee.type {
            case XML_ELEMENT_NODE:
                budget -= 1
                if budget >= 0 { element.children.append(copyTree(current, budget: &budget)) }
            case XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
                if let content = current.pointee.content { element.appendText(String(cString: content)) }
            default:
                break
            }
            child = current.pointee.next
        }
        return element
    }

    private func shell(of node: UnsafeMutablePointer<xmlNode>) -> XMLElement {
        var count = 0
        var property = node.pointee.properties
        while let attribute = property {
            count += 1
            property = attribute.pointee.next
        }
        var attributes: [XMLElement.Attribute] = []
        attributes.reserveCapacity(count)
        var hasInstanceAttribute = false
        property = node.pointee.properties
        while let attribute = property {
            let value: String
            if let text = attribute.pointee.children, text.pointee.next == nil, text.pointee.type == XML_TEXT_NODE, let content = text.pointee.content {
                value = String(cString: content)
            } else if let joined = xmlNodeListGetString(node.pointee.doc, attribute.pointee.children, 1) {
                value = String(cString: joined)
                ketenzicht_xmlFree(joined)
            } else {
                value = ""
            }
            let namespace = attribute.pointee.ns?.pointee.href.map { names.namespace($0) }
            if namespace == Self.schemaInstanceNamespace { hasInstanceAttribute = true }
            attributes.append(XMLElement.Attribute(
                localName: attribute.pointee.name.map { names.name($0, in: node.pointee.doc) } ?? "",
                namespaceURI: namespace,
                value: value
            ))
            property = attribute.pointee.next
        }
        var element = XMLElement(
            localName: node.pointee.name.map { names.name($0, in: node.pointee.doc) } ?? "",
            namespaceURI: node.pointee.ns?.pointee.href.map { names.namespace($0) },
            attributes: attributes,
            line: Self.line(of: node)
        )
        if hasInstanceAttribute { element.namespaceScope = Self.namespaceScope(of: node) }
        return element
    }

    static let schemaInstanceNamespace = "http://www.w3.org/2001/XMLSchema-instance"

    private static func namespaceScope(of node: UnsafeMutablePointer<xmlNode>) -> [XMLElement.NamespaceDeclaration] {
        guard let list = xmlGetNsList(node.pointee.doc, node) else { return [] }
        defer { ketenzicht_xmlFree(list) }
        var declarations: [XMLElement.NamespaceDeclaration] = []
        var index = 0
        while let namespace = list[index] {
            if let href = namespace.pointee.href {
                declarations.append(XMLElement.NamespaceDeclaration(prefix: namespace.pointee.prefix.map { String(cString: $0) }, uri: String(cString: href)))
            }
            index += 1
        }
        return declarations
    }

    /// Whether the current element carries an attribute in `namespace`.
    public func hasAttribute(inNamespace namespace: String) -> Bool {
        guard let node = xmlTextReaderCurrentNode(handle), node.pointee.type == XML_ELEMENT_NODE else { return false }
        var property = node.pointee.properties
        while let attribute = property {
            if let href = attribute.pointee.ns?.pointee.href, String(cString: href) == namespace { return true }
            property = attribute.pointee.next
        }
        return false
    }

    private static func line(of node: UnsafeMutablePointer<xmlNode>) -> Int {
        let short = Int(node.pointee.line)
        return short > 0 && short < 65535 ? short : Int(xmlGetLineNo(node))
    }
}

private let diagnosticsCallback: xmlStructuredErrorFunc = { context, error in
    guard let context, let error else { return }
    Unmanaged<Diagnostics>.fromOpaque(context).takeUnretainedValue().record(error)
}

/// Collects libxml2's errors for one reader and tags each on the child of the root being parsed
/// when it was raised (through the node's `_private` field, which libxml2 leaves to
/// applications and clears when it recycles a node).
private final class Diagnostics {
    var root: UnsafeMutablePointer<xmlNode>?
    var fatal: XMLIssue?
    /// The child of the root that was still open when the fatal error struck.
    var incompleteTopLevel: UnsafeMutablePointer<xmlNode>?
    var unattributed: [XMLIssue] = []
    private var byElement: [Int: [XMLIssue]] = [:]
    private var nextKey = 1
    private static let copiedMark = Int.max

    func record(_ error: UnsafeMutablePointer<xmlError>) {
        var level = error.pointee.level
        guard level == XML_ERR_ERROR || level == XML_ERR_FATAL else { return }
        let domain = error.pointee.domain
        var message = error.pointee.message.map { cleanLibXML2Message($0) } ?? "unknown libxml2 error"
        let line = error.pointee.line > 0 ? Int(error.pointee.line) : nil
        let column = error.pointee.int2 > 0 ? Int(error.pointee.int2) : nil
        if let limit = Self.limitMessage(for: message) {
            // A parser limit stops the parse whatever level libxml2 gives it; say which limit.
            message = limit
            level = XML_ERR_FATAL
        }
        if level == XML_ERR_FATAL {
            guard fatal == nil else { return }
            fatal = XMLIssue(kind: .fatal, message: message, line: line, column: column)
            let last = root?.pointee.last
            if domain == Int32(XML_FROM_PARSER.rawValue) || domain == Int32(XML_FROM_NAMESPACE.rawValue),
               let context = error.pointee.ctxt {
                // Parser errors carry the parser context: more than one open element means a
                // child of the root was cut off mid-way.
                let parser = context.assumingMemoryBound(to: xmlParserCtxt.self)
                incompleteTopLevel = parser.pointee.nodeNr >= 2 ? last : nil
            } else {
                incompleteTopLevel = last
            }
            return
        }
        let kind: XMLIssue.Kind = domain == Int32(XML_FROM_SCHEMASV.rawValue) ? .schemaValidity : .error
        let issue = XMLIssue(kind: kind, message: message, line: line, column: column)
        guard let last = root?.pointee.last, last.pointee.type == XML_ELEMENT_NODE else {
            unattributed.append(issue)
            return
        }
        var key = Int(bitPattern: last.pointee._private)
        if key == 0 || key == Self.copiedMark {
            key = nextKey
            nextKey += 1
            last.pointee._private = UnsafeMutableRawPointer(bitPattern: key)
        }
        byElement[key, default: []].append(issue)
    }

    /// libxml2's own limits (without XML_PARSE_HUGE) in words that do not send the reader after a
    /// parser option they cannot set.
    static func limitMessage(for message: String) -> String? {
        if message.hasPrefix("Excessive depth in document") { return "too deep: elements nested more than 256 levels" }
        if message.hasSuffix("huge text node") { return "too long: more than 10000000 bytes of text in one element" }
        return nil
    }

    func take(for node: UnsafeMutablePointer<xmlNode>) -> [XMLIssue] {
        let key = Int(bitPattern: node.pointee._private)
        guard key != 0, key != Self.copiedMark else { return [] }
        return byElement.removeValue(forKey: key) ?? []
    }

    func markCopied(_ node: UnsafeMutablePointer<xmlNode>) {
        node.pointee._private = UnsafeMutableRawPointer(bitPattern: Self.copiedMark)
    }

    func wasCopied(_ node: UnsafeMutablePointer<xmlNode>) -> Bool {
        Int(bitPattern: node.pointee._private) == Self.copiedMark
    }
}

/// Hands the input to libxml2. Until the reader has met the root element it delivers one byte
/// per call: libxml2 then parses no further than the root's start tag, so the root is known
/// before any child is parsed and every later error can be tagged on its element. Those bytes
/// also pass a small scanner that refuses a DOCTYPE before libxml2 sees its internal subset.
///
/// Everything delivered is also checked for what libxml2 2.9 handles badly: input that is not
/// ASCII-compatible (the DOCTYPE scanner reads bytes as ASCII) and markup so long that it can
/// only be thousands of attributes, which libxml2 checks for duplicates pairwise.
final class ByteFeeder {
    private let fd: Int32
    private let bytes: [UInt8]
    let totalBytes: Int?
    private var delivered = 0
    var trickle = true
    private var prolog = PrologScanner()
    private(set) var doctypeLine: Int?
    private(set) var readError: String?
    /// Why delivery stopped short of the end: the input is not UTF-8, or markup is too long.
    private(set) var breach: String?
    /// A pathological prolog (megabytes of comments) is not trickled past this point.
    private static let trickleLimit = 65_536
    /// The longest run from a `<` to the next `>`. A canonical event's start tag is a few
    /// kilobytes at most; 64 KiB of attributes keep libxml2's pairwise duplicate check under a
    /// second, where a few megabytes of them would stall it for minutes.
    static let maxMarkupBytes = 65_536
    /// Where the `<` of markup not yet closed by a `>` was delivered.
    private var markupStart: Int?
    private var firstBytes: [UInt8] = []
    /// Whether to keep `lastContentLine` and `endsWithEndTag(of:)` up to date.
    var tracksLines = true
    /// Read to the end: what libxml2 says next may be about a truncated input.
    private(set) var reachedEnd = false
    private var newlines = 0
    /// The last bytes delivered, to see whether the input ends with the root's end tag.
    private var tail: [UInt8] = []

    init(fd: Int32, totalBytes: Int) {
        self.fd = fd
        self.bytes = []
        self.totalBytes = totalBytes
    }

    init(bytes: [UInt8]) {
        self.fd = -1
        self.bytes = bytes
        self.totalBytes = bytes.count
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    func read(into buffer: UnsafeMutablePointer<CChar>, capacity: Int) -> Int32 {
        guard doctypeLine == nil, readError == nil, breach == nil else { return -1 }
        let scanning = trickle && delivered < Self.trickleLimit
        let limit = scanning ? 1 : capacity
        var count: Int
        if fd >= 0 {
            repeat { count = systemRead(fd, buffer, limit) } while count < 0 && errno == EINTR
            if count < 0 {
                readError = String(cString: strerror(errno))
                return -1
            }
        } else {
            count = min(limit, bytes.count - delivered)
            if count > 0 {
                bytes.withUnsafeBytes { source in
                    UnsafeMutableRawPointer(buffer).copyMemory(from: source.baseAddress! + delivered, byteCount: count)
                }
            }
        }
        if scanning, count > 0, prolog.feed(UInt8(bitPattern: buffer[0])) == .doctype {
            doctypeLine = prolog.line
            return -1
        }
        if count == 0 { reachedEnd = true }
        let chunk = UnsafeBufferPointer(start: UnsafeRawPointer(buffer).assumingMemoryBound(to: UInt8.self), count: count)
        if let problem = inspect(chunk) {
            breach = problem
            return -1
        }
        delivered += count
        return Int32(count)
    }

    /// Checks the next `chunk` (to be delivered at offset `delivered`) and keeps the line count
    /// and tail; answers why it must not be delivered, or nil.
    private func inspect(_ chunk: UnsafeBufferPointer<UInt8>) -> String? {
        guard let base = chunk.baseAddress, chunk.count > 0 else { return nil }
        if firstBytes.count < 2 {
            firstBytes += chunk.prefix(2 - firstBytes.count)
            // UTF-16 and UTF-32 start with a byte order mark or put a NUL next to the first `<`.
            if firstBytes.count == 2, firstBytes[0] == 0x00 || firstBytes[0] == 0xFE || firstBytes[0] == 0xFF || firstBytes[1] == 0x00 {
                return "not UTF-8: the input starts like UTF-16 or UTF-32; convert it to UTF-8"
            }
        }
        // Only the markup still open at the end of the chunk can grow too long, and it starts at
        // the first `<` after the chunk's last `>` (or earlier, when no `>` closes it here): two
        // scans per chunk rather than two per tag.
        var lastClose = chunk.count - 1
        while lastClose >= 0, chunk[lastClose] != 0x3E { lastClose -= 1 }
        if lastClose >= 0 || markupStart == nil {
            markupStart = nil
            let from = lastClose + 1
            if from < chunk.count, let found = memchr(base + from, 0x3C, chunk.count - from) {
                markupStart = delivered + base.distance(to: found.assumingMemoryBound(to: UInt8.self))
            }
        }
        if let start = markupStart, delivered + chunk.count - start > Self.maxMarkupBytes {
            return "too long: a tag of more than \(Self.maxMarkupBytes) bytes (no event needs one, and thousands of attributes would stall the parser)"
        }
        // Lines and the tail only serve the reader's truncation message; the scanner hands a
        // truncated input over to the reader.
        guard tracksLines else { return nil }
        var position = 0
        while position < chunk.count, let found = memchr(base + position, 0x0A, chunk.count - position) {
            newlines += 1
            position = base.distance(to: found.assumingMemoryBound(to: UInt8.self)) + 1
        }
        tail = Array((tail + chunk.suffix(256)).suffix(256))
        return nil
    }

    /// The line of the last byte that is not whitespace.
    var lastContentLine: Int {
        let trailing = tail.reversed().prefix { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        return newlines + 1 - trailing.filter { $0 == 0x0A }.count
    }

    /// Whether the input ends with `</name>` or `</prefix:name>` (and whitespace).
    func endsWithEndTag(of name: String) -> Bool {
        var text = Substring(String(decoding: tail, as: UTF8.self))
        while let last = text.last, last.isWhitespace { text.removeLast() }
        guard text.hasSuffix(">") else { return false }
        text.removeLast()
        while let last = text.last, last.isWhitespace { text.removeLast() }
        guard text.hasSuffix(name) else { return false }
        text.removeLast(name.count)
        return text.hasSuffix("</") || (text.hasSuffix(":") && text.contains("</"))
    }
}

/// Recognises `<!DOCTYPE` in the prolog, outside comments and processing instructions.
private struct PrologScanner {
    enum Verdict { case fine, doctype }
    private enum State { case text, open, bang, bangDash, comment, commentDash, commentDashDash, instruction, instructionQuestion, done }
    private var state = State.text
    private(set) var line = 1

    mutating func feed(_ byte: UInt8) -> Verdict {
        if byte == 0x0A { line += 1 }
        switch state {
        case .done: break
        case .text: if byte == UInt8(ascii: "<") { state = .open }
        case .open:
            switch byte {
            case UInt8(ascii: "?"): state = .instruction
            case UInt8(ascii: "!"): state = .bang
            default: state = .done
            }
        case .bang:
            if byte == UInt8(ascii: "-") { state = .bangDash } else if byte == UInt8(ascii: "D") { return .doctype } else { state = .done }
        case .bangDash: state = byte == UInt8(ascii: "-") ? .comment : .done
        case .comment: if byte == UInt8(ascii: "-") { state = .commentDash }
        case .commentDash: state = byte == UInt8(ascii: "-") ? .commentDashDash : .comment
        case .commentDashDash:
            if byte == UInt8(ascii: ">") { state = .text } else if byte != UInt8(ascii: "-") { state = .comment }
        case .instruction: if byte == UInt8(ascii: "?") { state = .instructionQuestion }
        case .instructionQuestion:
            if byte == UInt8(ascii: ">") { state = .text } else if byte != UInt8(ascii: "?") { state = .instruction }
        }
        return .fine
    }
}

private func systemRead(_ fd: Int32, _ buffer: UnsafeMutablePointer<CChar>, _ count: Int) -> Int {
    read(fd, buffer, count)
}

/// Swift strings for the names and namespace URIs a document repeats on every element, made
/// once instead of once per node.
private final class NameCache {
    private static let slots = 256
    // Names from the parser's dictionary are interned: while the dictionary lives (as long as
    // the reader), one pointer always holds the same text, so the pointer alone is the key.
    private let keys = UnsafeMutablePointer<UnsafePointer<xmlChar>?>.allocate(capacity: slots)
    private let values = UnsafeMutablePointer<String>.allocate(capacity: slots)
    private var lastNamespace: String?
    private var lastNamespaceBytes: [CChar] = [0]

    init() {
        keys.initialize(repeating: nil, count: Self.slots)
        values.initialize(repeating: "", count: Self.slots)
    }

    deinit {
        values.deinitialize(count: Self.slots)
        values.deallocate()
        keys.deallocate()
    }

    func name(_ pointer: UnsafePointer<xmlChar>, in document: UnsafeMutablePointer<xmlDoc>?) -> String {
        let slot = (Int(bitPattern: pointer) >> 3) & (Self.slots - 1)
        if keys[slot] == pointer { return values[slot] }
        let name = String(cString: pointer)
        if let dictionary = document?.pointee.dict, xmlDictOwns(dictionary, pointer) == 1 {
            keys[slot] = pointer
            values[slot] = name
        }
        return name
    }

    /// Namespace URIs are copied per declaration, not interned, so a pointer may be reused for
    /// other text; the last URI is matched by content.
    func namespace(_ pointer: UnsafePointer<xmlChar>) -> String {
        let matches = pointer.withMemoryRebound(to: CChar.self, capacity: 1) { text in
            lastNamespaceBytes.withUnsafeBufferPointer { strcmp(text, $0.baseAddress!) == 0 }
        }
        if matches, let lastNamespace { return lastNamespace }
        let uri = String(cString: pointer)
        lastNamespace = uri
        lastNamespaceBytes = Array(uri.utf8CString)
        return uri
    }
}
