import Foundation
import KetenzichtCore
import KetenzichtIngest
import Testing

/// Shared fixtures for the CloudEvents tests.
enum CloudEventsFixture {
    static let pseudonymizer = Pseudonymizer(keyBytes: Array(repeating: 7, count: 32))
    static let assembler = EventAssembler(pseudonymizer: pseudonymizer)
    static let decoder = CloudEventsDecoder(assembler: assembler)
    static let validBSN = "111222333"
    static let invalidBSN = "123456789"

    static let exampleLine = #"{"specversion":"1.0","id":"e-991","source":"urn:nl:gemeente:0363:participatie","type":"nl.ketenzicht.referral.created","time":"2026-03-02T10:00:00+01:00","data":{"referral":"r-77","case":"c-1042","from":"km-participatie-noord","to":"ggz-parnassia","urgency":"regulier","lifeDomain":"geestelijke-gezondheid"}}"#

    /// A valid event line of the given type with the given data (raw JSON text of the members).
    static func line(id: String, type: String = "nl.ketenzicht.referral.accepted", time: String = "2026-03-02T10:00:00+01:00", data: String = #""referral":"r-1""#, extra: String = "") -> String {
        #"{"specversion":"1.0","id":"\#(id)","source":"urn:test","type":"\#(type)","time":"\#(time)"\#(extra),"data":{\#(data)}}"#
    }

    static func decode(_ text: String, decoder: CloudEventsDecoder = decoder, origin: String = "in.ndjson") -> [DecodeRecord] {
        decode(Array(text.utf8), decoder: decoder, origin: origin)
    }

    static func decode(_ bytes: [UInt8], decoder: CloudEventsDecoder = decoder, origin: String = "in.ndjson") -> [DecodeRecord] {
        var records: [DecodeRecord] = []
        decoder.decode(.bytes(bytes, origin: origin), progress: nil) { records.append($0) }
        return records
    }
}


@Suite("CloudEvents decoder")
struct CloudEventsDecoderTests {
    typealias F = CloudEventsFixture

    // MARK: - Every event type

    @Test func specExampleLine() throws {
        let records = F.decode(F.exampleLine + "\n")
        #expect(records.count == 1)
        let event = try #require(records.first?.event)
        #expect(records[0].location == InputLocation(origin: "in.ndjson", line: 1))
        #expect(event.identity == EventIdentity(source: "urn:nl:gemeente:0363:participatie", id: "e-991"))
        #expect(event.time == (try Timestamp(rfc3339: "2026-03-02T09:00:00Z")))
        #expect(event.body == .referralCreated(ReferralCreation(
            referral: "r-77", caseID: "c-1042", from: "km-participatie-noord", to: "ggz-parnassia",
            urgency: .regulier, lifeDomain: "geestelijke-gezondheid")))
    }

    @Test func partyRegistered() throws {
        let text = F.line(id: "p1", type: "nl.ketenzicht.party.registered",
                          data: #""party":"ggz-parnassia","name":"Parnassia \"GGZ\" Den Haag","domain":"ggz","capacityPerWeek":12.5,"normDays":9.8e1,"regieEligible":false"#)
            + "\n" + F.line(id: "p2", type: "nl.ketenzicht.party.registered", data: #""party":"wmo-team","name":"Wmo","domain":"wmo""#)
        let events = F.decode(text).compactMap(\.event)
        #expect(events.map(\.body) == [
            .partyRegistered(PartyRegistration(party: "ggz-parnassia", name: "Parnassia \"GGZ\" Den Haag", domain: "ggz", capacityPerWeek: 12.5, normDays: 98, regieEligible: false)),
            .partyRegistered(PartyRegistration(party: "wmo-team", name: "Wmo", domain: "wmo")),
        ])
    }

    @Test func caseAssessedWithCaseAndWithBSN() throws {
        let text = F.line(id: "a1", type: "nl.ketenzicht.case.assessed", data: #""case":"c-1","zrm":{"financien":2,"huisvesting":1,"werk-opleiding":5}"#)
            + "\n" + F.line(id: "a2", type: "nl.ketenzicht.case.assessed", data: #""bsn":"\#(F.validBSN)","zrm":{"justitie":3.0}"#)
        let records = F.decode(text)
        let events = records.compactMap(\.event)
        #expect(events.count == 2)
        #expect(events.first?.body == .caseAssessed(CaseAssessment(caseID: "c-1", scores: [("financien", 2), ("huisvesting", 1), ("werk-opleiding", 5)])))
        let pseudonym = try F.pseudonymizer.caseID(forBSN: F.validBSN)
        #expect(events.last?.body == .caseAssessed(CaseAssessment(caseID: pseudonym, scores: [("justitie", 3)])))
        #expect(!pseudonym.contains(F.validBSN))
    }

    @Test func referralCreatedWithBSNAndDependsOn() throws {
        let text = F.line(id: "r1", type: "nl.ketenzicht.referral.created",
                          data: #""referral":"r-2","bsn":"\#(F.validBSN)","from":"a","to":"b","urgency":"crisis","dependsOn":["r-0","r-1"]"#)
        let event = try #require(F.decode(text).first?.event)
        #expect(event.body == .referralCreated(ReferralCreation(
            referral: "r-2", caseID: try F.pseudonymizer.caseID(forBSN: F.validBSN), from: "a", to: "b", urgency: .crisis, dependsOn: ["r-0", "r-1"])))
    }

    @Test(arguments: [
        ("nl.ketenzicht.referral.accepted", #""referral":"r-1""#, ReferralStatusChange(referral: "r-1", step: .accepted)),
        ("nl.ketenzicht.referral.started", #""referral":"r-1""#, ReferralStatusChange(referral: "r-1", step: .started)),
        ("nl.ketenzicht.referral.completed", #""referral":"r-1","outcome":"doel bereikt""#, ReferralStatusChange(referral: "r-1", step: .completed, note: "doel bereikt")),
        ("nl.ketenzicht.referral.completed", #""referral":"r-1""#, ReferralStatusChange(referral: "r-1", step: .completed)),
        ("nl.ketenzicht.referral.rejected", #""referral":"r-1","reason":"geen indicatie""#, ReferralStatusChange(referral: "r-1", step: .rejected, note: "geen indicatie")),
        ("nl.ketenzicht.referral.withdrawn", #""referral":"r-1","reason":null"#, ReferralStatusChange(referral: "r-1", step: .withdrawn)),
    ])
    func statusEvents(type: String, data: String, expected: ReferralStatusChange) throws {
        let event = try #require(F.decode(F.line(id: "s", type: type, data: data)).first?.event)
        #expect(event.body == .referralStatus(expected))
        #expect(event.type.rawValue == type)
    }

    @Test func regieAssigned() throws {
        let text = F.line(id: "g1", type: "nl.ketenzicht.regie.assigned", data: #""case":"c-9","party":"wmo-team""#)
            + "\n" + F.line(id: "g2", type: "nl.ketenzicht.regie.assigned", data: #""bsn":"\#(F.validBSN)","party":"wmo-team""#)
        let events = F.decode(text).compactMap(\.event)
        #expect(events.map(\.body) == [
            .regieAssigned(RegieAssignment(caseID: "c-9", party: "wmo-team")),
            .regieAssigned(RegieAssignment(caseID: try F.pseudonymizer.caseID(forBSN: F.validBSN), party: "wmo-team")),
        ])
    }

    // MARK: - Framing

    @Test func ndjsonSkipsBlankLinesAndCountsLines() {
        let text = "\n" + F.line(id: "1") + "\r\n   \t\n\n" + F.line(id: "2") + "\n  " + F.line(id: "3") + "  "
        let records = F.decode(text)
        #expect(records.map(\.location.line) == [2, 5, 6])
        #expect(records.compactMap(\.event).map(\.identity.id) == ["1", "2", "3"])
    }

    @Test func batchArrayPrettyPrintedWithBOM() {
        let text = "\u{FEFF}[\n  " + F.line(id: "1") + ",\n\n  " + F.line(id: "2") + "\n  ,  " + F.line(id: "3") + "\n]\n"
        let records = F.decode(text, origin: "batch.json")
        #expect(records.compactMap(\.event).map(\.identity.id) == ["1", "2", "3"])
        #expect(records.map(\.location) == [2, 4, 5].map { InputLocation(origin: "batch.json", line: $0) })
    }

    @Test func emptyInputs() {
        #expect(F.decode("").isEmpty)
        #expect(F.decode(" \n\n\t\r\n").isEmpty)
        #expect(F.decode("[]").isEmpty)
        #expect(F.decode("\u{FEFF} [ \n ] \n").isEmpty)
    }

    @Test func bomBeforeNDJSON() {
        let records = F.decode("\u{FEFF}" + F.line(id: "1") + "\n" + F.line(id: "2"))
        #expect(records.compactMap(\.event).map(\.identity.id) == ["1", "2"])
    }

    @Test func unknownExtensionAttributesAndDataFieldsAreIgnored() throws {
        let extra = #","traceparent":"00-abc","ext":{"deep":[1,{"a":[true,false,null,-0.5e-3]}],"s":"\u00e9"},"nlgovsubject":null,"n":12"#
        let text = F.line(id: "x", type: "nl.ketenzicht.referral.completed", data: #""referral":"r-1","extra":{"nested":[1,2,{"x":"y"}]},"score":4.5"#, extra: extra)
        let event = try #require(F.decode(text).first?.event)
        #expect(event.body == .referralStatus(ReferralStatusChange(referral: "r-1", step: .completed)))
    }

    @Test func jsonMediaTypesAreAccepted() {
        for type in ["application/json", "text/json", "application/cloudevents+json", "Application/JSON; charset=utf-8", "application/vnd.ketenzicht+json"] {
            let records = F.decode(F.line(id: "1", extra: #","datacontenttype":"\#(type)""#))
            #expect(records.first?.event != nil, "\(type)")
        }
    }

    @Test func escapedKeysAndValues() throws {
        let text = #"{"spec\u0076ersion":"1.0","\u0069d":"\ud83d\ude00-\u00e9\/\u0041","source":"urn:test","type":"nl.ketenzicht.referral.rejected","time":"2026-03-02T10:00:00Z","data":{"re\u0066erral":"r\"1\\","reason":"a\nb\u0000c\b\f\r"}}"#
        let event = try #require(F.decode(text).first?.event)
        #expect(event.identity.id == "😀-é/A")
        #expect(event.body == .referralStatus(ReferralStatusChange(referral: "r\"1\\", step: .rejected, note: "a\nb\u{0}c\u{8}\u{C}\r")))
    }

    @Test func fileInputIsMemoryMapped() throws {
        let path = NSTemporaryDirectory() + "cloudevents-\(UUID().uuidString).ndjson"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let text = F.line(id: "1") + "\n{broken\n" + F.line(id: "3") + "\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        var records: [DecodeRecord] = []
        F.decoder.decode(.file(path: path), progress: nil) { records.append($0) }
        #expect(records.map(\.location) == [1, 2, 3].map { InputLocation(origin: path, line: $0) })
        #expect(records.compactMap(\.event).count == 2)
    }

    @Test func unreadableFileIsOneFailure() throws {
        var records: [DecodeRecord] = []
        F.decoder.decode(.file(path: "/nonexistent/none.ndjson"), progress: nil) { records.append($0) }
        let issue = try #require(records.first?.issue)
        #expect(records.count == 1)
        #expect(issue.location == InputLocation(origin: "/nonexistent/none.ndjson"))
        #expect(issue.message.contains("cannot open"))

        records = []
        F.decoder.decode(.file(path: NSTemporaryDirectory()), progress: nil) { records.append($0) }
        #expect(records.first?.issue?.message.contains("not a regular file") == true)
    }

    @Test func emptyFile() throws {
        let path = NSTemporaryDirectory() + "cloudevents-empty-\(UUID().uuidString).ndjson"
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        var records: [DecodeRecord] = []
        F.decoder.decode(.file(path: path), progress: nil) { records.append($0) }
        #expect(records.isEmpty)
    }

    @Test func progressIsReportedPerMegabyte() {
        let line = F.line(id: "1") + "\n"
        let bytes = Array(String(repeating: line, count: (3 << 20) / line.utf8.count).utf8)
        let log = ProgressLog()
        F.decoder.decode(.bytes(bytes, origin: "p"), progress: log.callback, sink: { _ in })
        let reports = log.reports.map { ($0.bytesRead, $0.totalBytes) }
        #expect(reports.count >= 3 && reports.count <= 5)
        #expect(reports.allSatisfy { $0.1 == bytes.count })
        #expect(zip(reports, reports.dropFirst()).allSatisfy { $0.0 < $1.0 })
        #expect(reports.last?.0 == bytes.count)
    }

    // MARK: - Bad input, between two valid neighbours

    /// Decodes `bad` as line 2 between two valid lines; checks the neighbours and returns the issue.
    func badLine(_ bad: [UInt8], decoder: CloudEventsDecoder = F.decoder, sourceLocation: SourceLocation = #_sourceLocation) throws -> (IngestIssue, String?) {
        let bytes = Array((F.line(id: "before") + "\n").utf8) + bad + Array(("\n" + F.line(id: "after") + "\n").utf8)
        let records = F.decode(bytes, decoder: decoder)
        #expect(records.count == 3, sourceLocation: sourceLocation)
        #expect(records.map(\.location.line) == [1, 2, 3], sourceLocation: sourceLocation)
        #expect(records.first?.event?.identity.id == "before", sourceLocation: sourceLocation)
        #expect(records.last?.event?.identity.id == "after", sourceLocation: sourceLocation)
        let failure = try #require(records.dropFirst().first, sourceLocation: sourceLocation)
        let issue = try #require(failure.issue, sourceLocation: sourceLocation)
        #expect(issue.location == InputLocation(origin: "in.ndjson", line: 2), sourceLocation: sourceLocation)
        return (issue, failure.raw)
    }

    func badLine(_ bad: String, decoder: CloudEventsDecoder = F.decoder, sourceLocation: SourceLocation = #_sourceLocation) throws -> (IngestIssue, String?) {
        try badLine(Array(bad.utf8), decoder: decoder, sourceLocation: sourceLocation)
    }

    static let syntaxCases: [(line: String, message: String)] = [
        (#"{"specversion":"1.0" "id":"x"}"#, "malformed JSON (column 22): expected ',' or '}' after an object member, found '\"'"),
        (#"{"specversion":"1.0",}"#, "malformed JSON (column 22): expected an object key (a string in double quotes), found '}'"),
        (#"{"a":1}{"b":2}"#, "malformed JSON (column 8): unexpected '{' after the event's closing '}'"),
        (#"{"a":1} x"#, "malformed JSON (column 9): unexpected 'x' after the event's closing '}'"),
        (#"{"a":tru}"#, "malformed JSON (column 6): expected a JSON value, found 't'"),
        (#"{"a":NaN}"#, "malformed JSON (column 6): expected a JSON value, found 'N'"),
        (#"{"a":01}"#, "malformed JSON (column 6): invalid number \"01\""),
        (#"{"a":1.}"#, "malformed JSON (column 6): invalid number \"1.\""),
        (#"{"a":-}"#, "malformed JSON (column 6): invalid number \"-\""),
        (#"{"a":"x\qy"}"#, "malformed JSON (column 8): invalid escape \\q inside a string"),
        (#"{"a":"\ud800"}"#, "malformed JSON (column 7): lone surrogate \\uD800: a high surrogate must be followed by a \\u escape of a low surrogate"),
        (#"{"a":"\udc00\ud800"}"#, "malformed JSON (column 7): lone surrogate \\uDC00: a low surrogate without a high surrogate before it"),
        (#"{"a":"\ud800\u0041"}"#, "malformed JSON (column 7): lone surrogate \\uD800: a high surrogate must be followed by a \\u escape of a low surrogate"),
        (#"{"a":"\u12G4"}"#, "malformed JSON (column 7): invalid \\u escape: expected 4 hex digits"),
        ("{\"a\":\"x\ty\"}", "malformed JSON (column 8): control character U+0009 inside a string must be escaped"),
        (#"{"id":"1","id":"2"}"#, "malformed JSON (column 11): duplicate key \"id\" in an object"),
        (#"{"data":{"referral":"r","re\u0066erral":"s"}}"#, "malformed JSON (column 25): duplicate key \"referral\" in an object"),
        (#"{"data":{"re\u0066erral":"r","referral":"s"}}"#, "malformed JSON (column 30): duplicate key \"referral\" in an object"),
        (#"["not","an","object"]"#, "malformed JSON (column 1): expected a JSON object (one event per line), found '['"),
        (#""just a string""#, "malformed JSON (column 1): expected a JSON object (one event per line), found '\"'"),
        (#"{"a":"unterminated}"#, "malformed JSON (column 20): unexpected end of input inside a string (truncated?)"),
        (#"{"a":[1,2"#, "malformed JSON (column 10): unexpected end of input inside an array (truncated?)"),
    ]

    @Test(arguments: syntaxCases)
    func malformedJSON(line: String, message: String) throws {
        let (issue, raw) = try badLine(line)
        #expect(issue.message == message)
        #expect(issue.field == nil)
        #expect(raw == line)
    }

    @Test func identityIsNamedWhenReadableBeforeASyntaxError() throws {
        let (issue, _) = try badLine(#"{"id":"e-5","source":"urn:x","type":"#)
        #expect(issue.event == EventIdentity(source: "urn:x", id: "e-5"))
        #expect(issue.message == "malformed JSON (column 37): unexpected end of input inside a value (truncated?)")
        let (duplicate, _) = try badLine(#"{"id":"e-6","source":"urn:x","x":1,"x":2}"#)
        #expect(duplicate.event == EventIdentity(source: "urn:x", id: "e-6"))
    }

    @Test func truncatedLastLine() throws {
        let full = F.line(id: "1")
        let text = full + "\n" + String(full.prefix(100))
        let records = F.decode(text)
        #expect(records.count == 2)
        #expect(records[0].event?.identity.id == "1")
        let issue = try #require(records[1].issue)
        #expect(issue.location.line == 2)
        #expect(issue.message.hasPrefix("malformed JSON (column 101): unexpected end of input inside"))
        #expect(issue.message.hasSuffix("(truncated?)"))
        #expect(records[1].raw == String(full.prefix(100)))
    }

    @Test func invalidUTF8() throws {
        var bad = Array(F.line(id: "bad").utf8)
        let offset = bad.firstIndex(of: UInt8(ascii: "b"))!
        for (index, sequence) in [[0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]].enumerated() {
            var line = bad
            line.replaceSubrange(offset..<offset + 1, with: sequence.map(UInt8.init))
            let (issue, raw) = try badLine(line)
            #expect(issue.message == "malformed JSON (column \(offset + 1)): invalid UTF-8 (byte 0x\(String(sequence[0], radix: 16, uppercase: true)))", "case \(index)")
            #expect(raw?.contains("\u{FFFD}") == true)
        }
        bad.append(0xFF)
        let (trailing, _) = try badLine(bad)
        #expect(trailing.message.contains("unexpected byte 0xFF after the event's closing '}'"))
    }

    @Test func deepNestingIsRefusedWithoutRecursion() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let (issue, _) = try badLine(F.line(id: "deep", extra: #","ext":"# + deep))
        #expect(issue.message.hasSuffix("nested deeper than 64 levels"))
        #expect(issue.event == EventIdentity(source: "urn:test", id: "deep"))
        // 63 levels below the event object are fine.
        let fine = String(repeating: "[", count: 63) + String(repeating: "]", count: 63)
        #expect(F.decode(F.line(id: "ok", extra: #","ext":"# + fine)).first?.event != nil)
        let tooDeep = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(F.decode(F.line(id: "ok", extra: #","ext":"# + tooDeep)).first?.issue != nil)
        // Unbalanced and truncated deep input still ends as one failure.
        let (open, _) = try badLine(#"{"ext":"# + String(repeating: "{\"a\":[", count: 50_000))
        #expect(open.message.contains("truncated?"))
    }

    @Test func tooLongLineIsRefusedUndecoded() throws {
        let decoder = CloudEventsDecoder(assembler: F.assembler, maxLineBytes: 1000)
        let long = F.line(id: "long", extra: #","pad":""# + String(repeating: "x", count: 2000) + "\"")
        let (issue, raw) = try badLine(long, decoder: decoder)
        #expect(issue.message == "line is \(long.utf8.count) bytes, longer than the limit of 1000 bytes; not decoded")
        #expect(issue.event == nil)
        #expect(raw == long)
    }

    @Test func rawIsCapped() throws {
        let long = F.line(id: "big", data: #""referral":1"#, extra: #","pad":""# + String(repeating: "é", count: 100_000) + "\"")
        let (issue, raw) = try badLine(long)
        #expect(issue.field == "data.referral")
        let text = try #require(raw)
        #expect(text.utf8.count <= CloudEventsDecoder.maxRawBytes)
        #expect(text.utf8.count > CloudEventsDecoder.maxRawBytes - 4)
        #expect(long.hasPrefix(text))
    }

    static let envelopeCases: [(line: String, field: String?, message: String)] = [
        (#"{"specversion":"0.3","id":"e","source":"s","type":"nl.ketenzicht.referral.accepted","time":"2026-03-02T10:00:00Z","data":{"referral":"r"}}"#,
         "specversion", "must be \"1.0\", got \"0.3\""),
        (#"{"id":"e","source":"s","type":"nl.ketenzicht.referral.accepted","time":"2026-03-02T10:00:00Z","data":{"referral":"r"}}"#,
         "specversion", "missing (this decoder reads CloudEvents 1.0: \"specversion\":\"1.0\")"),
        (#"{"specversion":1.0,"id":"e","source":"s","type":"nl.ketenzicht.referral.accepted","time":"2026-03-02T10:00:00Z","data":{"referral":"r"}}"#,
         "specversion", "expected a string, got a number"),
        (#"{"specversion":"1.0","datacontenttype":"application/xml","id":"e","source":"s","type":"nl.ketenzicht.referral.accepted","time":"2026-03-02T10:00:00Z","data":{"referral":"r"}}"#,
         "datacontenttype", "must be a JSON media type (application/json, text/json or a type ending in +json), got \"application/xml\""),
        (#"{"specversion":"1.0","id":"e","source":"s","type":"nl.ketenzicht.referral.accepted","time":"2026-03-02T10:00:00Z","data_base64":"AAAA"}"#,
         "data_base64", "binary data is not supported; send the event data as a JSON object in data"),
        (#"{"specversion":"1.0","id":"e","source":"s","type":"nl.ketenzicht.referral.accepted","time":"2026-03-02T10:00:00Z"}"#,
         "data", "missing"),
        (#"{"specversion":"1.0","id":"e","source":"s","type":"nl.ketenzicht.referral.accepted","time":"2026-03-02T10:00:00Z","data":"r"}"#,
         "data", "expected an object, got a string"),
        (#"{"specversion":"1.0","id":42,"source":"s","type":"nl.ketenzicht.referral.accepted","time":"2026-03-02T10:00:00Z","data":{"referral":"r"}}"#,
         "id", "expected a string, got a number"),
        (#"{"specversion":"1.0","id":"e","source":"s","type":"nl.ketenzicht.referral.accepted","time":["2026"],"data":{"referral":"r"}}"#,
         "time", "expected a string, got an array"),
        (#"{"specversion":"1.0","id":"e","source":"s","type":"nl.ketenzicht.referral.accepted","data":{"referral":"r"}}"#,
         "time", "missing"),
        (#"{"specversion":"1.0","source":"s","type":"nl.ketenzicht.referral.accepted","time":"2026-03-02T10:00:00Z","data":{"referral":"r"}}"#,
         "id", "missing"),
        (#"{"specversion":"1.0","id":"e","source":"s","type":"nl.ketenzicht.referral.lost","time":"2026-03-02T10:00:00Z","data":{"referral":"r"}}"#,
         "type", "unknown event type \"nl.ketenzicht.referral.lost\"; expected one of " + EventType.allCases.map(\.rawValue).joined(separator: ", ")),
        (#"{"specversion":"1.0","id":"e","source":"s","type":"nl.ketenzicht.referral.accepted","time":"2027-06-31T10:00:00+02:00","data":{"referral":"r"}}"#,
         "time", "impossible date 2027-06-31: that month has 30 days (got \"2027-06-31T10:00:00+02:00\")"),
    ]

    @Test(arguments: envelopeCases)
    func envelopeProblems(line: String, field: String?, message: String) throws {
        let (issue, raw) = try badLine(line)
        #expect(issue.field == field)
        #expect(issue.message == message)
        #expect(raw == line)
        if line.contains(#""id":"e""#), line.contains(#""source":"s""#) {
            #expect(issue.event == EventIdentity(source: "s", id: "e"))
        }
    }

    static let dataCases: [(type: String, data: String, field: String, message: String)] = [
        ("nl.ketenzicht.referral.accepted", #""ref":"r""#, "data.referral", "missing"),
        ("nl.ketenzicht.referral.accepted", #""referral":null"#, "data.referral", "missing"),
        ("nl.ketenzicht.referral.accepted", #""referral":"""#, "data.referral", "empty"),
        ("nl.ketenzicht.referral.accepted", #""referral":7"#, "data.referral", "expected a string, got a number"),
        ("nl.ketenzicht.referral.accepted", #""referral":{"id":"r"}"#, "data.referral", "expected a string, got an object"),
        ("nl.ketenzicht.referral.created", #""referral":"r","case":"c","from":"a","to":false"#, "data.to", "expected a string, got a boolean"),
        ("nl.ketenzicht.referral.created", #""referral":"r","case":"c","from":"wmo","to":"wmo""#, "data.to", "self-referral: from and to are both wmo"),
        ("nl.ketenzicht.referral.created", #""referral":"r","case":"c","from":"a","to":"b","urgency":"asap""#, "data.urgency", "must be regulier, urgent or crisis, got \"asap\""),
        ("nl.ketenzicht.referral.created", #""referral":"r","case":"c","from":"a","to":"b","dependsOn":"r0""#, "data.dependsOn", "expected an array of strings, got a string"),
        ("nl.ketenzicht.referral.created", #""referral":"r","case":"c","from":"a","to":"b","dependsOn":["r0",3]"#, "data.dependsOn[1]", "expected a string, got a number"),
        ("nl.ketenzicht.referral.created", #""referral":"r","case":"c","from":"a","to":"b","dependsOn":["r"]"#, "data.dependsOn", "referral r depends on itself"),
        ("nl.ketenzicht.referral.created", #""referral":"r","case":"123456782","from":"a","to":"b""#, "data.case", "looks like a BSN (9 digits); send it as bsn so that it is pseudonymised"),
        ("nl.ketenzicht.referral.created", #""referral":"r","case":"c","bsn":"111222333","from":"a","to":"b""#, "data.bsn", "give either case or bsn, not both"),
        ("nl.ketenzicht.referral.created", #""referral":"r","from":"a","to":"b""#, "data.case", "missing (give case or bsn)"),
        ("nl.ketenzicht.referral.created", #""referral":"r","bsn":"12345","from":"a","to":"b""#, "data.bsn", "a BSN is 9 digits (got 5 characters)"),
        ("nl.ketenzicht.regie.assigned", #""bsn":111222333,"party":"p""#, "data.bsn", "expected a string, got a number"),
        ("nl.ketenzicht.party.registered", #""party":"p","name":"n","domain":"wmo","capacityPerWeek":"5""#, "data.capacityPerWeek", "expected a number, got a string"),
        ("nl.ketenzicht.party.registered", #""party":"p","name":"n","domain":"wmo","capacityPerWeek":-1"#, "data.capacityPerWeek", "must be a number ≥ 0, got -1.0"),
        ("nl.ketenzicht.party.registered", #""party":"p","name":"n","domain":"wmo","normDays":1e999"#, "data.normDays", "number out of range"),
        ("nl.ketenzicht.party.registered", #""party":"p","name":"n","domain":"wmo","regieEligible":"yes""#, "data.regieEligible", "expected true or false, got a string"),
        ("nl.ketenzicht.party.registered", #""party":"p","domain":"wmo""#, "data.name", "missing"),
        ("nl.ketenzicht.case.assessed", #""case":"c","zrm":[1,2]"#, "data.zrm", "expected an object of scores, got an array"),
        ("nl.ketenzicht.case.assessed", #""case":"c","zrm":{}"#, "data.zrm", "holds no scores"),
        ("nl.ketenzicht.case.assessed", #""case":"c","zrm":{"financien":"2"}"#, "data.zrm.financien", "expected a number, got a string"),
        ("nl.ketenzicht.case.assessed", #""case":"c","zrm":{"financien":2.5}"#, "data.zrm.financien", "ZRM score must be a whole number 1 to 5, got 2.5"),
        ("nl.ketenzicht.case.assessed", #""case":"c","zrm":{"geluk":2}"#, "data.zrm.geluk", "unknown ZRM life domain; expected one of " + DomainCatalog.zrmLifeDomains.sorted().joined(separator: ", ")),
    ]

    @Test(arguments: dataCases)
    func dataProblems(type: String, data: String, field: String, message: String) throws {
        let line = F.line(id: "e-7", type: type, data: data)
        let (issue, raw) = try badLine(line)
        #expect(issue.field == field)
        #expect(issue.message == message)
        #expect(issue.event == EventIdentity(source: "urn:test", id: "e-7"))
        #expect(issue.description == "in.ndjson:2: event e-7 (urn:test): \(field): \(message)")
        #expect(raw == line)
    }

    @Test func bsnFailingElfproefIsNotEchoed() throws {
        #expect(Pseudonymizer.passesElfproef(F.validBSN))
        #expect(!Pseudonymizer.passesElfproef(F.invalidBSN))
        for type in ["nl.ketenzicht.referral.created", "nl.ketenzicht.case.assessed", "nl.ketenzicht.regie.assigned"] {
            let data = #""referral":"r","bsn":"\#(F.invalidBSN)","from":"a","to":"b","zrm":{"financien":1},"party":"p""#
            let (issue, _) = try badLine(F.line(id: "e-8", type: type, data: data))
            #expect(issue.field == "data.bsn")
            #expect(issue.message == "BSN fails the elfproef (11-check)")
            #expect(!issue.description.contains(F.invalidBSN))
        }
    }

    // MARK: - Batch arrays with bad elements

    @Test func batchKeepsNeighboursOfBadElements() throws {
        let text = "[\n" + [
            F.line(id: "1"),
            F.line(id: "2", type: "nl.ketenzicht.nope"),
            "42",
            F.line(id: "4", extra: ",\"dup\":1,\"dup\":2"),
            F.line(id: "5").replacingOccurrences(of: "r-1", with: "r-\u{1}"),
            F.line(id: "6"),
        ].joined(separator: ",\n") + "\n]"
        var bytes = Array(text.utf8)
        // Invalid UTF-8 inside element 5's string does not hide element 6.
        let marker = bytes.firstIndex(of: 0x01)!
        bytes[marker] = 0xFF
        let records = F.decode(bytes, origin: "b.json")
        #expect(records.map(\.location.line) == [2, 3, 4, 5, 6, 7])
        #expect(records.compactMap(\.event).map(\.identity.id) == ["1", "6"])
        #expect(records[1].issue?.field == "type")
        #expect(records[2].issue?.message == "a batch array element must be an event object, got a number")
        #expect(records[2].raw == "42")
        #expect(records[3].issue?.message.contains("duplicate key \"dup\"") == true)
        #expect(records[3].issue?.event == EventIdentity(source: "urn:test", id: "4"))
        #expect(records[4].issue?.message.contains("invalid UTF-8 (byte 0xFF)") == true)
        #expect(records[0].raw == nil)
    }

    @Test func batchStopsAtAStructuralError() throws {
        let text = "[" + F.line(id: "1") + ",\n" + F.line(id: "2") + ",\n{\"id\" \"3\"},\n" + F.line(id: "4") + "]"
        let records = F.decode(text)
        #expect(records.count == 3)
        #expect(records.compactMap(\.event).map(\.identity.id) == ["1", "2"])
        let issue = try #require(records.last?.issue)
        #expect(issue.location.line == 3)
        #expect(issue.message == "malformed JSON (column 7): expected ':' after an object key, found '\"'; the rest of the batch array cannot be read")
    }

    @Test func batchFramingErrors() throws {
        let one = F.line(id: "1")
        // Missing comma between elements.
        var records = F.decode("[" + one + "\n" + F.line(id: "2") + "]")
        #expect(records.compactMap(\.event).count == 1)
        #expect(records.last?.issue?.message == "malformed JSON (column 1): expected ',' or ']' after a batch array element, found '{'; the rest of the batch array cannot be read")
        // Trailing comma.
        records = F.decode("[" + one + ",]")
        #expect(records.compactMap(\.event).count == 1)
        #expect(records.last?.issue?.message.contains("trailing ','") == true)
        // Content after the array.
        records = F.decode("[" + one + "]\n" + one)
        #expect(records.compactMap(\.event).count == 1)
        #expect(records.last?.issue?.location.line == 2)
        #expect(records.last?.issue?.message == "malformed JSON (column 1): unexpected '{' after the batch array's closing ']'")
        // Truncated array.
        records = F.decode("[" + one + ",\n" + String(one.prefix(50)))
        #expect(records.compactMap(\.event).count == 1)
        #expect(records.last?.issue?.location.line == 2)
        #expect(records.last?.issue?.message.contains("truncated?") == true)
        records = F.decode("[" + one)
        #expect(records.compactMap(\.event).count == 1)
        #expect(records.last?.issue?.message.contains("inside the batch array (truncated?)") == true)
    }

    @Test func batchElementTooLongIsSkipped() throws {
        let decoder = CloudEventsDecoder(assembler: F.assembler, maxLineBytes: 1000)
        let long = F.line(id: "long", extra: #","pad":[""# + String(repeating: "x", count: 3000) + "\"]")
        let records = F.decode("[" + F.line(id: "1") + "," + long + "," + F.line(id: "3") + "]", decoder: decoder)
        #expect(records.compactMap(\.event).map(\.identity.id) == ["1", "3"])
        #expect(records[1].issue?.message == "batch array element is longer than the limit of 1000 bytes; not decoded")
    }

    @Test func batchErrorsOnLaterLinesNameLineAndColumn() throws {
        let text = "[\n{\n  \"specversion\": \"1.0\",\n  \"id\": \"x\",\n  \"source\": \"s\",\n  \"bad\": tru\n}\n]"
        let records = F.decode(text)
        let issue = try #require(records.first?.issue)
        #expect(issue.location.line == 2)
        #expect(issue.event == EventIdentity(source: "s", id: "x"))
        #expect(issue.message == "malformed JSON (line 6, column 10): expected a JSON value, found 't'; the rest of the batch array cannot be read")
    }

    /// A batch array written on one line (as `JSON.stringify` writes it): lines and columns are
    /// counted once for the whole array. Each element used to walk back to the start of its line,
    /// so 20,000 events on one line took a minute instead of a second.
    @Test func batchOnOneLineNamesColumns() throws {
        let good = F.line(id: "g")
        let bad = F.line(id: "b", data: #""referral":"r-\uD800""#)
        let elements = (0..<5_000).map { $0 % 1_000 == 999 ? bad : good.replacingOccurrences(of: #""id":"g""#, with: "\"id\":\"g\($0)\"") }
        let text = "\n[" + elements.joined(separator: ",") + "]"
        let records = F.decode(text, origin: "one-line.json")
        #expect(records.count == 5_000)
        #expect(records.allSatisfy { $0.location.line == 2 })
        let failures = records.compactMap(\.issue)
        #expect(failures.count == 5)
        let secondLine = try #require(text.split(separator: "\n").last)
        let escape = try #require(secondLine.firstRange(of: #"\uD800"#))
        let column = secondLine.utf8.distance(from: secondLine.startIndex, to: escape.lowerBound) + 1
        #expect(failures.first?.message == "malformed JSON (column \(column)): lone surrogate \\uD800: a high surrogate must be followed by a \\u escape of a low surrogate")
    }
}
