/// One referral as a fixed-width row (48 bytes): its creation time in milliseconds, the later
/// steps as offsets from it, everything else as numbers into the model's tables.
/// `ChainModel.Referral` is read back from it.
struct ReferralRow: Sendable {
    /// An offset field holding this has no time; one holding `outOfRange` has it in extras.
    static let absent: UInt64 = (1 << 40) - 1
    static let outOfRange: UInt64 = (1 << 40) - 2
    enum Step: Int { case accepted = 0, started = 1, ended = 2 }

    var created: Int64
    /// Three 40-bit millisecond offsets from `created` (accepted, started, ended; ~34 years
    /// each) in the low 120 bits; urgency (2 bits) and end step (3 bits) in the top byte.
    private var low: UInt64 = .max
    private var high: UInt64 = 0x00FF_FFFF_FFFF_FFFF
    var caseRow: Int32
    var from: Int32
    var to: Int32
    /// Into `ModelStorage.extras`, or −1: what few referrals have (`dependsOn`, rare strings, far times).
    var extras: Int32 = -1
    /// Label number + 1, or 0: none (or, with `extras`, a string beyond the label table).
    var lifeDomain: UInt16 = 0
    var note: UInt16 = 0
    /// The next referral of the same case in (created, id) order, or −1.
    var nextInCase: Int32 = -1

    init(created: Int64, caseRow: Int32, from: Int32, to: Int32) {
        self.created = created
        self.caseRow = caseRow
        self.from = from
        self.to = to
    }

    subscript(offset step: Step) -> UInt64 {
        get {
            switch step {
            case .accepted: low & Self.absent
            case .started: low >> 40 | (high & 0xFFFF) << 24
            case .ended: high >> 16 & Self.absent
            }
        }
        set {
            switch step {
            case .accepted: low = low & ~Self.absent | newValue
            case .started:
                low = low & Self.absent | newValue << 40
                high = high & ~0xFFFF | newValue >> 24
            case .ended: high = high & ~(Self.absent << 16) | newValue << 16
            }
        }
    }

    /// `Urgency.allCases` index + 1, or 0.
    var urgency: UInt8 {
        get { UInt8(high >> 56 & 0x3) }
        set { high = high & ~(0x3 << 56) | UInt64(newValue) << 56 }
    }

    /// `ReferralStep.allCases` index + 1, or 0 while it has not ended.
    var endStep: UInt8 {
        get { UInt8(high >> 58 & 0x7) }
        set { high = high & ~(0x7 << 58) | UInt64(newValue) << 58 }
    }
}

/// What a referral row has beyond its fixed width.
struct ReferralExtras: Sendable {
    var dependsOn: [String] = []
    var lifeDomain: String?
    var note: String?
    /// Step times too far from the creation for a row's offsets.
    var farTimes: [ReferralRow.Step.RawValue: Int64] = [:]
}

/// A case's row (16 bytes): its referrals as a list through their rows, in creation-time order, and where its
/// assessments and regie assignments are (most cases in a large model have few or none).
struct CaseRecord: Sendable {
    /// The first and last referral row; the rows link on through `ReferralRow.nextInCase`.
    var firstRow: Int32 = -1
    var lastRow: Int32 = -1
    /// Into `ModelStorage.caseAnnotations`, or −1.
    var annotations: Int32 = -1
    var revision: Int32 = 0
}

struct CaseAnnotations: Sendable {
    var assessments: [ChainModel.Case.Assessment] = []
    var regieAssignments: [ChainModel.Case.RegieRecord] = []
}

/// The referral, case and string tables behind `ChainModel` (see `ModelStorage.swift` for why
/// they are shaped this way).
struct ModelStorage: Sendable {
    var referralKeys = KeyTable()
    var rows = ChunkedArray<ReferralRow>()
    var caseKeys = KeyTable()
    var caseRecords = ChunkedArray<CaseRecord>()
    var caseAnnotations = ChunkedArray<CaseAnnotations>()
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

    /// `hash`, when given, is `hashString(id)`.
    mutating func caseRow(_ id: String, hash: UInt64? = nil) -> Int {
        let hash = hash ?? hashString(id)
        if let row = caseKeys.row(of: id, hash: hash) { return row }
        caseRecords.append(CaseRecord())
        return caseKeys.append(id, hash: hash)
    }

    mutating func annotateCase(_ id: String, hash: UInt64? = nil, _ body: (inout CaseAnnotations) -> Void) {
        let row = caseRow(id, hash: hash)
        if caseRecords[row].annotations < 0 {
            caseAnnotations.append(CaseAnnotations())
            caseRecords[row].annotations = Int32(caseAnnotations.count - 1)
        }
        body(&caseAnnotations[Int(caseRecords[row].annotations)])
        caseRecords[row].revision += 1
    }

    /// `referralHash` and `caseHash`, when given, are the hashes of the two ids.
    mutating func appendReferral(_ creation: ReferralCreation, createdBy: EventIdentity, at time: Timestamp,
                                 referralHash: UInt64? = nil, caseHash: UInt64? = nil) {
        let caseRow = caseRow(creation.caseID, hash: caseHash)
        var row = ReferralRow(created: time.millisecondsSinceEpoch, caseRow: Int32(caseRow),
                              from: partyNumber(creation.from), to: partyNumber(creation.to))
        row.urgency = creation.urgency.map { UInt8(Urgency.allCases.firstIndex(of: $0)! + 1) } ?? 0
        if let lifeDomain = creation.lifeDomain {
            if let number = label(lifeDomain) { row.lifeDomain = number } else { modifyExtras(&row) { $0.lifeDomain = lifeDomain } }
        }
        if !creation.dependsOn.isEmpty { modifyExtras(&row) { $0.dependsOn = creation.dependsOn } }
        let referralRow = referralKeys.append(creation.referral, trailer: eventTrailer(createdBy), hash: referralHash)
        rows.append(row)
        rowsTo[Int(row.to)].append(Int32(referralRow))
        linkIntoCase(Int32(referralRow), caseRow: caseRow, id: creation.referral)
    }

    /// Links a new referral into its case's list, kept in (created, id) order. Referrals mostly
    /// arrive in time order: appending after the last is the common case.
    private mutating func linkIntoCase(_ new: Int32, caseRow: Int, id: String) {
        let created = rows[Int(new)].created
        let isBefore = { (other: Int32, storage: ModelStorage) -> Bool in
            let otherCreated = storage.rows[Int(other)].created
            return otherCreated != created ? otherCreated < created : storage.referralKeys.key(at: Int(other)) <= id
        }
        var record = caseRecords[caseRow]
        record.revision += 1
        defer { caseRecords[caseRow] = record }
        guard record.lastRow >= 0 else {
            (record.firstRow, record.lastRow) = (new, new)
            return
        }
        if isBefore(record.lastRow, self) {
            rows[Int(record.lastRow)].nextInCase = new
            record.lastRow = new
        } else if !isBefore(record.firstRow, self) {
            rows[Int(new)].nextInCase = record.firstRow
            record.firstRow = new
        } else {
            var previous = record.firstRow
            while case let next = rows[Int(previous)].nextInCase, next >= 0, isBefore(next, self) { previous = next }
            rows[Int(new)].nextInCase = rows[Int(previous)].nextInCase
            rows[Int(previous)].nextInCase = new
        }
    }

    /// The rows of a case's referrals, in (created, id) order.
    func referralRows(ofCase index: Int) -> [Int32] {
        var result: [Int32] = []
        var row = caseRecords[index].firstRow
        while row >= 0 {
            result.append(row)
            row = rows[Int(row)].nextInCase
        }
        return result
    }

    /// A creating event kept beside its referral's id: the source's number, then the event id.
    private mutating func eventTrailer(_ identity: EventIdentity) -> [UInt8] {
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
        return bytes
    }

    func createdBy(at row: Int) -> EventIdentity {
        referralKeys.withTrailer(at: row) { bytes in
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

    private func time(_ step: ReferralRow.Step, of row: ReferralRow) -> Timestamp? {
        let offset = row[offset: step]
        switch offset {
        case ReferralRow.absent: return nil
        case ReferralRow.outOfRange: return extras[Int(row.extras)].farTimes[step.rawValue].map { Timestamp(millisecondsSinceEpoch: $0) }
        default: return Timestamp(millisecondsSinceEpoch: row.created + Int64(offset))
        }
    }

    private mutating func setTime(_ time: Timestamp?, _ step: ReferralRow.Step, of row: inout ReferralRow) {
        guard let time else {
            row[offset: step] = ReferralRow.absent
            return
        }
        let (offset, overflow) = time.millisecondsSinceEpoch.subtractingReportingOverflow(row.created)
        if !overflow, offset >= 0, UInt64(offset) < ReferralRow.outOfRange {
            row[offset: step] = UInt64(offset)
        } else {
            row[offset: step] = ReferralRow.outOfRange
            modifyExtras(&row) { $0.farTimes[step.rawValue] = time.millisecondsSinceEpoch }
        }
    }

    /// Every referral's lifecycle and whether it is a crisis referral, in row order, read from
    /// the rows alone (no id Strings): what the party metrics need of all referrals.
    func forEachLifecycle(_ body: (Lifecycle, _ isCrisis: Bool) -> Void) {
        let crisis = UInt8(Urgency.allCases.firstIndex(of: .crisis)! + 1)
        for row in rows { body(lifecycle(of: row), row.urgency == crisis) }
    }

    func lifecycle(at index: Int) -> Lifecycle {
        lifecycle(of: rows[index])
    }

    private func lifecycle(of row: ReferralRow) -> Lifecycle {
        Lifecycle(created: Timestamp(millisecondsSinceEpoch: row.created), accepted: time(.accepted, of: row), started: time(.started, of: row),
                         ended: row.endStep == 0 ? nil : (ReferralStep.allCases[Int(row.endStep) - 1], time(.ended, of: row)!),
                         to: Int(row.to))
    }

    /// Stores a changed lifecycle; `note` is the outcome or reason of the step that ended it.
    mutating func setLifecycle(_ lifecycle: Lifecycle, note: String?, at index: Int) {
        var row = rows[index]
        setTime(lifecycle.accepted, .accepted, of: &row)
        setTime(lifecycle.started, .started, of: &row)
        if let ended = lifecycle.ended, row.endStep == 0 {
            row.endStep = UInt8(ReferralStep.allCases.firstIndex(of: ended.step)! + 1)
            setTime(ended.time, .ended, of: &row)
            if let note {
                if let number = label(note) { row.note = number } else { modifyExtras(&row) { $0.note = note } }
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
        let annotations = record.annotations < 0 ? CaseAnnotations() : caseAnnotations[Int(record.annotations)]
        let referralRows = referralRows(ofCase: index)
        return ChainModel.Case(id: caseKeys.key(at: index), referrals: referralRows.map { referralKeys.key(at: Int($0)) },
                               assessments: annotations.assessments, regieAssignments: annotations.regieAssignments,
                               revision: Int(record.revision), referralRows: referralRows)
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
