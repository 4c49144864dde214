import Foundation

/// What kind of JSON value a span holds.
enum JSONKind: UInt8 {
    case string, number, object, array, bool, null

    /// "got a number": the article belongs to the noun, and error texts read better with it.
    var describedWithArticle: String {
        switch self {
        case .string: "a string"
        case .number: "a number"
        case .object: "an object"
        case .array: "an array"
        case .bool: "a boolean"
        case .null: "null"
        }
    }
}

/// One scanned value as offsets into the input, so nothing is copied until somebody asks for it.
/// For strings the range excludes the quotes; for the rest it is the value's full text.
struct JSONSpan {
    var kind: JSONKind
    /// A string holding at least one backslash escape, or `true` for a boolean.
    var flag: Bool
    var start: Int
    var end: Int

    var isTrue: Bool { flag }
    var hasEscapes: Bool { flag }
    func contains(_ offset: Int) -> Bool { offset >= start - 1 && offset <= end }
}

/// An object member: the key (without quotes) and its value.
struct JSONMember {
    var keyStart: Int
    var keyEnd: Int
    var keyEscaped: Bool
    /// The key's first eight raw bytes (zero-padded): keys are short, so most comparisons end here.
    var keyPrefix: UInt64
    var value: JSONSpan
}

/// The first eight bytes at `p` (zero-padded when `count` is less), little-endian. Reads only
/// `count` bytes when fewer than eight are safely available.
@inline(__always)
func bytePrefix(_ p: UnsafePointer<UInt8>, count: Int, readable: Int) -> UInt64 {
    if readable >= 8 {
        let word = UInt64(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self))
        return count >= 8 ? word : word & ((1 << (UInt64(count) * 8)) &- 1)
    }
    var value: UInt64 = 0
    for i in 0..<min(count, 8) { value |= UInt64(p[i]) << (UInt64(i) * 8) }
    return value
}

/// A grammar violation. `fatal` means the scanner lost track of the structure (an unexpected
/// token, the input ending inside a value), so nothing after it can be located; otherwise the
/// structure is intact and only the content is wrong (invalid UTF-8, a bad escape, a duplicate
/// key), which lets a batch array go on with its next element.
struct JSONSyntaxError: Error {
    var offset: Int
    var message: String
    var fatal: Bool
}

/// A strict RFC 8259 scanner over bytes that stay where they are (usually a memory-mapped file).
///
/// Hand-written recursive descent, because the bulk path cannot afford a generic JSON tree per
/// event: values are validated once and handed back as offsets, and Strings are materialised only
/// for the fields an event needs. Recursion is bounded by `maxDepth`; deeper input is skipped with
/// an iterative bracket counter so that it can neither overflow the stack nor desynchronise a batch.
struct JSONScanner {
    let base: UnsafePointer<UInt8>
    var position: Int
    /// Where the current line or element must end; reading stops here.
    var end: Int
    let maxDepth: Int
    /// The first content error of the current value; scanning goes on past it.
    var contentError: JSONSyntaxError?
    /// Top-level members of the current event, complete ones only (see `CollectTarget`).
    var envelope: [JSONMember] = []
    /// Members of the event's `data` object.
    var members: [JSONMember] = []
    /// The keys of every open object, innermost last, for duplicate detection without a set per object.
    private var openKeys: [JSONMember] = []

    /// `base` may be nil only when the input is empty.
    init(base: UnsafePointer<UInt8>?, position: Int, end: Int, maxDepth: Int = 64) {
        // An empty mapping has no address; a dangling dummy is never dereferenced because end == 0.
        self.base = base ?? UnsafePointer(bitPattern: 0x10)!
        self.position = position
        self.end = end
        self.maxDepth = maxDepth
    }

    /// Room for a typical event, so that steady-state scanning never allocates.
    mutating func reserveScratch() {
        envelope.reserveCapacity(16)
        members.reserveCapacity(16)
        openKeys.reserveCapacity(64)
    }

    /// Which members `scanObject` keeps for later lookup. The event object keeps its own members
    /// and, one level down, those of its `data` object, all in the same pass that validates them.
    enum CollectTarget {
        case none, envelope, data
    }

    mutating func reset(position: Int, end: Int) {
        self.position = position
        self.end = end
        contentError = nil
        envelope.removeAll(keepingCapacity: true)
        members.removeAll(keepingCapacity: true)
        openKeys.removeAll(keepingCapacity: true)
    }

    // MARK: - Errors

    func fatal(_ message: String, at offset: Int? = nil) -> JSONSyntaxError {
        JSONSyntaxError(offset: offset ?? position, message: message, fatal: true)
    }

    mutating func noteContentError(_ message: String, at offset: Int) {
        if contentError == nil { contentError = JSONSyntaxError(offset: offset, message: message, fatal: false) }
    }

    /// What sits at `position`, for "expected X, found Y" messages.
    func foundDescription() -> String {
        guard position < end else { return "the end of the line" }
        let byte = base[position]
        switch byte {
        case 0x20..<0x7f: return "'\(Character(Unicode.Scalar(byte)))'"
        default: return "byte 0x" + String(byte, radix: 16, uppercase: true)
        }
    }

    func unexpectedEnd(inside what: String) -> JSONSyntaxError {
        fatal("unexpected end of input inside \(what) (truncated?)")
    }

    // MARK: - Tokens

    @inline(__always)
    mutating func skipWhitespace() {
        while position < end {
            let byte = base[position]
            // Space, tab, LF, CR: the only whitespace RFC 8259 allows.
            guard byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D else { return }
            position += 1
        }
    }

    @inline(__always)
    var atEnd: Bool { position >= end }

    @inline(__always)
    var peek: UInt8 { base[position] }

    /// Any value; `depth` is the nesting level a container opened here would have.
    mutating func scanValue(depth: Int) throws(JSONSyntaxError) -> JSONSpan {
        guard position < end else { throw unexpectedEnd(inside: depth <= 1 ? "the event" : "a value") }
        let start = position
        switch base[position] {
        case UInt8(ascii: "\""):
            return try scanString()
        case UInt8(ascii: "{"):
            try scanObject(depth: depth, collect: .none)
            return JSONSpan(kind: .object, flag: false, start: start, end: position)
        case UInt8(ascii: "["):
            try scanArray(depth: depth)
            return JSONSpan(kind: .array, flag: false, start: start, end: position)
        case UInt8(ascii: "t"):
            try literal("true")
            return JSONSpan(kind: .bool, flag: true, start: start, end: position)
        case UInt8(ascii: "f"):
            try literal("false")
            return JSONSpan(kind: .bool, flag: false, start: start, end: position)
        case UInt8(ascii: "n"):
            try literal("null")
            return JSONSpan(kind: .null, flag: false, start: start, end: position)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            scanNumber()
            return JSONSpan(kind: .number, flag: false, start: start, end: position)
        default:
            throw fatal("expected a JSON value, found \(foundDescription())")
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONSyntaxError) {
        let count = word.utf8CodeUnitCount
        guard end - position >= count, memcmp(base + position, word.utf8Start, count) == 0 else {
            throw fatal("expected a JSON value, found \(foundDescription())")
        }
        position += count
    }

    /// RFC 8259 numbers. The maximal run of number-like bytes is taken first, so that `01` or `1.`
    /// is reported as a bad number rather than as a stray token, and the structure stays intact.
    mutating func scanNumber() {
        let start = position
        while position < end {
            switch base[position] {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"),
                 UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"):
                position += 1
            default:
                if !Self.isValidNumber(base + start, position - start) {
                    noteContentError("invalid number \"\(String(decoding: UnsafeBufferPointer(start: base + start, count: min(position - start, 40)), as: UTF8.self))\"", at: start)
                }
                return
            }
        }
        if !Self.isValidNumber(base + start, position - start) {
            noteContentError("invalid number \"\(String(decoding: UnsafeBufferPointer(start: base + start, count: min(position - start, 40)), as: UTF8.self))\"", at: start)
        }
    }

    static func isValidNumber(_ p: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        var i = 0
        @inline(__always) func isDigit(_ i: Int) -> Bool { i < count && p[i] >= 0x30 && p[i] <= 0x39 }
        if i < count, p[i] == UInt8(ascii: "-") { i += 1 }
        guard isDigit(i) else { return false }
        if p[i] == UInt8(ascii: "0") { i += 1 } else { while isDigit(i) { i += 1 } }
        if i < count, p[i] == UInt8(ascii: ".") {
            i += 1
            guard isDigit(i) else { return false }
            while isDigit(i) { i += 1 }
        }
        if i < count, p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E") {
            i += 1
            if i < count, p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-") { i += 1 }
            guard isDigit(i) else { return false }
            while isDigit(i) { i += 1 }
        }
        return i == count
    }

    /// A string at `position` (on its opening quote). Validates escapes, surrogate pairs and UTF-8.
    mutating func scanString() throws(JSONSyntaxError) -> JSONSpan {
        position += 1
        let start = position
        var escaped = false
        while true {
            // Eight bytes at a time while they hold nothing special: no quote, backslash, control
            // character or non-ASCII byte. Identifiers and timestamps are mostly that.
            while end - position >= 8 {
                let word = UnsafeRawPointer(base + position).loadUnaligned(as: UInt64.self)
                let ones: UInt64 = 0x0101_0101_0101_0101
                let high: UInt64 = 0x8080_8080_8080_8080
                let quote = word ^ (ones &* 0x22)
                let slash = word ^ (ones &* 0x5C)
                let special = ((quote &- ones) & ~quote) | ((slash &- ones) & ~slash) | (word &- ones &* 0x20) | word
                if special & high != 0 { break }
                position += 8
            }
            guard position < end else { throw unexpectedEnd(inside: "a string") }
            let byte = base[position]
            if byte == UInt8(ascii: "\"") {
                let span = JSONSpan(kind: .string, flag: escaped, start: start, end: position)
                position += 1
                return span
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
                try scanEscape()
            } else if byte < 0x20 {
                // Only the first content error is kept: a megabyte of control characters must
                // not build a million messages to discard.
                if contentError == nil {
                    noteContentError("control character U+\(hex4(UInt32(byte))) inside a string must be escaped", at: position)
                }
                position += 1
            } else if byte < 0x80 {
                position += 1
            } else {
                let length = Self.utf8SequenceLength(base + position, end - position)
                if length == 0 {
                    if contentError == nil {
                        noteContentError("invalid UTF-8 (byte 0x\(String(byte, radix: 16, uppercase: true)))", at: position)
                    }
                    position += 1
                } else {
                    position += length
                }
            }
        }
    }

    /// The length of the well-formed UTF-8 sequence at `p` (RFC 3629: no overlongs, no
    /// surrogates, nothing above U+10FFFF), or 0 when it is not one.
    static func utf8SequenceLength(_ p: UnsafePointer<UInt8>, _ available: Int) -> Int {
        let b0 = p[0]
        @inline(__always) func cont(_ i: Int) -> Bool { i < available && p[i] & 0xC0 == 0x80 }
        switch b0 {
        case 0xC2...0xDF:
            return cont(1) ? 2 : 0
        case 0xE0:
            return available > 2 && p[1] >= 0xA0 && p[1] <= 0xBF && cont(2) ? 3 : 0
        case 0xE1...0xEC, 0xEE...0xEF:
            return cont(1) && cont(2) ? 3 : 0
        case 0xED:
            return available > 2 && p[1] >= 0x80 && p[1] <= 0x9F && cont(2) ? 3 : 0
        case 0xF0:
            return available > 3 && p[1] >= 0x90 && p[1] <= 0xBF && cont(2) && cont(3) ? 4 : 0
        case 0xF1...0xF3:
            return cont(1) && cont(2) && cont(3) ? 4 : 0
        case 0xF4:
            return available > 3 && p[1] >= 0x80 && p[1] <= 0x8F && cont(2) && cont(3) ? 4 : 0
        default:
            return 0
        }
    }

    private mutating func scanEscape() throws(JSONSyntaxError) {
        let escapeStart = position
        guard end - position >= 2 else { throw unexpectedEnd(inside: "a string") }
        switch base[position + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
             UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            position += 2
        case UInt8(ascii: "u"):
            guard let unit = hexUnit(at: position + 2) else {
                noteContentError("invalid \\u escape: expected 4 hex digits", at: escapeStart)
                position += 2
                return
            }
            position += 6
            if unit >= 0xD800, unit <= 0xDBFF {
                if end - position >= 6, base[position] == UInt8(ascii: "\\"), base[position + 1] == UInt8(ascii: "u"),
                   let low = hexUnit(at: position + 2), low >= 0xDC00, low <= 0xDFFF {
                    position += 6
                } else {
                    noteContentError("lone surrogate \\u\(hex4(UInt32(unit))): a high surrogate must be followed by a \\u escape of a low surrogate", at: escapeStart)
                }
            } else if unit >= 0xDC00, unit <= 0xDFFF {
                noteContentError("lone surrogate \\u\(hex4(UInt32(unit))): a low surrogate without a high surrogate before it", at: escapeStart)
            }
        default:
            let byte = base[position + 1]
            let shown = byte >= 0x20 && byte < 0x7f ? String(Character(Unicode.Scalar(byte))) : "0x" + String(byte, radix: 16, uppercase: true)
            noteContentError("invalid escape \\\(shown) inside a string", at: escapeStart)
            position += 1
        }
    }

    private func hexUnit(at offset: Int) -> UInt16? {
        Self.hexUnit(base, at: offset, end: end)
    }

    /// The four hex digits at `offset` as a UTF-16 code unit, or nil when there are not four
    /// before `end`.
    static func hexUnit(_ base: UnsafePointer<UInt8>, at offset: Int, end: Int) -> UInt16? {
        guard end - offset >= 4 else { return nil }
        var value: UInt16 = 0
        for i in 0..<4 {
            guard let digit = hexValue(base[offset + i]) else { return nil }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    @inline(__always)
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    // MARK: - Containers

    /// An object at `position`; `collect` says where its members are kept (see `CollectTarget`).
    mutating func scanObject(depth: Int, collect: CollectTarget) throws(JSONSyntaxError) {
        if depth > maxDepth { return try skipTooDeep() }
        position += 1
        let frame = openKeys.count
        defer { openKeys.removeLast(openKeys.count - frame) }
        // Keys of large objects are also indexed by hash, so that an adversarial object with a
        // million keys is checked in linear time; small objects are compared pairwise.
        var keyIndex: [UInt64: [Int]]?
        // One bit per key, from its length and prefix: a key whose bit is not yet set cannot be a
        // duplicate, so typical objects never compare keys at all.
        var seenBits: UInt64 = 0
        skipWhitespace()
        guard position < end else { throw unexpectedEnd(inside: "an object") }
        if base[position] == UInt8(ascii: "}") {
            position += 1
            return
        }
        while true {
            guard position < end else { throw unexpectedEnd(inside: "an object") }
            guard base[position] == UInt8(ascii: "\"") else {
                throw fatal("expected an object key (a string in double quotes), found \(foundDescription())")
            }
            let key = try scanString()
            skipWhitespace()
            guard position < end else { throw unexpectedEnd(inside: "an object") }
            guard base[position] == UInt8(ascii: ":") else {
                throw fatal("expected ':' after an object key, found \(foundDescription())")
            }
            position += 1
            skipWhitespace()
            let prefix = bytePrefix(base + key.start, count: key.end - key.start, readable: end - key.start)
            var member = JSONMember(keyStart: key.start, keyEnd: key.end, keyEscaped: key.hasEscapes, keyPrefix: prefix, value: key)
            let bit: UInt64 = member.keyEscaped ? 0 : 1 << ((prefix ^ UInt64(key.end - key.start)) &* 0x9E37_79B9_7F4A_7C15 >> 58)
            if bit == 0 || seenBits & bit != 0 || openKeys.count - frame >= 32 {
                checkDuplicate(member, frame: frame, index: &keyIndex)
            }
            // An escaped key has no raw prefix to hash; from then on every key is compared.
            seenBits |= bit == 0 ? ~0 : bit
            switch collect {
            case .none:
                member.value = try scanValue(depth: depth + 1)
            case .envelope:
                if position < end, base[position] == UInt8(ascii: "{"), isDataKey(member) {
                    let start = position
                    try scanObject(depth: depth + 1, collect: .data)
                    member.value = JSONSpan(kind: .object, flag: false, start: start, end: position)
                } else {
                    member.value = try scanValue(depth: depth + 1)
                }
                envelope.append(member)
            case .data:
                member.value = try scanValue(depth: depth + 1)
                members.append(member)
            }
            openKeys.append(member)
            skipWhitespace()
            guard position < end else { throw unexpectedEnd(inside: "an object") }
            switch base[position] {
            case UInt8(ascii: ","):
                position += 1
                skipWhitespace()
            case UInt8(ascii: "}"):
                position += 1
                return
            default:
                throw fatal("expected ',' or '}' after an object member, found \(foundDescription())")
            }
        }
    }

    @inline(__always)
    private mutating func checkDuplicate(_ member: JSONMember, frame: Int, index: inout [UInt64: [Int]]?) {
        let count = openKeys.count - frame
        if count < 32 {
            for i in frame..<openKeys.count where keysEqual(openKeys[i], member) {
                return reportDuplicate(member)
            }
            return
        }
        if index == nil {
            var built: [UInt64: [Int]] = [:]
            for i in frame..<openKeys.count { built[keyHash(openKeys[i]), default: []].append(i) }
            index = built
        }
        let hash = keyHash(member)
        if let candidates = index?[hash], candidates.contains(where: { keysEqual(openKeys[$0], member) }) {
            return reportDuplicate(member)
        }
        // The member is appended to openKeys right after its value, at this index.
        index?[hash, default: []].append(openKeys.count)
    }

    private mutating func reportDuplicate(_ member: JSONMember) {
        let name = String(decoding: decodedKey(member).prefix(64), as: UTF8.self)
        noteContentError("duplicate key \"\(name)\" in an object", at: member.keyStart - 1)
    }

    private func keyHash(_ member: JSONMember) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in decodedKey(member) {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }

    func decodedKey(_ member: JSONMember) -> [UInt8] {
        member.keyEscaped
            ? Self.unescape(base, member.keyStart, member.keyEnd)
            : Array(UnsafeBufferPointer(start: base + member.keyStart, count: member.keyEnd - member.keyStart))
    }

    private func isDataKey(_ member: JSONMember) -> Bool {
        if !member.keyEscaped {
            return member.keyEnd - member.keyStart == 4 && memcmp(base + member.keyStart, "data", 4) == 0
        }
        return decodedKey(member) == Array("data".utf8)
    }

    func keysEqual(_ a: JSONMember, _ b: JSONMember) -> Bool {
        if !a.keyEscaped, !b.keyEscaped {
            let count = a.keyEnd - a.keyStart
            guard count == b.keyEnd - b.keyStart, a.keyPrefix == b.keyPrefix else { return false }
            return count <= 8 || memcmp(base + a.keyStart + 8, base + b.keyStart + 8, count - 8) == 0
        }
        return decodedKey(a) == decodedKey(b)
    }

    mutating func scanArray(depth: Int) throws(JSONSyntaxError) {
        if depth > maxDepth { return try skipTooDeep() }
        position += 1
        skipWhitespace()
        guard position < end else { throw unexpectedEnd(inside: "an array") }
        if base[position] == UInt8(ascii: "]") {
            position += 1
            return
        }
        while true {
            _ = try scanValue(depth: depth + 1)
            skipWhitespace()
            guard position < end else { throw unexpectedEnd(inside: "an array") }
            switch base[position] {
            case UInt8(ascii: ","):
                position += 1
                skipWhitespace()
            case UInt8(ascii: "]"):
                position += 1
                return
            default:
                throw fatal("expected ',' or ']' after an array element, found \(foundDescription())")
            }
        }
    }

    /// Passes over a container nested deeper than `maxDepth` without recursion, counting brackets
    /// outside strings, so that the rest of the input stays reachable.
    private mutating func skipTooDeep() throws(JSONSyntaxError) {
        noteContentError("nested deeper than \(maxDepth) levels", at: position)
        try skipStructurally()
    }

    /// How far `skipStructurally` goes between two reports to its `passing` callback: the
    /// window in which the decoder maps a file ahead (`MappedFile.window`).
    static let skipReportInterval = 4 << 20

    /// Moves past the value starting at `position` by bracket counting, without checking its
    /// grammar. Used where a value must be stepped over but not judged. `passing` hears every
    /// few megabytes how far the skip got, so that a caller reading a memory-mapped file can let
    /// go of the pages behind: a gigabyte-long value must not become a gigabyte of memory.
    mutating func skipStructurally(passing: ((Int) -> Void)? = nil) throws(JSONSyntaxError) {
        var level = 0
        var nextReport = position + Self.skipReportInterval
        repeat {
            guard position < end else { throw unexpectedEnd(inside: level > 0 ? "a nested value" : "a value") }
            if position >= nextReport {
                passing?(position)
                nextReport = position + Self.skipReportInterval
            }
            switch base[position] {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                level += 1
                position += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                level -= 1
                position += 1
            case UInt8(ascii: "\""):
                try skipString(passing: passing)
            default:
                position += 1
            }
        } while level > 0
    }

    /// Moves past the string at `position` (on its opening quote) without validating it: memchr
    /// to the next quote, which closes the string unless an odd run of backslashes escapes it.
    private mutating func skipString(passing: ((Int) -> Void)?) throws(JSONSyntaxError) {
        let opening = position
        position += 1
        while true {
            let length = min(end - position, Self.skipReportInterval)
            guard length > 0 else { throw unexpectedEnd(inside: "a string") }
            guard let found = memchr(base + position, 0x22, length) else {
                position += length
                passing?(position)
                continue
            }
            let quote = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
            var backslashes = 0
            while quote - backslashes - 1 > opening, base[quote - backslashes - 1] == UInt8(ascii: "\\") { backslashes += 1 }
            position = quote + 1
            if backslashes % 2 == 0 { return }
        }
    }

    // MARK: - Materialising values

    /// The bytes of a string scanned by `scanString`. Its escapes are usually valid, but not always:
    /// duplicate-key detection decodes keys while the object is being scanned, before a content
    /// error in them refuses the event. So nothing is assumed: a malformed `\u` escape is kept as
    /// it is, and a lone surrogate becomes U+FFFD.
    static func unescape(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: end - start) { buffer, count in
            count = unescape(base, start, end, into: buffer.baseAddress!)
        }
    }

    /// Writes the decoded bytes to `out` (which needs `end - start` bytes: no escape grows) and
    /// returns how many were written.
    static func unescape(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int, into out: UnsafeMutablePointer<UInt8>) -> Int {
        var i = start
        var n = 0
        while i < end {
            let byte = base[i]
            guard byte == UInt8(ascii: "\\"), i + 1 < end else {
                out[n] = byte
                n += 1
                i += 1
                continue
            }
            let code = base[i + 1]
            i += 2
            let simple: UInt8? = switch code {
            case UInt8(ascii: "b"): 0x08
            case UInt8(ascii: "f"): 0x0C
            case UInt8(ascii: "n"): 0x0A
            case UInt8(ascii: "r"): 0x0D
            case UInt8(ascii: "t"): 0x09
            case UInt8(ascii: "u"): nil
            default: code
            }
            if let simple {
                out[n] = simple
                n += 1
                continue
            }
            guard let unit = hexUnit(base, at: i, end: end) else {
                out[n] = UInt8(ascii: "\\")
                out[n + 1] = code
                n += 2
                continue
            }
            var scalar = UInt32(unit)
            i += 4
            if scalar >= 0xD800, scalar <= 0xDBFF {
                if end - i >= 6, base[i] == UInt8(ascii: "\\"), base[i + 1] == UInt8(ascii: "u"),
                   let low = hexUnit(base, at: i + 2, end: end), low >= 0xDC00, low <= 0xDFFF {
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                    i += 6
                } else {
                    scalar = 0xFFFD
                }
            } else if scalar >= 0xDC00, scalar <= 0xDFFF {
                scalar = 0xFFFD
            }
            switch scalar {
            case 0..<0x80:
                out[n] = UInt8(scalar)
                n += 1
            case 0x80..<0x800:
                out[n] = UInt8(0xC0 | scalar >> 6)
                out[n + 1] = UInt8(0x80 | scalar & 0x3F)
                n += 2
            case 0x800..<0x10000:
                out[n] = UInt8(0xE0 | scalar >> 12)
                out[n + 1] = UInt8(0x80 | scalar >> 6 & 0x3F)
                out[n + 2] = UInt8(0x80 | scalar & 0x3F)
                n += 3
            default:
                out[n] = UInt8(0xF0 | scalar >> 18)
                out[n + 1] = UInt8(0x80 | scalar >> 12 & 0x3F)
                out[n + 2] = UInt8(0x80 | scalar >> 6 & 0x3F)
                out[n + 3] = UInt8(0x80 | scalar & 0x3F)
                n += 4
            }
        }
        return n
    }

    /// A Swift String for a validated string span.
    static func string(_ base: UnsafePointer<UInt8>, _ span: JSONSpan) -> String {
        let count = span.end - span.start
        if !span.hasEscapes {
            return String(decoding: UnsafeBufferPointer(start: base + span.start, count: count), as: UTF8.self)
        }
        return String(unsafeUninitializedCapacity: count) { buffer in
            unescape(base, span.start, span.end, into: buffer.baseAddress!)
        }
    }

    /// Whether a validated string span decodes to exactly `bytes`.
    static func stringEquals(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int, escaped: Bool, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        if !escaped {
            return end - start == bytes.count && memcmp(base + start, bytes.baseAddress!, bytes.count) == 0
        }
        return unescape(base, start, end).elementsEqual(bytes)
    }

    private static let powersOfTen: [Double] = (0...22).map { exponent in
        var value = 1.0
        for _ in 0..<exponent { value *= 10 }
        return value
    }

    /// The Double of a validated number span. Short numbers take an exact fast path (a mantissa
    /// below 2^53 times or over an exact power of ten rounds once, so correctly); the rest go to
    /// the correctly rounded library conversion.
    static func double(_ base: UnsafePointer<UInt8>, _ span: JSONSpan) -> Double {
        var i = span.start
        let end = span.end
        var negative = false
        if base[i] == UInt8(ascii: "-") { negative = true; i += 1 }
        var mantissa: UInt64 = 0
        var digits = 0
        var exponent = 0
        while i < end, base[i] >= 0x30, base[i] <= 0x39 {
            mantissa = mantissa &* 10 &+ UInt64(base[i] - 0x30)
            digits += 1
            i += 1
        }
        if i < end, base[i] == UInt8(ascii: ".") {
            i += 1
            while i < end, base[i] >= 0x30, base[i] <= 0x39 {
                mantissa = mantissa &* 10 &+ UInt64(base[i] - 0x30)
                digits += 1
                exponent -= 1
                i += 1
            }
        }
        var fastPath = digits <= 15
        if i < end {
            i += 1
            var exponentNegative = false
            if base[i] == UInt8(ascii: "+") { i += 1 } else if base[i] == UInt8(ascii: "-") { exponentNegative = true; i += 1 }
            var written = 0
            while i < end {
                written = written * 10 + Int(base[i] - 0x30)
                if written > 100_000 { fastPath = false; break }
                i += 1
            }
            exponent += exponentNegative ? -written : written
        }
        if fastPath, exponent >= -22, exponent <= 22 {
            var value = Double(mantissa)
            if exponent < 0 { value /= powersOfTen[-exponent] } else { value *= powersOfTen[exponent] }
            return negative ? -value : value
        }
        let text = String(decoding: UnsafeBufferPointer(start: base + span.start, count: span.end - span.start), as: UTF8.self)
        return Double(text) ?? .nan
    }
}

func hex4(_ value: UInt32) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}
