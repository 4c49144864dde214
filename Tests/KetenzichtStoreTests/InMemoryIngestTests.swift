import Foundation
import KetenzichtCore
import KetenzichtIngest
import Testing
@testable import KetenzichtStore

/// `--input`: files read into memory must give exactly what a state directory holding them gives.
@Suite struct InMemoryIngestTests {
    static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("samples").path
    static let window = AnalysisWindow(asOf: try! Timestamp(rfc3339: "2026-11-01T00:00:00Z"))

    /// Everything `ingest` reports, except how the errors are ordered in time.
    static func counts(_ summary: Ledger.Summary) -> [Int] {
        [summary.accepted, summary.duplicates, summary.pending, summary.rejected, summary.released, summary.warnings.count]
    }

    @Test(arguments: ["municipality.ndjson", "municipality-invalid.ndjson", "municipality-invalid.xml", "municipality.xml"])
    func answersAndSummaryMatchAStateDirectory(_ name: String) throws {
        let file = Self.samples + "/" + name
        let state = try LedgerTests.TempDirectory()
        let ledger = try Ledger(stateDirectory: state.path)
        let stored = try ledger.ingest(.file(path: file), receivedAt: LedgerTests.received)
        let key = try InMemoryIngest.pseudonymizer(keyFile: state.path + "/pseudonym.key")
        #expect(key.usedKeyFile)
        var reader = InMemoryIngest(settings: Ledger.Settings(), pseudonymizer: key.pseudonymizer)
        let read = reader.ingest(.file(path: file))

        #expect(Self.counts(read) == Self.counts(stored))
        #expect(read.errors.map(\.description).sorted() == stored.errors.map(\.description).sorted())
        #expect(read.accepted > 0)
        #expect(reader.model.referrals.count == ledger.model.referrals.count)
        #expect(reader.model.eventCount == ledger.model.eventCount)
        // The same case ids (pseudonyms under the same key), the same analyses.
        #expect(reader.model.cases.keys.sorted() == ledger.model.cases.keys.sorted())
        for answer in [
            { (model: ChainModel) in Answers.bottlenecks(model, window: Self.window, top: 1000, domain: nil) },
            { (model: ChainModel) in Answers.regisseurs(model, window: Self.window, flag: nil) },
            { (model: ChainModel) in Answers.pingPong(model, window: Self.window) },
        ] {
            #expect(answer(reader.model).serialized == answer(ledger.model).serialized)
        }
    }

    @Test func readingTheSameFileAgainFindsOnlyDuplicates() {
        var reader = InMemoryIngest(settings: Ledger.Settings(), pseudonymizer: Pseudonymizer(keyBytes: Array(repeating: 7, count: 32)))
        let file = Self.samples + "/municipality.ndjson"
        let first = reader.ingest(.file(path: file))
        let second = reader.ingest(.file(path: file))
        #expect(first.accepted == 12864)
        #expect(Self.counts(second) == [0, 12864, 0, 0, 0, 0])
    }

    @Test func iStandaardenMessagesAreSentToAStateDirectory() throws {
        let directory = try LedgerTests.TempDirectory()
        let file = try directory.write("message.xml", #"<?xml version="1.0"?><Bericht xmlns="http://www.istandaarden.nl/ijw/3_2/jw315/schema"/>"#)
        var reader = InMemoryIngest(settings: Ledger.Settings(), pseudonymizer: Pseudonymizer(keyBytes: Array(repeating: 7, count: 32)))
        let summary = reader.ingest(.file(path: file), format: .ijw)
        #expect(summary.rejected == 1)
        #expect(summary.errors.first?.description.contains("can only be read into a state directory") == true)
        #expect(reader.model.eventCount == 0)
    }

    @Test func withoutAKeyFileNoneIsCreated() throws {
        let directory = try LedgerTests.TempDirectory()
        let keyFile = directory.path + "/pseudonym.key"
        let key = try InMemoryIngest.pseudonymizer(keyFile: keyFile)
        #expect(!key.usedKeyFile)
        #expect(!FileManager.default.fileExists(atPath: keyFile))
        // A key of its own: two runs pseudonymise the same BSN differently.
        let other = try InMemoryIngest.pseudonymizer(keyFile: keyFile)
        #expect(try key.pseudonymizer.caseID(forBSN: "111222333") != other.pseudonymizer.caseID(forBSN: "111222333"))
    }
}
