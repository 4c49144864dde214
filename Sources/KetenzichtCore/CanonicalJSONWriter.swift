/// A small JSON writer for canonical output: the caller chooses key order, numbers print without
/// a trailing `.0` when integral, and strings are escaped per RFC 8259.
public struct CanonicalJSONWriter: Sendable {
    public private(set) var output = ""
    private var needsComma = false

    public init() {}

    public mutating func object(_ body: (inout CanonicalJSONWriter) -> Void) {
        output += "{"
        needsComma = false
        body(&self)
        output += "}"
        needsComma = true
    }

    public mutating func array(_ strings: [String]) {
        output += "["
        for (index, string) in strings.enumerated() {
            if index > 0 { output += "," }
            Self.appendString(string, to: &output)
        }
        output += "]"
        needsComma = true
    }

    public mutating func field(_ key: String, _ value: (inout CanonicalJSONWriter) -> Void) {
        self.key(key)
        value(&self)
        needsComma = true
    }

    public mutating func field(_ key: String, string: String) {
        self.key(key)
        Self.appendString(string, to: &output)
        needsComma = true
    }

    public mutating func field(_ key: String, number: Double) {
        self.key(key)
        output += Self.number(number)
        needsComma = true
    }

    public mutating func field(_ key: String, bool: Bool) {
        self.key(key)
        output += bool ? "true" : "false"
        needsComma = true
    }

    private mutating func key(_ key: String) {
        if needsComma { output += "," }
        Self.appendString(key, to: &output)
        output += ":"
        needsComma = false
    }

    public static func number(_ value: Double) -> String {
        if value.isNaN { return "null" }
        if value.isInfinite { return value > 0 ? "\"Infinity\"" : "\"-Infinity\"" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    public static func appendString(_ string: String, to output: inout String) {
        output += "\""
        var plainStart = string.unicodeScalars.startIndex
        var index = plainStart
        let scalars = string.unicodeScalars
        while index < scalars.endIndex {
            let scalar = scalars[index]
            let escape: String? = switch scalar {
            case "\"": "\\\""
            case "\\": "\\\\"
            case "\n": "\\n"
            case "\r": "\\r"
            case "\t": "\\t"
            default: scalar.value < 0x20 ? "\\u00" + hexByte(UInt8(scalar.value)) : nil
            }
            if let escape {
                output.unicodeScalars.append(contentsOf: scalars[plainStart..<index])
                output += escape
                plainStart = scalars.index(after: index)
            }
            index = scalars.index(after: index)
        }
        output.unicodeScalars.append(contentsOf: scalars[plainStart..<scalars.endIndex])
        output += "\""
    }

    private static func hexByte(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0xf)])
    }
}
