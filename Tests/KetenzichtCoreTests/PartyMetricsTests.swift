import KetenzichtTestSupport
import Testing
@testable import KetenzichtCore

@Suite struct PartyMetricsTests {
    /// Window (day 0, day 84]; hand-computed expectations in the comments.
    static func model() -> ChainModel {
        var model = ChainModel()
        let events: [Event] = [
            Fixture.party("km", "participatie", day: -100),
            Fixture.party("ggz", "ggz", day: -100),
            Fixture.party("shv", "schuldhulp", day: -100),
            Fixture.party("wmo", "wmo", day: -100),
            Fixture.referral("r1", from: "km", to: "ggz", day: 10), Fixture.step(.started, "r1", day: 40),   // arrival, start, wait 30
            Fixture.referral("r2", from: "km", to: "ggz", day: 20),                                          // arrival, open, age 64
            Fixture.referral("r3", from: "km", to: "ggz", day: -50),                                         // open, age 134 > 98: over norm
            Fixture.referral("r4", from: "km", to: "ggz", day: 30), Fixture.step(.started, "r4", day: 150), // arrival, open at asOf
            Fixture.referral("r5", from: "km", to: "ggz", day: 5), Fixture.step(.rejected, "r5", day: 10),  // arrival only
            Fixture.referral("r6", from: "km", to: "shv", day: 60),                                          // open, nothing starts
            Fixture.referral("r7", from: "km", to: "wmo", day: 70), Fixture.step(.started, "r7", day: 80),  // no backlog
        ]
        for event in events { _ = model.apply(event) }
        return model
    }

    @Test func computesEveryMetricAndTheOrder() throws {
        let metrics = PartyMetrics.compute(Self.model(), window: AnalysisWindow(asOf: Fixture.at(84)))
        #expect(metrics.map(\.party) == ["shv", "ggz", "wmo"])
        let ggz = metrics[1]
        #expect(ggz.arrivalsPerWeek == 4.0 / 12)
        #expect(ggz.startsPerWeek == 1.0 / 12)
        #expect(ggz.backlog == 3)
        #expect(ggz.waitP50Days == 30 && ggz.waitP90Days == 30)
        #expect(abs(ggz.expectedWaitDays - 252) < 1e-9)
        #expect(abs(ggz.utilization! - 4) < 1e-9)
        #expect(ggz.normDays == 98)
        #expect(ggz.overNorm == 1)
        #expect(abs(ggz.bottleneckScore - 252.0 / 98) < 1e-12)
        #expect(ggz.reason == "backlog 3 at 0.1 starts/week: a new referral waits ~252 days, norm 98 (Treeknorm); expected wait exceeds the norm; 1 referral over norm")
        let shv = metrics[0]
        #expect(shv.expectedWaitDays == .infinity && shv.bottleneckScore == .infinity)
        #expect(shv.utilization == nil && shv.waitP50Days == nil)
        #expect(shv.reason == "backlog 1 at 0 starts/week: nothing started in the window, so a new referral waits indefinitely, norm 28 (Wgs art. 4); expected wait exceeds the norm")
        let wmo = metrics[2]
        #expect(wmo.backlog == 0 && wmo.expectedWaitDays == 0 && wmo.bottleneckScore == 0)
        #expect(wmo.waitP50Days == 10)
    }

    @Test func timelinesGiveTheSameExpectedWaits() {
        var generator = SplitMix64(seed: 9)
        for asOf in [0.0, 30, 84, 150, 400] {
            let window = AnalysisWindow(asOf: Fixture.at(asOf))
            let model = Self.model()
            for metrics in PartyMetrics.compute(model, window: window) {
                #expect(model.timelines[metrics.party]?.expectedWaitDays(window) == metrics.expectedWaitDays)
                #expect(model.timelines[metrics.party]?.backlog(asOf: window.asOf) == metrics.backlog)
            }
        }
        // A start that arrives after the referral's (later) rejection moves it out of "ended unstarted".
        var events = [
            Fixture.referral("x1", from: "km", to: "ggz", day: 1), Fixture.step(.rejected, "x1", day: 20),
            Fixture.step(.started, "x1", day: 10), Fixture.referral("x2", from: "km", to: "ggz", day: 2),
        ]
        for _ in 0..<5 {
            var model = ChainModel()
            for event in events { _ = model.apply(event) }
            let window = AnalysisWindow(asOf: Fixture.at(30))
            let metrics = PartyMetrics.compute(model, window: window)
            #expect(model.timelines["ggz"]?.expectedWaitDays(window) == metrics.first?.expectedWaitDays)
            #expect(model.timelines["ggz"]?.backlog(asOf: window.asOf) == 1)
            events.shuffle(using: &generator)
        }
    }

    @Test func emptyWindowListsOnlyOpenReferrals() {
        let metrics = PartyMetrics.compute(Self.model(), window: AnalysisWindow(asOf: Fixture.at(400), days: 7))
        // Nothing was created in (393, 400]; only still-open referrals keep their parties listed.
        // Both wait forever (nothing starts); the larger backlog (ggz: r2, r3) comes first.
        #expect(metrics.map(\.party) == ["ggz", "shv"])
        #expect(metrics.map(\.backlog) == [2, 1])
        #expect(metrics.allSatisfy { $0.arrivalsPerWeek == 0 && $0.startsPerWeek == 0 })
    }

    @Test func seesNothingAfterAsOf() {
        let metrics = PartyMetrics.compute(Self.model(), window: AnalysisWindow(asOf: Fixture.at(0)))
        #expect(metrics.map(\.party) == ["ggz"])
        #expect(metrics[0].backlog == 1)
    }

    @Test func nearestRankPercentiles() {
        let values = (1...10).map(Double.init)
        #expect(PartyMetrics.nearestRank(values, 0.9) == 9)
        #expect(PartyMetrics.nearestRank(values, 0.5) == 5)
        #expect(PartyMetrics.nearestRank([1, 2, 3], 0.5) == 2)
        #expect(PartyMetrics.nearestRank([7], 0.9) == 7)
        #expect(PartyMetrics.nearestRank([], 0.5) == nil)
    }

    @Test func crisisReferralsUseTheCrisisNorm() {
        var model = ChainModel()
        _ = model.apply(Fixture.party("ggz", "ggz"))
        _ = model.apply(Event(identity: EventIdentity(source: "t", id: "c"), time: Fixture.at(1),
                              body: .referralCreated(ReferralCreation(referral: "r", caseID: "c", from: "km", to: "ggz", urgency: .crisis))))
        let metrics = PartyMetrics.compute(model, window: AnalysisWindow(asOf: Fixture.at(5)))
        #expect(metrics[0].overNorm == 1)
        #expect(metrics[0].normDays == 98)
    }

    @Test func tiesGoToBacklogThenId() {
        var model = ChainModel()
        for (index, party) in ["b", "a", "c"].enumerated() {
            _ = model.apply(Fixture.referral("r-\(party)", from: "x", to: party, day: 1))
            if index == 2 { _ = model.apply(Fixture.referral("r-\(party)2", from: "x", to: party, day: 1)) }
        }
        let metrics = PartyMetrics.compute(model, window: AnalysisWindow(asOf: Fixture.at(2)))
        #expect(metrics.map(\.party) == ["c", "a", "b"])
    }
}
