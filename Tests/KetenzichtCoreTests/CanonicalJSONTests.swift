import Testing
@testable import KetenzichtCore

@Suite struct CanonicalJSONTests {
    @Test func referralLineHasAFixedShape() {
        let event = Fixture.referral("r-77", case: "c-1042", from: "km-participatie-noord", to: "ggz-parnassia", day: 60, dependsOn: ["r-1"])
        #expect(event.canonicalJSON == #"{"data":{"case":"c-1042","dependsOn":["r-1"],"from":"km-participatie-noord","referral":"r-77","to":"ggz-parnassia"},"id":"create-r-77","source":"urn:test","specversion":"1.0","time":"2026-03-02T00:00:00Z","type":"nl.ketenzicht.referral.created"}"#)
    }

    @Test func escapesStrings() {
        var bytes: [UInt8] = []
        CanonicalJSONWriter.appendString("a\"b\\c\nd\u{1}é😀", to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == #""a\"b\\c\nd\u0001é😀""#)
        var plain: [UInt8] = []
        CanonicalJSONWriter.appendString("r-77 é", to: &plain)
        #expect(String(decoding: plain, as: UTF8.self) == #""r-77 é""#)
    }

    /// SPEC §5: an infinite value is the string "Infinity", an undefined one null; a bare
    /// `inf` or `nan` would make the whole answer unreadable JSON.
    @Test func answersNeverHoldBareInfinityOrNaN() {
        let answer = JSONValue.object(["wait": .number(Double.infinity), "down": .number(-Double.infinity), "none": .number(Double.nan), "days": .number(2.5)])
        #expect(answer.serialized == #"{"days":2.5,"down":"-Infinity","none":null,"wait":"Infinity"}"#)
    }

    @Test func fingerprintsDifferWithContent() {
        let one = Fixture.step(.completed, "r-1", day: 1, note: "ok")
        var two = one
        two.body = .referralStatus(ReferralStatusChange(referral: "r-1", step: .completed, note: "niet ok"))
        #expect(one.fingerprint != two.fingerprint)
        #expect(one.fingerprint == Fixture.step(.completed, "r-1", day: 1, note: "ok").fingerprint)
    }

    /// The digest hashes the parts the line is written from: equal lines, equal digests (a −0
    /// capacity is written as 0), and a part moved to another field is another line.
    @Test func fingerprintsFollowTheCanonicalLine() {
        func party(capacity: Double?, norm: Double?) -> Event {
            Event(identity: EventIdentity(source: "urn:test", id: "p"), time: Fixture.at(0),
                  body: .partyRegistered(PartyRegistration(party: "a", name: "A", domain: "wmo", capacityPerWeek: capacity, normDays: norm, regieEligible: nil)))
        }
        let zero = party(capacity: 0, norm: nil)
        let negativeZero = party(capacity: -0.0, norm: nil)
        #expect(zero.canonicalJSON == negativeZero.canonicalJSON)
        #expect(zero.fingerprint == negativeZero.fingerprint)
        let asCapacity = party(capacity: 5, norm: nil)
        let asNorm = party(capacity: nil, norm: 5)
        #expect(asCapacity.canonicalJSON != asNorm.canonicalJSON)
        #expect(asCapacity.fingerprint != asNorm.fingerprint)
        // Strings are not run together: ("ab", "c") is not ("a", "bc").
        let one = Fixture.referral("ab", case: "c", from: "x", to: "y", day: 1)
        let two = Fixture.referral("a", case: "bc", from: "x", to: "y", day: 1)
        #expect(one.fingerprint != two.fingerprint)
    }
}
