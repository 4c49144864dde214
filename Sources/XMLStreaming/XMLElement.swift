/// A small element copied out of the stream: its attributes, child elements and direct text.
/// Readers hand these out for event-sized elements so that callers never hold libxml2 nodes,
/// which the reader frees as it moves on.
public struct XMLElement: Sendable, Equatable {
    public struct Attribute: Sendable, Equatable {
        public var localName: String
        public var namespaceURI: String?
        public var value: String

        public init(localName: String, namespaceURI: String? = nil, value: String) {
            self.localName = localName
            self.namespaceURI = namespaceURI
            self.value = value
        }
    }

    public var localName: String
    public var namespaceURI: String?
    public var attributes: [Attribute]
    public var children: [XMLElement]
    /// The concatenated text and CDATA directly inside this element (not inside its children).
    public var text: String
    /// The line of the start tag (approximate beyond line 65,535, where libxml2 stops counting
    /// per element).
    public var line: Int
    /// Schema-validity and other recoverable errors raised while this element was parsed. Only
    /// filled for children of the document root, which is where events live; a child's errors
    /// are reported on its top-level ancestor.
    public var issues: [XMLIssue]
    /// Where `text` was split between child elements: libxml2's schema validator reports text
    /// where it stands among the children, so re-validating a copy (`XMLSchema.issues(in:)`)
    /// needs the runs back in place. The first run, when it came before any child, is implicit.
    var textRuns: [TextRun] = []
    /// The namespace declarations in scope, kept only on elements with an `xsi:` attribute,
    /// whose QName values (`xsi:type="k:StatusEvent"`) cannot be resolved without them.
    var namespaceScope: [NamespaceDeclaration] = []

    struct TextRun: Sendable, Equatable {
        /// Child elements before the run.
        var childrenBefore: Int
        /// Where the run starts in `text`, in UTF-8 bytes.
        var offset: Int
    }

    struct NamespaceDeclaration: Sendable, Equatable {
        var prefix: String?
        var uri: String
    }

    /// Appends one text node's content, remembering its place among the children.
    mutating func appendText(_ run: String) {
        guard !run.isEmpty else { return }
        if !children.isEmpty || !text.isEmpty {
            textRuns.append(TextRun(childrenBefore: children.count, offset: text.utf8.count))
        }
        text += run
    }

    public init(localName: String, namespaceURI: String? = nil, attributes: [Attribute] = [], children: [XMLElement] = [], text: String = "", line: Int = 0, issues: [XMLIssue] = []) {
        self.localName = localName
        self.namespaceURI = namespaceURI
        self.attributes = attributes
        self.children = children
        self.text = text
        self.line = line
        self.issues = issues
    }

    /// The value of an attribute; without `namespace`, only an unqualified attribute matches.
    public func attribute(_ name: String, namespace: String? = nil) -> String? {
        // Lengths first: they are stored in the string, and a mismatch would otherwise go
        // through the general (Unicode) comparison, for every other attribute of the element.
        let length = name.utf8.count
        for attribute in attributes where attribute.localName.utf8.count == length && attribute.localName == name && attribute.namespaceURI == namespace {
            return attribute.value
        }
        return nil
    }

    /// The element written back as XML: the same information, not necessarily the same bytes
    /// (attribute quoting and namespace prefixes are normalised). Used to quarantine a refused
    /// element without holding the original bytes of a multi-gigabyte stream.
    public var xml: String {
        var out = ""
        write(to: &out, parentNamespace: nil)
        return out
    }

    private func write(to out: inout String, parentNamespace: String?) {
        out += "<" + localName
        if namespaceURI != parentNamespace {
            out += " xmlns=\"" + Self.escape(namespaceURI ?? "", attribute: true) + "\""
        }
        var prefixCount = 0
        for attribute in attributes {
            if let namespace = attribute.namespaceURI {
                prefixCount += 1
                let prefix = "a\(prefixCount)"
                out += " xmlns:\(prefix)=\"" + Self.escape(namespace, attribute: true) + "\" \(prefix):"
            } else {
                out += " "
            }
            out += attribute.localName + "=\"" + Self.escape(attribute.value, attribute: true) + "\""
        }
        if children.isEmpty && text.isEmpty {
            out += "/>"
            return
        }
        out += ">" + Self.escape(text, attribute: false)
        for child in children { child.write(to: &out, parentNamespace: namespaceURI) }
        out += "</" + localName + ">"
    }

    static func escape(_ text: String, attribute: Bool) -> String {
        guard text.utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) else {
            return text
        }
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"" where attribute: out += "&quot;"
            case "\n" where attribute: out += "&#10;"
            case "\r": out += "&#13;"
            case "\t" where attribute: out += "&#9;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
