import Foundation

/// The input formats of SPEC §2 that this build reads.
public enum InputFormat: String, Sendable, CaseIterable {
    case cloudevents
    case xml
    /// iStandaarden iJw 3.2 (Jeugdwet) messages, one `Bericht` per file (SPEC §2.3).
    case ijw
    /// iStandaarden iWmo 3.2 messages, one `Bericht` per file (SPEC §2.3).
    case iwmo

    /// Decides the format from the first bytes: JSON starts with `{` or `[`, canonical XML and
    /// iStandaarden messages name their namespace.
    public static func detect(prefix: some Collection<UInt8>) throws(FieldProblem) -> InputFormat {
        var bytes = Array(prefix.prefix(4096))
        if let problem = notUTF8(prefix: bytes.prefix(4)) { throw FieldProblem(field: nil, problem) }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        guard let first = bytes.first(where: { ![0x20, 0x09, 0x0a, 0x0d].contains($0) }) else {
            throw FieldProblem(field: nil, "empty input: nothing to detect a format from")
        }
        switch first {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            return .cloudevents
        case UInt8(ascii: "<"):
            let text = String(decoding: bytes, as: UTF8.self)
            if text.contains("urn:ketenzicht:exchange:1") { return .xml }
            if text.contains("istandaarden.nl/ijw/") { return .ijw }
            if text.contains("istandaarden.nl/iwmo/") { return .iwmo }
            // A long DTD can push the root's namespace past the bytes looked at; canonical XML is
            // as good as any XML reader to refuse the DOCTYPE, and says so with its line.
            if text.contains("<!DOCTYPE") { return .xml }
            throw FieldProblem(field: nil, "XML in neither the namespace urn:ketenzicht:exchange:1 nor an iStandaarden (iJw/iWmo) one; give --format xml to read it as canonical XML anyway")
        default:
            throw FieldProblem(field: nil, "unrecognised input: neither JSON (CloudEvents) nor XML")
        }
    }

    /// Why input starting with these (at least four) bytes is not UTF-8, or nil. Every format
    /// here is UTF-8; UTF-16 and UTF-32 give themselves away by a byte order mark or by the NUL
    /// bytes around the first `{`, `[` or `<`, and would otherwise fail line by line on those NULs.
    public static func notUTF8(prefix: some Collection<UInt8>) -> String? {
        let bytes = Array(prefix.prefix(4))
        if bytes.starts(with: [0x00, 0x00, 0xFE, 0xFF]) || bytes.starts(with: [0xFF, 0xFE, 0x00, 0x00]) {
            return "UTF-32 input; convert it to UTF-8"
        }
        if bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]) {
            return "UTF-16 input (with a byte order mark); convert it to UTF-8"
        }
        if bytes.count >= 2, bytes[0] == 0 || bytes[1] == 0 {
            return "UTF-16 or UTF-32 input (NUL bytes at the start, no byte order mark); convert it to UTF-8"
        }
        return nil
    }

    /// Detects the format of a file from its first 4 KiB; of a directory, from its first file
    /// (only iStandaarden messages come as directories, one message a file).
    public static func detect(path: String) throws(FieldProblem) -> InputFormat {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            guard let first = IStandaardenDecoder.firstMessageFile(in: path) else {
                throw FieldProblem(field: nil, "empty directory: no files to detect a format from")
            }
            return try detect(path: first)
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw FieldProblem(field: nil, "cannot open file")
        }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: 4096)) ?? nil
        return try detect(prefix: [UInt8](data ?? Data()))
    }

    /// `given` when there is one, else detected from the input's first bytes.
    public static func resolve(_ given: InputFormat?, for input: IngestInput) throws(FieldProblem) -> InputFormat {
        switch (given, input) {
        case (let given?, _): given
        case (nil, .file(let path)): try detect(path: path)
        case (nil, .bytes(let bytes, _)): try detect(prefix: bytes)
        }
    }
}

/// How many ASCII digits `text` holds, read as contiguous bytes (`withUTF8` gives them for short
/// strings too, where iterating the UTF-8 view is several times slower).
private func asciiDigitCount(_ text: String) -> Int {
    var text = text
    return text.withUTF8 { bytes in
        var digits = 0
        for byte in bytes where byte >= 0x30 && byte <= 0x39 { digits += 1 }
        return digits
    }
}

/// BSN-shaped digits replaced by `*`, for anything from refused input that is kept or printed: a
/// run of exactly nine digits, or nine digits grouped as people write them, 3-3-3, 4-2-3 or 3-2-4
/// with single spaces, dots or hyphens (`111 222 333`, `1112.22.333`). A raw BSN must never reach
/// disk or a log (SPEC §4). Dates and AGB codes (eight digits) are left alone.
public func redactingBSNs(_ text: String) -> String {
    // Every shape redacted holds nine digits; most text (ids, names) has far fewer, and is
    // checked on every event, so it skips the copy below.
    guard asciiDigitCount(text) >= 9 else { return text }
    let writtenBSNShapes: Set<[Int]> = [[3, 3, 3], [4, 2, 3], [3, 2, 4]]
    let bytes = Array(text.utf8)
    var output = bytes
    var changed = false
    func isDigit(_ index: Int) -> Bool { index < bytes.count && bytes[index] >= 0x30 && bytes[index] <= 0x39 }
    func isSeparator(_ index: Int) -> Bool { index < bytes.count && (bytes[index] == 0x20 || bytes[index] == 0x2E || bytes[index] == 0x2D) }
    func redact(_ range: Range<Int>) {
        for index in range where isDigit(index) { output[index] = UInt8(ascii: "*") }
        changed = true
    }
    var index = 0
    while index < bytes.count {
        guard isDigit(index), index == 0 || !isDigit(index - 1) else {
            index += 1
            continue
        }
        // A chain of digit groups, each joined to the next by one separator.
        var groups: [Range<Int>] = []
        var position = index
        while true {
            var end = position
            while isDigit(end) { end += 1 }
            groups.append(position..<end)
            guard isSeparator(end), isDigit(end + 1) else { break }
            position = end + 1
        }
        if writtenBSNShapes.contains(groups.map(\.count)) { redact(index..<groups.last!.upperBound) }
        for group in groups where group.count == 9 { redact(group) }
        index = groups.last!.upperBound
    }
    return changed ? String(decoding: output, as: UTF8.self) : text
}
