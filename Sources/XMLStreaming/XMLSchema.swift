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
