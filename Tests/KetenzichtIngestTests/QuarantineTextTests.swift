import Testing
@testable import KetenzichtIngest

/// What refused input looks like once it may be kept in the quarantine (SPEC §3, §4).
@Suite struct QuarantineTextTests {
    @Test func cloudEventKeepsItsKnownFieldsOnly() {
        let line = #"{"specversion":"1.0","id":"x1","source":"urn:s","type":"nl.ketenzicht.referral.created","time":"2027-06-31T10:00:00Z","subject":"Jan Jansen","data":{"referral":"r-1","bsn":"111222333","from":"a","to":"b","clientNaam":"Jan Jansen","adres":{"straat":"Dorpsstraat 1"},"dependsOn":["r-0"]}}"#
        #expect(QuarantineText.minimised(line, format: .cloudevents)
            == #"{"specversion":"1.0","id":"x1","source":"urn:s","type":"nl.ketenzicht.referral.created","time":"2027-06-31T10:00:00Z","(not kept)":"(not kept)","data":{"referral":"r-1","bsn":"*********","from":"a","to":"b","(not kept)":"(not kept)","(not kept)":"(not kept)","dependsOn":["r-0"]}}"#)
    }

    @Test func theTypeDecidesWhichDataFieldsAreKnown() {
        // `name` is a party's name in a registration, but in a referral it can only be the client's.
        let party = #"{"type":"nl.ketenzicht.party.registered","data":{"party":"p","name":"GGZ Oost","domain":"ggz"}}"#
        #expect(QuarantineText.minimised(party, format: .cloudevents) == party)
        let referral = #"{"data":{"referral":"r","name":"Jan Jansen","case":"c"},"type":"nl.ketenzicht.referral.created"}"#
        #expect(QuarantineText.minimised(referral, format: .cloudevents) == #"{"data":{"referral":"r","(not kept)":"(not kept)","case":"c"},"type":"nl.ketenzicht.referral.created"}"#)
        let unknownType = #"{"type":"nl.ketenzicht.unknown","data":{"referral":"r"}}"#
        #expect(QuarantineText.minimised(unknownType, format: .cloudevents) == #"{"type":"nl.ketenzicht.unknown","data":{"(not kept)":"(not kept)"}}"#)
    }

    @Test func brokenJSONIsRedactedToo() {
        let truncated = #"{"id":"x3","type":"nl.ketenzicht.case.assessed","data":{"bsn":"111222333","naam":"Jan Jansen","adres":"Dorpsstraat 1"#
        #expect(QuarantineText.minimised(truncated, format: .cloudevents) == #"{"id":"x3","type":"nl.ketenzicht.case.assessed","data":{"bsn":"*********","(not kept)":"(not kept)","(not kept)":"(not kept)""#)
        // Words outside strings are not JSON, and may be anything.
        #expect(QuarantineText.minimised("Jan Jansen woont hier", format: .cloudevents) == #""(not kept)" "(not kept)" "(not kept)" "(not kept)""#)
        #expect(QuarantineText.minimised(#"[42, "Jan", {"id":"e"}]"#, format: .cloudevents) == #"[42, "(not kept)", {"id":"e"}]"#)
    }

    @Test func canonicalXMLKeepsItsKnownAttributesAndChildren() {
        let element = #"<referral xmlns="urn:ketenzicht:exchange:1" id="x" source="s" time="t" referral="r-1" bsn="111222333" from="a" to="b" naam="Jan Jansen"><dependsOn ref="r-0"/><adres>Dorpsstraat 1</adres></referral>"#
        #expect(QuarantineText.minimised(element, format: .xml)
            == #"<referral xmlns="urn:ketenzicht:exchange:1" id="x" source="s" time="t" referral="r-1" bsn="*********" from="a" to="b"><dependsOn ref="r-0"/></referral>"#)
        let party = #"<party xmlns="urn:other" id="p" source="s" time="t" party="ggz" domain="ggz" xmlns:a1="urn:x" a1:naam="Jan"><name>GGZ Oost</name></party>"#
        #expect(QuarantineText.minimised(party, format: .xml) == #"<party xmlns="(not kept)" id="p" source="s" time="t" party="ggz" domain="ggz"><name>GGZ Oost</name></party>"#)
        let unknown = #"<teleport xmlns="urn:ketenzicht:exchange:1" id="t" source="s" time="t" client="Jan Jansen"><name>Jan Jansen</name></teleport>"#
        #expect(QuarantineText.minimised(unknown, format: .xml) == #"<teleport xmlns="urn:ketenzicht:exchange:1" id="t" source="s" time="t"></teleport>"#)
    }

    @Test func bsnsAreRedactedAsPeopleWriteThem() {
        #expect(redactingBSNs("BSN 111222333, 111 222 333, 111.222.333, 1112.22.333, 111-22-2333.") == "BSN *********, *** *** ***, ***.***.***, ****.**.***, ***-**-****.")
        // Dates, AGB codes, times and ten-digit numbers are not BSNs.
        let innocent = "2026-03-02 10:00, AGB 01234567, 0612345678, 99999-03-01, 12 345 678 9"
        #expect(redactingBSNs(innocent) == innocent)
        #expect(Pseudonymizer.looksLikeWrittenBSN("111 222 333"))
        #expect(Pseudonymizer.looksLikeWrittenBSN("123456782"))
        #expect(!Pseudonymizer.looksLikeWrittenBSN("c-111222333"))
        #expect(!Pseudonymizer.looksLikeWrittenBSN("---"))
    }

    @Test func freeTextKeepsNoBSN() throws {
        let assembler = EventAssembler(pseudonymizer: Pseudonymizer(keyBytes: Array(repeating: 1, count: 32)))
        var records: [DecodeRecord] = []
        let line = #"{"specversion":"1.0","id":"w","source":"s","type":"nl.ketenzicht.referral.withdrawn","time":"2026-03-02T10:00:00Z","data":{"referral":"r","reason":"dubbel met 111 222 333"}}"#
        CloudEventsDecoder(assembler: assembler).decode(.bytes(Array(line.utf8), origin: "test"), progress: nil) { records.append($0) }
        let event = try #require(records.first?.event)
        #expect(event.canonicalJSON.contains(#""reason":"dubbel met *** *** ***""#))
    }
}
