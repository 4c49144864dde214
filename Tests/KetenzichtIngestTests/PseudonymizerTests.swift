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

    @Test func redactsBSNShapedDigits() {
        #expect(redactingBSNs(#"{"bsn":"123456789","agb":"12345678","n":1234567890}"#)
            == #"{"bsn":"*********","agb":"12345678","n":1234567890}"#)
    }
}
