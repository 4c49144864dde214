import Foundation
import KetenzichtCore
import KetenzichtIngest
import Testing
@testable import KetenzichtStore

/// iJw messages through the whole ingest loop: decoder, model, SQLite store, analyses.
@Suite struct IStandaardenLedgerTests {
    static let received = try! Timestamp(rfc3339: "2026-11-25T12:00:00Z")
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("KetenzichtIngestTests/IStandaarden").path
    static let chain = ["ijw-315.xml", "ijw-301.xml", "ijw-305.xml", "ijw-307.xml"]
    static let referral = "ijw-0363-12345678-ref-REF-A1"
    static let provider = "agb-12345678-jeugd"
    /// What the fixtures say about the client, and must stay out of the state directory.
    static let personal = ["111222333", "Bakker", "Sanne", "Keizersgracht", "1015CJ", "2014-05-17"]

    final class TempDirectory {
        let path: String
        init() throws {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("kz-istd-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    static func day(_ text: String) throws -> Timestamp { try Timestamp(rfc3339: text) }

    static func ingest(_ names: [String], into ledger: Ledger) throws -> Ledger.Summary {
        var total = Ledger.Summary()
        for name in names {
            total += try ledger.ingest(.file(path: fixtures + "/" + name), receivedAt: received)
        }
        return total
    }

    /// Every byte under `directory`, for a grep that also sees inside SQLite pages.
    static func allBytes(under directory: String) throws -> [UInt8] {
        var bytes: [UInt8] = []
        let enumerator = FileManager.default.enumerator(atPath: directory)
        while let relative = enumerator?.nextObject() as? String {
            let path = directory + "/" + relative
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            bytes += [UInt8](FileManager.default.contents(atPath: path) ?? Data())
        }
        return bytes
    }

    static func contains(_ haystack: [UInt8], _ needle: String) -> Bool {
        let pattern = Array(needle.utf8)
        guard pattern.count <= haystack.count else { return false }
        for start in 0...(haystack.count - pattern.count) where haystack[start] == pattern[0] {
            if Array(haystack[start..<start + pattern.count]) == pattern { return true }
        }
        return false
    }

    @Test func aWholeChainShowsItsWaitsInTheCaseAndTheProvidersMetrics() throws {
        let directory = try TempDirectory()
        let state = directory.path + "/state"
        let ledger = try Ledger(stateDirectory: state)
        let summary = try Self.ingest(Self.chain, into: ledger)
        #expect(summary.rejected == 0)
        #expect(summary.warnings.isEmpty)

        let referral = try #require(ledger.model.referrals[Self.referral])
        #expect(referral.from == "huisarts-agb-01234567")
        #expect(referral.to == Self.provider)
        #expect(referral.created == (try Self.day("2026-03-02T00:00:00+01:00")))
        #expect(referral.accepted == (try Self.day("2026-03-06T00:00:00+01:00")))
        #expect(referral.started == (try Self.day("2026-03-16T00:00:00+01:00")))
        #expect(referral.completed == (try Self.day("2026-06-01T00:00:00+02:00")))
        #expect(referral.ended?.note == "RedenBeeindiging 31: levering volgens plan beëindigd")
        #expect(ledger.model.parties[Self.provider]?.registration?.domain == "jeugd")
        #expect(ledger.model.parties["huisarts-agb-01234567"]?.registration?.domain == "huisarts")

        let asOf = try Self.day("2026-06-02T00:00:00Z")
        let window = AnalysisWindow(asOf: asOf)
        let states = [Self.referral, "ijw-0363-12345678-ref-REF-A2", "ijw-0363-12345678-ref-REF-A3", "ijw-0363-12345678-tw-5002"]
            .map { ledger.model.referrals[$0]?.state(asOf: asOf) }
        #expect(states == [.completed, .created, .created, .started])

        // case.get: the case is the pseudonym, and the chain's referral carries its wait (14 days).
        let caseID = try #require(ledger.model.referrals[Self.referral]?.caseID)
        #expect(caseID.hasPrefix("p-"))
        guard case .object(let view)? = Answers.caseView(ledger.model, id: caseID, window: window),
              case .array(let referrals)? = view["referrals"] else {
            Issue.record("no case view")
            return
        }
        let waits = referrals.compactMap { answer -> (String, JSONValue)? in
            guard case .object(let fields) = answer, case .string(let id)? = fields["referral"] else { return nil }
            return (id, fields["wait"] ?? .null)
        }
        #expect(waits.first { $0.0 == Self.referral }?.1 == .number(14))
        #expect(waits.first { $0.0 == "ijw-0363-12345678-tw-5002" }?.1 == .number(12))

        // The provider's bottleneck metrics: two starts in the window (waits 12 and 14 days), two
        // referrals still open, so Little's law gives 2 / (2/12 per week) × 7 = 84 days.
        let metrics = try #require(PartyMetrics.compute(ledger.model, window: window).first { $0.party == Self.provider })
        #expect(metrics.domain == "jeugd")
        #expect(metrics.backlog == 2)
        #expect(metrics.waitP50Days == 12)
        #expect(metrics.waitP90Days == 14)
        #expect(abs(metrics.startsPerWeek - 2.0 / 12) < 1e-9)
        #expect(abs(metrics.expectedWaitDays - 84) < 1e-9)
        #expect(metrics.normDays == 56)
        #expect(abs(metrics.bottleneckScore - 1.5) < 1e-9)
        guard case .object(let bottlenecks) = Answers.bottlenecks(ledger.model, window: window),
              case .array(let listed)? = bottlenecks["bottlenecks"], case .object(let first)? = listed.first else {
            Issue.record("no bottlenecks")
            return
        }
        #expect(first["party"] == .string(Self.provider))

        // Neither the store nor the answers hold the BSN, the name or the address.
        var answers = ""
        answers += Answers.caseView(ledger.model, id: caseID, window: window)?.serialized ?? ""
        answers += Answers.bottlenecks(ledger.model, window: window).serialized
        answers += Answers.parties(ledger.model).serialized
        let stored = try Self.allBytes(under: state)
        #expect(stored.count > 10_000)
        for detail in Self.personal {
            #expect(!Self.contains(stored, detail), "\(detail) found in the state directory")
            #expect(!answers.contains(detail), "\(detail) found in an answer")
        }
    }

    /// Backwards, the 301 releases the held 305 and 307 before the 315 exists, so they wait as
    /// pending events; the horizon is widened because the stop (June) would otherwise expire the
    /// acceptance (March) before the 315 arrives in the next call — the model's rule, not the mapping's.
    @Test func theChainDoesNotDependOnArrivalOrder() throws {
        let keys = try TempDirectory()
        let settings = Ledger.Settings(pendingHorizonDays: 365, keyFile: keys.path + "/pseudonym.key")
        let first = try TempDirectory()
        let inOrder = try Ledger(stateDirectory: first.path + "/state", settings: settings)
        _ = try Self.ingest(Self.chain, into: inOrder)
        let second = try TempDirectory()
        let reversed = try Ledger(stateDirectory: second.path + "/state", settings: settings)
        let summary = try Self.ingest(Self.chain.reversed(), into: reversed)
        #expect(summary.rejected == 0)
        #expect(reversed.model.referrals == inOrder.model.referrals)
        #expect(reversed.model.cases == inOrder.model.cases)
        #expect(reversed.model.pendingCount == 0)
    }

    @Test func aDirectoryIsOneIngestWithRefusalsQuarantinedAndNotesNot() throws {
        let directory = try TempDirectory()
        let state = directory.path + "/state"
        let ledger = try Ledger(stateDirectory: state)
        let summary = try ledger.ingest(.file(path: Self.fixtures), receivedAt: Self.received)
        // Refused: the impossible date (one product), the elfproef, a product and a header
        // missing an element. Notes: the retour message, the 319 in onderzoek, a held start.
        #expect(summary.rejected == 4)
        #expect(summary.warnings.count == 3)
        #expect(summary.accepted > 20)
        #expect(try ledger.store.counts().quarantined == 4)
        #expect(ledger.model.referrals["ijw-0363-12345678-ref-REF-A2"]?.ended?.step == .rejected)
        #expect(ledger.model.referrals["iwmo-0599-87654321-ref-REF-W3"]?.ended?.step == .rejected)
        #expect(ledger.model.referrals["iwmo-0599-87654321-ref-REF-W1"]?.completed != nil)
        #expect(ledger.model.referrals["ijw-0363-12345678-ref-REF-B2"] != nil)
        #expect(ledger.model.referrals["ijw-0363-12345678-ref-REF-B1"] == nil)
        let again = try ledger.ingest(.file(path: Self.fixtures), receivedAt: Self.received)
        #expect(again.accepted == 0)
        #expect(again.duplicates == summary.accepted + summary.pending + summary.duplicates)
        let stored = try Self.allBytes(under: state)
        for detail in Self.personal + ["123456789", "123456782", "Visser", "Coolsingel"] {
            #expect(!Self.contains(stored, detail), "\(detail) found in the state directory")
        }
    }
}
