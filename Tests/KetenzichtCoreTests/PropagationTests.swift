import Foundation
import Testing
@testable import KetenzichtCore

@Suite struct PropagationTests {
    @Test func inferredChainWaitsForTheUpstreamStart() throws {
        var model = ChainModel()
        for event in [
            Fixture.party("bew", "bewindvoering"),
            Fixture.referral("r1", from: "km", to: "shv", day: 0),
            Fixture.referral("r2", from: "shv", to: "bew", day: 5),                      // infers: waits for r1
            Fixture.referral("r3", from: "km", to: "wmo", day: 6, dependsOn: ["r2"]),    // explicit
            Fixture.referral("r4", from: "km", to: "ggz", day: 7, dependsOn: ["r5"]),
            Fixture.referral("r5", from: "km", to: "ha", day: 1), Fixture.step(.rejected, "r5", day: 2), // no longer blocks
        ] { _ = model.apply(event) }
        let waits: CaseProjection.Waits = ["shv": 30, "bew": 10, "wmo": 0, "ggz": 200]
        let projection = try #require(CaseProjection.project(caseID: "c-1", in: model, asOf: Fixture.at(10), waits: waits))
        let byID = Dictionary(uniqueKeysWithValues: projection.referrals.map { ($0.referral, $0) })
        #expect(byID["r1"]?.projectedStart == Fixture.at(30))
        #expect(byID["r2"]?.projectedStart == Fixture.at(30))
        #expect(byID["r2"]?.waitsFor == ["r1"])
        #expect(byID["r2"]?.dependencyInferred == true)
        #expect(byID["r2"]?.projectedWaitDays == 25)
        #expect(byID["r3"]?.projectedStart == Fixture.at(30))
        #expect(byID["r3"]?.dependencyInferred == false)
        #expect(byID["r4"]?.projectedStart == Fixture.at(207))
        #expect(byID["r4"]?.exceedsNorm == true)       // ggz is known only from referrals: domain overig, norm 56 < 200
        #expect(byID["r1"]?.exceedsNorm == false)      // 30 ≤ 56
        #expect(projection.projectedCompletion == Fixture.at(207))
    }

    @Test func startedPrerequisitesUseTheirRealStartAndAsOfIsTheFloor() throws {
        var model = ChainModel()
        for event in [
            Fixture.referral("r1", from: "km", to: "shv", day: 0), Fixture.step(.started, "r1", day: 3),
            Fixture.referral("r2", from: "shv", to: "bew", day: 1, dependsOn: ["r1"]),
        ] { _ = model.apply(event) }
        let projection = try #require(CaseProjection.project(caseID: "c-1", in: model, asOf: Fixture.at(20), waits: ["bew": 4]))
        #expect(projection.referrals.map(\.projectedStart) == [Fixture.at(20)])
    }

    @Test func infiniteWaitCountsAs365Days() {
        let metrics = PartyMetrics.compute(PartyMetricsTests.model(), window: AnalysisWindow(asOf: Fixture.at(84)))
        let waits = CaseProjection.waits(from: metrics)
        #expect(waits["shv"] == 365)
        #expect(abs(waits["ggz"]! - 252) < 1e-9)
    }

    /// X→A ×4, A→B ×2, B→A ×1: in(A) = 5, in(B) = 2, so p(X→A) = 1, p(A→B) = 2/5, p(B→A) = 1/2.
    /// With w(A)=30, w(B)=60: T(A) = 30 + 0.4·T(B), T(B) = 60 + 0.5·T(A), so T(A) = 54/0.8 = 67.5,
    /// T(B) = 93.75, T(X) = 0 + T(A) = 67.5.
    @Test func networkTimesThroughACycleThatLeaks() throws {
        var model = ChainModel()
        var events: [Event] = []
        for index in 0..<4 { events.append(Fixture.referral("x\(index)", case: "c-x\(index)", from: "x", to: "a", day: 1)) }
        events += [
            Fixture.referral("ab1", case: "c-ab1", from: "a", to: "b", day: 2),
            Fixture.referral("ab2", case: "c-ab2", from: "a", to: "b", day: 2),
            Fixture.referral("ba", case: "c-ba", from: "b", to: "a", day: 3),
        ]
        for event in events { _ = model.apply(event) }
        let window = AnalysisWindow(asOf: Fixture.at(10))
        let network = NetworkPropagation(graph: WindowGraph(model, window: window), model: model, window: window, waits: ["a": 30, "b": 60])
        #expect(abs(network.time(of: "a")!! - 67.5) < 1e-9)
        #expect(abs(network.time(of: "b")!! - 93.75) < 1e-9)
        #expect(abs(network.time(of: "x")!! - 67.5) < 1e-9)
        #expect(network.closedLoops.isEmpty)
        // N(i, B), visits to B: n(B) = 1 + 0.5·n(A), n(A) = 0.4·n(B), so n(B) = 1.25 and n(A) = 0.5.
        let visits = try #require(network.expectedVisits(to: "b"))
        let index = Dictionary(uniqueKeysWithValues: network.parties.enumerated().map { ($1, $0) })
        #expect(abs(visits[index["a"]!]! - 0.5) < 1e-12)
        #expect(abs(visits[index["b"]!]! - 1.25) < 1e-12)
    }

    @Test func aCycleThatNothingLeavesIsUnbounded() throws {
        // Explicit routing: c ⇄ d keeps everything (rows sum to 1, no leak), e feeds c, f is separate.
        let network = NetworkPropagation(
            parties: ["c", "d", "e", "f"], waits: [1, 1, 1, 5],
            rows: [[(1, 1)], [(0, 1)], [(0, 0.5)], []], leaks: [false, false, true, true])
        #expect(network.closedLoops == [["c", "d"]])
        #expect(network.times[0] == nil && network.times[1] == nil && network.times[2] == nil)
        #expect(network.times[3] == 5)
        // The same cycle with a leak is bounded: T(c) = 1 + 0.5·T(d), T(d) = 1 + T(c) → T(c) = 3.
        let leaking = NetworkPropagation(
            parties: ["c", "d"], waits: [1, 1], rows: [[(1, 0.5)], [(0, 1)]], leaks: [true, false])
        #expect(leaking.closedLoops.isEmpty)
        #expect(abs(leaking.times[0]! - 3) < 1e-12)
        #expect(abs(leaking.times[1]! - 4) < 1e-12)
    }

    struct PropagationFixture: Decodable {
        var parties: Int
        var rows: [[[Double]]]
        var leaks: [Bool]
        var waits: [Double]
        var times: [Double]
        var visitsTo0: [Double]
    }

    @Test(arguments: ["propagation-small.json", "propagation-medium.json"])
    func matchesADenseSolve(_ name: String) throws {
        let fixture = try JSONDecoder().decode(PropagationFixture.self, from: try FixtureFile.data(name))
        let names = (0..<fixture.parties).map { String(format: "p%04d", $0) }
        let network = NetworkPropagation(
            parties: names, waits: fixture.waits,
            rows: fixture.rows.map { $0.map { (to: Int($0[0]), p: $0[1]) } }, leaks: fixture.leaks)
        for (ours, reference) in zip(network.times, fixture.times) {
            let value = try #require(ours)
            #expect(abs(value - reference) <= 1e-6 * max(1, abs(reference)))
        }
        let visits = try #require(network.expectedVisits(to: names[0]))
        for (ours, reference) in zip(visits, fixture.visitsTo0) {
            #expect(abs(try #require(ours) - reference) <= 1e-6 * max(1, abs(reference)))
        }
    }

    @Test func whatIfExtraWaitAndCapacity() throws {
        var model = ChainModel()
        for event in [
            Fixture.party("ggz", "ggz"), Fixture.party("km", "participatie"),
            Fixture.referral("r1", from: "km", to: "ggz", day: 70),                      // open, case c-1
            Fixture.referral("r2", case: "c-2", from: "km", to: "ggz", day: 10), Fixture.step(.started, "r2", day: 24),
        ] { _ = model.apply(event) }
        let window = AnalysisWindow(asOf: Fixture.at(84))
        // ggz: backlog 1, 1 start in 12 weeks → w = 1 / (1/12) × 7 = 84 days.
        let extra = WhatIfAnswer.compute(model, window: window, party: "ggz", change: .extraWait(days: 28))
        #expect(abs(extra.waitDays - 84) < 1e-9)
        #expect(abs(extra.newWaitDays - 112) < 1e-9)
        let ggzChange = try #require(extra.affectedParties.first { $0.party == "ggz" })
        #expect(abs(ggzChange.changeDays - 28) < 1e-9)
        let kmChange = try #require(extra.affectedParties.first { $0.party == "km" })
        #expect(abs(kmChange.changeDays - 28) < 1e-9)                                   // km sends all its flow to ggz
        #expect(extra.affectedCases.map(\.caseID) == ["c-1"])
        #expect(abs(extra.affectedCases[0].changeDays - 28) < 1e-6)
        #expect(extra.casesNewlyOverNorm == ["c-1"])                                     // 70 + 112 − 70 = 112 > 98
        let capacity = WhatIfAnswer.compute(model, window: window, party: "ggz", change: .capacity(perWeek: 7))
        #expect(abs(capacity.newWaitDays - 1) < 1e-9)
        #expect(abs(capacity.extraWaitDays + 83) < 1e-9)
        #expect(capacity.casesNewlyOverNorm.isEmpty)
    }
}
