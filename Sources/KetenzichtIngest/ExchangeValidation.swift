import KetenzichtCore
import XMLStreaming

/// The exchange XSD's verdict on one event element, without libxml2's streaming validator
/// (which alone cost more than twice the parse itself).
///
/// `isPlainlyValid` recognises the shapes valid documents have, by rules strictly narrower than
/// the XSD: whatever it accepts libxml2 accepts too. Anything else, valid or not, goes to
/// libxml2 (`XMLSchema.issues(in:)`), so every verdict and message on an unusual element is
/// still libxml2's own. Keep `Kind` below in step with `ExchangeSchema.xsd`; the
/// differential tests in `ExchangeValidationTests` compare both paths with streaming validation.
/// Generic over `ExchangeElement`: the scanner's fast path asks the same questions of bytes in
/// place that the general path asks of a copied `XMLElement`.
enum ExchangeValidation {
    /// The schema-validity issues of an event element of a known type in the exchange namespace.
    static func issues(in element: XMLElement, type: EventType, schema: XMLSchema) -> [XMLIssue] {
        isPlainlyValid(element, type: type) ? [] : schema.issues(in: element)
    }

    enum SimpleType {
        case identifier, text, bsn, urgency, zrmScore, capacity, days, boolean, dateTime
    }

    /// The XSD's element declarations that differ in attributes or content.
    enum Kind {
        case party, assessment, referral, status, completed, ended, regie, score, dependsOn

        init(_ type: EventType) {
            switch type {
            case .partyRegistered: self = .party
            case .caseAssessed: self = .assessment
            case .referralCreated: self = .referral
            case .referralAccepted, .referralStarted: self = .status
            case .referralCompleted: self = .completed
            case .referralRejected, .referralWithdrawn: self = .ended
            case .regieAssigned: self = .regie
            }
        }

        var isEvent: Bool { self != .score && self != .dependsOn }

        var hasReferral: Bool {
            switch self {
            case .referral, .status, .completed, .ended: true
            default: false
            }
        }

        var hasCaseOrBSN: Bool {
            switch self {
            case .assessment, .referral, .regie: true
            default: false
            }
        }

        /// How many of the attributes `rule(for:)` marks required.
        var requiredCount: Int {
            switch self {
            case .party: 5
            case .referral: 6
            case .assessment: 3
            case .status, .completed, .ended, .regie: 4
            case .score: 2
            case .dependsOn: 1
            }
        }

        /// The type of an attribute the XSD declares on this element, and whether it is
        /// required; nil for any other attribute. A switch: this runs for every attribute.
        func rule(for name: ExchangeName?) -> (type: SimpleType, required: Bool)? {
            switch name {
            case .id, .source: isEvent ? (.identifier, true) : nil
            case .time: isEvent ? (.dateTime, true) : nil
            case .referral: hasReferral ? (.identifier, true) : nil
            case .case: hasCaseOrBSN ? (.identifier, false) : nil
            case .bsn: hasCaseOrBSN ? (.bsn, false) : nil
            case .party: self == .party || self == .regie ? (.identifier, true) : nil
            case .domain: self == .party || self == .score ? (.identifier, true) : nil
            case .from, .to: self == .referral ? (.identifier, true) : nil
            case .urgency: self == .referral ? (.urgency, false) : nil
            case .lifeDomain: self == .referral ? (.identifier, false) : nil
            case .capacityPerWeek: self == .party ? (.capacity, false) : nil
            case .normDays: self == .party ? (.days, false) : nil
            case .regieEligible: self == .party ? (.boolean, false) : nil
            case .outcome: self == .completed ? (.text, false) : nil
            case .value: self == .score ? (.zrmScore, true) : nil
            case .ref: self == .dependsOn ? (.identifier, true) : nil
            default: nil
            }
        }
    }

    static func isPlainlyValid<Element: ExchangeElement>(_ element: Element, type: EventType) -> Bool {
        let kind = Kind(type)
        guard attributesArePlain(element, kind) else { return false }
        switch kind {
        case .status, .completed, .regie, .score, .dependsOn:
            // Attributes only: no text, not even whitespace, and no children.
            return element.childCount == 0 && element.textByteCount == 0
        case .party:
            return isBlank(element) && element.childCount == 1 && element.firstChild.map { isTextElement($0, named: .name) } == true
        case .ended:
            guard isBlank(element) else { return false }
            return element.childCount == 0 || (element.childCount == 1 && element.firstChild.map { isTextElement($0, named: .reason) } == true)
        case .assessment:
            guard isBlank(element), element.childCount > 0 else { return false }
            return element.children.allSatisfy { isEmptyChild($0, named: .score, kind: .score) }
        case .referral:
            guard isBlank(element) else { return false }
            return element.children.allSatisfy { isEmptyChild($0, named: .dependsOn, kind: .dependsOn) }
        }
    }

    private static func attributesArePlain<Element: ExchangeElement>(_ element: Element, _ kind: Kind) -> Bool {
        var required = 0
        let plain = element.allAttributes { namespaced, name, value in
            // Namespaced attributes (xsi:type, xsi:nil, foreign ones) are libxml2's to judge.
            guard !namespaced, let rule = kind.rule(for: name), isPlain(value, rule.type) else { return false }
            if rule.required { required += 1 }
            return true
        }
        // Attribute names are unique in well-formed XML, so counting finds every required one.
        return plain && required == kind.requiredCount
    }

    private static func isTextElement<Element: ExchangeElement>(_ element: Element, named name: ExchangeName) -> Bool {
        element.hasLocalName(name) && element.isInExchangeNamespace
            && element.attributeCount == 0 && element.childCount == 0
            && element.textByteCount <= 4096
    }

    private static func isEmptyChild<Element: ExchangeElement>(_ element: Element, named name: ExchangeName, kind: Kind) -> Bool {
        element.hasLocalName(name) && element.isInExchangeNamespace
            && element.childCount == 0 && element.textByteCount == 0
            && attributesArePlain(element, kind)
    }

    /// Whitespace as XML (and libxml2's element-only content check) defines it.
    private static func isBlank<Element: ExchangeElement>(_ element: Element) -> Bool {
        element.textAllSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
    }

    /// Whether `bytes` are certainly valid for `type`. The XSD lengths count characters, and a
    /// character is at least one UTF-8 byte, so a byte count within the bound is within it.
    static func isPlain(_ bytes: UnsafeBufferPointer<UInt8>, _ type: SimpleType) -> Bool {
        switch type {
        case .identifier: !bytes.isEmpty && bytes.count <= 256
        case .text: bytes.count <= 4096
        case .bsn: bytes.count == 9 && bytes.allSatisfy(isDigit)
        case .urgency: equal(bytes, "regulier") || equal(bytes, "urgent") || equal(bytes, "crisis")
        case .boolean: equal(bytes, "true") || equal(bytes, "false") || equal(bytes, "1") || equal(bytes, "0")
        case .zrmScore: bytes.count == 1 && bytes[0] >= 0x31 && bytes[0] <= 0x35
        case .capacity: isPlainDecimal(bytes, positive: false)
        case .days: isPlainDecimal(bytes, positive: true)
        case .dateTime: isPlainDateTime(bytes)
        }
    }

    private static func equal(_ value: UnsafeBufferPointer<UInt8>, _ text: StaticString) -> Bool {
        sameBytes(value, text)
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    /// Up to 15 digits, optionally a point and 1 to 6 more: well inside what libxml2's decimal
    /// type holds. Signs, exponents, whitespace and longer numbers go to libxml2.
    private static func isPlainDecimal(_ bytes: UnsafeBufferPointer<UInt8>, positive: Bool) -> Bool {
        var integerDigits = 0
        var index = 0
        var nonZero = false
        while index < bytes.count, isDigit(bytes[index]) {
            if bytes[index] != 0x30 { nonZero = true }
            integerDigits += 1
            index += 1
        }
        guard integerDigits >= 1, integerDigits <= 15 else { return false }
        if index < bytes.count {
            guard bytes[index] == 0x2E else { return false }
            index += 1
            let fractionStart = index
            while index < bytes.count, isDigit(bytes[index]) {
                if bytes[index] != 0x30 { nonZero = true }
                index += 1
            }
            guard index == bytes.count, index - fractionStart >= 1, index - fractionStart <= 6 else { return false }
        }
        return !positive || nonZero
    }

    /// `YYYY-MM-DDThh:mm:ss[.fff][Z|±hh:mm]` with a year 1000–9999, a real day of that month,
    /// hours 00–23 and offsets under 14 hours (libxml2 2.9 refuses ±14:00 itself). Leap seconds,
    /// 24:00:00, whitespace and other years go to libxml2.
    private static func isPlainDateTime(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count >= 19, bytes[4] == 0x2D, bytes[7] == 0x2D, bytes[10] == 0x54, bytes[13] == 0x3A, bytes[16] == 0x3A
        else { return false }
        // Each digit minus "0" is above 9 unless it was a digit: one OR collects them all.
        var notDigits: UInt8 = 0
        func number(_ start: Int, _ count: Int) -> Int {
            var value = 0
            for index in start..<(start + count) {
                let digit = bytes[index] &- 0x30
                notDigits |= digit & 0xF0 | (digit &+ 6) & 0x10
                value = value * 10 + Int(digit)
            }
            return value
        }
        let year = number(0, 4), month = number(5, 2), day = number(8, 2)
        let hour = number(11, 2), minute = number(14, 2), second = number(17, 2)
        guard notDigits == 0, year >= 1000, (1...12).contains(month), hour <= 23, minute <= 59, second <= 59 else { return false }
        guard day >= 1, day <= CivilDate.daysInMonth(year: Int64(year), month: Int64(month)) else { return false }
        var index = 19
        if index < bytes.count, bytes[index] == 0x2E {
            index += 1
            let start = index
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            guard index - start >= 1, index - start <= 6 else { return false }
        }
        if index == bytes.count { return true }
        if bytes[index] == 0x5A { return index + 1 == bytes.count }
        guard bytes[index] == 0x2B || bytes[index] == 0x2D, bytes.count == index + 6, bytes[index + 3] == 0x3A else { return false }
        let offsetHours = number(index + 1, 2), offsetMinutes = number(index + 4, 2)
        return notDigits == 0 && offsetHours <= 13 && offsetMinutes <= 59
    }
}
