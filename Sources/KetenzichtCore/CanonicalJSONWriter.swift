/// A small JSON writer for canonical output: the caller chooses key order, numbers print without
/// a trailing `.0` when integral, and strings are escaped per RFC 8259.
public struct CanonicalJSONWriter: Sendable {
    public private(set) var output = ""
    private var needsComma = false

    public init() { output.reserveCapacity(320) }

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
        // Almost every string needs no escape: append it whole, without walking its scalars.
        if !string.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5c }) {
            output += string
        } else {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(string.utf8.count + 8)
            for byte in string.utf8 {
                switch byte {
                case 0x22: bytes += [0x5c, 0x22]
                case 0x5c: bytes += [0x5c, 0x5c]
                case 0x0a: bytes += [0x5c, UInt8(ascii: "n")]
                case 0x0d: bytes += [0x5c, UInt8(ascii: "r")]
                case 0x09: bytes += [0x5c, UInt8(ascii: "t")]
                case ..<0x20: bytes += Array("\\u00".utf8) + Array(hexByte(byte).utf8)
                default: bytes.append(byte)
                }
            }
            output += String(decoding: bytes, as: UTF8.self)
        }
        output += "\""
    }

    private static func hexByte(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0xf)])
    }
}
