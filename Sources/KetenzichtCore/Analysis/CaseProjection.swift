/// Per-case waiting-time propagation (SPEC §5, "Waiting-time propagation" 1).
///
/// An open referral r cannot start before `max(asOf, created(r) + w(to(r)))`, with w the party's
/// expectedWaitDays (an infinite expected wait counts as 365 days), nor before every referral in
/// `dependsOn(r)` has started (their projected start when not started; a rejected or withdrawn
/// prerequisite no longer blocks). Without `dependsOn`, r depends on every open referral q of the
/// same case with `to(q) == from(r)` created strictly before r (help from that party cannot flow
/// onward before it has started). Each open referral gets a projected start; the case gets the date
/// by which all its help has started; a referral whose projected wait exceeds its norm is flagged.
public struct CaseProjection: Sendable, Equatable {
    public struct ProjectedReferral: Sendable, Equatable {
        public var referral: String
        public var from: String
        public var to: String
        public var created: Timestamp
        public var projectedStart: Timestamp
        public var projectedWaitDays: Double
        public var normDays: Double
        public var exceedsNorm: Bool
        /// Referrals this one waits for (explicit `dependsOn`, or inferred from the chain).
        public var waitsFor: [String]
        public var dependencyInferred: Bool
    }

    public var caseID: String
    public var referrals: [ProjectedReferral]
    /// When all of the case's open help has started; nil when nothing is open.
    public var projectedCompletion: Timestamp?
    public var exceedsNorm: Bool { referrals.contains(where: \.exceedsNorm) }

    /// Expected waits per party in days, with +∞ already replaced by 365.
    public typealias Waits = [String: Double]

    /// Expected waits of every party from its metrics (parties without metrics wait 0).
    public static func waits(from metrics: [PartyMetrics]) -> Waits {
        var waits: Waits = [:]
        for entry in metrics {
            waits[entry.party] = entry.expectedWaitDays.isFinite ? entry.expectedWaitDays : infiniteWaitStandInDays
        }
        return waits
    }

    /// Expected waits of the given parties read from their timelines (no scan of their referrals).
    public static func waits(of parties: some Sequence<String>, in model: ChainModel, window: AnalysisWindow) -> Waits {
        var waits: Waits = [:]
        for party in parties {
            let wait = model.timelines[party]?.expectedWaitDays(window) ?? 0
            waits[party] = wait.isFinite ? wait : infiniteWaitStandInDays
        }
        return waits
    }

    public static func project(caseID: String, in model: ChainModel, asOf: Timestamp, waits: Waits) -> CaseProjection? {
        guard let record = model.cases[caseID] else { return nil }
        return project(record, visibleReferrals: model.referrals(of: record).filter { $0.created <= asOf }, in: model, asOf: asOf, waits: waits)
    }

    /// The same for a case already read, with its referrals created by `asOf`.
    public static func project(_ record: ChainModel.Case, visibleReferrals referrals: [ChainModel.Referral], in model: ChainModel, asOf: Timestamp, waits: Waits) -> CaseProjection? {
        let caseID = record.id
        let states = Dictionary(uniqueKeysWithValues: referrals.map { ($0.id, $0.state(asOf: asOf)!) })
        let byID = Dictionary(uniqueKeysWithValues: referrals.map { ($0.id, $0) })
        let open = referrals.filter { states[$0.id]!.isOpen }

        var blockers: [String: (ids: [String], inferred: Bool)] = [:]
        for referral in open {
            if !referral.dependsOn.isEmpty {
                blockers[referral.id] = (referral.dependsOn.filter { byID[$0] != nil }, false)
            } else {
                let upstream = open.filter { $0.to == referral.from && $0.created < referral.created }.map(\.id)
                blockers[referral.id] = (upstream, true)
            }
        }

        var projected: [String: Timestamp] = [:]
        var visiting = Set<String>()
        func start(of id: String) -> Timestamp? {
            guard let referral = byID[id], let state = states[id] else { return nil }
            switch state {
            case .started, .completed: return referral.started
            case .rejected, .withdrawn: return nil
            case .created, .accepted: break
            }
            if let known = projected[id] { return known }
            // An explicit dependency onto a later referral that itself waits on this one through the
            // inferred chain would loop; the edge that closes the loop is ignored.
            guard visiting.insert(id).inserted else { return nil }
            defer { visiting.remove(id) }
            let ownWait = waits[referral.to] ?? 0
            var earliest = max(asOf, referral.created.adding(days: ownWait))
            for blocker in blockers[id]?.ids ?? [] {
                if let blockerStart = start(of: blocker) { earliest = max(earliest, blockerStart) }
            }
            projected[id] = earliest
            return earliest
        }

        var entries: [ProjectedReferral] = []
        for referral in open {
            guard let projectedStart = start(of: referral.id) else { continue }
            let wait = projectedStart.days(since: referral.created)
            let norm = model.normDays(of: referral)
            entries.append(ProjectedReferral(
                referral: referral.id, from: referral.from, to: referral.to, created: referral.created,
                projectedStart: projectedStart, projectedWaitDays: wait, normDays: norm, exceedsNorm: wait > norm,
                waitsFor: blockers[referral.id]?.ids ?? [], dependencyInferred: blockers[referral.id]?.inferred ?? false))
        }
        return CaseProjection(caseID: caseID, referrals: entries, projectedCompletion: entries.map(\.projectedStart).max())
    }
}
