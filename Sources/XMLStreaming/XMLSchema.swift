internal import CLibXML2

/// A compiled XML Schema, reusable by any number of readers.
///
/// `@unchecked Sendable`: libxml2 treats a compiled `xmlSchema` as read-only; every validation
/// keeps its state in its own validation context, so readers on several threads may share one.
public final class XMLSchema: @unchecked Sendable {
    let pointer: xmlSchemaPtr

    /// Compiles a schema held in memory. `baseURL` only names it in messages; a schema that
    /// includes or imports other files must be compiled with `init(contentsOfFile:)`.
    public init(xsd: String, baseURL: String = "schema.xsd") throws(XMLReaderError) {
        LibXML2.ensureInitialised()
        var bytes = Array(xsd.utf8)
        let collector = SchemaErrorCollector()
        let parsed: xmlSchemaPtr? = bytes.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { base in
                guard let context = xmlSchemaNewMemParserCtxt(base, Int32(buffer.count)) else { return nil }
                defer { xmlSchemaFreeParserCtxt(context) }
                return Self.compile(context, collector: collector)
            }
        }
        guard let parsed else {
            throw XMLReaderError("\(baseURL): schema does not compile: \(collector.summary)")
        }
        pointer = parsed
    }

    /// Compiles a schema file; its `xs:include` and `xs:import` may read local files (never the
    /// network) while it compiles.
    public init(contentsOfFile path: String) throws(XMLReaderError) {
        let collector = SchemaErrorCollector()
        let parsed: xmlSchemaPtr? = LibXML2.allowingLocalFiles {
            guard let context = xmlSchemaNewParserCtxt(path) else { return nil }
            defer { xmlSchemaFreeParserCtxt(context) }
            return Self.compile(context, collector: collector)
        }
        guard let parsed else {
            throw XMLReaderError("\(path): schema does not compile: \(collector.summary)")
        }
        pointer = parsed
    }

    deinit {
        xmlSchemaFree(pointer)
    }

    /// Validates a copied element against this schema's global declaration of it: the same
    /// messages libxml2 gives while streaming, for callers that check the common shapes of a
    /// fixed schema themselves and only need libxml2's verdict (and wording) for the rest.
    ///
    /// The copy is rebuilt as a small tree; comments and processing instructions, which the
    /// validator ignores, are gone, and each text run is put back between the same children.
    /// One difference remains: while streaming, libxml2 hands the validator long or
    /// entity-split text in several pieces, and character content where none is allowed is then
    /// reported once per piece; here it is reported once per run.
    public func issues(in element: XMLElement) -> [XMLIssue] {
        LibXML2.ensureInitialised()
        guard let document = xmlNewDoc("1.0") else { return [Self.outOfMemory] }
        defer { xmlFreeDoc(document) }
        var prefixes = 0
        guard let root = Self.build(element, in: document, parent: nil, prefixes: &prefixes) else { return [Self.outOfMemory] }
        xmlDocSetRootElement(document, root)
        guard let context = xmlSchemaNewValidCtxt(pointer) else { return [Self.outOfMemory] }
        defer { xmlSchemaFreeValidCtxt(context) }
        let collector = ValidationIssueCollector()
        xmlSchemaSetValidStructuredErrors(context, { userData, error in
            guard let userData, let error else { return }
            Unmanaged<ValidationIssueCollector>.fromOpaque(userData).takeUnretainedValue().record(error)
        }, Unmanaged.passUnretained(collector).toOpaque())
        _ = xmlSchemaValidateDoc(context, document)
        return collector.issues
    }

    private static let outOfMemory = XMLIssue(kind: .error, message: "out of memory while validating", line: nil)

    private static func build(_ element: XMLElement, in document: xmlDocPtr, parent: xmlNodePtr?, prefixes: inout Int) -> xmlNodePtr? {
        guard let node = xmlNewDocNode(document, nil, element.localName, nil) else { return nil }
        if let parent { xmlAddChild(parent, node) }
        for declaration in element.namespaceScope {
            _ = xmlNewNs(node, declaration.uri, declaration.prefix)
        }
        func namespace(_ uri: String) -> xmlNsPtr? {
            if let found = xmlSearchNsByHref(document, node, uri) { return found }
            // Prefixes of the original are gone; the validator names namespaces by URI.
            prefixes += 1
            return xmlNewNs(node, uri, "kz\(prefixes)")
        }
        if let uri = element.namespaceURI { xmlSetNs(node, namespace(uri)) }
        for attribute in element.attributes {
            if let uri = attribute.namespaceURI {
                xmlNewNsProp(node, namespace(uri), attribute.localName, attribute.value)
            } else {
                // An attribute whose prefix was not declared keeps its qualified name in the
                // copy, but the streaming validator is given its local part.
                let local = attribute.localName.split(separator: ":", omittingEmptySubsequences: false).last.map(String.init) ?? attribute.localName
                xmlNewProp(node, local, attribute.value)
            }
        }
        let utf8 = Array(element.text.utf8)
        var runs = element.textRuns
        if runs.first.map({ $0.childrenBefore > 0 || $0.offset > 0 }) ?? !utf8.isEmpty {
            runs.insert(XMLElement.TextRun(childrenBefore: 0, offset: 0), at: 0)
        }
        var nextRun = 0
        func addRuns(before child: Int) {
            while nextRun < runs.count, runs[nextRun].childrenBefore <= child {
                let start = runs[nextRun].offset
                let end = nextRun + 1 < runs.count ? runs[nextRun + 1].offset : utf8.count
                nextRun += 1
                guard end > start else { continue }
                if node.pointee.last?.pointee.type == XML_TEXT_NODE {
                    // xmlAddChild merges adjacent text; the original had something between.
                    xmlAddChild(node, xmlNewDocComment(document, ""))
                }
                let text = utf8.withUnsafeBufferPointer { xmlNewDocTextLen(document, $0.baseAddress! + start, Int32(end - start)) }
                xmlAddChild(node, text)
            }
        }
        for (index, child) in element.children.enumerated() {
            addRuns(before: index)
            guard build(child, in: document, parent: node, prefixes: &prefixes) != nil else { return nil }
        }
        addRuns(before: Int.max)
        return node
    }

    private static func compile(_ context: xmlSchemaParserCtxtPtr, collector: SchemaErrorCollector) -> xmlSchemaPtr? {
        xmlSchemaSetParserStructuredErrors(context, { userData, error in
            guard let userData, let error else { return }
            let collector = Unmanaged<SchemaErrorCollector>.fromOpaque(userData).takeUnretainedValue()
            if let message = error.pointee.message {
                collector.messages.append(cleanLibXML2Message(message))
            }
        }, Unmanaged.passUnretained(collector).toOpaque())
        return xmlSchemaParse(context)
    }
}

/// Keeps what a streaming reader's diagnostics would keep of a validation: errors, not warnings.
private final class ValidationIssueCollector {
    var issues: [XMLIssue] = []

    func record(_ error: UnsafePointer<xmlError>) {
        let level = error.pointee.level
        guard level == XML_ERR_ERROR || level == XML_ERR_FATAL else { return }
        let message = error.pointee.message.map { cleanLibXML2Message($0) } ?? "unknown libxml2 error"
        let kind: XMLIssue.Kind = error.pointee.domain == Int32(XML_FROM_SCHEMASV.rawValue) ? .schemaValidity : .error
        issues.append(XMLIssue(kind: kind, message: message, line: nil))
    }
}

private final class SchemaErrorCollector {
    var messages: [String] = []

    var summary: String { messages.isEmpty ? "unknown error" : messages.prefix(5).joined(separator: "; ") }
}

/// libxml2 messages end in a newline and sometimes carry a byte dump on a second line.
func cleanLibXML2Message(_ raw: UnsafePointer<CChar>) -> String {
    var text = String(cString: raw)
    while let last = text.last, last == "\n" || last == " " { text.removeLast() }
    return text.split(separator: "\n", omittingEmptySubsequences: true).joined(separator: "; ")
}
