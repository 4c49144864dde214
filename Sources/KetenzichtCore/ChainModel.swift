import HashTreeCollections

/// The in-memory model of SPEC §1–§2: parties, cases and referrals with their lifecycles, built by
/// applying validated events. It is a value: the single writer mutates its copy, readers hold
/// snapshots that never change under them.
///
/// Ordering: every transition keeps its event time, and validity is judged on the time line, not
/// on arrival order, so a valid set of events gives the same model in any order. A status event
/// whose referral is not known yet (or a completion whose start is not known yet) waits as
/// pending until it can be applied or expires past the horizon. Of two events that contradict
/// each other, the one applied second is refused.
///
/// Referrals and cases are kept as fixed-width rows in chunks, their ids and the event identities
/// in compact hash indexes (`ModelStorage.swift`); `referrals` and `cases` read them back as
/// `Referral` and `Case` values. Publishing a snapshot and then applying the next batch copies only
/// the chunks that batch touches, not the whole model, so a daemon with millions of referrals can
/// publish after every ingest.
public struct ChainModel: Sendable {
    public struct Party: Sendable, Equatable {
        public var id: String
        /// The registration with the latest event time; nil while the party is only known from referrals.
        public var registration: PartyRegistration?
        public var registrationTime: Timestamp?
        public var registrationEvent: EventIdentity?
        /// First time the party was seen in any event.
        public var firstSeen: Timestamp

        public var isAutoRegistered: Bool { registration == nil }
        public func domain(fallback: String) -> String { registration?.domain ?? fallback }
    }

    public struct Referral: Sendable, Equatable {
        public var id: String
        public var caseID: String
        public var from: String
        public var to: String
        public var created: Timestamp
        public var urgency: Urgency?
        public var lifeDomain: String?
        public var dependsOn: [String]
        public var createdBy: EventIdentity
        public var accepted: Timestamp?
        public var started: Timestamp?
        /// Completed, rejected or withdrawn: the referral's end, with its outcome or reason.
        public var ended: (step: ReferralStep, time: Timestamp, note: String?)?

        public static func == (lhs: Referral, rhs: Referral) -> Bool {
            lhs.id == rhs.id && lhs.caseID == rhs.caseID && lhs.from == rhs.from && lhs.to == rhs.to
                && lhs.created == rhs.created && lhs.urgency == rhs.urgency && lhs.lifeDomain == rhs.lifeDomain
                && lhs.dependsOn == rhs.dependsOn && lhs.createdBy == rhs.createdBy && lhs.accepted == rhs.accepted
                && lhs.started == rhs.started && lhs.ended?.step == rhs.ended?.step
                && lhs.ended?.time == rhs.ended?.time && lhs.ended?.note == rhs.ended?.note
        }

        public var completed: Timestamp? { ended?.step == .completed ? ended?.time : nil }

        /// The lifecycle state as seen at `asOf` (SPEC §5 sees only events with time ≤ asOf).
        public func state(asOf: Timestamp) -> ReferralState? {
            ReferralState.at(asOf, created: created, accepted: accepted, started: started, ended: ended.map { ($0.step, $0.time) })
        }
    }

    public struct Case: Sendable, Equatable {
        public var id: String
        /// Referral ids in creation-time order.
        public var referrals: [String] = []
        /// ZRM assessments in time order; the latest with time ≤ asOf counts.
        public var assessments: [Assessment] = []
        /// Manual regie assignments in time order.
        public var regieAssignments: [RegieRecord] = []
        /// Counts the changes applied to this case (its referrals included), so that a reader can
        /// keep per-case results until the case changes.
        public internal(set) var revision = 0
        /// The rows of `referrals`, for reading them without looking their ids up again.
        var referralRows: [Int32] = []

        public typealias Assessment = (time: Timestamp, event: EventIdentity, scores: [(lifeDomain: String, score: Int)])
        public typealias RegieRecord = (time: Timestamp, event: EventIdentity, party: String)

        public static func == (lhs: Case, rhs: Case) -> Bool {
            lhs.id == rhs.id && lhs.referrals == rhs.referrals
                && lhs.assessments.elementsEqual(rhs.assessments) { $0.time == $1.time && $0.event == $1.event && $0.scores.elementsEqual($1.scores) { $0 == $1 } }
                && lhs.regieAssignments.elementsEqual(rhs.regieAssignments) { $0 == $1 }
        }
    }

    /// What to do with a party that a referral or regie names before it was registered.
    public enum UnknownPartyPolicy: String, Sendable {
        /// Register it with the catalog's fallback domain (`overig`) and warn (the default).
        case register
        case reject
    }

    public private(set) var catalog: DomainCatalog
    public var unknownParties: UnknownPartyPolicy
    /// How long, in event time, a pending status event may wait for its referral.
    public var pendingHorizonDays: Double

    public private(set) var parties: [String: Party] = [:]
    /// Referrals, cases and the strings they name, in compact rows.
    // Internal, not private: `prefetch(ahead:)` (Prefetch.swift) reads them.
    var storage = ModelStorage()
    public var referrals: ReferralTable { ReferralTable(storage: storage) }
    public var cases: CaseTable { CaseTable(storage: storage) }
    /// Per `to` party, the sorted times at which its backlog grows and shrinks, kept as events
    /// arrive, so that its expected wait for any asOf is a few binary searches.
    public private(set) var timelines: [String: PartyTimeline] = [:]
    /// Pending status events by referral id, in arrival order.
    public private(set) var pending: [String: [Event]] = [:]
    public private(set) var pendingCount = 0
    /// The latest event time applied or held: the clock against which pending events expire.
    public private(set) var highWater: Timestamp?
    var fingerprints = IdentityDigests()
    /// One copy of each string that recurs across many events (sources, party names): every
    /// decoded event brings its own copy.
    private var sharedStrings = Set<String>()
    /// Every id some known referral names in its `dependsOn`. A new referral can only close a
    /// cycle if one of these names it; for all others the cycle search is skipped, which keeps a
    /// long chain arriving in order linear instead of walking the whole chain per referral.
    private var namedPrerequisites: TreeSet<String> = []

    public init(catalog: DomainCatalog = .standard, unknownParties: UnknownPartyPolicy = .register, pendingHorizonDays: Double = 30) {
        self.catalog = catalog
        self.unknownParties = unknownParties
        self.pendingHorizonDays = pendingHorizonDays
    }

    /// Replaces the domain catalog (a config reload). Stored registrations keep their domain names;
    /// analyses look norms up at query time, so nothing else changes.
    public mutating func updateCatalog(_ catalog: DomainCatalog) { self.catalog = catalog }

    public var eventCount: Int { fingerprints.count }

    /// The referrals to `party`, in arrival order, read without scanning the others (a case view,
    /// `party.get`).
    public func referrals(to party: String) -> [Referral] {
        guard let number = storage.partyNumbers[party] else { return [] }
        return storage.rowsTo[Int(number)].map { storage.referral(at: Int($0)) }
    }

    /// The referrals of `record`, in creation-time order.
    public func referrals(of record: Case) -> [Referral] {
        record.referralRows.map { storage.referral(at: Int($0)) }
    }

    // MARK: Applying events

    public enum Disposition: Sendable, Equatable {
        /// Applied; any warnings (such as an auto-registered party) are attached.
        case applied(warnings: [Refusal])
        /// Held until its referral (or the step it needs) is known.
        case pending
        /// The same identity with the same content was seen before.
        case duplicate
        case refused(Refusal)
    }

    /// Why an event was refused or warned about, naming the field.
    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public var field: String?
        public var message: String
        public init(field: String?, _ message: String) {
            self.field = field
            self.message = message
        }
        public var description: String { field.map { "\($0): \(message)" } ?? message }
    }

    /// The result of one `apply`: the event's own disposition, plus pending events that this event
    /// released (now applied) or proved invalid (to be quarantined by the caller).
    public struct ApplyResult: Sendable {
        public var disposition: Disposition
        public var released: [EventIdentity] = []
        public var evicted: [(event: Event, refusal: Refusal)] = []
    }

    /// Applies one validated event. `fingerprint` defaults to the event's canonical digest; the
    /// store passes the one it already computed. `keys`, when given, must be `EventKeys(event)`,
    /// made ahead on another thread (bulk loops also use them for `prefetch(ahead:)`).
    public mutating func apply(_ event: Event, fingerprint: UInt64? = nil, keys: EventKeys? = nil) -> ApplyResult {
        let digest = fingerprint ?? event.fingerprint
        let keys = keys ?? EventKeys(event)
        assert(keys == EventKeys(event), "apply: keys made from another event")
        switch event.body {
        case .referralCreated, .referralStatus:
            // Kept as a source number and id bytes, or shared when held pending: no copy of the
            // event (a copy retains every string of it, on the hottest path of a bulk load).
            return apply(event, digest: digest, keys: keys)
        case .partyRegistered, .caseAssessed, .regieAssigned:
            var kept = event
            kept.identity.source = shared(kept.identity.source)
            return apply(kept, digest: digest, keys: keys)
        }
    }

    private mutating func apply(_ event: Event, digest: UInt64, keys: EventKeys) -> ApplyResult {
        if let known = fingerprints.digest(of: event.identity, hash: keys.identity) {
            // 16 bits of digest can agree by chance; where the model still holds what that event
            // said, the content itself decides.
            if known == IdentityDigests.digest16(digest), holdsContent(of: event) ?? true { return ApplyResult(disposition: .duplicate) }
            return ApplyResult(disposition: .refused(Refusal(field: "id", "conflict: event \(event.identity) was already ingested with different content")))
        }
        var result = ApplyResult(disposition: .applied(warnings: []))
        switch event.body {
        case .partyRegistered(let registration):
            guard catalog.domain(named: registration.domain) != nil else {
                return ApplyResult(disposition: .refused(Refusal(field: "data.domain", "unknown domain \(registration.domain); configured domains are \(catalog.domains.keys.sorted().joined(separator: ", "))")))
            }
            registerParty(registration, event: event)
        case .caseAssessed(let assessment):
            let scores = assessment.scores.map { (lifeDomain: shared($0.lifeDomain), score: $0.score) }
            storage.annotateCase(assessment.caseID, hash: keys.caseID) { record in
                let index = record.assessments.insertionIndex { ($0.time, $0.event) <= (event.time, event.identity) }
                record.assessments.insert((event.time, event.identity, scores), at: index)
            }
        case .referralCreated(let creation):
            switch create(creation, event: event, keys: keys) {
            case .failure(let refusal): return ApplyResult(disposition: .refused(refusal))
            case .success(let warnings):
                result.disposition = .applied(warnings: warnings)
                retryPending(for: creation.referral, into: &result)
            }
        case .referralStatus(let change):
            switch applyStatus(change, event: event, referralHash: keys.referral) {
            case .applied:
                retryPending(for: change.referral, into: &result)
            case .wait:
                var held = event
                held.identity.source = shared(held.identity.source)
                pending[change.referral, default: []].append(held)
                pendingCount += 1
                result.disposition = .pending
            case .refused(let refusal):
                return ApplyResult(disposition: .refused(refusal))
            }
        case .regieAssigned(let assignment):
            var warnings: [Refusal] = []
            if let refusal = ensureParty(assignment.party, field: "party", at: event.time, warnings: &warnings) {
                return ApplyResult(disposition: .refused(refusal))
            }
            let party = parties[assignment.party]?.id ?? assignment.party
            storage.annotateCase(assignment.caseID, hash: keys.caseID) { record in
                let index = record.regieAssignments.insertionIndex { ($0.time, $0.event) <= (event.time, event.identity) }
                record.regieAssignments.insert((event.time, event.identity, party), at: index)
            }
            result.disposition = .applied(warnings: warnings)
        }
        fingerprints.insert(event.identity, digest: digest, hash: keys.identity)
        advanceHighWater(event.time)
        return result
    }

    /// Whether the event applied (or held) under `event`'s identity said exactly what `event` says,
    /// judged from what the model keeps; nil where it no longer keeps it (a superseded registration).
    private func holdsContent(of event: Event) -> Bool? {
        switch event.body {
        case .referralCreated(let creation):
            guard let row = storage.referralKeys.row(of: creation.referral) else { return false }
            let referral = storage.referral(at: row)
            return referral.createdBy == event.identity && referral.created == event.time && referral.caseID == creation.caseID
                && referral.from == creation.from && referral.to == creation.to && referral.urgency == creation.urgency
                && referral.lifeDomain == creation.lifeDomain && referral.dependsOn == creation.dependsOn
        case .referralStatus(let change):
            if let held = pending[change.referral]?.first(where: { $0.identity == event.identity }) { return held == event }
            guard let row = storage.referralKeys.row(of: change.referral) else { return false }
            let referral = storage.referral(at: row)
            switch change.step {
            case .accepted: return referral.accepted == event.time
            case .started: return referral.started == event.time
            case .completed, .rejected, .withdrawn:
                return referral.ended.map { $0.step == change.step && $0.time == event.time && $0.note == change.note } ?? false
            }
        case .caseAssessed(let assessment):
            guard let held = cases[assessment.caseID]?.assessments.first(where: { $0.event == event.identity }) else { return false }
            return held.time == event.time && held.scores.elementsEqual(assessment.scores) { $0 == $1 }
        case .regieAssigned(let assignment):
            guard let held = cases[assignment.caseID]?.regieAssignments.first(where: { $0.event == event.identity }) else { return false }
            return held.time == event.time && held.party == assignment.party
        case .partyRegistered(let registration):
            guard let party = parties[registration.party], party.registrationEvent == event.identity else { return nil }
            return party.registrationTime == event.time && party.registration == registration
        }
    }

    /// Refuses pending events older than the horizon (SPEC §2): their referral never came.
    public mutating func expirePending() -> [(event: Event, refusal: Refusal)] {
        guard let highWater, pendingCount > 0 else { return [] }
        let cutoff = highWater.adding(days: -pendingHorizonDays)
        var expired: [(event: Event, refusal: Refusal)] = []
        for (referralID, events) in pending {
            var keep: [Event] = []
            for event in events {
                if event.time < cutoff {
                    let reason = storage.referralKeys.row(of: referralID) == nil
                        ? "referral \(referralID) is still unknown \(formatDays(pendingHorizonDays)) days (event time) after this event; quarantined"
                        : "referral \(referralID) has not started \(formatDays(pendingHorizonDays)) days (event time) after this completion; quarantined"
                    expired.append((event, Refusal(field: "data.referral", reason)))
                    fingerprints.remove(event.identity)
                } else {
                    keep.append(event)
                }
            }
            pending[referralID] = keep.isEmpty ? nil : keep
        }
        pendingCount -= expired.count
        return expired.sorted { ($0.event.time, $0.event.identity) < ($1.event.time, $1.event.identity) }
    }

    /// The kept copy of `text`. Strings of up to 15 UTF-8 bytes are stored inline and need no sharing;
    /// the table is capped so that free text (reasons, outcomes) cannot grow it without bound.
    private mutating func shared(_ text: String) -> String {
        guard text.utf8.count > 15 else { return text }
        if let index = sharedStrings.firstIndex(of: text) { return sharedStrings[index] }
        if sharedStrings.count < 65_536 { sharedStrings.insert(text) }
        return text
    }

    private mutating func advanceHighWater(_ time: Timestamp) {
        if highWater.map({ time > $0 }) ?? true { highWater = time }
    }

    private mutating func registerParty(_ registration: PartyRegistration, event: Event) {
        storage.partyNumber(registration.party)
        var party = parties[registration.party] ?? Party(id: registration.party, firstSeen: event.time)
        party.firstSeen = min(party.firstSeen, event.time)
        // The latest registration wins, whatever order they arrive in; ties go to the larger identity.
        let newer = party.registrationTime.map { (event.time, event.identity) > ($0, party.registrationEvent!) } ?? true
        if newer {
            party.registration = registration
            party.registrationTime = event.time
            party.registrationEvent = event.identity
        }
        parties[registration.party] = party
    }

    private mutating func ensureParty(_ id: String, field: String, at time: Timestamp, warnings: inout [Refusal]) -> Refusal? {
        if var party = parties[id] {
            if time < party.firstSeen {
                party.firstSeen = time
                parties[id] = party
            }
            return nil
        }
        switch unknownParties {
        case .reject:
            return Refusal(field: field, "unknown party \(id) (register it first with a party.registered event)")
        case .register:
            parties[id] = Party(id: id, firstSeen: time)
            warnings.append(Refusal(field: field, "unknown party \(id): registered with domain \(catalog.fallbackDomain) until a party.registered event names its domain"))
            return nil
        }
    }

    private mutating func create(_ creation: ReferralCreation, event: Event, keys: EventKeys) -> Result<[Refusal], Refusal> {
        if let existing = storage.referralKeys.row(of: creation.referral, hash: keys.referral) {
            return .failure(Refusal(field: "data.referral", "referral \(creation.referral) was already created by event \(storage.createdBy(at: existing))"))
        }
        if unknownParties == .reject {
            for (field, id) in [("data.from", creation.from), ("data.to", creation.to)] where parties[id] == nil {
                return .failure(Refusal(field: field, "unknown party \(id) (register it first with a party.registered event)"))
            }
        }
        if let cycle = dependencyCycle(adding: creation) {
            return .failure(Refusal(field: "data.dependsOn", "dependsOn cycle: \(cycle.joined(separator: " → "))"))
        }
        var warnings: [Refusal] = []
        _ = ensureParty(creation.from, field: "data.from", at: event.time, warnings: &warnings)
        _ = ensureParty(creation.to, field: "data.to", at: event.time, warnings: &warnings)
        storage.appendReferral(creation, createdBy: event.identity, at: event.time, referralHash: keys.referral, caseHash: keys.caseID)
        for prerequisite in creation.dependsOn { namedPrerequisites.insert(prerequisite) }
        timelines[creation.to, default: PartyTimeline()].created.insert(event.time.millisecondsSinceEpoch)
        return .success(warnings)
    }

    /// The path back to `creation` through known `dependsOn` links, if adding it closes a cycle.
    private func dependencyCycle(adding creation: ReferralCreation) -> [String]? {
        guard !creation.dependsOn.isEmpty, namedPrerequisites.contains(creation.referral) else { return nil }
        var parent: [String: String] = [:]
        var stack = creation.dependsOn.map { ($0, creation.referral) }
        var visited = Set<String>()
        while let (node, from) = stack.popLast() {
            guard visited.insert(node).inserted else { continue }
            parent[node] = from
            if node == creation.referral { break }
            for next in storage.referralKeys.row(of: node).map({ storage.dependsOn(at: $0) }) ?? [] { stack.append((next, node)) }
        }
        guard parent[creation.referral] != nil else { return nil }
        var path = [creation.referral]
        var node = parent[creation.referral]!
        while node != creation.referral {
            path.append(node)
            node = parent[node]!
        }
        path.append(creation.referral)
        return Array(path.reversed())
    }

    private enum StatusOutcome { case applied, wait, refused(Refusal) }

    private mutating func applyStatus(_ change: ReferralStatusChange, event: Event, referralHash: UInt64? = nil) -> StatusOutcome {
        guard let row = storage.referralKeys.row(of: change.referral, hash: referralHash) else { return .wait }
        var referral = storage.lifecycle(at: row)
        let time = event.time
        let field = "time"
        if time < referral.created {
            return .refused(Refusal(field: field, "\(change.step.rawValue) at \(time) is before the referral's creation at \(referral.created)"))
        }
        if let ended = referral.ended {
            if ended.step == change.step {
                return .refused(Refusal(field: "type", "referral \(change.referral) was already \(ended.step.rawValue) at \(ended.time)"))
            }
            if change.step.isTerminal {
                return .refused(Refusal(field: "type", "referral \(change.referral) already ended: \(ended.step.rawValue) at \(ended.time)"))
            }
            if time > ended.time {
                return .refused(Refusal(field: field, "\(change.step.rawValue) at \(time) comes after the referral was \(ended.step.rawValue) at \(ended.time)"))
            }
        }
        switch change.step {
        case .accepted:
            if let accepted = referral.accepted {
                return .refused(Refusal(field: "type", "referral \(change.referral) was already accepted at \(accepted)"))
            }
            if let started = referral.started, time > started {
                return .refused(Refusal(field: field, "accepted at \(time) comes after the referral started at \(started)"))
            }
            referral.accepted = time
        case .started:
            if let started = referral.started {
                return .refused(Refusal(field: "type", "referral \(change.referral) already started at \(started)"))
            }
            if let accepted = referral.accepted, time < accepted {
                return .refused(Refusal(field: field, "started at \(time) is before the referral was accepted at \(accepted)"))
            }
            referral.started = time
            timelines[storage.partyIDs[referral.to], default: PartyTimeline()].started.insert(time.millisecondsSinceEpoch)
            if let ended = referral.ended, ended.step != .completed {
                // It ended unstarted before this start arrived; it now left the backlog by starting.
                timelines[storage.partyIDs[referral.to]]!.closedUnstarted.remove(ended.time.millisecondsSinceEpoch)
            }
        case .completed:
            guard let started = referral.started else { return .wait }
            if time < started {
                return .refused(Refusal(field: field, "completed at \(time) is before the referral started at \(started)"))
            }
            referral.ended = (.completed, time)
        case .rejected, .withdrawn:
            if let started = referral.started, time < started {
                return .refused(Refusal(field: field, "\(change.step.rawValue) at \(time) is before the referral started at \(started)"))
            }
            if let accepted = referral.accepted, time < accepted {
                return .refused(Refusal(field: field, "\(change.step.rawValue) at \(time) is before the referral was accepted at \(accepted)"))
            }
            referral.ended = (change.step, time)
            if referral.started == nil {
                timelines[storage.partyIDs[referral.to], default: PartyTimeline()].closedUnstarted.insert(time.millisecondsSinceEpoch)
            }
        }
        storage.setLifecycle(referral, note: change.step.isTerminal ? change.note : nil, at: row)
        return .applied
    }

    /// Applies what waited for `referralID`, earliest event time first, until nothing more moves.
    private mutating func retryPending(for referralID: String, into result: inout ApplyResult) {
        guard var waiting = pending.removeValue(forKey: referralID) else { return }
        pendingCount -= waiting.count
        waiting.sort { ($0.time, stepRank($0), $0.identity) < ($1.time, stepRank($1), $1.identity) }
        var progressed = true
        while progressed, !waiting.isEmpty {
            progressed = false
            var stillWaiting: [Event] = []
            for event in waiting {
                guard case .referralStatus(let change) = event.body else { continue }
                switch applyStatus(change, event: event) {
                case .applied:
                    result.released.append(event.identity)
                    progressed = true
                case .wait:
                    stillWaiting.append(event)
                case .refused(let refusal):
                    fingerprints.remove(event.identity)
                    result.evicted.append((event, refusal))
                }
            }
            waiting = stillWaiting
        }
        if !waiting.isEmpty {
            pending[referralID] = waiting
            pendingCount += waiting.count
        }
    }

    private func stepRank(_ event: Event) -> Int {
        if case .referralStatus(let change) = event.body { return change.step.rank }
        return 0
    }
}

/// When one party's backlog grows (a referral to it is created) and shrinks (one starts, or ends
/// without starting), as sorted millisecond times. Counts up to any moment are binary searches.
public struct PartyTimeline: Sendable, Equatable {
    public var created = SortedTimes()
    public var started = SortedTimes()
    public var closedUnstarted = SortedTimes()

    /// Open referrals (created, not started, not ended) at `asOf`.
    public func backlog(asOf: Timestamp) -> Int {
        let t = asOf.millisecondsSinceEpoch
        return created.countUpTo(t) - started.countUpTo(t) - closedUnstarted.countUpTo(t)
    }

    /// Referrals started in the window (asOf − W, asOf].
    public func starts(in window: AnalysisWindow) -> Int {
        started.countUpTo(window.asOf.millisecondsSinceEpoch) - started.countUpTo(window.start.millisecondsSinceEpoch)
    }

    /// expectedWaitDays of SPEC §5: backlog / startsPerWeek × 7; +∞ when nothing starts and
    /// there is a backlog; 0 without backlog.
    public func expectedWaitDays(_ window: AnalysisWindow) -> Double {
        let backlog = backlog(asOf: window.asOf)
        guard backlog > 0 else { return 0 }
        let starts = starts(in: window)
        guard starts > 0 else { return .infinity }
        return Double(backlog) / (Double(starts) / window.weeks) * 7
    }
}

extension Array where Element == Int64 {
    /// The number of elements ≤ `value` in a sorted array.
    func countUpTo(_ value: Int64) -> Int {
        var low = 0
        var high = count
        while low < high {
            let mid = (low + high) / 2
            if self[mid] <= value { low = mid + 1 } else { high = mid }
        }
        return low
    }

}

/// The lifecycle state of a referral at a moment (SPEC §1).
public enum ReferralState: String, Sendable, CaseIterable {
    case created, accepted, started, completed, rejected, withdrawn

    /// Open = created or accepted: not started, not ended (SPEC §5).
    public var isOpen: Bool { self == .created || self == .accepted }
    /// Active = involved in a case: created, accepted or started (SPEC §5, regisseur).
    public var isActive: Bool { isOpen || self == .started }

    /// The state at `asOf` of a referral with these step times; nil before its creation.
    static func at(_ asOf: Timestamp, created: Timestamp, accepted: Timestamp?, started: Timestamp?,
                   ended: (step: ReferralStep, time: Timestamp)?) -> ReferralState? {
        guard created <= asOf else { return nil }
        if let ended, ended.time <= asOf {
            switch ended.step {
            case .completed: return .completed
            case .rejected: return .rejected
            default: return .withdrawn
            }
        }
        if let started, started <= asOf { return .started }
        if let accepted, accepted <= asOf { return .accepted }
        return .created
    }
}

extension Array {
    /// The index after the last element satisfying `isBefore`, for an array already ordered by it.
    func insertionIndex(_ isBefore: (Element) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let mid = (low + high) / 2
            if isBefore(self[mid]) { low = mid + 1 } else { high = mid }
        }
        return low
    }
}

func formatDays(_ days: Double) -> String { CanonicalJSONWriter.number(days) }
