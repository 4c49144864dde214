import Foundation
import Testing
@testable import KetenzichtCore

@Suite struct StructuralSignalTests {
    @Test func pingPongCountsReturnsWithinNinetyDays() {
        var model = ChainModel()
        let events: [Event] = [
            Fixture.referral("r1", from: "a", to: "b", day: 1),
            Fixture.referral("r2", from: "b", to: "a", day: 50),    // return of r1, outside the window
            Fixture.referral("r3", from: "a", to: "b", day: 200),   // r2 is 150 days back: no return
            Fixture.referral("r4", from: "b", to: "a", day: 210),   // return of r3
            Fixture.referral("r5", from: "a", to: "b", day: 210),   // same time as r4: not strictly later
            Fixture.referral("r6", case: "c-2", from: "b", to: "a", day: 211), // other case: no return
        ]
        for event in events { _ = model.apply(event) }
        let report = PingPongReport.compute(model, window: AnalysisWindow(asOf: Fixture.at(220)))
        #expect(report.returns.map(\.referral) == ["r4"])
        #expect(report.returns.first?.returnOf == "r3")
        #expect(report.returns.first?.daysAfter == 10)
        #expect(report.pairs == [.init(parties: ["a", "b"], returns: 1, cases: 1)])
        #expect(report.cases == [.init(caseID: "c-1", returns: 1)])
        let wide = PingPongReport.compute(model, window: AnalysisWindow(asOf: Fixture.at(220), days: 365))
        #expect(wide.returns.map(\.referral) == ["r2", "r4"])
    }

    @Test func droppedNeedsFourteenQuietDays() {
        var model = ChainModel()
        let events: [Event] = [
            Fixture.referral("r1", from: "a", to: "b", day: 1), Fixture.step(.rejected, "r1", day: 10),
            Fixture.referral("r2", from: "a", to: "c", day: 20),                       // follow-up within 14 days
            Fixture.referral("r3", case: "c-2", from: "a", to: "b", day: 1), Fixture.step(.withdrawn, "r3", day: 10, note: "verhuisd"),
            Fixture.referral("r4", case: "c-2", from: "a", to: "c", day: 25),          // after day 24: too late
            Fixture.referral("r5", case: "c-3", from: "a", to: "b", day: 1), Fixture.step(.rejected, "r5", day: 20), // 14 days not yet over
        ]
        for event in events { _ = model.apply(event) }
        let dropped = DroppedReferral.compute(model, window: AnalysisWindow(asOf: Fixture.at(30)))
        #expect(dropped.map(\.referral) == ["r3"])
        #expect(dropped.first?.step == .withdrawn)
        #expect(dropped.first?.reason == "verhuisd")
    }

    @Test func betweennessOnAPath() {
        // a → b → c: only b lies between; normalised by (n−1)(n−2) = 2.
        let scores = Betweenness.compute(nodeCount: 3, edges: [(0, 1), (1, 2)])
        #expect(scores == [0, 0.5, 0])
        #expect(Betweenness.compute(nodeCount: 0, edges: []) == [])
        #expect(Betweenness.compute(nodeCount: 2, edges: [(0, 1), (1, 0)]) == [0, 0])
    }

    struct BetweennessFixture: Decodable {
        var nodes: Int
        var edges: [[Int]]
        var betweenness: [Double]
    }

    @Test(arguments: ["betweenness-small.json", "betweenness-medium.json", "betweenness-sparse.json"])
    func betweennessMatchesNetworkx(_ name: String) throws {
        let fixture = try JSONDecoder().decode(BetweennessFixture.self, from: try FixtureFile.data(name))
        let scores = Betweenness.compute(nodeCount: fixture.nodes, edges: fixture.edges.map { ($0[0], $0[1]) })
        #expect(scores.count == fixture.betweenness.count)
        for (ours, reference) in zip(scores, fixture.betweenness) {
            #expect(abs(ours - reference) < 1e-9)
        }
    }

    @Test func betweennessOfTheWindowGraphNamesParties() {
        var model = ChainModel()
        for event in [
            Fixture.referral("r1", from: "km", to: "shv", day: 1),
            Fixture.referral("r2", from: "shv", to: "bew", day: 2),
            Fixture.referral("r3", case: "c-2", from: "km", to: "shv", day: 3),
            Fixture.referral("r0", from: "bew", to: "km", day: -200),  // outside the window: no edge
        ] { _ = model.apply(event) }
        let entries = Betweenness.compute(model, window: AnalysisWindow(asOf: Fixture.at(10)))
        #expect(entries.first == .init(party: "shv", betweenness: 0.5))
        #expect(entries.count == 3)
    }
}

enum FixtureFile {
    static func data(_ name: String) throws -> Data {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)")
        return try Data(contentsOf: url)
    }
}
