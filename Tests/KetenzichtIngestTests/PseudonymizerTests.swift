import Foundation
import Testing
@testable import KetenzichtIngest

@Suite struct PseudonymizerTests {
    let pseudonymizer = Pseudonymizer(keyBytes: Array(repeating: 7, count: 32))

    @Test(arguments: ["111222333", "123456782", "999999990"])
    func acceptsElfproefValid(_ bsn: String) throws {
        #expect(Pseudonymizer.passesElfproef(bsn))
        let id = try pseudonymizer.caseID(forBSN: bsn)
        #expect(id.hasPrefix("p-") && id.count == 34)
        #expect(!id.contains(bsn))
        #expect(try pseudonymizer.caseID(forBSN: bsn) == id)
    }

    @Test(arguments: ["123456789", "111222334", "000000000"])
    func refusesElfproefFailures(_ bsn: String) {
        #expect(!Pseudonymizer.passesElfproef(bsn))
        #expect(throws: FieldProblem(field: "data.bsn", "BSN fails the elfproef (11-check)")) {
            try pseudonymizer.caseID(forBSN: bsn, field: "data.bsn")
        }
    }

    @Test func refusesNonDigits() {
        #expect(throws: FieldProblem(field: "bsn", "a BSN is 9 digits (got 8 characters)")) {
            try pseudonymizer.caseID(forBSN: "12345678")
        }
    }

    /// SPEC §4's pseudonym is the first 128 bits of HMAC-SHA256 in hex. The expected values are
    /// Python's (`hmac.new(key, bsn.encode(), hashlib.sha256).hexdigest()[:32]`), for a
    /// 32-byte key and a 40-byte one. Asked in turn and from several threads at once, because
    /// every call starts from one prepared HMAC and must leave it as it was.
    @Test func pseudonymsAreHMACSHA256AsAnyToolComputesIt() async throws {
        let longKey = Pseudonymizer(keyBytes: Array(0..<40))
        let expected = [
            "111222333": "p-970342ed2de60ad29f4b0bf9de7f0fe3",
            "123456782": "p-2c17a36db8c809061198fc577ba57c1d",
        ]
        for _ in 0..<3 {
            for (bsn, pseudonym) in expected { #expect(try pseudonymizer.caseID(forBSN: bsn) == pseudonym) }
            #expect(try longKey.caseID(forBSN: "111222333") == "p-7bee9949fc38189aaf2f7736d0a6c021")
        }
        #expect(pseudonymizer.keyedDigest(of: "") == "9dac6a74401b46ed9b489d0e19d68d1b")
        let shared = pseudonymizer
        let answers = await withTaskGroup(of: [String].self) { group in
            for _ in 0..<4 {
                group.addTask { (0..<500).map { shared.keyedDigest(of: $0.isMultiple(of: 2) ? "111222333" : "123456782") } }
            }
            return await group.reduce(into: []) { $0 += $1 }
        }
        #expect(Set(answers) == ["970342ed2de60ad29f4b0bf9de7f0fe3", "2c17a36db8c809061198fc577ba57c1d"])
    }

    @Test func keyDecidesThePseudonym() throws {
        let other = Pseudonymizer(keyBytes: Array(repeating: 8, count: 32))
        #expect(try other.caseID(forBSN: "111222333") != pseudonymizer.caseID(forBSN: "111222333"))
    }

    @Test func keyFileIsCreatedPrivateAndReused() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kz-key-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/pseudonym.key"
        let first = try Pseudonymizer.loadOrCreateKey(at: path)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect((attributes[.size] as? Int) == 32)
        let second = try Pseudonymizer.loadOrCreateKey(at: path)
        #expect(try first.caseID(forBSN: "111222333") == second.caseID(forBSN: "111222333"))
        chmod(path, 0o644)
        #expect(throws: KeyFileError.self) { try Pseudonymizer.loadOrCreateKey(at: path) }
    }

    /// Processes starting at once on a fresh key file (say `ketenzicht ingest --state` on two state
    /// directories sharing `paths.keyFile`) must agree on one key, and none may ever see a key
    /// file that exists but is not written yet.
    @Test func concurrentCreatorsAgreeOnOneWholeKey() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kz-key-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for round in 0..<20 {
            let path = directory + "/pseudonym-\(round).key"
            let results = LockedResults()
            DispatchQueue.concurrentPerform(iterations: 8) { _ in
                let result = Result { try Pseudonymizer.loadOrCreateKey(at: path).caseID(forBSN: "111222333") }
                results.append(result)
            }
            let pseudonyms = results.values.compactMap { try? $0.get() }
            #expect(pseudonyms.count == 8, "round \(round): \(results.values.compactMap { if case .failure(let error) = $0 { "\(error)" } else { nil } })")
            #expect(Set(pseudonyms).count == 1)
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains(".new-") }
        #expect(leftovers.isEmpty, "temporary key files left behind: \(leftovers)")
    }

    @Test func redactsBSNShapedDigits() {
        #expect(redactingBSNs(#"{"bsn":"123456789","agb":"12345678","n":1234567890}"#)
            == #"{"bsn":"*********","agb":"12345678","n":1234567890}"#)
    }
}

/// Results collected from concurrent threads.
final class LockedResults: @unchecked Sendable {
    private let lock = NSLock()
    private var collected: [Result<String, any Error>] = []

    func append(_ result: Result<String, any Error>) {
        lock.lock()
        collected.append(result)
        lock.unlock()
    }

    var values: [Result<String, any Error>] {
        lock.lock()
        defer { lock.unlock() }
        return collected
    }
}
