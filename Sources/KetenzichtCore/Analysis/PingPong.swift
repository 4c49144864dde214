/// Ping-pong, "van het kastje naar de muur" (SPEC §5, "Structural signals"): a *return* is a
/// referral B→A created within 90 days after a strictly earlier referral A→B of the same case.
/// Each referral counts as at most one return. Returns created in the window are counted per
/// unordered party pair and per case.
public struct PingPongReport: Sendable, Equatable {
    public struct Return: Sendable, Equatable {
        public var referral: String
        public var caseID: String
        public var from: String
        public var to: String
        public var created: Timestamp
        /// The earlier referral it sends back.
        public var returnOf: String
        public var daysAfter: Double
    }

    public struct PairCount: Sendable, Equatable {
        /// The two parties, in id order.
        public var parties: [String]
        public var returns: Int
        public var cases: Int
    }

    public struct CaseCount: Sendable, Equatable {
        public var caseID: String
        public var returns: Int
    }

    public static let returnHorizonDays: Double = 90

    public var returns: [Return]
    /// Most returns first, then by party ids.
    public var pairs: [PairCount]
    /// Most returns first, then by case id.
    public var cases: [CaseCount]

    public static func compute(_ model: ChainModel, window: AnalysisWindow) -> PingPongReport {
        var returns: [Return] = []
        for record in model.cases.values {
            // Case referrals are kept in creation order; only those visible at asOf count.
            let visible = model.referrals(of: record).filter { $0.created <= window.asOf }
            for (position, referral) in visible.enumerated() where window.contains(referral.created) {
                var earlier = position - 1
                while earlier >= 0 {
                    let candidate = visible[earlier]
                    let gap = referral.created.days(since: candidate.created)
                    if gap > returnHorizonDays { break }
                    if gap > 0, candidate.from == referral.to, candidate.to == referral.from {
                        returns.append(Return(
                            referral: referral.id, caseID: record.id, from: referral.from, to: referral.to,
                            created: referral.created, returnOf: candidate.id, daysAfter: gap))
                        break
                    }
                    earlier -= 1
                }
            }
        }
        returns.sort { ($0.created, $0.referral) < ($1.created, $1.referral) }
        var pairReturns: [[String]: (returns: Int, cases: Set<String>)] = [:]
        var caseReturns: [String: Int] = [:]
        for item in returns {
            let key = [item.from, item.to].sorted()
            pairReturns[key, default: (0, [])].returns += 1
            pairReturns[key]!.cases.insert(item.caseID)
            caseReturns[item.caseID, default: 0] += 1
        }
        let pairs = pairReturns.map { PairCount(parties: $0.key, returns: $0.value.returns, cases: $0.value.cases.count) }
            .sorted { ($1.returns, $0.parties.joined(separator: "\u{0}")) < ($0.returns, $1.parties.joined(separator: "\u{0}")) }
        let cases = caseReturns.map { CaseCount(caseID: $0.key, returns: $0.value) }
            .sorted { ($1.returns, $0.caseID) < ($0.returns, $1.caseID) }
        return PingPongReport(returns: returns, pairs: pairs, cases: cases)
    }
}
