import KetenzichtCore
import XMLStreaming

/// The local names the exchange XSD (`ExchangeSchema.xsd`) declares, elements and attributes in
/// one list. The scanner tags every name it meets with one of these (`XMLEventScanner`'s
/// `tagging`, once per interned name), so the fast path finds an attribute, a rule or an event
/// type by comparing small integers; the general path works the same names out from a copy's
/// strings.
enum ExchangeName: Int16, CaseIterable {
    // The event elements.
    case party, assessment, referral, accepted, started, completed, rejected, withdrawn, regie
    // The elements inside them.
    case name, reason, score, dependsOn
    // The attributes (`party` and `referral` are attributes too).
    case id, source, time, `case`, bsn, domain, from, to, urgency, lifeDomain
    case capacityPerWeek, normDays, regieEligible, outcome, value, ref

    var text: StaticString {
        switch self {
        case .party: "party"
        case .assessment: "assessment"
        case .referral: "referral"
        case .accepted: "accepted"
        case .started: "started"
        case .completed: "completed"
        case .rejected: "rejected"
        case .withdrawn: "withdrawn"
        case .regie: "regie"
        case .name: "name"
        case .reason: "reason"
        case .score: "score"
        case .dependsOn: "dependsOn"
        case .id: "id"
        case .source: "source"
        case .time: "time"
        case .case: "case"
        case .bsn: "bsn"
        case .domain: "domain"
        case .from: "from"
        case .to: "to"
        case .urgency: "urgency"
        case .lifeDomain: "lifeDomain"
        case .capacityPerWeek: "capacityPerWeek"
        case .normDays: "normDays"
        case .regieEligible: "regieEligible"
        case .outcome: "outcome"
        case .value: "value"
        case .ref: "ref"
        }
    }

    /// The name spelled by `bytes`, if the XSD declares it.
    init?(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard bytes.count < Self.byLength.count,
              let known = Self.byLength[bytes.count].first(where: { sameBytes(bytes, $0.text) })
        else { return nil }
        self = known
    }

    /// The names by their length in bytes: a copy's every attribute is looked up.
    private static let byLength: [[ExchangeName]] = {
        var table = [[ExchangeName]](repeating: [], count: 16)
        for name in allCases { table[name.text.utf8CodeUnitCount].append(name) }
        return table
    }()

    /// The scanner's tag for a name: its raw value, or `ScannedElement.untagged`.
    static func tag(of bytes: UnsafeBufferPointer<UInt8>) -> Int16 {
        ExchangeName(bytes)?.rawValue ?? ScannedElement.untagged
    }

    /// The event an element of this name carries.
    var eventType: EventType? {
        switch self {
        case .party: .partyRegistered
        case .assessment: .caseAssessed
        case .referral: .referralCreated
        case .accepted: .referralAccepted
        case .started: .referralStarted
        case .completed: .referralCompleted
        case .rejected: .referralRejected
        case .withdrawn: .referralWithdrawn
        case .regie: .regieAssigned
        default: nil
        }
    }

    /// Where the XML form keeps a data field: the attribute of the same name, or for `name`,
    /// `reason`, `dependsOn` and `zrm` a child element (nil here).
    init?(attributeFor field: DataField) {
        switch field {
        case .party: self = .party
        case .domain: self = .domain
        case .capacityPerWeek: self = .capacityPerWeek
        case .normDays: self = .normDays
        case .regieEligible: self = .regieEligible
        case .referral: self = .referral
        case .case: self = .case
        case .bsn: self = .bsn
        case .from: self = .from
        case .to: self = .to
        case .urgency: self = .urgency
        case .lifeDomain: self = .lifeDomain
        case .outcome: self = .outcome
        case .name, .zrm, .dependsOn, .reason: return nil
        }
    }
}
