/// Dropped referrals, "tussen wal en schip" (SPEC §5, "Structural signals"): a referral rejected
/// or withdrawn at time t, with t in the window and t + 14 days ≤ asOf, after which the case got
/// no new referral created in (t, t + 14 days].
public struct DroppedReferral: Sendable, Equatable {
    public static let followUpDays: Double = 14

    public var referral: String
    public var caseID: String
    public var from: String
    public var to: String
    /// `rejected` or `withdrawn`.
    public var step: ReferralStep
    public var endedAt: Timestamp
    public var reason: String?

    /// Dropped referrals, oldest end first.
    public static func compute(_ model: ChainModel, window: AnalysisWindow) -> [DroppedReferral] {
        var dropped: [DroppedReferral] = []
        for referral in model.referrals.values {
            guard let ended = referral.ended, ended.step != .completed, window.contains(ended.time),
                  ended.time.adding(days: followUpDays) <= window.asOf else { continue }
            let deadline = ended.time.adding(days: followUpDays)
            let followedUp = model.cases[referral.caseID].map { record in
                model.referrals(of: record).contains { $0.created > ended.time && $0.created <= deadline }
            } ?? false
            if !followedUp {
                dropped.append(DroppedReferral(
                    referral: referral.id, caseID: referral.caseID, from: referral.from, to: referral.to,
                    step: ended.step, endedAt: ended.time, reason: ended.note))
            }
        }
        return dropped.sorted { ($0.endedAt, $0.referral) < ($1.endedAt, $1.referral) }
    }
}
