/// The frame of every analysis (SPEC §5): a reference time `asOf` and a window of `days`.
/// "In the window" means a time in (asOf − W, asOf]; analyses see only events with time ≤ asOf.
public struct AnalysisWindow: Sendable, Equatable {
    public var asOf: Timestamp
    public var days: Double

    public static let defaultDays: Double = 84
    /// The longest window, and the largest what-if wait, that the socket and the CLI accept:
    /// 10,000 years spans every time RFC 3339 can write, so nothing longer can mean anything.
    public static let maxDays: Double = 3_652_425

    public init(asOf: Timestamp, days: Double = defaultDays) {
        self.asOf = asOf
        self.days = days
    }

    public var start: Timestamp { asOf.adding(days: -days) }
    public var weeks: Double { days / 7 }

    public func contains(_ time: Timestamp) -> Bool { time > start && time <= asOf }
    public func contains(_ time: Timestamp?) -> Bool { time.map(contains) ?? false }
}

/// An infinite expected wait counts as 365 days wherever it feeds a projection (SPEC §5).
public let infiniteWaitStandInDays: Double = 365

extension ChainModel {
    /// The party's domain: its registration's, else the catalog's fallback.
    public func domain(ofParty id: String) -> String {
        parties[id]?.registration?.domain ?? catalog.fallbackDomain
    }

    /// The party's norm: its own override, else its domain's (SPEC §5).
    public func normDays(ofParty id: String) -> Double {
        if let own = parties[id]?.registration?.normDays { return own }
        return catalog.domain(named: domain(ofParty: id))?.normDays
            ?? catalog.domain(named: catalog.fallbackDomain)!.normDays
    }

    /// A referral's norm: its `to` party's, or the crisis norm for `crisis` urgency.
    public func normDays(of referral: Referral) -> Double {
        normDays(isCrisis: referral.urgency == .crisis, partyNorm: normDays(ofParty: referral.to))
    }

    /// The same rule for a caller that holds the party's norm itself (asked only when needed).
    func normDays(isCrisis: Bool, partyNorm: @autoclosure () -> Double) -> Double {
        isCrisis ? catalog.crisisNormDays : partyNorm()
    }

    /// Whether the party may hold regie: its own override, else its domain's.
    public func isRegieEligible(party id: String) -> Bool {
        if let own = parties[id]?.registration?.regieEligible { return own }
        return catalog.domain(named: domain(ofParty: id))?.regieEligible ?? false
    }

    public func displayName(ofParty id: String) -> String {
        parties[id]?.registration?.name ?? id
    }
}
