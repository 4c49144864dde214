public import KetenzichtCore

/// The data fields of the event types of SPEC §2.1, by the name both formats give them (a member
/// of CloudEvents `data`, an attribute or child element in XML).
public enum DataField: Sendable, CaseIterable {
    case party, name, domain, capacityPerWeek, normDays, regieEligible, zrm
    case referral, `case`, bsn, from, to, urgency, lifeDomain, dependsOn, outcome, reason

    public var key: StaticString {
        switch self {
        case .party: "party"
        case .name: "name"
        case .domain: "domain"
        case .capacityPerWeek: "capacityPerWeek"
        case .normDays: "normDays"
        case .regieEligible: "regieEligible"
        case .zrm: "zrm"
        case .referral: "referral"
        case .case: "case"
        case .bsn: "bsn"
        case .from: "from"
        case .to: "to"
        case .urgency: "urgency"
        case .lifeDomain: "lifeDomain"
        case .dependsOn: "dependsOn"
        case .outcome: "outcome"
        case .reason: "reason"
        }
    }

    public var keyText: String { key.description }
}

/// The data fields of one event as a decoder found them. JSON answers with typed values, XML with
/// attribute text; either way a wrong type is a `FieldProblem` naming the field as the user wrote it.
public protocol EventFieldSource {
    /// The name to print for a data field (`data.from` in JSON, `@from` in XML).
    func displayName(of field: DataField) -> String
    func string(_ field: DataField) throws(FieldProblem) -> String?
    func number(_ field: DataField) throws(FieldProblem) -> Double?
    func bool(_ field: DataField) throws(FieldProblem) -> Bool?
    /// `dependsOn`: a list of referral ids.
    func stringList(_ field: DataField) throws(FieldProblem) -> [String]?
    /// `zrm`: life domain → score, in input order (duplicates included so they can be refused).
    func scores(_ field: DataField) throws(FieldProblem) -> [(String, Double)]?
}

/// Turns an envelope and its data fields into a validated `Event` (SPEC §2, §3). Shared by every
/// decoder so that JSON and XML accept and refuse exactly the same things.
public struct EventAssembler: Sendable {
    public var pseudonymizer: Pseudonymizer
    /// Life domains accepted in `zrm` and `lifeDomain` (the config's ZRM mapping).
    public let lifeDomains: Set<String>
    /// Each life domain's place in `String` order: an assessment's scores are put in that order
    /// by comparing these, and a repeat is found with one bit per place.
    private let lifeDomainRanks: LifeDomainRanks

    public static let maxIdentifierLength = 256
    public static let maxTextLength = 4096

    public init(pseudonymizer: Pseudonymizer, lifeDomains: Set<String> = Set(DomainCatalog.zrmLifeDomains)) {
        self.pseudonymizer = pseudonymizer
        self.lifeDomains = lifeDomains
        lifeDomainRanks = LifeDomainRanks(lifeDomains)
    }

    /// The identity, when both parts are usable, so that errors can name the event.
    public static func identity(id: String?, source: String?) -> EventIdentity? {
        guard let id, let source, !id.isEmpty, !source.isEmpty else { return nil }
        return EventIdentity(source: source, id: id)
    }

    public func assemble(
        id: String?, source: String?, type: String?, time: String?,
        fields: some EventFieldSource,
        names: EnvelopeNames = .cloudEvents
    ) throws(FieldProblem) -> Event {
        let id = try Self.identifier(id, field: names.id)
        let source = try Self.identifier(source, field: names.source)
        guard let typeText = type else { throw FieldProblem(field: names.type, "missing") }
        guard let type = EventType(rawValue: typeText) else {
            throw FieldProblem(field: names.type, "unknown event type \"\(Self.clip(typeText))\"; expected one of \(EventType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return try assemble(identifiedID: id, source: source, type: type, time: time, fields: fields, names: names)
    }

    /// For decoders that know the type already (from an element name): the envelope's id and
    /// source are checked first, in the same order as above, so the errors are the same.
    func assemble(
        id: String?, source: String?, type: EventType, time: String?,
        fields: some EventFieldSource, names: EnvelopeNames
    ) throws(FieldProblem) -> Event {
        let id = try Self.identifier(id, field: names.id)
        let source = try Self.identifier(source, field: names.source)
        return try assemble(identifiedID: id, source: source, type: type, time: time, fields: fields, names: names)
    }

    /// For a decoder that has parsed the time already (the XML fast path, straight from its
    /// bytes): the same checks in the same order as above, for an event whose time is fine.
    func assemble(
        id: String?, source: String?, type: EventType, timestamp: Timestamp,
        fields: some EventFieldSource, names: EnvelopeNames
    ) throws(FieldProblem) -> Event {
        let id = try Self.identifier(id, field: names.id)
        let source = try Self.identifier(source, field: names.source)
        let body = try self.body(type: type, fields: fields)
        return Event(identity: EventIdentity(source: source, id: id), time: timestamp, body: body)
    }

    private func assemble(
        identifiedID id: String, source: String, type: EventType, time: String?,
        fields: some EventFieldSource, names: EnvelopeNames
    ) throws(FieldProblem) -> Event {
        guard let timeText = time else { throw FieldProblem(field: names.time, "missing") }
        let timestamp: Timestamp
        do { timestamp = try Timestamp(rfc3339: timeText) } catch {
            throw FieldProblem(field: names.time, "\(error) (got \"\(Self.clip(timeText))\")")
        }
        let body = try self.body(type: type, fields: fields)
        return Event(identity: EventIdentity(source: source, id: id), time: timestamp, body: body)
    }

    public struct EnvelopeNames: Sendable {
        public var id, source, type, time: String
        public static let cloudEvents = EnvelopeNames(id: "id", source: "source", type: "type", time: "time")
        public static let xmlAttributes = EnvelopeNames(id: "@id", source: "@source", type: "element", time: "@time")
    }

    private func body(type: EventType, fields: some EventFieldSource) throws(FieldProblem) -> EventBody {
        func required(_ field: DataField) throws(FieldProblem) -> String {
            guard let value = try fields.string(field) else { throw FieldProblem(field: fields.displayName(of: field), "missing") }
            return try Self.identifier(value, field: fields.displayName(of: field))
        }
        func optionalText(_ field: DataField) throws(FieldProblem) -> String? {
            guard let value = try fields.string(field) else { return nil }
            guard value.utf8.count <= Self.maxTextLength else {
                throw FieldProblem(field: fields.displayName(of: field), "longer than \(Self.maxTextLength) bytes")
            }
            // Free text is kept as written, so a BSN typed into a reason would reach the store.
            return redactingBSNs(value)
        }
        switch type {
        case .partyRegistered:
            let party = try required(.party)
            guard let name = try optionalText(.name) else { throw FieldProblem(field: fields.displayName(of: .name), "missing") }
            let domain = try required(.domain)
            let capacity = try fields.number(.capacityPerWeek)
            if let capacity, !(capacity >= 0 && capacity.isFinite) {
                throw FieldProblem(field: fields.displayName(of: .capacityPerWeek), "must be a number ≥ 0, got \(capacity)")
            }
            let norm = try fields.number(.normDays)
            if let norm, !(norm > 0 && norm.isFinite) {
                throw FieldProblem(field: fields.displayName(of: .normDays), "must be a number of days > 0, got \(norm)")
            }
            let eligible = try fields.bool(.regieEligible)
            return .partyRegistered(PartyRegistration(party: party, name: name, domain: domain, capacityPerWeek: capacity, normDays: norm, regieEligible: eligible))
        case .caseAssessed:
            let caseID = try self.caseID(fields)
            guard let raw = try fields.scores(.zrm) else { throw FieldProblem(field: fields.displayName(of: .zrm), "missing") }
            guard !raw.isEmpty else { throw FieldProblem(field: fields.displayName(of: .zrm), "holds no scores") }
            var ranked: [(rank: Int, lifeDomain: String, score: Int)] = []
            ranked.reserveCapacity(raw.count)
            var seenRanks: UInt64 = 0
            var seenBeyond64: Set<Int> = []
            for (lifeDomain, value) in raw {
                // Built only for an error: most scores have none.
                func field() -> String { fields.displayName(of: .zrm) + "." + lifeDomain }
                guard let rank = lifeDomainRanks.rank(of: lifeDomain) else {
                    throw FieldProblem(field: field(), "unknown ZRM life domain; expected one of \(lifeDomains.sorted().joined(separator: ", "))")
                }
                let repeated = if rank < 64 {
                    seenRanks & 1 << rank != 0
                } else {
                    !seenBeyond64.insert(rank).inserted
                }
                guard !repeated else { throw FieldProblem(field: field(), "scored twice") }
                if rank < 64 { seenRanks |= 1 << rank }
                guard value == value.rounded(), value >= 1, value <= 5 else {
                    throw FieldProblem(field: field(), "ZRM score must be a whole number 1 to 5, got \(CanonicalJSONWriter.number(value))")
                }
                // Insertion by place: a dozen scores at most, usually.
                var position = ranked.count
                while position > 0, ranked[position - 1].rank > rank { position -= 1 }
                ranked.insert((rank, lifeDomain, Int(value)), at: position)
            }
            let scores = ranked.map { (lifeDomain: $0.lifeDomain, score: $0.score) }
            return .caseAssessed(CaseAssessment(caseID: caseID, scoresInLifeDomainOrder: scores))
        case .referralCreated:
            let referral = try required(.referral)
            let caseID = try self.caseID(fields)
            let from = try required(.from)
            let to = try required(.to)
            guard from != to else {
                throw FieldProblem(field: fields.displayName(of: .to), "self-referral: from and to are both \(from)")
            }
            var urgency: Urgency?
            if let text = try fields.string(.urgency) {
                guard let parsed = Urgency(rawValue: text) else {
                    throw FieldProblem(field: fields.displayName(of: .urgency), "must be regulier, urgent or crisis, got \"\(Self.clip(text))\"")
                }
                urgency = parsed
            }
            let lifeDomain = try fields.string(.lifeDomain)
            if let lifeDomain, lifeDomainRanks.rank(of: lifeDomain) == nil {
                throw FieldProblem(field: fields.displayName(of: .lifeDomain), "unknown ZRM life domain \"\(Self.clip(lifeDomain))\"")
            }
            let dependsOn = try fields.stringList(.dependsOn) ?? []
            var seen = Set<String>()
            for prerequisite in dependsOn {
                _ = try Self.identifier(prerequisite, field: fields.displayName(of: .dependsOn))
                guard prerequisite != referral else {
                    throw FieldProblem(field: fields.displayName(of: .dependsOn), "referral \(referral) depends on itself")
                }
                guard seen.insert(prerequisite).inserted else {
                    throw FieldProblem(field: fields.displayName(of: .dependsOn), "lists \(prerequisite) twice")
                }
            }
            return .referralCreated(ReferralCreation(referral: referral, caseID: caseID, from: from, to: to, urgency: urgency, lifeDomain: lifeDomain, dependsOn: dependsOn))
        case .referralAccepted, .referralStarted, .referralCompleted, .referralRejected, .referralWithdrawn:
            let referral = try required(.referral)
            let step: ReferralStep
            var note: String?
            switch type {
            case .referralAccepted: step = .accepted
            case .referralStarted: step = .started
            case .referralCompleted: step = .completed; note = try optionalText(.outcome)
            case .referralRejected: step = .rejected; note = try optionalText(.reason)
            default: step = .withdrawn; note = try optionalText(.reason)
            }
            return .referralStatus(ReferralStatusChange(referral: referral, step: step, note: note))
        case .regieAssigned:
            return .regieAssigned(RegieAssignment(caseID: try caseID(fields), party: try required(.party)))
        }
    }

    /// `case`, or `bsn` replaced by its pseudonym (SPEC §4). The raw BSN is never echoed.
    private func caseID(_ fields: some EventFieldSource) throws(FieldProblem) -> String {
        let caseText = try fields.string(.case)
        let bsn = try fields.string(.bsn)
        switch (caseText, bsn) {
        case (nil, nil):
            throw FieldProblem(field: fields.displayName(of: .case), "missing (give case or bsn)")
        case (.some, .some):
            throw FieldProblem(field: fields.displayName(of: .bsn), "give either case or bsn, not both")
        case (let caseID?, nil):
            let id = try Self.identifier(caseID, field: fields.displayName(of: .case))
            guard !Pseudonymizer.looksLikeWrittenBSN(id) else {
                throw FieldProblem(field: fields.displayName(of: .case), "looks like a BSN (9 digits); send it as bsn so that it is pseudonymised")
            }
            return id
        case (nil, let bsn?):
            return try pseudonymizer.caseID(forBSN: bsn, field: fields.displayName(of: .bsn))
        }
    }

    /// The field name is an autoclosure: it is only built when there is something to report.
    static func identifier(_ value: String?, field: @autoclosure () -> String) throws(FieldProblem) -> String {
        guard let value else { throw FieldProblem(field: field(), "missing") }
        // Control characters are single bytes in UTF-8, so a byte scan finds them all. `withUTF8`
        // gives contiguous bytes for every string, the short ones held inline included (the
        // UTF-8 view does not, and iterating it cost ~3% of an XML decode).
        var bytes = value
        let (count, hasControl) = bytes.withUTF8 { utf8 in (utf8.count, containsControlCharacter(utf8)) }
        guard count > 0 else { throw FieldProblem(field: field(), "empty") }
        guard count <= maxIdentifierLength else {
            throw FieldProblem(field: field(), "longer than \(maxIdentifierLength) bytes")
        }
        guard !hasControl else { throw FieldProblem(field: field(), "contains control characters") }
        return value
    }

    /// Whether any byte is below 0x20 or is 0x7F, eight bytes at a time: every id, source and
    /// party of every event is checked. A word has a byte below n (n ≤ 128) exactly when
    /// `(word - n·0x0101…) & ~word & 0x8080…` is not zero, and a byte equal to 0x7F when the
    /// same test for n = 1 finds a zero byte in `word ^ 0x7F7F…`.
    static func containsControlCharacter(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return false }
        let ones: UInt64 = 0x0101_0101_0101_0101, highBits: UInt64 = 0x8080_8080_8080_8080
        var index = 0
        while index + 8 <= bytes.count {
            let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
            let deleted = word ^ (0x7F &* ones)
            if (word &- 0x20 &* ones) & ~word & highBits != 0 || (deleted &- ones) & ~deleted & highBits != 0 { return true }
            index += 8
        }
        while index < bytes.count {
            if bytes[index] < 0x20 || bytes[index] == 0x7F { return true }
            index += 1
        }
        return false
    }

    /// Echoes at most 64 characters of bad input, so an error line stays readable.
    static func clip(_ text: String) -> String {
        text.count <= 64 ? text : String(text.prefix(61)) + "..."
    }
}

/// The configured life domains' places in `String` order. Every ZRM score and every referral's
/// life domain is looked up here, so a handful of names are compared by their first eight bytes,
/// then whole, which is cheaper than hashing. Equal bytes are an equal `String`; for
/// anything the bytes do not find (a name written in another Unicode normal form), and for long
/// lists, a dictionary gives `String`'s own answer.
struct LifeDomainRanks: Sendable {
    private struct Entry: Sendable {
        var head: UInt64
        var bytes: [UInt8]
        var rank: Int
    }

    private static let longestScanned = 32
    private let entries: [Entry]
    private let byName: [String: Int]

    init(_ lifeDomains: Set<String>) {
        let sorted = lifeDomains.sorted()
        byName = Dictionary(uniqueKeysWithValues: sorted.enumerated().map { ($1, $0) })
        entries = sorted.count > Self.longestScanned ? [] : sorted.enumerated().map { rank, name in
            let bytes = Array(name.utf8)
            return Entry(head: bytes.withUnsafeBufferPointer(Self.head), bytes: bytes, rank: rank)
        }
    }

    func rank(of name: String) -> Int? {
        var name = name
        let found = name.withUTF8 { wanted -> Int? in
            let head = Self.head(wanted)
            let entry = entries.first { $0.head == head && $0.bytes.withUnsafeBufferPointer { sameBytes($0, wanted) } }
            return entry?.rank
        }
        return found ?? byName[name]
    }

    /// The first eight bytes (fewer, zero-filled, for a shorter name), as the JSON scanner keys
    /// its members.
    private static func head(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        guard let base = bytes.baseAddress else { return 0 }
        return bytePrefix(base, count: bytes.count, readable: bytes.count)
    }
}
