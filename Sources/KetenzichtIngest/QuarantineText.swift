import KetenzichtCore

/// Refused input as the quarantine keeps it (SPEC §3, §4): enough to see what was refused and
/// why, nothing personal. Decoders hand over the offending text as it came, and senders put
/// client names, addresses and BSNs in extension attributes and unknown fields; so only the
/// fields Ketenzicht reads keep their values, a `bsn` never does, and BSN-shaped digits go
/// everywhere. Works on broken input too: it reads tokens, not a document.
public enum QuarantineText {
    /// What stands where a value (or an unknown field's name) was left out.
    public static let notKept = "(not kept)"
    static let redactedBSN = "*********"

    /// `raw` as it may be stored for input refused in `format`.
    public static func minimised(_ raw: String, format: InputFormat) -> String {
        switch format {
        case .cloudevents: redactingBSNs(cloudEvent(raw))
        case .xml: redactingBSNs(canonicalXMLElement(raw))
        // The iStandaarden decoder keeps only a product's codes, numbers and dates.
        case .ijw, .iwmo: redactingBSNs(raw)
        }
    }

    /// The data fields of each event type (SPEC §2.1); `bsn` is read but never kept.
    static let dataFields: [EventType: Set<String>] = [
        .partyRegistered: ["party", "name", "domain", "capacityPerWeek", "normDays", "regieEligible"],
        .caseAssessed: ["case", "zrm"],
        .referralCreated: ["referral", "case", "from", "to", "urgency", "lifeDomain", "dependsOn"],
        .referralAccepted: ["referral"],
        .referralStarted: ["referral"],
        .referralCompleted: ["referral", "outcome"],
        .referralRejected: ["referral", "reason"],
        .referralWithdrawn: ["referral", "reason"],
        .regieAssigned: ["case", "party"],
    ]

    /// The envelope attributes the decoder reads; `subject` and extensions may name a person.
    static let envelopeFields: Set<String> = ["specversion", "id", "source", "type", "time", "datacontenttype", "data"]

    // MARK: CloudEvents

    static func cloudEvent(_ text: String) -> String {
        let bytes = Array(text.utf8)
        // The type says which data fields are known; it may come after `data`, hence two passes.
        var finder = JSONTokenRedactor(bytes: bytes, dataFields: [])
        finder.run()
        let type = finder.eventType.flatMap(EventType.init(rawValue:))
        var redactor = JSONTokenRedactor(bytes: bytes, dataFields: type.flatMap { dataFields[$0] } ?? [])
        redactor.run()
        return String(decoding: redactor.output, as: UTF8.self)
    }

    // MARK: Canonical XML

    /// The element's XML as `XMLElement.xml` writes it (double-quoted, escaped attribute values;
    /// no comments): the event element with its known attributes and its known children.
    static func canonicalXMLElement(_ text: String) -> String {
        var reader = XMLTagReader(bytes: Array(text.utf8))
        var output = ""
        // Per open element: whether it (and so its text) is kept.
        var open: [(name: String, kept: Bool)] = []
        var eventType: EventType?
        while let token = reader.next() {
            switch token {
            case .text(let text):
                if open.last?.kept == true, open.count == 2 { output += text }
            case .end(let name):
                guard let element = open.popLast() else { return output + notKept }
                if element.kept { output += "</" + name + ">" }
            case .start(let name, let attributes, let selfClosing):
                let depth = open.count
                let parentKept = open.allSatisfy(\.kept)
                if depth == 0 { eventType = canonicalElementTypes[name] }
                let kept = parentKept && (depth == 0 || (depth == 1 && keptChildren(of: eventType).contains(name)))
                if kept {
                    output += "<" + name
                    for (attribute, value) in attributes {
                        guard let shown = keptAttribute(attribute, value, element: depth == 0 ? nil : name, type: eventType) else { continue }
                        output += " " + attribute + "=\"" + shown + "\""
                    }
                    output += selfClosing ? "/>" : ">"
                }
                if !selfClosing { open.append((name, kept)) }
            case .broken:
                return output + notKept
            }
        }
        return output
    }

    static let canonicalElementTypes: [String: EventType] = [
        "party": .partyRegistered, "assessment": .caseAssessed, "referral": .referralCreated,
        "accepted": .referralAccepted, "started": .referralStarted, "completed": .referralCompleted,
        "rejected": .referralRejected, "withdrawn": .referralWithdrawn, "regie": .regieAssigned,
    ]

    static func keptChildren(of type: EventType?) -> Set<String> {
        switch type {
        case .partyRegistered: ["name"]
        case .caseAssessed: ["score"]
        case .referralCreated: ["dependsOn"]
        case .referralRejected, .referralWithdrawn: ["reason"]
        default: []
        }
    }

    /// The value to show for an attribute of the event element (`element` nil) or of a kept
    /// child, or nil to leave the attribute out.
    static func keptAttribute(_ name: String, _ value: String, element: String?, type: EventType?) -> String? {
        switch element {
        case nil:
            if name == "xmlns" { return value == "urn:ketenzicht:exchange:1" ? value : notKept }
            if name == "bsn" { return redactedBSN }
            if ["id", "source", "time"].contains(name) { return value }
            let attributes = (type.flatMap { dataFields[$0] } ?? []).subtracting(["name", "reason", "dependsOn", "zrm"])
            return attributes.contains(name) ? value : nil
        case "dependsOn": return name == "ref" ? value : nil
        case "score": return name == "domain" || name == "value" ? value : nil
        default: return nil
        }
    }
}

/// Copies JSON text token by token, replacing every value outside the known fields (and the
/// name of every unknown field) by `"(not kept)"` and a `bsn` by asterisks. Structure, known
/// fields and whitespace are copied as they are, so a broken line stays recognisable.
struct JSONTokenRedactor {
    /// What the members (or elements) of a container are.
    enum Policy {
        /// The event object: envelope attributes.
        case envelope
        /// The event's `data` object.
        case data
        /// Inside a known field's value (a `zrm` object, a `dependsOn` list): all kept.
        case kept
        /// An outermost array (a batch), whose elements are events.
        case batch
        /// Nothing kept.
        case hidden
    }

    struct Frame {
        var isObject: Bool
        var policy: Policy
        /// In an object: whether the next string is a key.
        var expectingKey: Bool
        /// In an object: the policy of the value after the current key.
        var memberPolicy: Policy
        var memberIsBSN: Bool
        var memberName: String?
    }

    let bytes: [UInt8]
    let dataFields: Set<String>
    var output: [UInt8] = []
    /// The outermost object's `type`, when it is a plain string.
    var eventType: String?
    private var stack: [Frame] = []
    private var index = 0

    init(bytes: [UInt8], dataFields: Set<String>) {
        self.bytes = bytes
        self.dataFields = dataFields
        output.reserveCapacity(bytes.count)
    }

    mutating func run() {
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case 0x20, 0x09, 0x0A, 0x0D:
                output.append(byte)
                index += 1
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let (policy, isBSN) = valuePolicy()
                if policy == .hidden || isBSN {
                    skipContainer()
                    emitReplacement(isBSN: isBSN)
                } else {
                    let isObject = byte == UInt8(ascii: "{")
                    stack.append(Frame(isObject: isObject, policy: isObject && policy == .batch ? .envelope : policy, expectingKey: isObject, memberPolicy: .hidden, memberIsBSN: false, memberName: nil))
                    output.append(byte)
                    index += 1
                }
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if !stack.isEmpty { stack.removeLast() }
                output.append(byte)
                index += 1
            case UInt8(ascii: ":"):
                if !stack.isEmpty { stack[stack.count - 1].expectingKey = false }
                output.append(byte)
                index += 1
            case UInt8(ascii: ","):
                if let last = stack.last, last.isObject { stack[stack.count - 1].expectingKey = true }
                output.append(byte)
                index += 1
            case UInt8(ascii: "\""):
                let token = stringToken()
                if let frame = stack.last, frame.isObject, frame.expectingKey {
                    key(token)
                } else {
                    value(token, isString: true)
                }
            default:
                // A number, a literal or garbage: everything up to the next structural byte.
                let start = index
                while index < bytes.count, !Self.endsBareToken(bytes[index]) { index += 1 }
                let token = start..<max(index, start + 1)
                index = token.upperBound
                if let frame = stack.last, frame.isObject, frame.expectingKey {
                    key(token)
                } else {
                    value(token, isString: false)
                }
            }
        }
    }

    static func endsBareToken(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x20, 0x09, 0x0A, 0x0D, UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: "["), UInt8(ascii: "]"),
             UInt8(ascii: ":"), UInt8(ascii: ","), UInt8(ascii: "\""): true
        default: false
        }
    }

    /// The policy for a value starting here, and whether it stands in a `bsn` field.
    private func valuePolicy() -> (Policy, Bool) {
        guard let frame = stack.last else { return (.batch, false) }
        if frame.isObject { return (frame.memberPolicy, frame.memberIsBSN) }
        switch frame.policy {
        case .batch: return (.batch, false)
        case .kept: return (.kept, false)
        case .envelope, .data, .hidden: return (.hidden, false)
        }
    }

    /// A string token's range, quotes included (to the end of the input when it is unterminated).
    private mutating func stringToken() -> Range<Int> {
        let start = index
        index += 1
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\\") {
                index += 2
                continue
            }
            index += 1
            if bytes[index - 1] == UInt8(ascii: "\"") { break }
        }
        index = min(index, bytes.count)
        return start..<index
    }

    private mutating func key(_ token: Range<Int>) {
        let frame = stack[stack.count - 1]
        // An escaped key is compared as unknown: names are plain in every known field.
        let name: String? = bytes[token].contains(UInt8(ascii: "\\")) || bytes[token.lowerBound] != UInt8(ascii: "\"") || token.count < 2
            ? nil : String(decoding: bytes[token.lowerBound + 1..<token.upperBound - 1], as: UTF8.self)
        var policy = Policy.hidden
        var isBSN = false
        switch frame.policy {
        case .envelope:
            if name == "data" {
                policy = .data
            } else if let name, QuarantineText.envelopeFields.contains(name) {
                policy = .kept
            }
        case .data:
            if name == "bsn" {
                isBSN = true
            } else if let name, dataFields.contains(name) {
                policy = .kept
            }
        case .kept:
            policy = .kept
        case .batch, .hidden:
            break
        }
        stack[stack.count - 1].memberPolicy = policy
        stack[stack.count - 1].memberIsBSN = isBSN
        stack[stack.count - 1].memberName = name
        if policy == .hidden, !isBSN {
            output += Array("\"\(QuarantineText.notKept)\"".utf8)
        } else {
            output += bytes[token]
        }
    }

    private mutating func value(_ token: Range<Int>, isString: Bool) {
        let (policy, isBSN) = valuePolicy()
        if stack.count == 1, stack[0].policy == .envelope, stack[0].memberName == "type", isString, token.count >= 2, eventType == nil {
            eventType = String(decoding: bytes[token.lowerBound + 1..<token.upperBound - 1], as: UTF8.self)
        }
        // Outside strings only numbers and literals are JSON; other words are someone's text.
        let plain = isString || Self.isNumberOrLiteral(bytes[token])
        switch policy {
        case .kept where plain:
            output += bytes[token]
        case .batch where !isString && plain:
            // A number or literal where an event belongs (`42` in a batch) says nothing personal.
            output += bytes[token]
        default:
            emitReplacement(isBSN: isBSN)
        }
    }

    static func isNumberOrLiteral(_ token: ArraySlice<UInt8>) -> Bool {
        if token.elementsEqual("true".utf8) || token.elementsEqual("false".utf8) || token.elementsEqual("null".utf8) { return true }
        return !token.isEmpty && token.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || [UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains($0) }
    }

    private mutating func emitReplacement(isBSN: Bool) {
        output += Array("\"\(isBSN ? QuarantineText.redactedBSN : QuarantineText.notKept)\"".utf8)
    }

    /// Steps over the container starting here, strings included, without writing anything.
    private mutating func skipContainer() {
        var level = 0
        repeat {
            guard index < bytes.count else { return }
            switch bytes[index] {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                level += 1
                index += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                level -= 1
                index += 1
            case UInt8(ascii: "\""):
                _ = stringToken()
            default:
                index += 1
            }
        } while level > 0
    }
}

/// The tokens of an element as `XMLElement.xml` writes it. Anything else ends in `.broken`.
struct XMLTagReader {
    enum Token {
        case start(name: String, attributes: [(String, String)], selfClosing: Bool)
        case end(name: String)
        case text(String)
        case broken
    }

    let bytes: [UInt8]
    private var index = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func next() -> Token? {
        guard index < bytes.count else { return nil }
        guard bytes[index] == UInt8(ascii: "<") else {
            let start = index
            while index < bytes.count, bytes[index] != UInt8(ascii: "<") { index += 1 }
            return .text(String(decoding: bytes[start..<index], as: UTF8.self))
        }
        index += 1
        if index < bytes.count, bytes[index] == UInt8(ascii: "/") {
            index += 1
            let name = word()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ">") else { return fail() }
            index += 1
            return .end(name: name)
        }
        let name = word()
        guard !name.isEmpty else { return fail() }
        var attributes: [(String, String)] = []
        while true {
            while index < bytes.count, bytes[index] == 0x20 { index += 1 }
            guard index < bytes.count else { return fail() }
            if bytes[index] == UInt8(ascii: ">") {
                index += 1
                return .start(name: name, attributes: attributes, selfClosing: false)
            }
            if bytes[index] == UInt8(ascii: "/") {
                guard index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: ">") else { return fail() }
                index += 2
                return .start(name: name, attributes: attributes, selfClosing: true)
            }
            let attribute = word()
            guard !attribute.isEmpty, index + 1 < bytes.count, bytes[index] == UInt8(ascii: "="), bytes[index + 1] == UInt8(ascii: "\"") else { return fail() }
            index += 2
            let start = index
            while index < bytes.count, bytes[index] != UInt8(ascii: "\"") { index += 1 }
            guard index < bytes.count else { return fail() }
            attributes.append((attribute, String(decoding: bytes[start..<index], as: UTF8.self)))
            index += 1
        }
    }

    /// A name: everything up to a space, `=`, `/` or `>`.
    private mutating func word() -> String {
        let start = index
        while index < bytes.count, ![0x20, UInt8(ascii: "="), UInt8(ascii: "/"), UInt8(ascii: ">")].contains(bytes[index]) { index += 1 }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    private mutating func fail() -> Token {
        index = bytes.count
        return .broken
    }
}
