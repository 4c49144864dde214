/// One diagnostic from libxml2, copied out of its error structure.
public struct XMLIssue: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The document is not well-formed (or not readable): parsing stops here.
        case fatal
        /// The document is well-formed but breaks the XML Schema.
        case schemaValidity
        /// Any other recoverable error (a namespace problem, say).
        case error
    }

    public var kind: Kind
    /// libxml2's message without its trailing newline.
    public var message: String
    public var line: Int?
    public var column: Int?

    public init(kind: Kind, message: String, line: Int?, column: Int? = nil) {
        self.kind = kind
        self.message = message
        self.line = line
        self.column = column
    }

    public var isFatal: Bool { kind == .fatal }

    public var description: String {
        line.map { "line \($0): \(message)" } ?? message
    }
}

public struct XMLReaderError: Error, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
