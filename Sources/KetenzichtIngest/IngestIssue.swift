public import KetenzichtCore

/// Where an event came from: a file and line, or a socket request (SPEC §3).
public struct InputLocation: Sendable, Equatable, CustomStringConvertible {
    public var origin: String
    public var line: Int?

    public init(origin: String, line: Int? = nil) {
        self.origin = origin
        self.line = line
    }

    public var description: String { line.map { "\(origin):\($0)" } ?? origin }
}

/// A problem with one field of one event: what the decoders and the assembler throw.
public struct FieldProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var field: String?
    public var message: String

    public init(field: String?, _ message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { field.map { "\($0): \(message)" } ?? message }
}

/// One reported problem, naming the location, the event where known, the field and the reason.
public struct IngestIssue: Sendable, Equatable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, warning }

    public var severity: Severity
    public var location: InputLocation
    public var event: EventIdentity?
    public var field: String?
    public var message: String

    public init(severity: Severity = .error, location: InputLocation, event: EventIdentity?, field: String?, message: String) {
        self.severity = severity
        self.location = location
        self.event = event
        self.field = field
        self.message = message
    }

    public init(severity: Severity = .error, location: InputLocation, event: EventIdentity?, problem: FieldProblem) {
        self.init(severity: severity, location: location, event: event, field: problem.field, message: problem.message)
    }

    /// `file.ndjson:12: event e-991 (urn:…): data.from: …`. Everything taken from the input is
    /// redacted of BSN-shaped digits; the location (a path the operator chose) is kept as it is.
    public var description: String {
        var text = ""
        if severity == .warning { text += "warning: " }
        if let event { text += "event \(event): " }
        if let field { text += "\(field): " }
        return "\(location): " + redactingBSNs(text + message)
    }
}
