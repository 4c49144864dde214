/// One referral as a fixed-width row (64 bytes): times in milliseconds, everything else as
/// numbers into the model's tables. `ChainModel.Referral` is read back from it.
struct ReferralRow: Sendable {
    static let none = Int64.min
    var created: Int64
    var accepted = ReferralRow.none
    var started = ReferralRow.none
    var endedTime = ReferralRow.none
    var caseRow: Int32
    var from: Int32
    var to: Int32
    /// Into `ModelStorage.extras`, or −1: what few referrals have (`dependsOn`, rare strings).
    var extras: Int32 = -1
    /// The creating event's identity in `ModelStorage.eventIDs`.
    var createdBy: ByteArena.Reference
    /// Label number + 1, or 0: none (or, with `extras`, a string beyond the label table).
    var lifeDomain: UInt16 = 0
    var note: UInt16 = 0
    /// `Urgency.allCases` index + 1, or 0.
    var urgency: UInt8 = 0
    /// `ReferralStep.allCases` index + 1, or 0 while it has not ended.
    var endStep: UInt8 = 0
}

/// What a referral row has beyond its fixed width.
struct ReferralExtras: Sendable {
    var dependsOn: [String] = []
    var lifeDomain: String?
    var note: String?
}

/// A case's row: its referrals as referral rows, in creation-time order.
struct CaseRecord: Sendable {
    var referralRows: [Int32] = []
    var assessments: [ChainModel.Case.Assessment] = []
    var regieAssignments: [ChainModel.Case.RegieRecord] = []
    var revision = 0
}

/// The referral, case and string tables behind `ChainModel` (see `ModelStorage.swift` for why
/// they are shaped this way).
struct ModelStorage: Sendable {
    var referralKeys = KeyTable()
    var rows = ChunkedArray<ReferralRow>()
    var caseKeys = KeyTable()
    var caseRecords = ChunkedArray<CaseRecord>()
    var extras = ChunkedArray<ReferralExtras>()
    /// Party ids by number, and back; parties are few (hundreds to thousands).
    private(set) var partyIDs: [String] = []
    private(set) var partyNumbers: [String: Int32] = [:]
    /// Rows of the referrals to each party (by party number), in arrival order.
    private(set) var rowsTo: [ChunkedArray<Int32>] = []
    /// Recurring short strings (life domains, outcomes, reasons), numbered from 1.
    private var labels: [String] = []
    private var labelNumbers: [String: UInt16] = [:]
    /// Event sources by number; a creating event is kept as its source number and id bytes.
    private var sources: [String] = []
    private var sourceNumbers: [String: UInt32] = [:]
    private var eventIDs = ByteArena()

    @discardableResult
    mutating func partyNumber(_ id: String) -> Int32 {
        if let number = partyNumbers[id] { return number }
        let number = Int32(partyIDs.count)
        partyIDs.append(id)
        partyNumbers[id] = number
        rowsTo.append([])
        return number
    }

    /// The label number of `text`, or nil when the table is full (then the text goes to extras).
    private mutating func label(_ text: String) -> UInt16? {
        if let number = labelNumbers[text] { return number }
        guard labels.count < Int(UInt16.max) - 1 else { return nil }
        labels.append(text)
        let number = UInt16(labels.count)
        labelNumbers[text] = number
        return number
    }

    private func label(_ number: UInt16) -> String? { number == 0 ? nil : labels[Int(number) - 1] }

    private mutating func modifyExtras(_ row: inout ReferralRow, _ body: (inout ReferralExtras) -> Void) {
        if row.extras < 0 {
            var added = ReferralExtras()
            body(&added)
            extras.append(added)
            row.extras = Int32(extras.count - 1)
        } else {
            body(&extras[Int(row.extras)])
        }
    }

    mutating func caseRow(_ id: String) -> Int {
        if let row = caseKeys.row(of: id) { return row }
        caseRecords.append(CaseRecord())
        return caseKeys.append(id)
    }

    mutating func modifyCase(_ id: String, _ body: (inout CaseRecord) -> Void) {
        let row = caseRow(id)
        body(&caseRecords[row])
        caseRecords[row].revision += 1
    }

    mutating func appendReferral(_ creation: ReferralCreation, createdBy: EventIdentity, at time: Timestamp) {
        let caseRow = caseRow(creation.caseID)
        var row = ReferralRow(created: time.millisecondsSinceEpoch, caseRow: Int32(caseRow),
                              from: partyNumber(creation.from), to: partyNumber(creation.to), createdBy: eventReference(createdBy))
        row.urgency = creation.urgency.map { UInt8(Urgency.allCases.firstIndex(of: $0)! + 1) } ?? 0
        if let lifeDomain = creation.lifeDomain {
            if let number = label(lifeDomain) { row.lifeDomain = number } else { modifyExtras(&row) { $0.lifeDomain = lifeDomain } }
        }
        if !creation.dependsOn.isEmpty { modifyExtras(&row) { $0.dependsOn = creation.dependsOn } }
        let referralRow = referralKeys.append(creation.referral)
        rows.append(row)
        rowsTo[Int(row.to)].append(Int32(referralRow))
        // Referrals mostly arrive in time order: appending is the common case.
        let created = row.created
        let id = creation.referral
        caseRecords[caseRow].revision += 1
        // Copies, not `self`, which is being changed; rows and keys are not changed below.
        let (frozenRows, frozenKeys) = (rows, referralKeys)
        let isBefore = { (other: Int32) -> Bool in
            let otherCreated = frozenRows[Int(other)].created
            return otherCreated != created ? otherCreated < created : frozenKeys.key(at: Int(other)) <= id
        }
        let list = caseRecords[caseRow].referralRows
        if let last = list.last, !isBefore(last) {
            caseRecords[caseRow].referralRows.insert(Int32(referralRow), at: list.insertionIndex(isBefore))
        } else {
            caseRecords[caseRow].referralRows.append(Int32(referralRow))
        }
    }

    private mutating func eventReference(_ identity: EventIdentity) -> ByteArena.Reference {
        let number: UInt32
        if let known = sourceNumbers[identity.source] {
            number = known
        } else {
            number = UInt32(sources.count)
            sources.append(identity.source)
            sourceNumbers[identity.source] = number
        }
        var bytes = withUnsafeBytes(of: number.littleEndian) { Array($0) }
        bytes.append(contentsOf: identity.id.utf8)
        return bytes.withUnsafeBufferPointer { eventIDs.append($0) }
    }

    func createdBy(at row: Int) -> EventIdentity {
        eventIDs.withBytes(rows[row].createdBy) { bytes in
            let number = Int(UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24)
            return EventIdentity(source: sources[number], id: String(decoding: UnsafeBufferPointer(rebasing: bytes[4...]), as: UTF8.self))
        }
    }

    func dependsOn(at row: Int) -> [String] {
        let extra = rows[row].extras
        return extra < 0 ? [] : extras[Int(extra)].dependsOn
    }

    // MARK: Lifecycle

    struct Lifecycle {
        var created: Timestamp
        var accepted: Timestamp?
        var started: Timestamp?
        var ended: (step: ReferralStep, time: Timestamp)?
        var to: Int
    }

    private static func time(_ milliseconds: Int64) -> Timestamp? {
        milliseconds == ReferralRow.none ? nil : Timestamp(millisecondsSinceEpoch: milliseconds)
    }

    func lifecycle(at index: Int) -> Lifecycle {
        let row = rows[index]
        return Lifecycle(created: Timestamp(millisecondsSinceEpoch: row.created), accepted: Self.time(row.accepted), started: Self.time(row.started),
                         ended: row.endStep == 0 ? nil : (ReferralStep.allCases[Int(row.endStep) - 1], Timestamp(millisecondsSinceEpoch: row.endedTime)),
                         to: Int(row.to))
    }

    /// Stores a changed lifecycle; `note` is the outcome or reason of the step that ended it.
    mutating func setLifecycle(_ lifecycle: Lifecycle, note: String?, at index: Int) {
        var row = rows[index]
        row.accepted = lifecycle.accepted?.millisecondsSinceEpoch ?? ReferralRow.none
        row.started = lifecycle.started?.millisecondsSinceEpoch ?? ReferralRow.none
        if let ended = lifecycle.ended {
            if row.endStep == 0 {
                row.endStep = UInt8(ReferralStep.allCases.firstIndex(of: ended.step)! + 1)
                row.endedTime = ended.time.millisecondsSinceEpoch
                if let note {
                    if let number = label(note) { row.note = number } else { modifyExtras(&row) { $0.note = note } }
                }
            }
        }
        rows[index] = row
        caseRecords[Int(row.caseRow)].revision += 1
    }

    // MARK: Reading back

    func referral(at index: Int) -> ChainModel.Referral {
        let row = rows[index]
        let extra = row.extras < 0 ? nil : extras[Int(row.extras)]
        let lifecycle = lifecycle(at: index)
        return ChainModel.Referral(
            id: referralKeys.key(at: index), caseID: caseKeys.key(at: Int(row.caseRow)),
            from: partyIDs[Int(row.from)], to: partyIDs[Int(row.to)], created: lifecycle.created,
            urgency: row.urgency == 0 ? nil : Urgency.allCases[Int(row.urgency) - 1],
            lifeDomain: label(row.lifeDomain) ?? extra?.lifeDomain, dependsOn: extra?.dependsOn ?? [],
            createdBy: createdBy(at: index), accepted: lifecycle.accepted, started: lifecycle.started,
            ended: lifecycle.ended.map { ($0.step, $0.time, label(row.note) ?? extra?.note) })
    }

    func caseValue(at index: Int) -> ChainModel.Case {
        let record = caseRecords[index]
        return ChainModel.Case(id: caseKeys.key(at: index), referrals: record.referralRows.map { referralKeys.key(at: Int($0)) },
                               assessments: record.assessments, regieAssignments: record.regieAssignments,
                               revision: record.revision, referralRows: record.referralRows)
    }
}

/// The model's referrals by id, read from their rows. Iterating yields them in arrival order.
public struct ReferralTable: Sendable, Sequence, Equatable {
    let storage: ModelStorage

    public var count: Int { storage.rows.count }
    public var isEmpty: Bool { count == 0 }
    public var values: ReferralTable { self }

    public subscript(id: String) -> ChainModel.Referral? {
        storage.referralKeys.row(of: id).map { storage.referral(at: $0) }
    }

    public struct Iterator: IteratorProtocol {
        let storage: ModelStorage
        var position = 0
        public mutating func next() -> ChainModel.Referral? {
            guard position < storage.rows.count else { return nil }
            defer { position += 1 }
            return storage.referral(at: position)
        }
    }

    public func makeIterator() -> Iterator { Iterator(storage: storage) }
    public var underestimatedCount: Int { count }

    /// Equal when both hold the same referrals, whatever order they arrived in.
    public static func == (lhs: ReferralTable, rhs: ReferralTable) -> Bool {
        lhs.count == rhs.count && lhs.allSatisfy { rhs[$0.id] == $0 }
    }
}

/// The model's cases by id, read from their rows. Iterating yields `(key, value)` pairs in the
/// order the cases were first seen.
public struct CaseTable: Sendable, Sequence, Equatable {
    let storage: ModelStorage

    public var count: Int { storage.caseRecords.count }
    public var isEmpty: Bool { count == 0 }

    public subscript(id: String) -> ChainModel.Case? {
        storage.caseKeys.row(of: id).map { storage.caseValue(at: $0) }
    }

    public var keys: LazyMapSequence<Range<Int>, String> { (0..<count).lazy.map { [storage] in storage.caseKeys.key(at: $0) } }
    public var values: LazyMapSequence<Range<Int>, ChainModel.Case> { (0..<count).lazy.map { [storage] in storage.caseValue(at: $0) } }

    public struct Iterator: IteratorProtocol {
        let storage: ModelStorage
        var position = 0
        public mutating func next() -> (key: String, value: ChainModel.Case)? {
            guard position < storage.caseRecords.count else { return nil }
            defer { position += 1 }
            let value = storage.caseValue(at: position)
            return (value.id, value)
        }
    }

    public func makeIterator() -> Iterator { Iterator(storage: storage) }
    public var underestimatedCount: Int { count }

    /// Equal when both hold the same cases, whatever order they were first seen in.
    public static func == (lhs: CaseTable, rhs: CaseTable) -> Bool {
        lhs.count == rhs.count && lhs.allSatisfy { rhs[$0.key] == $0.value }
    }
}
