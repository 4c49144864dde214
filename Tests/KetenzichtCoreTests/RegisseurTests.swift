import KetenzichtTestSupport
import Testing
@testable import KetenzichtCore

@Suite struct RegisseurTests {
    static let parties: [Event] = [
        Fixture.party("km", "participatie", day: -10),
        Fixture.party("shv", "schuldhulp", day: -10),
        Fixture.party("wmo", "wmo", day: -10),
        Fixture.party("ggz", "ggz", day: -10),
        Fixture.party("ha", "huisarts", day: -10),
    ]

    static func model(_ events: [Event]) -> ChainModel {
        var model = ChainModel()
        for event in parties + events {
            if case .refused(let refusal) = model.apply(event).disposition { Issue.record("refused: \(refusal)") }
        }
        return model
    }

    @Test func highestDomainWeightWins() throws {
        let model = Self.model([
            Fixture.assessment("c-1", day: 0, [("financien", 1), ("werk-opleiding", 3)]),
            Fixture.referral("r1", from: "km", to: "shv", day: 1),
        ])
        let decision = try #require(RegieDecision.decide(caseID: "c-1", in: model, asOf: Fixture.at(5)))
        #expect(decision.regisseur == "shv")
        #expect(decision.rule == .highestWeight)
        #expect(decision.weights == ["schuldhulp": 4, "participatie": 2])
        #expect(decision.zwaartepunt == ["schuldhulp"])
        #expect(decision.candidates.map(\.party) == ["shv", "km"])
        #expect(!decision.zwaartepuntUncovered && !decision.noRegisseur)
    }

    @Test func tiesGoToTheLongestInvolvedThenSmallestId() throws {
        let model = Self.model([
            Fixture.referral("r1", from: "km", to: "ggz", day: 1),
            Fixture.referral("r2", from: "ggz", to: "wmo", day: 3),
        ])
        let decision = try #require(RegieDecision.decide(caseID: "c-1", in: model, asOf: Fixture.at(5)))
        #expect(decision.regisseur == "km")
        #expect(decision.weights.isEmpty)
        let tie = Self.model([Fixture.referral("r1", from: "wmo", to: "km", day: 1)])
        let tied = try #require(RegieDecision.decide(caseID: "c-1", in: tie, asOf: Fixture.at(5)))
        #expect(tied.regisseur == "km")
        #expect(tied.rule == .smallestID)
        // shv holds regie until its referral is rejected; then wmo (since day 1) beats km (since day 2).
        let longer = Self.model([
            Fixture.referral("r0", from: "ha", to: "shv", day: 0),
            Fixture.referral("r1", from: "ggz", to: "wmo", day: 1),
            Fixture.referral("r2", from: "ggz", to: "km", day: 2),
            Fixture.step(.rejected, "r0", day: 3),
        ])
        let decided = try #require(RegieDecision.decide(caseID: "c-1", in: longer, asOf: Fixture.at(5)))
        #expect(decided.regisseur == "wmo")
        #expect(decided.rule == .longestInvolved)
    }

    @Test func hysteresisKeepsThenSwitches() throws {
        let events = [
            Fixture.assessment("c-1", day: 0, [("werk-opleiding", 3), ("financien", 2)]), // participatie 2, schuldhulp 3
            Fixture.referral("r1", from: "km", to: "ggz", day: 1),                        // km only candidate
            Fixture.referral("r2", from: "ggz", to: "shv", day: 2),                       // shv weighs 1 more: km kept
        ]
        let kept = try #require(RegieDecision.decide(caseID: "c-1", in: Self.model(events), asOf: Fixture.at(5)))
        #expect(kept.regisseur == "km")
        #expect(kept.rule == .kept)
        let switched = try #require(RegieDecision.decide(
            caseID: "c-1", in: Self.model(events + [Fixture.assessment("c-1", day: 6, [("werk-opleiding", 3), ("financien", 1)])]),
            asOf: Fixture.at(7)))
        #expect(switched.regisseur == "shv")                                              // 4 − 2 ≥ 2
        #expect(switched.rule == .switched)
        #expect(switched.history.map(\.regisseur) == ["km", "shv"])
        #expect(switched.history.map(\.time) == [Fixture.at(1), Fixture.at(6)])
        // Without history (a fresh evaluation) shv would win straight away.
        let fresh = try #require(RegieDecision.decide(caseID: "c-1", in: Self.model(events), asOf: Fixture.at(1)))
        #expect(fresh.regisseur == "km")
    }

    @Test func aRegisseurNoLongerInvolvedIsReplaced() throws {
        let model = Self.model([
            Fixture.referral("r1", from: "km", to: "ggz", day: 1),
            Fixture.referral("r2", from: "wmo", to: "ha", day: 2),
            Fixture.step(.started, "r1", day: 3), Fixture.step(.completed, "r1", day: 4),
        ])
        let decision = try #require(RegieDecision.decide(caseID: "c-1", in: model, asOf: Fixture.at(5)))
        #expect(decision.regisseur == "wmo")
        #expect(decision.history.map(\.regisseur) == ["km", "wmo"])
    }

    @Test func manualAssignmentWinsWhileInvolved() throws {
        let events = [
            Fixture.assessment("c-1", day: 0, [("financien", 1)]),
            Fixture.referral("r1", from: "km", to: "shv", day: 1),
            Fixture.referral("r2", from: "km", to: "ggz", day: 1),
            Fixture.regie("c-1", "ggz", day: 2),
        ]
        let manual = try #require(RegieDecision.decide(caseID: "c-1", in: Self.model(events), asOf: Fixture.at(3)))
        #expect(manual.regisseur == "ggz")
        #expect(manual.rule == .manual)
        let ended = try #require(RegieDecision.decide(
            caseID: "c-1", in: Self.model(events + [Fixture.step(.rejected, "r2", day: 4)]), asOf: Fixture.at(5)))
        #expect(ended.regisseur == "shv")
        #expect(ended.manualAssignment == "ggz")
        #expect(ended.rule == .highestWeight)
    }

    @Test func flagsUncoveredZwaartepuntAndNoRegisseur() throws {
        let model = Self.model([
            Fixture.assessment("c-1", day: 0, [("geestelijke-gezondheid", 1), ("financien", 4)]),
            Fixture.referral("r1", from: "ha", to: "ggz", day: 1),
            Fixture.assessment("c-2", day: 0, [("geestelijke-gezondheid", 1)]),
            Fixture.referral("r2", case: "c-2", from: "km", to: "shv", day: 1),
        ])
        let none = try #require(RegieDecision.decide(caseID: "c-1", in: model, asOf: Fixture.at(2)))
        #expect(none.noRegisseur && none.regisseur == nil && none.rule == .noCandidate)
        #expect(!none.zwaartepuntUncovered)
        let uncovered = try #require(RegieDecision.decide(caseID: "c-2", in: model, asOf: Fixture.at(2)))
        #expect(uncovered.zwaartepuntUncovered)
        #expect(uncovered.zwaartepunt == ["ggz"])
        #expect(uncovered.regisseur == "km")
    }

    @Test func replayGivesTheSameDecisionsAndCaseload() {
        let events = [
            Fixture.assessment("c-1", day: 0, [("financien", 1)]),
            Fixture.referral("r1", from: "km", to: "shv", day: 1),
            Fixture.referral("r2", case: "c-2", from: "km", to: "wmo", day: 1),
            Fixture.referral("r3", case: "c-3", from: "km", to: "ggz", day: 1),
        ]
        let first = RegieDecision.decideAll(Self.model(events), asOf: Fixture.at(3))
        var generator = SplitMix64(seed: 7)
        let second = RegieDecision.decideAll(Self.model(events.shuffled(using: &generator)), asOf: Fixture.at(3))
        #expect(first == second)
        let caseload = RegieCaseload.compute(first, model: Self.model(events))
        #expect(caseload == [.init(party: "km", domain: "participatie", cases: 2), .init(party: "shv", domain: "schuldhulp", cases: 1)])
    }
}
