@testable import KetenzichtCore

/// Small hand-made events for the model tests: `day` counts days after 2026-01-01T00:00:00Z.
enum Fixture {
    static let origin = try! Timestamp(rfc3339: "2026-01-01T00:00:00Z")
    static let source = "urn:test"

    static func at(_ day: Double) -> Timestamp { origin.adding(days: day) }

    static func party(_ id: String, _ domain: String, day: Double = 0, event: String? = nil) -> Event {
        Event(identity: EventIdentity(source: source, id: event ?? "p-\(id)-\(day)"), time: at(day),
              body: .partyRegistered(PartyRegistration(party: id, name: id.uppercased(), domain: domain)))
    }

    static func referral(_ id: String, case caseID: String = "c-1", from: String, to: String, day: Double, dependsOn: [String] = [], event: String? = nil) -> Event {
        Event(identity: EventIdentity(source: source, id: event ?? "create-\(id)"), time: at(day),
              body: .referralCreated(ReferralCreation(referral: id, caseID: caseID, from: from, to: to, dependsOn: dependsOn)))
    }

    static func step(_ step: ReferralStep, _ referral: String, day: Double, note: String? = nil, event: String? = nil) -> Event {
        Event(identity: EventIdentity(source: source, id: event ?? "\(step.rawValue)-\(referral)-\(day)"), time: at(day),
              body: .referralStatus(ReferralStatusChange(referral: referral, step: step, note: note)))
    }

    static func assessment(_ caseID: String, day: Double, _ scores: [(String, Int)]) -> Event {
        Event(identity: EventIdentity(source: source, id: "zrm-\(caseID)-\(day)"), time: at(day),
              body: .caseAssessed(CaseAssessment(caseID: caseID, scores: scores.map { (lifeDomain: $0.0, score: $0.1) })))
    }

    static func regie(_ caseID: String, _ party: String, day: Double) -> Event {
        Event(identity: EventIdentity(source: source, id: "regie-\(caseID)-\(day)"), time: at(day),
              body: .regieAssigned(RegieAssignment(caseID: caseID, party: party)))
    }

    /// A small valid history: two cases, a chain with a pending-able completion, a rejection,
    /// a late party registration and an assessment.
    static let validHistory: [Event] = [
        party("km-noord", "participatie", day: 0),
        party("ggz-a", "ggz", day: 0),
        assessment("c-1", day: 1, [("geestelijke-gezondheid", 2), ("financien", 3)]),
        referral("r-1", from: "km-noord", to: "ggz-a", day: 2),
        step(.accepted, "r-1", day: 3),
        step(.started, "r-1", day: 40),
        step(.completed, "r-1", day: 90, note: "afgerond"),
        referral("r-2", from: "ggz-a", to: "shv-b", day: 41, dependsOn: ["r-1"]),
        step(.rejected, "r-2", day: 45, note: "geen capaciteit"),
        party("shv-b", "schuldhulp", day: 50),
        referral("r-3", case: "c-2", from: "km-noord", to: "shv-b", day: 46),
        step(.accepted, "r-3", day: 47),
        regie("c-1", "km-noord", day: 5),
    ]
}
