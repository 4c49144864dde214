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

    @Test func roundTripsAcrossCenturies() throws {
        for text in ["0001-01-01T00:00:00Z", "1969-12-31T23:59:59.999Z", "2000-02-29T12:00:00Z", "9999-12-31T23:59:59Z"] {
            #expect(try Timestamp(rfc3339: text).rfc3339 == text)
        }
    }
}
