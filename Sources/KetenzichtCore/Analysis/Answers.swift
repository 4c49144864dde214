/// The answers of the analysis methods of SPEC §6, as JSON values with the field names of §5.
/// The socket and the command line both build their output from these, so a table printed by
/// `ketenzicht bottlenecks` and the socket's `bottlenecks` answer never disagree.
public enum Answers {
    public static func frame(_ window: AnalysisWindow) -> [String: JSONValue] {
        ["asOf": .time(window.asOf), "windowDays": .number(window.days)]
    }

    /// `bottlenecks` (`top`, `domain`): listed parties in bottleneck order.
    public static func bottlenecks(_ model: ChainModel, window: AnalysisWindow, top: Int? = nil, domain: String? = nil) -> JSONValue {
        bottlenecks(PartyMetrics.compute(model, window: window), window: window, top: top, domain: domain)
    }

    /// The same from metrics already computed for this window.
    public static func bottlenecks(_ metrics: [PartyMetrics], window: AnalysisWindow, top: Int? = nil, domain: String? = nil) -> JSONValue {
        var metrics = metrics
        if let domain { metrics = metrics.filter { $0.domain == domain } }
        let listed = metrics.count
        if let top { metrics = Array(metrics.prefix(max(0, top))) }
        var answer = frame(window)
        answer["listed"] = .int(listed)
        answer["bottlenecks"] = .array(metrics.map(\.json))
        return .object(answer)
    }

    /// `parties`: every known party with its domain, norm and regie eligibility.
    public static func parties(_ model: ChainModel) -> JSONValue {
        .object(["parties": .array(model.parties.keys.sorted().map { party(model, id: $0)! })])
    }

    /// `party.get`: one party, with its metrics in the window when it is listed.
    public static func party(_ model: ChainModel, id: String, window: AnalysisWindow? = nil) -> JSONValue? {
        guard let party = model.parties[id] else { return nil }
        var fields: [String: JSONValue] = [
            "id": .string(id),
            "name": .string(model.displayName(ofParty: id)),
            "domain": .string(model.domain(ofParty: id)),
            "normDays": .number(model.normDays(ofParty: id)),
            "regieEligible": .bool(model.isRegieEligible(party: id)),
            "capacityPerWeek": .number(party.registration?.capacityPerWeek),
            "autoRegistered": .bool(party.isAutoRegistered),
            "firstSeen": .time(party.firstSeen),
        ]
        if let window {
            fields["metrics"] = PartyMetrics.compute(model, window: window, parties: [id]).first?.json ?? .null
            fields.merge(frame(window)) { $1 }
        }
        return .object(fields)
    }

    /// `case.get`: the case's referrals in time order, its parties, the regisseur with its
    /// explanation, and the projection of its open referrals.
    public static func caseView(_ model: ChainModel, id: String, window: AnalysisWindow) -> JSONValue? {
        guard let record = model.cases[id] else { return nil }
        let asOf = window.asOf
        let allReferrals = model.referrals(of: record)
        let referrals = allReferrals.filter { $0.created <= asOf }
        // Only the expected waits of this case's parties matter for its projection.
        let waits = CaseProjection.waits(of: Set(referrals.map(\.to)), in: model, window: window)
        var partyIDs = Set<String>()
        let referralAnswers: [JSONValue] = referrals.map { referral in
            partyIDs.insert(referral.from)
            partyIDs.insert(referral.to)
            let state = referral.state(asOf: asOf)!
            let started = referral.started.flatMap { $0 <= asOf ? $0 : nil }
            let ended = referral.ended.flatMap { $0.time <= asOf ? $0 : nil }
            return .object([
                "referral": .string(referral.id), "from": .string(referral.from), "to": .string(referral.to),
                "created": .time(referral.created), "accepted": .time(referral.accepted.flatMap { $0 <= asOf ? $0 : nil }),
                "started": .time(started), "ended": .time(ended?.time), "state": .string(state.rawValue),
                "urgency": .string(referral.urgency?.rawValue), "lifeDomain": .string(referral.lifeDomain),
                "dependsOn": .array(referral.dependsOn.map { .string($0) }),
                "wait": .number(started.map { $0.days(since: referral.created) }),
                "age": .number(state.isOpen ? asOf.days(since: referral.created) : nil),
                "normDays": .number(model.normDays(of: referral)),
                "note": .string(ended?.note),
            ])
        }
        let assessment = record.assessments.last { $0.time <= asOf }
        let decision = RegieDecision.decide(record, referrals: allReferrals, in: model, asOf: asOf)
        let projection = CaseProjection.project(record, visibleReferrals: referrals, in: model, asOf: asOf, waits: waits)
        var answer = frame(window)
        answer["case"] = .string(id)
        answer["referrals"] = .array(referralAnswers)
        answer["parties"] = .array(partyIDs.sorted().map { party in
            .object(["id": .string(party), "name": .string(model.displayName(ofParty: party)), "domain": .string(model.domain(ofParty: party))])
        })
        answer["assessment"] = assessment.map { latest in
            .object(["time": .time(latest.time), "zrm": .object(Dictionary(uniqueKeysWithValues: latest.scores.map { ($0.lifeDomain, JSONValue.int($0.score)) }))])
        } ?? .null
        answer["regisseur"] = decision?.json ?? .null
        answer["projection"] = projection?.json ?? .null
        return .object(answer)
    }

    public enum RegieFlag: String, Sendable, CaseIterable {
        case noRegisseur, zwaartepuntUncovered
    }

    /// `regisseurs` (`flag`): every case with involved parties and its decision, plus the caseload.
    public static func regisseurs(_ model: ChainModel, window: AnalysisWindow, flag: RegieFlag? = nil) -> JSONValue {
        var decisions = RegieDecision.decideAll(model, asOf: window.asOf)
        let caseload = RegieCaseload.compute(decisions, model: model)
        switch flag {
        case .noRegisseur: decisions = decisions.filter(\.noRegisseur)
        case .zwaartepuntUncovered: decisions = decisions.filter(\.zwaartepuntUncovered)
        case nil: break
        }
        var answer = frame(window)
        answer["cases"] = .array(decisions.map(\.json))
        answer["caseload"] = .array(caseload.map { .object(["party": .string($0.party), "domain": .string($0.domain), "cases": .int($0.cases)]) })
        return .object(answer)
    }

    public static func pingPong(_ model: ChainModel, window: AnalysisWindow) -> JSONValue {
        var answer = frame(window)
        if case .object(let fields) = PingPongReport.compute(model, window: window).json { answer.merge(fields) { $1 } }
        return .object(answer)
    }

    public static func dropped(_ model: ChainModel, window: AnalysisWindow) -> JSONValue {
        var answer = frame(window)
        answer["dropped"] = .array(DroppedReferral.compute(model, window: window).map(\.json))
        return .object(answer)
    }

    public static func whatIf(_ model: ChainModel, window: AnalysisWindow, party: String, change: WhatIfAnswer.Change) -> JSONValue? {
        guard model.parties[party] != nil else { return nil }
        var answer = frame(window)
        if case .object(let fields) = WhatIfAnswer.compute(model, window: window, party: party, change: change).json { answer.merge(fields) { $1 } }
        return .object(answer)
    }

    /// Structural signals beyond ping-pong and drops: betweenness and the closed loops.
    public static func structure(_ model: ChainModel, window: AnalysisWindow, top: Int? = nil) -> JSONValue {
        let metrics = PartyMetrics.compute(model, window: window)
        let network = NetworkPropagation(model, window: window, metrics: metrics)
        var betweenness = Betweenness.compute(model, window: window)
        if let top { betweenness = Array(betweenness.prefix(top)) }
        var answer = frame(window)
        answer["betweenness"] = .array(betweenness.map { .object(["party": .string($0.party), "betweenness": .number($0.betweenness)]) })
        answer["closedLoops"] = .array(network.closedLoops.map { .array($0.map { .string($0) }) })
        answer["expectedDaysToEnd"] = .array(network.partyTimes.map {
            .object(["party": .string($0.party), "waitDays": .number($0.waitDays), "T": $0.unbounded ? .string("unbounded") : .number($0.expectedDaysToEnd)])
        })
        return .object(answer)
    }
}
