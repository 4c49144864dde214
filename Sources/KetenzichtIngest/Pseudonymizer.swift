import Crypto
import Foundation

/// Replaces a BSN by a keyed pseudonym (SPEC §4): the BSN is checked with the elfproef, then the
/// case id is `p-` and the first 128 bits of HMAC-SHA256(key, bsn) in hex. Without the key the
/// pseudonym cannot be linked back to the BSN, and with it every event about one person lands on
/// one case.
public struct Pseudonymizer: Sendable {
    private let keyed: KeyedHash

    public init(keyBytes: [UInt8]) {
        precondition(keyBytes.count >= 32, "a pseudonymisation key has at least 256 bits")
        keyed = KeyedHash(HMAC<SHA256>(key: SymmetricKey(data: keyBytes)))
    }

    /// HMAC with the key already mixed in (the padded key's two hash blocks), copied for each
    /// text: setting it up afresh, with its allocations, cost three times the text's own hashing.
    /// Crypto's types are not `Sendable`; this one is never changed after `init`, and a copy that
    /// is fed copies the hash states before it writes them.
    private final class KeyedHash: @unchecked Sendable {
        let prepared: HMAC<SHA256>
        init(_ prepared: HMAC<SHA256>) { self.prepared = prepared }
    }

    public func caseID(forBSN bsn: String, field: String = "bsn") throws(FieldProblem) -> String {
        guard Self.looksLikeBSN(bsn) else {
            throw FieldProblem(field: field, "a BSN is 9 digits (got \(bsn.count) characters)")
        }
        guard Self.passesElfproef(bsn) else {
            // Name the failure, not the number: the raw BSN must not reach logs or quarantine.
            throw FieldProblem(field: field, "BSN fails the elfproef (11-check)")
        }
        return "p-" + keyedDigest(of: bsn)
    }

    /// The first 128 bits of HMAC-SHA256(key, text) in hex: what a pseudonym is made of.
    public func keyedDigest(of text: String) -> String {
        var authenticator = keyed.prepared
        var text = text
        text.withUTF8 { authenticator.update(data: UnsafeRawBufferPointer($0)) }
        let mac = authenticator.finalize()
        let digits = Array("0123456789abcdef".utf8)
        return String(unsafeUninitializedCapacity: 32) { hex in
            for (index, byte) in mac.prefix(16).enumerated() {
                hex[2 * index] = digits[Int(byte >> 4)]
                hex[2 * index + 1] = digits[Int(byte & 0xf)]
            }
            return 32
        }
    }

    public static func looksLikeBSN(_ text: String) -> Bool {
        text.utf8.count == 9 && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    /// Nine digits, plain or written in groups as `redactingBSNs` recognises them (`111.222.333`).
    public static func looksLikeWrittenBSN(_ text: String) -> Bool {
        // `redactingBSNs` returns text with fewer than nine digits unchanged, without a copy.
        let redacted = redactingBSNs(text).utf8
        // Bytes, not Characters: a combining mark is a byte outside the set either way.
        return redacted.contains(UInt8(ascii: "*")) && redacted.allSatisfy { $0 == 0x2A || $0 == 0x20 || $0 == 0x2E || $0 == 0x2D }
    }

    /// The BSN elfproef: 9·d1 + 8·d2 + … + 2·d8 − 1·d9 is a multiple of 11 (and not 0).
    public static func passesElfproef(_ bsn: String) -> Bool {
        let digits = bsn.utf8.map { Int($0) - 0x30 }
        guard digits.count == 9, digits.allSatisfy({ (0...9).contains($0) }) else { return false }
        var sum = 0
        for (index, digit) in digits.enumerated() {
            sum += index == 8 ? -digit : (9 - index) * digit
        }
        return sum != 0 && sum % 11 == 0
    }

    /// Reads the key file, or creates it with 32 random bytes and mode 0600 when it does not exist.
    /// A key file readable by group or others is refused: it would make pseudonyms reversible
    /// for anyone holding a list of BSNs.
    public static func loadOrCreateKey(at path: String) throws -> Pseudonymizer {
        if access(path, F_OK) != 0, errno == ENOENT, let created = try createKey(at: path) {
            return created
        }
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw KeyFileError(path: path, message: "cannot stat the key file: \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw KeyFileError(path: path, message: "key file is accessible to group or others (mode \(String(info.st_mode & 0o777, radix: 8))); run chmod 600 on it")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KeyFileError(path: path, message: "cannot read the key file")
        }
        guard data.count >= 32 else {
            throw KeyFileError(path: path, message: "key file holds \(data.count) bytes; at least 32 are needed (an empty one is left by a crash of an older version while creating it: delete it only if no BSN was ever ingested with it)")
        }
        return Pseudonymizer(keyBytes: [UInt8](data))
    }

    /// A fresh key: 32 bytes from the system's random source.
    public static func randomKeyBytes() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in generator.next() }
    }

    /// Writes a new key whole or not at all: under a temporary name, synced, then linked into
    /// place. A crash halfway leaves no empty key file behind (which would stop every later start),
    /// and the key is on disk before any pseudonym made with it can be committed. Returns nil when
    /// another process linked its key first; that one is then read like any existing key.
    private static func createKey(at path: String) throws -> Pseudonymizer? {
        let bytes = randomKeyBytes()
        var generator = SystemRandomNumberGenerator()
        let temporary = path + ".new-\(getpid())-\(UInt32.random(in: 0...UInt32.max, using: &generator))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw KeyFileError(path: path, message: "cannot create the key file: \(String(cString: strerror(errno)))")
        }
        defer { unlink(temporary) }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == 32, synced == 0 else {
            throw KeyFileError(path: path, message: "could not write a new key: \(String(cString: strerror(errno)))")
        }
        guard link(temporary, path) == 0 else {
            if errno == EEXIST { return nil }
            throw KeyFileError(path: path, message: "cannot create the key file: \(String(cString: strerror(errno)))")
        }
        let directory = (path as NSString).deletingLastPathComponent
        let directoryFD = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            fsync(directoryFD)
            close(directoryFD)
        }
        return Pseudonymizer(keyBytes: bytes)
    }
}

public struct KeyFileError: Error, CustomStringConvertible {
    public var path: String
    public var message: String
    public var description: String { "\(path): \(message)" }
}
