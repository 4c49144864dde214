import Foundation
import KetenzichtCore
import KetenzichtTestSupport
import Testing
@testable import KetenzichtIngest

private let pseudonymizer = Pseudonymizer(keyBytes: Array(repeating: 7, count: 32))
private let decoder = CanonicalXMLDecoder(assembler: EventAssembler(pseudonymizer: pseudonymizer))
private let namespace = "urn:ketenzicht:exchange:1"

private func document(_ body: String) -> String {
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<exchanges xmlns=\"\(namespace)\">\n\(body)\n</exchanges>\n"
}

private func decode(_ xml: String) -> [DecodeRecord] {
    decode(bytes: Array(xml.utf8))
}

private func decode(bytes: [UInt8]) -> [DecodeRecord] {
    var records: [DecodeRecord] = []
    decoder.decode(.bytes(bytes, origin: "test.xml"), progress: nil) { records.append($0) }
    return records
}


private func time(_ text: String) throws -> Timestamp { try Timestamp(rfc3339: text) }

private let t = "2026-03-02T10:00:00+01:00"
private let goodA = #"<accepted id="a-1" source="s" time="\#(t)" referral="r-1"/>"#
private let goodB = #"<started id="a-2" source="s" time="\#(t)" referral="r-1"/>"#

@Suite("Canonical XML decoder")
struct CanonicalXMLDecoderTests {
    /// The assembler orders scores by each life domain's place instead of sorting strings, and
    /// finds a repeat with a bit per place (a set past 64 domains): the same scores, order and
    /// refusals as sorting, for the ZRM's 13 domains and for a configuration of 70. XML, because
    /// JSON refuses a repeated key before the assembler sees it.
    @Test(arguments: [13, 70])
    func scoresComeOutInLifeDomainOrder(domainCount: Int) throws {
        let domains = domainCount == 13 ? DomainCatalog.zrmLifeDomains : (0..<domainCount).map { "domein-\(($0 * 37) % domainCount)" }
        let decoder = CanonicalXMLDecoder(assembler: EventAssembler(pseudonymizer: pseudonymizer, lifeDomains: Set(domains)))
        var random = SplitMix64(seed: UInt64(domainCount))
        for round in 0..<200 {
            let chosen = Array(domains.shuffled(using: &random).prefix(Int.random(in: 1...domains.count, using: &random)))
            var scores = chosen.map { ($0, Int.random(in: 1...5, using: &random)) }
            let repeated = round % 4 == 3 ? chosen.randomElement(using: &random) : nil
            if let repeated { scores.insert((repeated, 1), at: Int.random(in: 0...scores.count, using: &random)) }
            let children = scores.map { #"<score domain="\#($0.0)" value="\#($0.1)"/>"# }.joined()
            var records: [DecodeRecord] = []
            let xml = document(#"<assessment id="a\#(round)" source="s" time="\#(t)" case="c-1">\#(children)</assessment>"#)
            decoder.decode(.bytes(Array(xml.utf8), origin: "test.xml"), progress: nil) { records.append($0) }
            let record = try #require(records.first)
            if let repeated {
                #expect(record.issue?.field == "zrm.\(repeated)")
                #expect(record.issue?.message == "scored twice")
            } else {
                let expected = CaseAssessment(caseID: "c-1", scores: scores.map { (lifeDomain: $0.0, score: $0.1) })
                #expect(record.event?.body == .caseAssessed(expected))
            }
        }
    }

    @Test("every element type becomes the right event")
    func everyElementType() throws {
        let xml = document("""
          <party id="e1" source="urn:s" time="\(t)" party="km-noord" domain="participatie" capacityPerWeek="4.5" normDays="28" regieEligible="true"><name>KM Noord &amp; Oost</name></party>
          <assessment id="e2" source="urn:s" time="\(t)" bsn="111222333"><score domain="financien" value="2"/><score domain="huisvesting" value="4"/></assessment>
          <referral id="e3" source="urn:s" time="\(t)" referral="r-2" case="c-1" from="km-noord" to="ggz" urgency="urgent" lifeDomain="financien"><dependsOn ref="r-1"/><dependsOn ref="r-0"/></referral>
          <accepted id="e4" source="urn:s" time="\(t)" referral="r-2"/>
          <started id="e5" source="urn:s" time="\(t)" referral="r-2"/>
          <completed id="e6" source="urn:s" time="\(t)" referral="r-2" outcome="afgerond"/>
          <rejected id="e7" source="urn:s" time="\(t)" referral="r-3"><reason>wachtlijst vol</reason></rejected>
          <withdrawn id="e8" source="urn:s" time="\(t)" referral="r-4"/>
          <regie id="e9" source="urn:s" time="\(t)" case="c-1" party="km-noord"/>
        """)
        let records = decode(xml)
        #expect(records.compactMap(\.issue) == [])
        let events = records.compactMap(\.event)
        try #require(events.count == 9)
        let when = try time(t)
        func identity(_ id: String) -> EventIdentity { EventIdentity(source: "urn:s", id: id) }
        #expect(events[0] == Event(identity: identity("e1"), time: when, body: .partyRegistered(PartyRegistration(party: "km-noord", name: "KM Noord & Oost", domain: "participatie", capacityPerWeek: 4.5, normDays: 28, regieEligible: true))))
        let pseudonym = try pseudonymizer.caseID(forBSN: "111222333")
        #expect(events[1] == Event(identity: identity("e2"), time: when, body: .caseAssessed(CaseAssessment(caseID: pseudonym, scores: [("financien", 2), ("huisvesting", 4)]))))
        #expect(events[2] == Event(identity: identity("e3"), time: when, body: .referralCreated(ReferralCreation(referral: "r-2", caseID: "c-1", from: "km-noord", to: "ggz", urgency: .urgent, lifeDomain: "financien", dependsOn: ["r-1", "r-0"]))))
        #expect(events[3].body == .referralStatus(ReferralStatusChange(referral: "r-2", step: .accepted)))
        #expect(events[4].body == .referralStatus(ReferralStatusChange(referral: "r-2", step: .started)))
        #expect(events[5].body == .referralStatus(ReferralStatusChange(referral: "r-2", step: .completed, note: "afgerond")))
        #expect(events[6].body == .referralStatus(ReferralStatusChange(referral: "r-3", step: .rejected, note: "wachtlijst vol")))
        #expect(events[7].body == .referralStatus(ReferralStatusChange(referral: "r-4", step: .withdrawn)))
        #expect(events[8].body == .regieAssigned(RegieAssignment(caseID: "c-1", party: "km-noord")))
        #expect(records.map { $0.location.line } == [3, 4, 5, 6, 7, 8, 9, 10, 11])
        #expect(!events[1].canonicalJSON.contains("111222333"))
    }

    @Test("the embedded XSD is byte for byte config/schema/exchange-1.xsd")
    func embeddedSchemaMatchesFile() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let file = try Data(contentsOf: root.appendingPathComponent("config/schema/exchange-1.xsd"))
        let embedded = Data(ExchangeSchema.xsd.utf8)
        #expect(file.count == embedded.count)
        #expect(file == embedded, "ExchangeSchema.xsd differs from config/schema/exchange-1.xsd")
    }

    // MARK: Refused documents

    @Test("a DOCTYPE is refused before anything is read")
    func doctype() {
        let xml = "<?xml version=\"1.0\"?>\n<!DOCTYPE exchanges [<!ENTITY x \"y\">]>\n<exchanges xmlns=\"\(namespace)\">\(goodA)</exchanges>"
        let records = decode(xml)
        #expect(records.count == 1)
        #expect(records[0].issue?.message == "DOCTYPE declarations are not allowed (no DTDs, no entities); reading stopped here")
        #expect(records[0].location.line == 2)
    }

    @Test("XXE through a file entity is refused and nothing of the file leaks")
    func externalEntityFile() {
        let xml = """
        <?xml version="1.0"?>
        <!DOCTYPE exchanges [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
        <exchanges xmlns="\(namespace)"><rejected id="x" source="s" time="\(t)" referral="r"><reason>&xxe;</reason></rejected></exchanges>
        """
        let records = decode(xml)
        #expect(records.count == 1)
        #expect(records[0].issue?.message.hasPrefix("DOCTYPE declarations are not allowed") == true)
        #expect(!"\(records)".contains("root:"))
    }

    @Test("XXE through a URL entity is refused")
    func externalEntityURL() {
        let xml = """
        <?xml version="1.0"?>
        <!DOCTYPE exchanges [<!ENTITY xxe SYSTEM "http://127.0.0.1:9/secret">]>
        <exchanges xmlns="\(namespace)"><rejected id="x" source="s" time="\(t)" referral="r"><reason>&xxe;</reason></rejected></exchanges>
        """
        let records = decode(xml)
        #expect(records.count == 1)
        #expect(records[0].issue?.message.hasPrefix("DOCTYPE declarations are not allowed") == true)
    }

    @Test("parameter entities are refused")
    func parameterEntities() {
        let xml = """
        <?xml version="1.0"?>
        <!-- a comment first, so the DOCTYPE is not on the first line -->
        <!DOCTYPE exchanges [<!ENTITY % remote SYSTEM "file:///etc/passwd"> %remote; <!ENTITY % p "<!ENTITY q 'r'>"> %p;]>
        <exchanges xmlns="\(namespace)"/>
        """
        let records = decode(xml)
        #expect(records.count == 1)
        #expect(records[0].issue?.message.hasPrefix("DOCTYPE declarations are not allowed") == true)
        #expect(records[0].location.line == 3)
    }

    @Test("billion laughs is refused")
    func billionLaughs() {
        var entities = "<!ENTITY lol \"lol\">"
        for level in 1...9 {
            entities += "<!ENTITY lol\(level) \"" + String(repeating: "&lol\(level == 1 ? "" : String(level - 1));", count: 10) + "\">"
        }
        let xml = "<?xml version=\"1.0\"?><!DOCTYPE exchanges [\(entities)]><exchanges xmlns=\"\(namespace)\"><rejected id=\"x\" source=\"s\" time=\"\(t)\" referral=\"r\"><reason>&lol9;</reason></rejected></exchanges>"
        let records = decode(xml)
        #expect(records.count == 1)
        #expect(records[0].issue?.message.hasPrefix("DOCTYPE declarations are not allowed") == true)
    }

    @Test("an entity reference without a DOCTYPE stops reading; earlier events stand")
    func undefinedEntity() {
        let records = decode(document("\(goodA)\n<rejected id=\"x\" source=\"s\" time=\"\(t)\" referral=\"r\"><reason>&xxe;</reason></rejected>\n\(goodB)"))
        #expect(records.compactMap(\.event).map(\.identity.id) == ["a-1"])
        #expect(records.count == 2)
        #expect(records[1].issue?.message == "not well-formed XML: Entity 'xxe' not defined; reading stopped here")
        #expect(records[1].location.line == 4)
    }

    @Test("malformed XML stops reading at its line; events before it stand")
    func malformed() {
        let records = decode(document("\(goodA)\n\(goodB)\n<accepted id=\"m\" id=\"n\" source=\"s\" time=\"\(t)\" referral=\"r\"/>\n\(goodA)"))
        #expect(records.compactMap(\.event).map(\.identity.id) == ["a-1", "a-2"])
        #expect(records.count == 3)
        #expect(records[2].issue?.message == "not well-formed XML: Attribute id redefined; reading stopped here")
        #expect(records[2].location.line == 5)
    }

    @Test("a truncated document keeps the complete events")
    func truncated() {
        let full = document("\(goodA)\n\(goodB)\n<completed id=\"c\" source=\"s\" time=\"\(t)\" referral=\"r-1\"/>")
        let cut = String(full.prefix(full.count - 40))
        let records = decode(cut)
        #expect(records.compactMap(\.event).map(\.identity.id) == ["a-1", "a-2"])
        #expect(records.count == 3)
        // The cut falls inside an attribute value of the third event; libxml2 only says
        // "AttValue: ' expected", the reader sees that the input simply stops.
        #expect(records[2].issue?.message == "truncated: the input ends before the closing </exchanges>; reading stopped here")
        #expect(records[2].location.line == 5)
    }

    @Test("invalid UTF-8 stops reading; events before it stand")
    func invalidUTF8() {
        var bytes = Array(document("\(goodA)\n<rejected id=\"u\" source=\"s\" time=\"\(t)\" referral=\"r\"><reason>XX</reason></rejected>\n\(goodB)").utf8)
        let marker = bytes.firstIndex(of: UInt8(ascii: "X"))!
        bytes[marker] = 0xFF
        bytes[marker + 1] = 0xFE
        let records = decode(bytes: bytes)
        #expect(records.compactMap(\.event).map(\.identity.id) == ["a-1"])
        #expect(records.count == 2)
        #expect(records[1].issue?.message.hasPrefix("not well-formed XML: Input is not proper UTF-8") == true)
        #expect(records[1].location.line == 4)
    }

    @Test("a root in the wrong namespace is one clear failure")
    func wrongNamespace() {
        let records = decode("<exchanges xmlns=\"urn:other\">\(goodA)</exchanges>")
        #expect(records.count == 1)
        #expect(records[0].issue?.message == "root element is <exchanges> in namespace urn:other; expected <exchanges> in namespace urn:ketenzicht:exchange:1")
        let noNamespace = decode("<exchanges>\(goodA)</exchanges>")
        #expect(noNamespace.count == 1)
        #expect(noNamespace[0].issue?.message == "root element is <exchanges> without a namespace; expected <exchanges> in namespace urn:ketenzicht:exchange:1")
        let wrongRoot = decode("<events xmlns=\"\(namespace)\"/>")
        #expect(wrongRoot[0].issue?.message.hasPrefix("root element is <events> in namespace urn:ketenzicht:exchange:1") == true)
    }

    // MARK: Refused events, neighbours kept

    /// Decodes `bad` between two good events and answers the failure.
    private func refused(_ bad: String, line: Int = 4) throws -> IngestIssue {
        let records = decode(document("\(goodA)\n\(bad)\n\(goodB)"))
        #expect(records.count == 3)
        #expect(records.compactMap(\.event).map(\.identity.id) == ["a-1", "a-2"])
        let issue = try #require(records[1].issue)
        #expect(records[1].location.line == line)
        #expect(issue.location.origin == "test.xml")
        return issue
    }

    @Test("unknown element")
    func unknownElement() throws {
        let issue = try refused(#"<moved id="u-1" source="s" time="\#(t)" referral="r-1"/>"#)
        #expect(issue.description == "test.xml:4: event u-1 (s): unknown element <moved>; expected one of party, assessment, referral, accepted, started, completed, rejected, withdrawn, regie in namespace urn:ketenzicht:exchange:1")
        let foreign = try refused(#"<x:accepted xmlns:x="urn:other" id="u-2" source="s" time="\#(t)" referral="r-1"/>"#)
        #expect(foreign.message.hasPrefix("unknown element <accepted> in namespace urn:other;"))
    }

    @Test("missing attribute")
    func missingAttribute() throws {
        let issue = try refused(#"<referral id="m-1" source="s" time="\#(t)" referral="r-9" case="c-1" from="km"/>"#)
        #expect(issue.event == EventIdentity(source: "s", id: "m-1"))
        #expect(issue.field == "@to")
        #expect(issue.message == "missing")
        let noID = try refused(#"<accepted source="s" time="\#(t)" referral="r-1"/>"#)
        #expect(noID.event == nil)
        #expect(noID.field == "@id")
    }

    @Test("impossible date 2027-06-31")
    func impossibleDate() throws {
        let issue = try refused(#"<accepted id="d-1" source="s" time="2027-06-31T10:00:00+02:00" referral="r-1"/>"#)
        #expect(issue.description == "test.xml:4: event d-1 (s): @time: impossible date 2027-06-31: that month has 30 days (got \"2027-06-31T10:00:00+02:00\")")
    }

    @Test("self-referral")
    func selfReferral() throws {
        let issue = try refused(#"<referral id="s-1" source="s" time="\#(t)" referral="r-9" case="c-1" from="km" to="km"/>"#)
        #expect(issue.field == "@to")
        #expect(issue.message == "self-referral: from and to are both km")
    }

    @Test("BSN failing the elfproef, never echoed")
    func elfproef() throws {
        let issue = try refused(#"<regie id="b-1" source="s" time="\#(t)" bsn="123456789" party="km"/>"#)
        #expect(issue.field == "@bsn")
        #expect(issue.message == "BSN fails the elfproef (11-check)")
        #expect(!issue.description.contains("123456789"))
        let short = try refused(#"<regie id="b-2" source="s" time="\#(t)" bsn="12345678" party="km"/>"#)
        #expect(short.field == "@bsn")
        #expect(!short.description.contains("12345678"))
    }

    @Test("schema violation: a ZRM score of 7")
    func scoreSeven() throws {
        let issue = try refused(#"<assessment id="z-1" source="s" time="\#(t)" case="c-1"><score domain="financien" value="7"/></assessment>"#)
        #expect(issue.field == "score/@value")
        #expect(issue.message == "the value '7' is greater than the maximum value allowed ('5')")
    }

    @Test("schema violation the assembler would not catch: an unknown attribute")
    func unknownAttribute() throws {
        let issue = try refused(#"<accepted id="x-1" source="s" time="\#(t)" referral="r-1" colour="red"/>"#)
        #expect(issue.field == "@colour")
        #expect(issue.message == "the attribute 'colour' is not allowed")
    }

    @Test("errors on one line are matched to their own elements")
    func oneLine() {
        let body = (0..<40).map { index in
            index % 7 == 3
                ? #"<assessment id="z-\#(index)" source="s" time="\#(t)" case="c-1"><score domain="financien" value="9"/></assessment>"#
                : #"<accepted id="a-\#(index)" source="s" time="\#(t)" referral="r-1"/>"#
        }.joined()
        let records = decode("<exchanges xmlns=\"\(namespace)\">\(body)</exchanges>")
        #expect(records.count == 40)
        let failed = records.compactMap(\.issue).compactMap(\.event?.id)
        #expect(failed == ["z-3", "z-10", "z-17", "z-24", "z-31", "z-38"])
        #expect(records.compactMap(\.event).count == 34)
    }

    @Test("a failure keeps the element for the quarantine")
    func rawKept() throws {
        let records = decode(document(#"<accepted id="q" source="s" time="\#(t)" referral="r-1" colour="red"/>"#))
        guard case .failure(_, let raw) = records[0].outcome else { Issue.record("expected a failure"); return }
        #expect(raw == #"<accepted xmlns="urn:ketenzicht:exchange:1" id="q" source="s" time="\#(t)" referral="r-1" colour="red"/>"#)
    }

    @Test("an unreadable file is one failure")
    func missingFile() {
        var records: [DecodeRecord] = []
        decoder.decode(.file(path: "/nonexistent/x.xml"), progress: nil) { records.append($0) }
        #expect(records.count == 1)
        #expect(records[0].issue?.description == "/nonexistent/x.xml: cannot open: No such file or directory")
    }

    // MARK: Size

    @Test("a generated 30 MB document streams through")
    func largeDocument() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ketenzicht-xml-\(UUID().uuidString).xml")
        try #require(FileManager.default.createFile(atPath: url.path, contents: nil))
        defer { try? FileManager.default.removeItem(at: url) }
        let handle = try FileHandle(forWritingTo: url)
        try handle.write(contentsOf: Data("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<exchanges xmlns=\"\(namespace)\">\n".utf8))
        var written = 0
        var count = 0
        while written < 30_000_000 {
            var chunk = ""
            for _ in 0..<1000 {
                chunk += #"  <referral id="e-\#(count)" source="urn:gen" time="2026-03-02T10:00:00+01:00" referral="r-\#(count)" case="c-\#(count % 5000)" from="km-\#(count % 17)" to="ggz-\#(count % 13)" urgency="regulier" lifeDomain="financien"><dependsOn ref="r-\#(count + 1_000_000)"/></referral>"# + "\n"
                count += 1
            }
            written += chunk.utf8.count
            try handle.write(contentsOf: Data(chunk.utf8))
        }
        try handle.write(contentsOf: Data("</exchanges>\n".utf8))
        try handle.close()

        var events = 0
        var failures: [IngestIssue] = []
        let log = ProgressLog()
        decoder.decode(.file(path: url.path), progress: log.callback) { record in
            switch record.outcome {
            case .event: events += 1
            case .failure(let issue, _): failures.append(issue)
            }
        }
        #expect(failures == [])
        #expect(events == count)
        let reports = log.reports.map(\.bytesRead)
        #expect(reports.count >= 25)
        #expect(reports == reports.sorted())
    }
}
