/// Regisseur assignment (SPEC §5, "Regisseur").
///
/// For a case, the *involved* parties are the `from` and `to` of its active referrals (created,
/// accepted or started); a party is involved since the earliest creation of the active referrals
/// that touch it. From the latest ZRM assessment, each life domain's `severity = 5 − score` adds to
/// the weight of the party domain that carries it (config mapping). Candidates are involved parties
/// that may hold regie. The choice: highest domain weight, then longest involved, then smallest id.
/// If no domain of the highest weight (> 0) has an involved party, the case is flagged
/// `zwaartepuntUncovered`; with ≥ 2 involved parties and no candidate, `noRegisseur`.
/// Stability: the rule is evaluated after every event of the case in event-time order; a current
/// regisseur stays until it is no longer involved, or another candidate's domain weight exceeds its
/// own by at least 2. A manual `regie.assigned` wins while its party is involved.
public struct RegieDecision: Sendable, Equatable {
    public enum Rule: String, Sendable {
        case manual = "manual assignment"
        case kept = "kept: the current regisseur is still involved and no candidate's domain weighs 2 more"
        case switched = "switched: another candidate's domain weighs at least 2 more than the current regisseur's"
        case highestWeight = "highest domain weight"
        case longestInvolved = "tie on domain weight: longest involved"
        case smallestID = "tie on domain weight and involvement: smallest id"
        case noCandidate = "no involved party may hold regie"
        case notInvolved = "no party is involved"
    }

    public struct Candidate: Sendable, Equatable {
        public var party: String
        public var domain: String
        public var weight: Double
        public var involvedSince: Timestamp
    }

    public struct InvolvedParty: Sendable, Equatable {
        public var party: String
        public var domain: String
        public var involvedSince: Timestamp
        public var regieEligible: Bool
    }

    public var caseID: String
    public var regisseur: String?
    public var rule: Rule
    /// Party-domain weights from the latest assessment (only domains with weight > 0).
    public var weights: [String: Double]
    /// The domains of the highest weight (> 0): where the problems lie.
    public var zwaartepunt: [String]
    public var involved: [InvolvedParty]
    public var candidates: [Candidate]
    public var manualAssignment: String?
    public var zwaartepuntUncovered: Bool
    public var noRegisseur: Bool
    /// Regisseurs over time: each change with the time it happened.
    public var history: [(time: Timestamp, regisseur: String?)]

    public static func == (lhs: RegieDecision, rhs: RegieDecision) -> Bool {
        lhs.caseID == rhs.caseID && lhs.regisseur == rhs.regisseur && lhs.rule == rhs.rule && lhs.weights == rhs.weights
            && lhs.zwaartepunt == rhs.zwaartepunt && lhs.involved == rhs.involved && lhs.candidates == rhs.candidates
            && lhs.manualAssignment == rhs.manualAssignment && lhs.zwaartepuntUncovered == rhs.zwaartepuntUncovered
            && lhs.noRegisseur == rhs.noRegisseur && lhs.history.elementsEqual(rhs.history) { $0 == $1 }
    }

    /// The hysteresis of the stability rule.
    public static let switchMargin: Double = 2

    /// The decision for one case as of `asOf`, replaying the case's events in time order.
    public static func decide(caseID: String, in model: ChainModel, asOf: Timestamp) -> RegieDecision? {
        guard let record = model.cases[caseID] else { return nil }
        return decide(record, referrals: model.referrals(of: record), in: model, asOf: asOf)
    }

    /// The same for a case already read, with all its referrals (a case view has them at hand).
    public static func decide(_ record: ChainModel.Case, referrals: [ChainModel.Referral], in model: ChainModel, asOf: Timestamp) -> RegieDecision? {
        var times: [Timestamp] = []
        for referral in referrals {
            times.append(referral.created)
            if let accepted = referral.accepted { times.append(accepted) }
            if let started = referral.started { times.append(started) }
            if let ended = referral.ended { times.append(ended.time) }
        }
        times += record.assessments.map(\.time) + record.regieAssignments.map(\.time)
        let moments = Set(times.filter { $0 <= asOf }).sorted()
        // Every moment but the last only needs *who* holds regie (for the hysteresis); the full
        // explanation is built once, for the last.
        let fast = FastRule(record: record, referrals: referrals, model: model)
        var current: String?
        var history: [(time: Timestamp, regisseur: String?)] = []
        for moment in moments.dropLast() {
            let chosen = fast.regisseur(at: moment, current: current)
            if chosen != current { history.append((moment, chosen)) }
            current = chosen
        }
        var decision = evaluate(record, referrals, model, at: moments.last ?? asOf, current: current)
        if let last = moments.last, decision.regisseur != current { history.append((last, decision.regisseur)) }
        decision.history = history
        return decision
    }

    /// The choice of regisseur alone, for the moments before the last: the case's parties become
    /// small integers, each referral an interval of activity and each assessment a weight per party,
    /// so that the replay does no hashing and no allocation per moment.
    private struct FastRule {
        /// Per referral: its two parties (indices) and when it is active, `[created, ended)`.
        let spans: [(from: Int, to: Int, created: Timestamp, ended: Timestamp?)]
        let parties: [(id: String, eligible: Bool)]
        /// Per assessment, in time order: the weight of each party's domain.
        let assessmentWeights: [(time: Timestamp, byParty: [Double])]
        let manual: [(time: Timestamp, party: Int?)]

        init(record: ChainModel.Case, referrals: [ChainModel.Referral], model: ChainModel) {
            var index: [String: Int] = [:]
            var parties: [(id: String, eligible: Bool)] = []
            var domains: [String] = []
            func indexOf(_ party: String) -> Int {
                if let known = index[party] { return known }
                index[party] = parties.count
                parties.append((party, model.isRegieEligible(party: party)))
                domains.append(model.domain(ofParty: party))
                return parties.count - 1
            }
            spans = referrals.map { (indexOf($0.from), indexOf($0.to), $0.created, $0.ended?.time) }
            self.parties = parties
            assessmentWeights = record.assessments.map { assessment in
                let weights = RegieDecision.weights(of: assessment.scores, model: model)
                return (assessment.time, domains.map { weights[$0] ?? 0 })
            }
            manual = record.regieAssignments.map { ($0.time, index[$0.party]) }
        }

        func regisseur(at time: Timestamp, current: String?) -> String? {
            // Earliest creation among the active referrals touching each party; nil = not involved.
            var since = [Timestamp?](repeating: nil, count: parties.count)
            for span in spans where span.created <= time && span.ended.map({ $0 > time }) ?? true {
                since[span.from] = min(since[span.from] ?? span.created, span.created)
                since[span.to] = min(since[span.to] ?? span.created, span.created)
            }
            if let latest = manual.last(where: { $0.time <= time }), let assigned = latest.party, since[assigned] != nil {
                return parties[assigned].id
            }
            let weights = assessmentWeights.last(where: { $0.time <= time })?.byParty
            var best: (party: Int, weight: Double, since: Timestamp)?
            var currentWeight: Double?
            for party in parties.indices where parties[party].eligible {
                guard let involvedSince = since[party] else { continue }
                let weight = weights?[party] ?? 0
                if parties[party].id == current { currentWeight = weight }
                if let chosen = best {
                    if (weight, chosen.since) > (chosen.weight, involvedSince)
                        || (weight == chosen.weight && involvedSince == chosen.since && parties[party].id < parties[chosen.party].id) {
                        best = (party, weight, involvedSince)
                    }
                } else {
                    best = (party, weight, involvedSince)
                }
            }
            guard let best else { return nil }
            if let current, let currentWeight, best.weight - currentWeight < RegieDecision.switchMargin { return current }
            return parties[best.party].id
        }
    }

    /// Party-domain weights of one assessment: severity 5 − score, summed per carrying domain.
    static func weights(of scores: [(lifeDomain: String, score: Int)], model: ChainModel) -> [String: Double] {
        var weights: [String: Double] = [:]
        for score in scores where score.score < 5 {
            guard let carrier = model.catalog.lifeDomainCarriers[score.lifeDomain] else { continue }
            weights[carrier, default: 0] += Double(5 - score.score)
        }
        return weights
    }

    /// Decisions for every case with at least one involved party at `asOf`, by case id.
    public static func decideAll(_ model: ChainModel, asOf: Timestamp) -> [RegieDecision] {
        model.cases.keys.sorted().compactMap { id in
            guard let decision = decide(caseID: id, in: model, asOf: asOf), !decision.involved.isEmpty else { return nil }
            return decision
        }
    }

    private static func evaluate(_ record: ChainModel.Case, _ referrals: [ChainModel.Referral], _ model: ChainModel, at time: Timestamp, current: String?) -> RegieDecision {
        var since: [String: Timestamp] = [:]
        for referral in referrals where referral.state(asOf: time)?.isActive == true {
            for party in [referral.from, referral.to] {
                since[party] = min(since[party] ?? referral.created, referral.created)
            }
        }
        let involved = since.map { party, time in
            InvolvedParty(party: party, domain: model.domain(ofParty: party), involvedSince: time, regieEligible: model.isRegieEligible(party: party))
        }.sorted { ($0.involvedSince, $0.party) < ($1.involvedSince, $1.party) }

        let weights = record.assessments.last(where: { $0.time <= time }).map { Self.weights(of: $0.scores, model: model) } ?? [:]
        let maxWeight = weights.values.max() ?? 0
        let zwaartepunt = maxWeight > 0 ? weights.filter { $0.value == maxWeight }.keys.sorted() : []
        // A case without involved parties is closed: nothing is "uncovered" there.
        let uncovered = maxWeight > 0 && !involved.isEmpty && !involved.contains { zwaartepunt.contains($0.domain) }

        let candidates = involved.filter(\.regieEligible).map {
            Candidate(party: $0.party, domain: $0.domain, weight: weights[$0.domain] ?? 0, involvedSince: $0.involvedSince)
        }.sorted { lhs, rhs in
            if lhs.weight != rhs.weight { return lhs.weight > rhs.weight }
            if lhs.involvedSince != rhs.involvedSince { return lhs.involvedSince < rhs.involvedSince }
            return lhs.party < rhs.party
        }

        let manual = record.regieAssignments.last(where: { $0.time <= time })?.party
        var regisseur: String?
        var rule: Rule
        if let manual, since[manual] != nil {
            regisseur = manual
            rule = .manual
        } else if let best = candidates.first {
            if let current, let kept = candidates.first(where: { $0.party == current }) {
                if best.weight - kept.weight >= switchMargin {
                    regisseur = best.party
                    rule = .switched
                } else {
                    regisseur = current
                    rule = .kept
                }
            } else {
                regisseur = best.party
                if candidates.count > 1, candidates[1].weight == best.weight {
                    rule = candidates[1].involvedSince == best.involvedSince ? .smallestID : .longestInvolved
                } else {
                    rule = .highestWeight
                }
            }
        } else {
            rule = involved.isEmpty ? .notInvolved : .noCandidate
        }
        return RegieDecision(
            caseID: record.id, regisseur: regisseur, rule: rule, weights: weights, zwaartepunt: zwaartepunt,
            involved: involved, candidates: candidates, manualAssignment: manual,
            zwaartepuntUncovered: uncovered, noRegisseur: involved.count >= 2 && regisseur == nil, history: [])
    }
}

/// Regie caseload: per party, the number of cases it holds regie for (DOMAIN.md: 50–60 per FTE).
public struct RegieCaseload: Sendable, Equatable {
    public var party: String
    public var domain: String
    public var cases: Int

    /// Parties holding regie, most cases first.
    public static func compute(_ decisions: [RegieDecision], model: ChainModel) -> [RegieCaseload] {
        var counts: [String: Int] = [:]
        for decision in decisions {
            if let regisseur = decision.regisseur { counts[regisseur, default: 0] += 1 }
        }
        return counts.map { RegieCaseload(party: $0.key, domain: model.domain(ofParty: $0.key), cases: $0.value) }
            .sorted { ($1.cases, $0.party) < ($0.cases, $1.party) }
    }
}
