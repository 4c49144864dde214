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
