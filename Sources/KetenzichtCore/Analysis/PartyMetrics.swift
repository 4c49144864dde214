/// Per-party waiting metrics and the bottleneck ranking (SPEC §5, "Per party P").
///
/// Over referrals *to* P, within `window`:
/// - `arrivalsPerWeek` = referrals created in (asOf − W, asOf] / (W in weeks);
/// - `startsPerWeek` = referrals started in the window / (W in weeks);
/// - `backlog` = open referrals (created, not started, not rejected/withdrawn) at asOf;
/// - `waitP50Days`, `waitP90Days` = nearest-rank percentiles (value at rank ⌈p·n⌉) of
///   `wait = started − created` over referrals started in the window; nil when none;
/// - `expectedWaitDays` = backlog / startsPerWeek × 7 (Little's law); +∞ when nothing starts and
///   backlog > 0; 0 when backlog is 0;
/// - `utilization` = arrivalsPerWeek / startsPerWeek, nil when startsPerWeek is 0;
/// - `normDays` = the party's norm (its own, else its domain's);
/// - `overNorm` = open referrals with age > their norm, plus referrals started in the window with
///   wait > their norm (a referral's norm is its party's, or the crisis norm for `crisis`);
/// - `bottleneckScore` = expectedWaitDays / normDays.
/// Listed are parties with a referral to them created in the window, or open. The bottleneck
/// order is score descending, then backlog descending, then id.
public struct PartyMetrics: Sendable, Equatable {
    public var party: String
    public var name: String
    public var domain: String
    public var arrivalsPerWeek: Double
    public var startsPerWeek: Double
    public var backlog: Int
    public var waitP50Days: Double?
    public var waitP90Days: Double?
    public var expectedWaitDays: Double
    public var utilization: Double?
    public var normDays: Double
    public var normBasis: String
    public var overNorm: Int
    public var bottleneckScore: Double
    /// One line a coordinator can read: why this party is listed where it is.
    public var reason: String

    /// The metrics of every listed party, in bottleneck order.
    public static func compute(_ model: ChainModel, window: AnalysisWindow) -> [PartyMetrics] {
        // Every referral: read from the rows and tallied by party number, so that no referral's
        // id or party becomes a String (the bottleneck table of a 1M-referral model in ~10 ms).
        let storage = model.storage
        var tallies = [Tally?](repeating: nil, count: storage.partyIDs.count)
        var norms = [Double?](repeating: nil, count: storage.partyIDs.count)
        storage.forEachLifecycle { lifecycle, isCrisis in
            guard let state = ReferralState.at(window.asOf, created: lifecycle.created, accepted: lifecycle.accepted,
                                               started: lifecycle.started, ended: lifecycle.ended) else { return }
            let to = lifecycle.to
            func partyNorm() -> Double {
                if let norm = norms[to] { return norm }
                let norm = model.normDays(ofParty: storage.partyIDs[to])
                norms[to] = norm
                return norm
            }
            var tally = tallies[to] ?? Tally()
            guard tally.count(created: lifecycle.created, started: lifecycle.started, state: state, window: window,
                              norm: { model.normDays(isCrisis: isCrisis, partyNorm: partyNorm()) }) else { return }
            tallies[to] = tally
        }
        var byParty: [String: Tally] = [:]
        for (party, tally) in zip(storage.partyIDs, tallies) { if let tally { byParty[party] = tally } }
        return metrics(byParty, model: model, window: window)
    }

    /// The metrics of the given parties only (those that are listed), reading just their referrals.
    public static func compute(_ model: ChainModel, window: AnalysisWindow, parties: some Sequence<String>) -> [PartyMetrics] {
        let referrals = Set(parties).flatMap { model.referrals(to: $0) }
        return compute(model, window: window, referrals: referrals)
    }

    static func compute(_ model: ChainModel, window: AnalysisWindow, referrals: some Sequence<ChainModel.Referral>) -> [PartyMetrics] {
        var tallies: [String: Tally] = [:]
        for referral in referrals {
            guard let state = referral.state(asOf: window.asOf) else { continue }
            var tally = tallies[referral.to] ?? Tally()
            guard tally.count(created: referral.created, started: referral.started, state: state, window: window,
                              norm: { model.normDays(of: referral) }) else { continue }
            tallies[referral.to] = tally
        }
        return metrics(tallies, model: model, window: window)
    }

    private static func metrics(_ tallies: [String: Tally], model: ChainModel, window: AnalysisWindow) -> [PartyMetrics] {
        var metrics: [PartyMetrics] = []
        metrics.reserveCapacity(tallies.count)
        for (party, tally) in tallies where tally.arrivals > 0 || tally.backlog > 0 {
            let arrivals = Double(tally.arrivals) / window.weeks
            let starts = Double(tally.starts) / window.weeks
            let expected: Double = tally.backlog == 0 ? 0 : (tally.starts == 0 ? .infinity : Double(tally.backlog) / starts * 7)
            let waits = tally.waits.sorted()
            let domain = model.domain(ofParty: party)
            let norm = model.normDays(ofParty: party)
            let basis = model.parties[party]?.registration?.normDays != nil ? "own norm" : (model.catalog.domain(named: domain)?.normBasis ?? "")
            var entry = PartyMetrics(
                party: party, name: model.displayName(ofParty: party), domain: domain,
                arrivalsPerWeek: arrivals, startsPerWeek: starts, backlog: tally.backlog,
                waitP50Days: nearestRank(waits, 0.5), waitP90Days: nearestRank(waits, 0.9),
                expectedWaitDays: expected, utilization: tally.starts == 0 ? nil : arrivals / starts,
                normDays: norm, normBasis: basis, overNorm: tally.overNorm,
                bottleneckScore: expected / norm, reason: "")
            entry.reason = entry.explanation
            metrics.append(entry)
        }
        metrics.sort(by: bottleneckOrder)
        return metrics
    }

    /// Score descending, then backlog descending, then id (SPEC §5).
    public static func bottleneckOrder(_ lhs: PartyMetrics, _ rhs: PartyMetrics) -> Bool {
        if lhs.bottleneckScore != rhs.bottleneckScore { return lhs.bottleneckScore > rhs.bottleneckScore }
        if lhs.backlog != rhs.backlog { return lhs.backlog > rhs.backlog }
        return lhs.party < rhs.party
    }

    /// The value at 1-based rank ⌈p·n⌉ of the sorted values; nil for none.
    public static func nearestRank(_ sorted: [Double], _ p: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((p * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    private struct Tally {
        var arrivals = 0
        var starts = 0
        var backlog = 0
        var overNorm = 0
        var waits: [Double] = []

        /// Counts a referral in `state` at asOf; false (counting nothing) when it is none of
        /// created in the window, open, or started in the window. `norm` is asked only then.
        mutating func count(created: Timestamp, started: Timestamp?, state: ReferralState, window: AnalysisWindow, norm: () -> Double) -> Bool {
            let createdInWindow = window.contains(created)
            let startedInWindow = state != .created && state != .accepted && window.contains(started)
            guard createdInWindow || state.isOpen || startedInWindow else { return false }
            let norm = norm()
            if createdInWindow { arrivals += 1 }
            if state.isOpen {
                backlog += 1
                if window.asOf.days(since: created) > norm { overNorm += 1 }
            }
            if startedInWindow, let started {
                let wait = started.days(since: created)
                starts += 1
                waits.append(wait)
                if wait > norm { overNorm += 1 }
            }
            return true
        }
    }

    /// "backlog 143 at 9.5 starts/week: a new referral waits ~105 days, norm 98 (Treeknorm)".
    var explanation: String {
        let norm = "norm \(Self.days(normDays))" + (normBasis.isEmpty ? "" : " (\(normBasis))")
        if backlog == 0 {
            return "no backlog; \(Self.rate(arrivalsPerWeek)) arrivals/week, \(Self.rate(startsPerWeek)) starts/week, \(norm)"
        }
        var text = "backlog \(backlog) at \(Self.rate(startsPerWeek)) starts/week: "
        if expectedWaitDays.isInfinite {
            text += "nothing started in the window, so a new referral waits indefinitely, \(norm)"
        } else {
            text += "a new referral waits ~\(Self.days(expectedWaitDays)) days, \(norm)"
        }
        if bottleneckScore > 1 { text += "; expected wait exceeds the norm" }
        if overNorm > 0 { text += "; \(overNorm) referral\(overNorm == 1 ? "" : "s") over norm" }
        return text
    }

    static func days(_ value: Double) -> String { String(Int(value.rounded())) }

    static func rate(_ value: Double) -> String {
        let tenths = (value * 10).rounded() / 10
        return tenths == tenths.rounded() ? String(Int(tenths)) : String(tenths)
    }
}
