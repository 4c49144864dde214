public import KetenzichtIngest
import KetenzichtCore

/// What the fuzz targets share: the decoders' configuration and the checks every record must pass.
public enum FuzzSupport {
    /// A fixed pseudonymisation key, as in the tests: the fuzzer needs determinism, not secrecy.
    public static let assembler = EventAssembler(pseudonymizer: Pseudonymizer(keyBytes: Array(repeating: 7, count: 32)))

    /// The checkout this package lives in (this file is `Fuzz/Sources/FuzzSupport/FuzzSupport.swift`).
    public static let repositoryRoot: String = {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(4)
        return parts.joined(separator: "/")
    }()

    /// libFuzzer's input as an array (the decoders take owned bytes, as from a socket request).
    public static func bytes(_ start: UnsafeRawPointer, _ count: Int) -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: start, count: count))
    }

    /// Every refusal must say something a person can act on (SPEC §3), and its rendering, which
    /// redacts BSN-shaped digits, must not fail. A violation is reported as a crash.
    public static func check(_ record: DecodeRecord) {
        switch record.outcome {
        case .event(let event):
            precondition(!event.identity.id.isEmpty && !event.identity.source.isEmpty, "an event without an identity")
        case .failure(let issue, let raw):
            precondition(!issue.message.isEmpty, "a failure record without a message at \(issue.location)")
            precondition(!issue.description.isEmpty)
            if let raw { _ = redactingBSNs(raw) }
        }
    }

    /// Splits the input at NUL bytes into at most `limit` parts (for targets that feed several
    /// messages through one decoder, such as a 301 and the 305 that waits for it).
    public static func split(_ bytes: [UInt8], limit: Int) -> [[UInt8]] {
        bytes.split(separator: 0, maxSplits: limit - 1, omittingEmptySubsequences: false).map(Array.init)
    }
}
