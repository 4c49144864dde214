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
            throw FieldProblem(field: nil, "XML in neither the namespace urn:ketenzicht:exchange:1 nor an iStandaarden (iJw/iWmo) one; give --format xml to read it as canonical XML anyway")
        default:
            if bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]) {
                throw FieldProblem(field: nil, "UTF-16 input; convert it to UTF-8")
            }
            throw FieldProblem(field: nil, "unrecognised input: neither JSON (CloudEvents) nor XML")
        }
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
}

/// BSN-shaped digits (a run of exactly nine) replaced by `*********`, for anything refused input
/// that is kept or printed. A raw BSN must never reach disk or a log (SPEC §4).
public func redactingBSNs(_ text: String) -> String {
    var output = [UInt8]()
    let bytes = Array(text.utf8)
    output.reserveCapacity(bytes.count)
    var index = 0
    while index < bytes.count {
        let isDigit = { (byte: UInt8) in byte >= 0x30 && byte <= 0x39 }
        if isDigit(bytes[index]) {
            var end = index
            while end < bytes.count, isDigit(bytes[end]) { end += 1 }
            if end - index == 9 {
                output.append(contentsOf: Array(repeating: UInt8(ascii: "*"), count: 9))
            } else {
                output.append(contentsOf: bytes[index..<end])
            }
            index = end
        } else {
            output.append(bytes[index])
            index += 1
        }
    }
    return String(decoding: output, as: UTF8.self)
}
