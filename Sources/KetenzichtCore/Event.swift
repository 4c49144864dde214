/// The identity of an event (SPEC §2.1: `source` and `id`). Ingesting the same identity twice with
/// the same content is a duplicate; with other content, a conflict.
public struct EventIdentity: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var source: String
    public var id: String

    public init(source: String, id: String) {
        self.source = source
        self.id = id
    }

    public static func < (lhs: EventIdentity, rhs: EventIdentity) -> Bool {
        (lhs.source, lhs.id) < (rhs.source, rhs.id)
    }

    public var description: String { "\(id) (\(source))" }
}

/// The event types of SPEC §2.1, by their CloudEvents `type`.
public enum EventType: String, CaseIterable, Sendable {
    case partyRegistered = "nl.ketenzicht.party.registered"
    case caseAssessed = "nl.ketenzicht.case.assessed"
    case referralCreated = "nl.ketenzicht.referral.created"
    case referralAccepted = "nl.ketenzicht.referral.accepted"
    case referralStarted = "nl.ketenzicht.referral.started"
    case referralCompleted = "nl.ketenzicht.referral.completed"
    case referralRejected = "nl.ketenzicht.referral.rejected"
    case referralWithdrawn = "nl.ketenzicht.referral.withdrawn"
    case regieAssigned = "nl.ketenzicht.regie.assigned"
}

public enum Urgency: String, Sendable, CaseIterable {
    case regulier, urgent, crisis
}

/// The status steps after creation (SPEC §1 lifecycle).
public enum ReferralStep: String, Sendable, CaseIterable, Comparable {
    case accepted, started, completed, rejected, withdrawn

    var rank: Int {
        switch self {
        case .accepted: 0
        case .started: 1
        case .completed, .rejected, .withdrawn: 2
        }
    }

    public var isTerminal: Bool { rank == 2 }

    public static func < (lhs: ReferralStep, rhs: ReferralStep) -> Bool { lhs.rank < rhs.rank }

    public var eventType: EventType {
        switch self {
        case .accepted: .referralAccepted
        case .started: .referralStarted
        case .completed: .referralCompleted
        case .rejected: .referralRejected
        case .withdrawn: .referralWithdrawn
        }
    }
}

public struct PartyRegistration: Sendable, Equatable {
    public var party: String
    public var name: String
    public var domain: String
    public var capacityPerWeek: Double?
    public var normDays: Double?
    public var regieEligible: Bool?

    public init(party: String, name: String, domain: String, capacityPerWeek: Double? = nil, normDays: Double? = nil, regieEligible: Bool? = nil) {
        self.party = party
        self.name = name
        self.domain = domain
        self.capacityPerWeek = capacityPerWeek
        self.normDays = normDays
        self.regieEligible = regieEligible
    }
}

public struct CaseAssessment: Sendable, Equatable {
    public var caseID: String
    /// ZRM scores by life domain, sorted by life domain so equal assessments compare equal.
    public var scores: [(lifeDomain: String, score: Int)]

    public init(caseID: String, scores: [(lifeDomain: String, score: Int)]) {
        self.caseID = caseID
        self.scores = scores.sorted { $0.lifeDomain < $1.lifeDomain }
    }

    /// For scores already sorted by life domain (a decoder that knows each one's place).
    public init(caseID: String, scoresInLifeDomainOrder scores: [(lifeDomain: String, score: Int)]) {
        assert(zip(scores, scores.dropFirst()).allSatisfy { !($1.lifeDomain < $0.lifeDomain) }, "scores out of order")
        self.caseID = caseID
        self.scores = scores
    }

    public static func == (lhs: CaseAssessment, rhs: CaseAssessment) -> Bool {
        lhs.caseID == rhs.caseID && lhs.scores.elementsEqual(rhs.scores) { $0.lifeDomain == $1.lifeDomain && $0.score == $1.score }
    }
}

public struct ReferralCreation: Sendable, Equatable {
    public var referral: String
    public var caseID: String
    public var from: String
    public var to: String
    public var urgency: Urgency?
    public var lifeDomain: String?
    public var dependsOn: [String]

    public init(referral: String, caseID: String, from: String, to: String, urgency: Urgency? = nil, lifeDomain: String? = nil, dependsOn: [String] = []) {
        self.referral = referral
        self.caseID = caseID
        self.from = from
        self.to = to
        self.urgency = urgency
        self.lifeDomain = lifeDomain
        self.dependsOn = dependsOn
    }
}

public struct ReferralStatusChange: Sendable, Equatable {
    public var referral: String
    public var step: ReferralStep
    /// `outcome` of a completion, `reason` of a rejection or withdrawal.
    public var note: String?

    public init(referral: String, step: ReferralStep, note: String? = nil) {
        self.referral = referral
        self.step = step
        self.note = note
    }
}

public struct RegieAssignment: Sendable, Equatable {
    public var caseID: String
    public var party: String

    public init(caseID: String, party: String) {
        self.caseID = caseID
        self.party = party
    }
}

public enum EventBody: Sendable, Equatable {
    case partyRegistered(PartyRegistration)
    case caseAssessed(CaseAssessment)
    case referralCreated(ReferralCreation)
    case referralStatus(ReferralStatusChange)
    case regieAssigned(RegieAssignment)

    public var type: EventType {
        switch self {
        case .partyRegistered: .partyRegistered
        case .caseAssessed: .caseAssessed
        case .referralCreated: .referralCreated
        case .referralStatus(let change): change.step.eventType
        case .regieAssigned: .regieAssigned
        }
    }
}

/// One validated, pseudonymised event: what the model applies and the store keeps.
public struct Event: Sendable, Equatable {
    public var identity: EventIdentity
    public var time: Timestamp
    public var body: EventBody

    public init(identity: EventIdentity, time: Timestamp, body: EventBody) {
        self.identity = identity
        self.time = time
        self.body = body
    }

    public var type: EventType { body.type }

    /// The canonical CloudEvents JSON line of this event: fixed key order, UTC time with
    /// milliseconds, no BSN (cases are already pseudonymous). The store keeps this text, and two
    /// events with the same identity are duplicates exactly when their canonical lines are equal.
    public var canonicalJSON: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(320)
        appendCanonicalJSON(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `canonicalJSON` as UTF-8 bytes: ingest writes many lines into one reusable buffer
    /// and stores them from there, without a String per event. The fixed parts (keys,
    /// punctuation) are copied as static bytes: this runs once per ingested event, and scanning
    /// constant keys for escapes cost as much as writing the values.
    public func appendCanonicalJSON(to buffer: inout [UInt8]) {
        var writer = CanonicalLineWriter(buffer: buffer)
        buffer = []
        walkCanonicalLine(&writer)
        buffer = writer.buffer
    }

    /// The canonical line's parts in order, for the writer and for the digest, so that both
    /// always see the same content.
    func walkCanonicalLine(_ sink: inout some CanonicalLineSink) {
        var needsComma = false
        // `quotedKey` is the key with its quotes and colon: `"case":`.
        func key(_ quotedKey: StaticString) {
            if needsComma { sink.byte(UInt8(ascii: ",")) }
            sink.raw(quotedKey)
            needsComma = true
        }
        sink.raw(#"{"data":{"#)
        switch body {
        case .partyRegistered(let registration):
            if let capacity = registration.capacityPerWeek { key(#""capacityPerWeek":"#); sink.number(capacity) }
            key(#""domain":"#); sink.string(registration.domain)
            key(#""name":"#); sink.string(registration.name)
            if let norm = registration.normDays { key(#""normDays":"#); sink.number(norm) }
            key(#""party":"#); sink.string(registration.party)
            if let eligible = registration.regieEligible { key(#""regieEligible":"#); sink.raw(eligible ? "true" : "false") }
        case .caseAssessed(let assessment):
            key(#""case":"#); sink.string(assessment.caseID)
            key(#""zrm":{"#)
            for (index, score) in assessment.scores.enumerated() {
                if index > 0 { sink.byte(UInt8(ascii: ",")) }
                sink.string(score.lifeDomain)
                sink.byte(UInt8(ascii: ":"))
                sink.number(Double(score.score))
            }
            sink.byte(UInt8(ascii: "}"))
        case .referralCreated(let creation):
            key(#""case":"#); sink.string(creation.caseID)
            if !creation.dependsOn.isEmpty {
                key(#""dependsOn":["#)
                for (index, reference) in creation.dependsOn.enumerated() {
                    if index > 0 { sink.byte(UInt8(ascii: ",")) }
                    sink.string(reference)
                }
                sink.byte(UInt8(ascii: "]"))
            }
            key(#""from":"#); sink.string(creation.from)
            if let lifeDomain = creation.lifeDomain { key(#""lifeDomain":"#); sink.string(lifeDomain) }
            key(#""referral":"#); sink.string(creation.referral)
            key(#""to":"#); sink.string(creation.to)
            if let urgency = creation.urgency { key(#""urgency":"#); sink.string(urgency.rawValue) }
        case .referralStatus(let change):
            if let note = change.note {
                change.step == .completed ? key(#""outcome":"#) : key(#""reason":"#)
                sink.string(note)
            }
            key(#""referral":"#); sink.string(change.referral)
        case .regieAssigned(let assignment):
            key(#""case":"#); sink.string(assignment.caseID)
            key(#""party":"#); sink.string(assignment.party)
        }
        sink.raw(#"},"id":"#); sink.string(identity.id)
        sink.raw(#","source":"#); sink.string(identity.source)
        sink.raw(#","specversion":"1.0","time":""#)
        sink.time(time)
        sink.raw(#"","type":"#); sink.string(type.rawValue)
        sink.byte(UInt8(ascii: "}"))
    }

    /// A 64-bit digest of the event's content, for duplicate detection in memory: equal for
    /// equal canonical lines, different (but for chance) for different ones. It hashes the
    /// parts the canonical line is written from instead of writing the line, which cost ~0.3 µs
    /// an event. Never stored (a replay recomputes it), so it may change between versions.
    public var fingerprint: UInt64 {
        var digest = CanonicalLineDigest()
        walkCanonicalLine(&digest)
        return digest.hash
    }

}

/// What `Event.walkCanonicalLine` hands the parts of a canonical line to.
protocol CanonicalLineSink {
    mutating func raw(_ text: StaticString)
    mutating func byte(_ value: UInt8)
    mutating func string(_ value: String)
    mutating func number(_ value: Double)
    mutating func time(_ value: Timestamp)
}

/// Writes the canonical line as UTF-8 bytes.
struct CanonicalLineWriter: CanonicalLineSink {
    var buffer: [UInt8]

    mutating func raw(_ text: StaticString) {
        buffer.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }
    mutating func byte(_ value: UInt8) { buffer.append(value) }
    mutating func string(_ value: String) { CanonicalJSONWriter.appendString(value, to: &buffer) }
    mutating func number(_ value: Double) { buffer.append(contentsOf: CanonicalJSONWriter.number(value).utf8) }
    mutating func time(_ value: Timestamp) { value.appendRFC3339(to: &buffer) }
}

/// Hashes the parts of a canonical line so that equal lines give equal digests: a fixed part
/// by the address of its static text (one text, one address in a process), a number as the
/// line writes it (0 and −0 alike), a time by its milliseconds (all the line shows of it).
/// Strings are hashed with their length, so no two sequences of them run together.
struct CanonicalLineDigest: CanonicalLineSink {
    var hash: UInt64 = 0x243F_6A88_85A3_08D3

    private mutating func mix(_ value: UInt64) { hash = hashWord(hash ^ value) }
    mutating func raw(_ text: StaticString) { mix(UInt64(UInt(bitPattern: text.utf8Start))) }
    mutating func byte(_ value: UInt8) { mix(UInt64(value) | 0x100) }
    mutating func string(_ value: String) {
        var value = value
        hash = value.withUTF8 { hashBytes($0, seed: hash) }
    }
    mutating func number(_ value: Double) { mix(value == 0 ? 0 : value.bitPattern) }
    mutating func time(_ value: Timestamp) { mix(UInt64(bitPattern: value.millisecondsSinceEpoch)) }
}
