/// An instant, in milliseconds since 1970-01-01T00:00:00Z.
///
/// Durations in Ketenzicht are elapsed time (SPEC §5: a day is 86,400 seconds whatever the clock
/// or time zone does), so an instant is a plain count and arithmetic never consults a calendar.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var millisecondsSinceEpoch: Int64

    public init(millisecondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
    }

    public static let millisecondsPerDay: Int64 = 86_400_000

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch
    }

    /// The furthest `adding(days:)` reaches: 2^61 ms, about 73 million years either side of 1970.
    /// Far beyond any date an answer can mean, and near enough to zero that the difference of two
    /// such instants, and their RFC 3339 text, are still computed without overflow.
    public static let reach: Int64 = 1 << 61

    /// `days` later (earlier when negative), saturating at `reach`: a projection from an absurd
    /// but valid input (a wait of 10^12 days) lands in the far future instead of trapping on
    /// Int64 overflow. NaN adds nothing.
    public func adding(days: Double) -> Timestamp {
        let offset = (days * Double(Self.millisecondsPerDay)).rounded()
        guard !offset.isNaN else { return self }
        // Any shift of more than 2·reach lands beyond reach from every instant within it.
        let shift = Int64(max(-2 * Double(Self.reach), min(2 * Double(Self.reach), offset)))
        let (sum, overflow) = millisecondsSinceEpoch.addingReportingOverflow(shift)
        let reached = overflow ? (shift > 0 ? Self.reach : -Self.reach) : sum
        return Timestamp(millisecondsSinceEpoch: min(max(reached, -Self.reach), Self.reach))
    }

    /// Elapsed days from `earlier` to `self` (negative when `earlier` is later).
    public func days(since earlier: Timestamp) -> Double {
        Double(millisecondsSinceEpoch - earlier.millisecondsSinceEpoch) / Double(Self.millisecondsPerDay)
    }

    /// The calendar date in UTC.
    public var utcDate: (year: Int64, month: Int64, day: Int64) {
        let ms = millisecondsSinceEpoch
        let dayNumber = ms >= 0 ? ms / Self.millisecondsPerDay : -((-ms + Self.millisecondsPerDay - 1) / Self.millisecondsPerDay)
        return CivilDate.fromDays(dayNumber)
    }

    /// RFC 3339 in UTC with milliseconds, the canonical form stored and answered.
    public var description: String { rfc3339 }

    public var rfc3339: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        appendRFC3339(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `rfc3339` built from Strings: the form for years beyond four digits, which `pad` signs and widens.
    private var paddedRFC3339: String {
        let ms = millisecondsSinceEpoch
        let dayNumber = ms >= 0 ? ms / Self.millisecondsPerDay : -((-ms + Self.millisecondsPerDay - 1) / Self.millisecondsPerDay)
        let msOfDay = ms - dayNumber * Self.millisecondsPerDay
        let (year, month, day) = CivilDate.fromDays(dayNumber)
        let hour = msOfDay / 3_600_000
        let minute = msOfDay / 60_000 % 60
        let second = msOfDay / 1000 % 60
        let milli = msOfDay % 1000
        var out = pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2)
        out += "T" + pad(hour, 2) + ":" + pad(minute, 2) + ":" + pad(second, 2)
        if milli != 0 { out += "." + pad(milli, 3) }
        return out + "Z"
    }

    /// Appends `rfc3339` as UTF-8 without building the String: the canonical line of every
    /// ingested event carries one, and the String's concatenations cost more than the digits.
    public func appendRFC3339(to bytes: inout [UInt8]) {
        let ms = millisecondsSinceEpoch
        let dayNumber = ms >= 0 ? ms / Self.millisecondsPerDay : -((-ms + Self.millisecondsPerDay - 1) / Self.millisecondsPerDay)
        let (year, month, day) = CivilDate.fromDays(dayNumber)
        // `pad` prints years outside four digits (and their sign) its own way: those take the slow path.
        guard year >= 0, year <= 9999 else {
            bytes.append(contentsOf: paddedRFC3339.utf8)
            return
        }
        let msOfDay = ms - dayNumber * Self.millisecondsPerDay
        func digits(_ value: Int64, _ width: Int) {
            var divisor: Int64 = 1
            for _ in 1..<width { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                bytes.append(0x30 + UInt8(truncatingIfNeeded: rest / divisor))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(year, 4)
        bytes.append(UInt8(ascii: "-"))
        digits(month, 2)
        bytes.append(UInt8(ascii: "-"))
        digits(day, 2)
        bytes.append(UInt8(ascii: "T"))
        digits(msOfDay / 3_600_000, 2)
        bytes.append(UInt8(ascii: ":"))
        digits(msOfDay / 60_000 % 60, 2)
        bytes.append(UInt8(ascii: ":"))
        digits(msOfDay / 1000 % 60, 2)
        let milli = msOfDay % 1000
        if milli != 0 {
            bytes.append(UInt8(ascii: "."))
            digits(milli, 3)
        }
        bytes.append(UInt8(ascii: "Z"))
    }

    /// Parses an RFC 3339 date-time (`2026-03-02T10:00:00+01:00`, fractions and `Z` allowed).
    /// Impossible calendar dates such as 2027-06-31 are refused, not rolled over.
    public init(rfc3339 text: some StringProtocol) throws(TimestampError) {
        var string = String(text)
        let result: Result<Int64, TimestampError> = string.withUTF8 { bytes in
            do throws(TimestampError) { return .success(try Self.parse(bytes)) } catch { return .failure(error) }
        }
        self.millisecondsSinceEpoch = try result.get()
    }

    /// The same, from UTF-8 bytes (a decoder's buffer), without making a `String` first.
    public init(rfc3339 bytes: UnsafeBufferPointer<UInt8>) throws(TimestampError) {
        self.millisecondsSinceEpoch = try Self.parse(bytes)
    }

    /// Parses RFC 3339 bytes in place: this runs once per ingested event, so it neither copies
    /// nor allocates.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(TimestampError) -> Int64 {
        if let instant = parseCommonLayout(bytes) { return instant }
        return try parseAnyLayout(bytes)
    }

    /// The layout nearly every input has, `YYYY-MM-DDThh:mm:ss` then `Z` or `±hh:mm`, read at
    /// fixed positions with one digit check for all fields. Nil for anything else, in range or
    /// not, so that `parseAnyLayout` decides, and words, every refusal.
    @inline(__always)
    static func parseCommonLayout(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard let base = bytes.baseAddress, bytes.count == 20 || bytes.count == 25,
              base[4] == 0x2D, base[7] == 0x2D, base[10] == 0x54, base[13] == 0x3A, base[16] == 0x3A
        else { return nil }
        // Each digit minus "0" is above 9 unless it was a digit: one OR collects them all.
        var notDigits: UInt8 = 0
        @inline(__always) func digit(_ position: Int) -> Int64 {
            let value = base[position] &- 0x30
            notDigits |= value & 0xF0 | (value &+ 6) & 0x10
            return Int64(value)
        }
        @inline(__always) func twoDigits(_ position: Int) -> Int64 { digit(position) * 10 + digit(position + 1) }
        let year = twoDigits(0) * 100 + twoDigits(2)
        let month = twoDigits(5), day = twoDigits(8)
        let hour = twoDigits(11), minute = twoDigits(14), second = twoDigits(17)
        var offsetMinutes: Int64 = 0
        if bytes.count == 20 {
            guard base[19] == 0x5A else { return nil }
        } else {
            guard base[19] == 0x2B || base[19] == 0x2D, base[22] == 0x3A else { return nil }
            let offsetHours = twoDigits(20), offsetMins = twoDigits(23)
            guard offsetHours <= 23, offsetMins <= 59 else { return nil }
            offsetMinutes = (base[19] == 0x2D ? -1 : 1) * (offsetHours * 60 + offsetMins)
        }
        guard notDigits == 0, year >= 1, month >= 1, month <= 12, day >= 1,
              day <= CivilDate.daysInMonth(year: year, month: month),
              hour <= 23, minute <= 59, second <= 59
        else { return nil }
        let days = CivilDate.toDays(year: year, month: month, day: day)
        return (days * 86_400 + hour * 3600 + minute * 60 + second - offsetMinutes * 60) * 1000
    }

    static func parseAnyLayout(_ bytes: UnsafeBufferPointer<UInt8>) throws(TimestampError) -> Int64 {
        var index = 0
        func digits(_ count: Int) throws(TimestampError) -> Int64 {
            guard index + count <= bytes.count else { throw .malformed }
            var value: Int64 = 0
            for offset in 0..<count {
                let byte = bytes[index + offset]
                guard byte >= 0x30, byte <= 0x39 else { throw .malformed }
                value = value * 10 + Int64(byte - 0x30)
            }
            index += count
            return value
        }
        func expect(_ allowed: UInt8, _ alternative: UInt8? = nil, _ another: UInt8? = nil) throws(TimestampError) {
            guard index < bytes.count else { throw .malformed }
            let byte = bytes[index]
            guard byte == allowed || byte == alternative || byte == another else { throw .malformed }
            index += 1
        }
        let year = try digits(4)
        try expect(UInt8(ascii: "-"))
        let month = try digits(2)
        try expect(UInt8(ascii: "-"))
        let day = try digits(2)
        try expect(UInt8(ascii: "T"), UInt8(ascii: "t"), UInt8(ascii: " "))
        let hour = try digits(2)
        try expect(UInt8(ascii: ":"))
        let minute = try digits(2)
        try expect(UInt8(ascii: ":"))
        var second = try digits(2)
        var millis: Int64 = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var scale: Int64 = 100
            var fractionDigits = 0
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                millis += Int64(bytes[index] - 0x30) * scale
                scale /= 10
                fractionDigits += 1
                index += 1
            }
            guard fractionDigits > 0, fractionDigits <= 9 else { throw .malformed }
        }
        guard index < bytes.count else { throw .missingOffset }
        var offsetMinutes: Int64 = 0
        switch bytes[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            index += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let sign: Int64 = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            let offsetHours = try digits(2)
            try expect(UInt8(ascii: ":"))
            let offsetMins = try digits(2)
            guard offsetHours <= 23, offsetMins <= 59 else { throw .outOfRange("offset") }
            offsetMinutes = sign * (offsetHours * 60 + offsetMins)
        default:
            throw .missingOffset
        }
        guard index == bytes.count else { throw .malformed }
        guard year >= 1 else { throw .outOfRange("year") }
        guard month >= 1, month <= 12 else { throw .outOfRange("month") }
        guard day >= 1, day <= CivilDate.daysInMonth(year: year, month: month) else {
            throw .impossibleDate(year: year, month: month, day: day)
        }
        guard hour <= 23 else { throw .outOfRange("hour") }
        guard minute <= 59 else { throw .outOfRange("minute") }
        // RFC 3339 allows a leap second; elapsed-time arithmetic folds it onto the second before.
        guard second <= 60 else { throw .outOfRange("second") }
        if second == 60 { second = 59; millis = 999 }
        let days = CivilDate.toDays(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetMinutes * 60
        return seconds * 1000 + millis
    }

    /// A calendar date at 00:00 in the given offset from UTC (for date-only inputs such as iStandaarden).
    public init(year: Int64, month: Int64, day: Int64, offsetMinutes: Int64 = 0) throws(TimestampError) {
        guard year >= 1 else { throw .outOfRange("year") }
        guard month >= 1, month <= 12 else { throw .outOfRange("month") }
        guard day >= 1, day <= CivilDate.daysInMonth(year: year, month: month) else {
            throw .impossibleDate(year: year, month: month, day: day)
        }
        self.millisecondsSinceEpoch = (CivilDate.toDays(year: year, month: month, day: day) * 86_400 - offsetMinutes * 60) * 1000
    }
}

public enum TimestampError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformed
    case missingOffset
    case outOfRange(String)
    case impossibleDate(year: Int64, month: Int64, day: Int64)

    public var description: String {
        switch self {
        case .malformed: "not an RFC 3339 date-time (expected like 2026-03-02T10:00:00+01:00)"
        case .missingOffset: "RFC 3339 date-time without a time zone offset (add Z or +01:00)"
        case .outOfRange(let part): "RFC 3339 date-time with the \(part) out of range"
        case let .impossibleDate(year, month, day):
            "impossible date \(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2)): that month has \(CivilDate.daysInMonth(year: year, month: month)) days"
        }
    }
}

/// Proleptic Gregorian calendar arithmetic (Howard Hinnant's days-from-civil algorithms).
public enum CivilDate {
    static func isLeap(_ year: Int64) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    /// Also the exchange XSD check's (`ExchangeValidation.isPlainDateTime`): one calendar rule.
    public static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func toDays(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func fromDays(_ days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

func pad(_ value: Int64, _ width: Int) -> String {
    let digits = String(value)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}
