import Testing
@testable import KetenzichtCore
import KetenzichtTestSupport

@Suite struct ChainModelTests {
    private func build(_ events: [Event]) -> (ChainModel, [ChainModel.ApplyResult]) {
        var model = ChainModel()
        let results = events.map { model.apply($0) }
        return (model, results)
    }

    private func refusal(_ result: ChainModel.ApplyResult) -> ChainModel.Refusal? {
        if case .refused(let refusal) = result.disposition { return refusal }
        return nil
    }

    @Test func appliesAValidHistory() {
        let (model, results) = build(Fixture.validHistory)
        #expect(results.allSatisfy { refusal($0) == nil })
        #expect(model.referrals.count == 3)
        #expect(model.cases.count == 2)
        #expect(model.pendingCount == 0)
        let r1 = model.referrals["r-1"]!
        #expect(r1.accepted == Fixture.at(3))
        #expect(r1.started == Fixture.at(40))
        #expect(r1.completed == Fixture.at(90))
        #expect(r1.state(asOf: Fixture.at(39)) == .accepted)
        #expect(r1.state(asOf: Fixture.at(60)) == .started)
        #expect(r1.state(asOf: Fixture.at(1)) == nil)
        #expect(model.referrals["r-2"]!.ended?.step == .rejected)
        #expect(model.referrals["r-2"]!.ended?.note == "geen capaciteit")
        #expect(model.cases["c-1"]!.referrals == ["r-1", "r-2"])
        #expect(model.cases["c-1"]!.assessments.count == 1)
        #expect(model.cases["c-1"]!.regieAssignments.map(\.party) == ["km-noord"])
        // shv-b was first seen in a referral (day 41), registered later (day 50).
        #expect(model.parties["shv-b"]!.registration?.domain == "schuldhulp")
        #expect(model.parties["shv-b"]!.firstSeen == Fixture.at(41))
    }

    @Test func arrivalOrderDoesNotMatter() {
        let (reference, _) = build(Fixture.validHistory)
        var generator = SplitMix64(seed: 42)
        for _ in 0..<50 {
            let (shuffled, results) = build(Fixture.validHistory.shuffled(using: &generator))
            #expect(results.allSatisfy { refusal($0) == nil })
            #expect(shuffled.referrals == reference.referrals)
            #expect(shuffled.cases == reference.cases)
            #expect(shuffled.parties == reference.parties)
            #expect(shuffled.pendingCount == 0)
        }
    }

    @Test func duplicatesAreCountedAndConflictsRefused() {
        var model = ChainModel()
        let event = Fixture.referral("r-1", from: "a", to: "b", day: 1)
        _ = model.apply(event)
        #expect(model.apply(event).disposition == .duplicate)
        var changed = event
        changed.time = Fixture.at(2)
        let refused = refusal(model.apply(changed))
        #expect(refused?.field == "id")
        #expect(refused?.message == "conflict: event create-r-1 (urn:test) was already ingested with different content")
        #expect(model.referrals["r-1"]!.created == Fixture.at(1))
    }

    @Test func statusBeforeReferralWaitsAsPending() {
        var model = ChainModel()
        #expect(model.apply(Fixture.step(.started, "r-1", day: 5)).disposition == .pending)
        #expect(model.apply(Fixture.step(.accepted, "r-1", day: 3)).disposition == .pending)
        #expect(model.pendingCount == 2)
        let result = model.apply(Fixture.referral("r-1", from: "a", to: "b", day: 1))
        #expect(result.released.count == 2)
        #expect(model.pendingCount == 0)
        #expect(model.referrals["r-1"]!.started == Fixture.at(5))
        #expect(model.referrals["r-1"]!.accepted == Fixture.at(3))
    }

    @Test func completionWaitsForItsStart() {
        var model = ChainModel()
        _ = model.apply(Fixture.referral("r-1", from: "a", to: "b", day: 1))
        #expect(model.apply(Fixture.step(.completed, "r-1", day: 9)).disposition == .pending)
        let result = model.apply(Fixture.step(.started, "r-1", day: 4))
        #expect(result.released.count == 1)
        #expect(model.referrals["r-1"]!.completed == Fixture.at(9))
    }

    @Test func pendingStatusTimedBeforeCreationIsEvictedWhenTheReferralArrives() {
        var model = ChainModel()
        _ = model.apply(Fixture.step(.accepted, "r-1", day: 1))
        let result = model.apply(Fixture.referral("r-1", from: "a", to: "b", day: 2))
        #expect(result.evicted.count == 1)
        #expect(result.evicted.first?.refusal.message == "accepted at 2026-01-02T00:00:00Z is before the referral's creation at 2026-01-03T00:00:00Z")
        #expect(model.referrals["r-1"]!.accepted == nil)
        // The evicted event is forgotten, so a corrected resend is not a conflict.
        #expect(model.apply(Fixture.step(.accepted, "r-1", day: 1)).disposition != .duplicate)
    }

    @Test func pendingExpiresAfterTheHorizon() {
        var model = ChainModel(pendingHorizonDays: 30)
        _ = model.apply(Fixture.step(.accepted, "r-ghost", day: 1))
        _ = model.apply(Fixture.referral("r-2", from: "a", to: "b", day: 20))
        #expect(model.expirePending().isEmpty)
        _ = model.apply(Fixture.referral("r-3", from: "a", to: "b", day: 32))
        let expired = model.expirePending()
        #expect(expired.count == 1)
        #expect(expired.first?.refusal.message == "referral r-ghost is still unknown 30 days (event time) after this event; quarantined")
        #expect(model.pendingCount == 0)
    }

    @Test func refusesOutOfOrderLifecycle() {
        var model = ChainModel()
        _ = model.apply(Fixture.referral("r-1", from: "a", to: "b", day: 10))
        #expect(refusal(model.apply(Fixture.step(.accepted, "r-1", day: 5)))?.message
            == "accepted at 2026-01-06T00:00:00Z is before the referral's creation at 2026-01-11T00:00:00Z")
        _ = model.apply(Fixture.step(.started, "r-1", day: 20))
        #expect(refusal(model.apply(Fixture.step(.completed, "r-1", day: 15)))?.message
            == "completed at 2026-01-16T00:00:00Z is before the referral started at 2026-01-21T00:00:00Z")
        #expect(refusal(model.apply(Fixture.step(.accepted, "r-1", day: 25)))?.message
            == "accepted at 2026-01-26T00:00:00Z comes after the referral started at 2026-01-21T00:00:00Z")
        #expect(refusal(model.apply(Fixture.step(.started, "r-1", day: 21, event: "again")))?.message
            == "referral r-1 already started at 2026-01-21T00:00:00Z")
    }

    @Test func refusesAnythingAfterRejection() {
        var model = ChainModel()
        _ = model.apply(Fixture.referral("r-1", from: "a", to: "b", day: 1))
        _ = model.apply(Fixture.step(.rejected, "r-1", day: 5))
        #expect(refusal(model.apply(Fixture.step(.started, "r-1", day: 6)))?.message
            == "started at 2026-01-07T00:00:00Z comes after the referral was rejected at 2026-01-06T00:00:00Z")
        #expect(refusal(model.apply(Fixture.step(.withdrawn, "r-1", day: 6)))?.message
            == "referral r-1 already ended: rejected at 2026-01-06T00:00:00Z")
        // The second of two contradicting events is refused, whichever it is.
        var other = ChainModel()
        _ = other.apply(Fixture.referral("r-1", from: "a", to: "b", day: 1))
        _ = other.apply(Fixture.step(.started, "r-1", day: 6))
        #expect(refusal(other.apply(Fixture.step(.rejected, "r-1", day: 5)))?.message
            == "rejected at 2026-01-06T00:00:00Z is before the referral started at 2026-01-07T00:00:00Z")
    }

    @Test func refusesDependencyCycles() {
        var model = ChainModel()
        _ = model.apply(Fixture.referral("r-1", from: "a", to: "b", day: 1, dependsOn: ["r-3"]))
        _ = model.apply(Fixture.referral("r-2", from: "b", to: "c", day: 2, dependsOn: ["r-1"]))
        let refused = refusal(model.apply(Fixture.referral("r-3", from: "c", to: "d", day: 3, dependsOn: ["r-2"])))
        #expect(refused?.field == "data.dependsOn")
        #expect(refused?.message == "dependsOn cycle: r-3 → r-2 → r-1 → r-3")
        #expect(model.referrals["r-3"] == nil)
    }

    @Test func refusesASecondCreationOfOneReferral() {
        var model = ChainModel()
        _ = model.apply(Fixture.referral("r-1", from: "a", to: "b", day: 1))
        #expect(refusal(model.apply(Fixture.referral("r-1", from: "a", to: "c", day: 1, event: "other")))?.message
            == "referral r-1 was already created by event create-r-1 (urn:test)")
    }

    @Test func unknownPartiesRegisterWithAWarningOrAreRefused() {
        var model = ChainModel()
        guard case .applied(let warnings) = model.apply(Fixture.referral("r-1", from: "a", to: "b", day: 1)).disposition else {
            Issue.record("not applied")
            return
        }
        #expect(warnings.map(\.message) == [
            "unknown party a: registered with domain overig until a party.registered event names its domain",
            "unknown party b: registered with domain overig until a party.registered event names its domain",
        ])
        #expect(model.parties["a"]!.isAutoRegistered)
        var strict = ChainModel(unknownParties: .reject)
        #expect(refusal(strict.apply(Fixture.referral("r-1", from: "a", to: "b", day: 1)))?.message
            == "unknown party a (register it first with a party.registered event)")
    }

    @Test func refusesUnknownDomains() {
        var model = ChainModel()
        #expect(refusal(model.apply(Fixture.party("x", "astrologie")))?.field == "data.domain")
    }

    @Test func latestRegistrationWins() {
        var model = ChainModel()
        _ = model.apply(Fixture.party("x", "overig", day: 5))
        _ = model.apply(Fixture.party("x", "ggz", day: 2))
        #expect(model.parties["x"]!.registration?.domain == "overig")
        #expect(model.parties["x"]!.firstSeen == Fixture.at(2))
    }
}
