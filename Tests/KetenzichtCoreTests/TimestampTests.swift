import KetenzichtTestSupport
import Testing
@testable import KetenzichtCore

@Suite struct TimestampTests {
    @Test func parsesOffsetsToTheSameInstant() throws {
        let amsterdam = try Timestamp(rfc3339: "2026-03-02T10:00:00+01:00")
        let utc = try Timestamp(rfc3339: "2026-03-02T09:00:00Z")
        #expect(amsterdam == utc)
        #expect(utc.millisecondsSinceEpoch == 1_772_442_000_000)
        #expect(utc.rfc3339 == "2026-03-02T09:00:00Z")
    }

    @Test func keepsMilliseconds() throws {
        let time = try Timestamp(rfc3339: "2026-11-25T17:34:33.123456+00:00")
        #expect(time.rfc3339 == "2026-11-25T17:34:33.123Z")
    }

    @Test func refusesImpossibleDates() {
        #expect(throws: TimestampError.impossibleDate(year: 2027, month: 6, day: 31)) {
            try Timestamp(rfc3339: "2027-06-31T10:00:00Z")
        }
        #expect(throws: TimestampError.impossibleDate(year: 2026, month: 2, day: 29)) {
            try Timestamp(rfc3339: "2026-02-29T00:00:00Z")
        }
        #expect((try? Timestamp(rfc3339: "2028-02-29T00:00:00Z")) != nil)
        #expect(TimestampError.impossibleDate(year: 2027, month: 6, day: 31).description == "impossible date 2027-06-31: that month has 30 days")
    }

    @Test(arguments: [
        "2026-03-02", "2026-03-02T10:00:00", "2026-13-02T10:00:00Z", "2026-03-02T24:00:00Z",
        "2026-03-02T10:60:00Z", "2026-03-02T10:00:00+25:00", "2026-03-02T10:00:00Zjunk", "",
        "2026-03-02T10:00:00.Z",
    ])
    func refusesMalformed(_ text: String) {
        #expect(throws: TimestampError.self) { try Timestamp(rfc3339: text) }
    }

    @Test func daysAreElapsedTimeAcrossDaylightSaving() throws {
        // 2026-03-29 is the switch to summer time in Europe/Amsterdam: still 1 elapsed day per 86,400 s.
        let before = try Timestamp(rfc3339: "2026-03-28T12:00:00+01:00")
        let after = try Timestamp(rfc3339: "2026-03-29T13:00:00+02:00")
        #expect(after.days(since: before) == 1)
        #expect(before.adding(days: 1) == after)
    }

    /// Found while fuzzing the socket: a what-if wait or a window of 10^12 days overflowed the
    /// millisecond arithmetic and trapped. Adding saturates instead, and what it reaches can still
    /// be subtracted and printed.
    @Test func addingSaturatesInsteadOfOverflowing() throws {
        let start = try Timestamp(rfc3339: "2026-03-02T10:00:00+01:00")
        let far = start.adding(days: 1e12)
        let past = start.adding(days: -.infinity)
        #expect(far.millisecondsSinceEpoch == Timestamp.reach)
        #expect(past.millisecondsSinceEpoch == -Timestamp.reach)
        #expect(start.adding(days: .nan) == start)
        #expect(far.days(since: past) > 0)
        #expect(far.rfc3339.hasSuffix("Z") && past.rfc3339.hasSuffix("Z"))
        #expect(Timestamp(millisecondsSinceEpoch: .max).adding(days: 1) == far)
        #expect(start.adding(days: 36_525).adding(days: -36_525) == start)
    }

    /// The fixed-position reader of the common layout answers only what the general parser
    /// answers: the same instant, or nothing (and the general parser then words the refusal).
    /// Random times, fields partly out of range, half of them with one byte replaced: every
    /// position and every check is hit.
    @Test func commonLayoutAgreesWithTheGeneralParser() throws {
        var random = SplitMix64(seed: 20_261_126)
        let replacements: [UInt8] = Array("0123456789-:TtZz+ ./a".utf8) + [0x2F, 0x3A, 0x3F, 0x40, 0x00, 0xFF, 0xC3, 0x99]
        var taken = 0
        for round in 0..<20_000 {
            let year = Int.random(in: 0...9999, using: &random)
            let month = Int.random(in: 0...13, using: &random), day = Int.random(in: 0...32, using: &random)
            let hour = Int.random(in: 0...25, using: &random), minute = Int.random(in: 0...61, using: &random)
            let second = Int.random(in: 0...61, using: &random)
            func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
            let yearText = String(repeating: "0", count: 4 - String(year).count) + String(year)
            let offset = round % 3 == 0 ? "Z" : "\(round % 3 == 1 ? "+" : "-")\(two(Int.random(in: 0...25, using: &random))):\(two(Int.random(in: 0...61, using: &random)))"
            var bytes = Array("\(yearText)-\(two(month))-\(two(day))T\(two(hour)):\(two(minute)):\(two(second))\(offset)".utf8)
            if round % 2 == 1 {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = replacements.randomElement(using: &random)!
            }
            bytes.withUnsafeBufferPointer { buffer in
                let general = try? Timestamp.parseAnyLayout(buffer)
                if let fast = Timestamp.parseCommonLayout(buffer) {
                    taken += 1
                    #expect(fast == general, "\(String(decoding: buffer, as: UTF8.self))")
                } else if general != nil {
                    // Only the leap second and the lower-case or spaced forms are the general parser's alone.
                    let text = String(decoding: buffer, as: UTF8.self)
                    let leapSecond = buffer[17] == UInt8(ascii: "6") && buffer[18] == UInt8(ascii: "0")
                    #expect(leapSecond || text.contains("t") || text.contains("z") || text.contains(" "), "\(text)")
                }
            }
        }
        #expect(taken > 1_000)
    }

    @Test func roundTripsAcrossCenturies() throws {
        for text in ["0001-01-01T00:00:00Z", "1969-12-31T23:59:59.999Z", "2000-02-29T12:00:00Z", "9999-12-31T23:59:59Z"] {
            #expect(try Timestamp(rfc3339: text).rfc3339 == text)
        }
    }
}
