import Testing
@testable import KetenzichtCore
import KetenzichtTestSupport

/// The compact tables behind `ChainModel` against plain Swift collections on the same inputs.
@Suite struct ModelStorageTests {
    @Test func keyTableFindsEveryKeyAcrossBucketSplitsAndKeepsTrailers() {
        var table = KeyTable()
        var generator = SplitMix64(seed: 3)
        var expected: [String: Int] = [:]
        var trailers: [Int: [UInt8]] = [:]
        for index in 0..<40_000 {
            // Short, long (own chunk) and empty keys, some with a trailer.
            let key = index % 997 == 0 ? String(repeating: "x", count: 70_000 + index) : index == 5 ? "" : "k-\(generator.next() % 1_000_000_000)-\(index)"
            let trailer: [UInt8]? = index % 3 == 0 ? Array("evt-\(index)".utf8) : nil
            let row = table.append(key, trailer: trailer)
            expected[key] = row
            if let trailer { trailers[row] = trailer }
        }
        #expect(table.count == 40_000)
        for (key, row) in expected {
            #expect(table.row(of: key) == row)
            #expect(table.key(at: row) == key)
        }
        for (row, trailer) in trailers {
            #expect(table.withTrailer(at: row) { Array($0) } == trailer)
        }
        #expect(table.row(of: "k-absent") == nil)
    }

    @Test func identityDigestsTellDuplicatesFromNewAndRemoveExactlyOne() {
        var digests = IdentityDigests()
        let identities = (0..<100_000).map { EventIdentity(source: "urn:bron:\($0 % 37)", id: "e-\($0)") }
        for (index, identity) in identities.enumerated() { digests.insert(identity, digest: UInt64(index) &* 0x9E37_79B9_7F4A_7C15) }
        #expect(digests.count == 100_000)
        for (index, identity) in identities.enumerated() {
            #expect(digests.digest(of: identity) == IdentityDigests.digest16(UInt64(index) &* 0x9E37_79B9_7F4A_7C15))
        }
        #expect(digests.digest(of: EventIdentity(source: "urn:bron:0", id: "e-100000")) == nil)
        digests.remove(identities[42])
        #expect(digests.count == 99_999)
        #expect(digests.digest(of: identities[42]) == nil)
        #expect(digests.digest(of: identities[43]) != nil)
    }

    /// Prefetching computes element addresses from an array's reference alone, assuming where
    /// the runtime puts the elements; this reads through such an address.
    @Test func elementAddressesPointAtTheElements() {
        let values: [UInt64] = [10, 20, 30]
        let chunks: [[UInt64]] = [[1, 2], values]
        let third = withUnsafeBytes(of: values) { elementAddress(ofArrayAt: $0.baseAddress!, index: 2, as: UInt64.self).load(as: UInt64.self) }
        #expect(third == 30)
        let inChunk = chunks.withUnsafeBufferPointer { elementAddress(ofArrayAt: UnsafeRawPointer($0.baseAddress! + 1), index: 1, as: UInt64.self).load(as: UInt64.self) }
        #expect(inChunk == 20)
    }

    /// Bulk loops apply with keys made ahead and prefetch a few events ahead: the same model,
    /// the same dispositions as applying one event at a time.
    @Test func applyingWithKeysAndPrefetchChangesNothing() {
        var generator = SplitMix64(seed: 11)
        var events: [Event] = [Fixture.party("a", "wmo"), Fixture.party("b", "ggz")]
        for index in 0..<3_000 {
            let referral = "r-\(index % 1_200)"
            let day = Double(index) / 10
            switch generator.next() % 5 {
            case 0, 1: events.append(Fixture.referral(referral, case: "c-\(index % 300)", from: "a", to: "b", day: day, event: "e-\(index)"))
            case 2: events.append(Fixture.step(.accepted, referral, day: day, event: "e-\(index)"))
            case 3: events.append(Fixture.step(.started, referral, day: day, event: "e-\(index)"))
            default: events.append(Fixture.assessment("c-\(index % 300)", day: day, [("financien", Int(generator.next() % 5) + 1)]))
            }
        }
        events += events.prefix(500)  // duplicates
        var plain = ChainModel()
        let plainResults = events.map { "\(plain.apply($0).disposition)" }
        var ahead = ChainModel()
        let keys = events.map(ChainModel.EventKeys.init)
        let aheadResults = keys.withUnsafeBufferPointer { keys in
            events.indices.map { index in
                ahead.prefetch(ahead: index, keys: keys)
                return "\(ahead.apply(events[index], keys: keys[index]).disposition)"
            }
        }
        #expect(aheadResults == plainResults)
        #expect(ahead.referrals.count == plain.referrals.count)
        #expect(ahead.eventCount == plain.eventCount)
        let window = AnalysisWindow(asOf: Fixture.at(400))
        #expect(Answers.bottlenecks(ahead, window: window).serialized == Answers.bottlenecks(plain, window: window).serialized)
        #expect(ahead.cases.keys.sorted() == plain.cases.keys.sorted())
    }

    @Test func aSnapshotKeepsItsTablesWhileTheCopyChanges() {
        var table = KeyTable()
        for index in 0..<5_000 { _ = table.append("r-\(index)") }
        let snapshot = table
        for index in 5_000..<20_000 { _ = table.append("r-\(index)") }
        #expect(snapshot.count == 5_000)
        #expect(snapshot.row(of: "r-4999") == 4_999)
        #expect(snapshot.row(of: "r-5000") == nil)
        #expect(table.row(of: "r-19999") == 19_999)
    }

    @Test func stepTimesFarFromTheCreationAreKeptExactly() {
        // 40-bit offsets reach ~34.8 years; later steps go to the row's extras.
        var model = ChainModel()
        _ = model.apply(Fixture.party("a", "wmo"))
        _ = model.apply(Fixture.party("b", "ggz"))
        _ = model.apply(Fixture.referral("r-1", from: "a", to: "b", day: 1))
        _ = model.apply(Fixture.step(.accepted, "r-1", day: 1))
        _ = model.apply(Fixture.step(.started, "r-1", day: 1 + 365.25 * 40))
        _ = model.apply(Fixture.step(.completed, "r-1", day: 1 + 365.25 * 90, note: "afgerond"))
        let referral = model.referrals["r-1"]
        #expect(referral?.accepted == Fixture.at(1))
        #expect(referral?.started == Fixture.at(1 + 365.25 * 40))
        #expect(referral?.completed == Fixture.at(1 + 365.25 * 90))
        #expect(referral?.ended?.note == "afgerond")
    }

    @Test func caseListsStayInCreationOrderWhateverTheArrivalOrder() {
        var model = ChainModel()
        _ = model.apply(Fixture.party("a", "wmo"))
        _ = model.apply(Fixture.party("b", "ggz"))
        for (id, day) in [("r-5", 5.0), ("r-1", 1), ("r-9", 9), ("r-3", 3), ("r-3b", 3), ("r-0", 0), ("r-7", 7)] {
            _ = model.apply(Fixture.referral(id, from: "a", to: "b", day: day))
        }
        #expect(model.cases["c-1"]?.referrals == ["r-0", "r-1", "r-3", "r-3b", "r-5", "r-7", "r-9"])
        #expect(model.referrals(of: model.cases["c-1"]!).map(\.id) == ["r-0", "r-1", "r-3", "r-3b", "r-5", "r-7", "r-9"])
        #expect(model.referrals(to: "b").count == 7)
    }

    /// The duplicate index keeps 16 bits of each event's digest; a conflicting event whose digest
    /// agrees in those bits must still be told apart by its content.
    @Test(arguments: ["creation", "completion"])
    func aConflictWhoseDigestBitsCollideIsStillAConflict(kind: String) throws {
        var model = ChainModel()
        _ = model.apply(Fixture.party("a", "wmo"))
        _ = model.apply(Fixture.party("b", "ggz"))
        let original = Fixture.referral("r-1", from: "a", to: "b", day: 1, event: "e-1")
        _ = model.apply(original)
        _ = model.apply(Fixture.step(.started, "r-1", day: 2))
        let completion = Fixture.step(.completed, "r-1", day: 3, note: "afgerond", event: "e-2")
        _ = model.apply(completion)
        let target = kind == "creation" ? original : completion
        let wanted = IdentityDigests.digest16(target.fingerprint)
        let variant = try #require((0..<1_000_000).lazy.map { attempt -> Event in
            var changed = target
            changed.body = switch target.body {
            case .referralCreated(var creation): { creation.lifeDomain = "variant-\(attempt)"; return .referralCreated(creation) }()
            case .referralStatus(var change): { change.note = "variant-\(attempt)"; return .referralStatus(change) }()
            default: target.body
            }
            return changed
        }.first { IdentityDigests.digest16($0.fingerprint) == wanted })
        #expect(variant != target)
        guard case .refused(let refusal) = model.apply(variant).disposition else {
            Issue.record("a conflicting \(kind) with colliding digest bits was not refused")
            return
        }
        #expect(refusal.message.contains("conflict"))
        #expect(model.apply(target).disposition == .duplicate)
    }
}
