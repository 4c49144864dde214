/// A small JSON writer for canonical output: the caller chooses key order, numbers print without
/// a trailing `.0` when integral, and strings are escaped per RFC 8259. It writes UTF-8 bytes:
/// this runs once per ingested event, and appending bytes is a copy where appending Strings is not.
public struct CanonicalJSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    private var needsComma = false

    public init() { bytes.reserveCapacity(320) }

    public var output: String { String(decoding: bytes, as: UTF8.self) }

    public mutating func object(_ body: (inout CanonicalJSONWriter) -> Void) {
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
        body(&self)
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    public mutating func array(_ strings: [String]) {
        bytes.append(UInt8(ascii: "["))
        for (index, string) in strings.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            Self.appendString(string, to: &bytes)
        }
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    public mutating func field(_ key: String, _ value: (inout CanonicalJSONWriter) -> Void) {
        self.key(key)
        value(&self)
        needsComma = true
    }

    public mutating func field(_ key: String, string: String) {
        self.key(key)
        Self.appendString(string, to: &bytes)
        needsComma = true
    }

    public mutating func field(_ key: String, number: Double) {
        self.key(key)
        bytes.append(contentsOf: Self.number(number).utf8)
        needsComma = true
    }

    public mutating func field(_ key: String, bool: Bool) {
        self.key(key)
        bytes.append(contentsOf: (bool ? "true" : "false").utf8)
        needsComma = true
    }

    private mutating func key(_ key: String) {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        Self.appendString(key, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    public static func number(_ value: Double) -> String {
        if value.isNaN { return "null" }
        if value.isInfinite { return value > 0 ? "\"Infinity\"" : "\"-Infinity\"" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    public static func appendString(_ string: String, to bytes: inout [UInt8]) {
        bytes.append(0x22)
        // `withUTF8` gives contiguous bytes for every string, short ones held inline included.
        var string = string
        string.withUTF8 { utf8 in
            // Almost no string needs an escape: then it is one copy.
            guard utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5c }) else {
                bytes.append(contentsOf: utf8)
                return
            }
            for byte in utf8 {
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
        }
        bytes.append(0x22)
    }

    private static func hexByte(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0xf)])
    }
}
