import Foundation
import KetenzichtCore
import KetenzichtIngest
import Testing
import KetenzichtTestSupport

/// The decoder against Foundation's JSONDecoder: both read the same lines, the Codable mirror's
/// fields go through the same assembler, and the events (or field problems) must agree.
@Suite("CloudEvents differential")
struct CloudEventsDifferentialTests {
    typealias F = CloudEventsFixture

    struct Envelope: Codable {
        var specversion: String
        var id: String
        var source: String
        var type: String
        var time: String
        var data: Payload
        var ext: Extension?
    }

    /// An unknown extension attribute, nested, that both sides must skip.
    struct Extension: Codable {
        var note: String
        var values: [Double]
        var inner: [String: String]?
    }

    struct Payload: Codable {
        var party: String?
        var name: String?
        var domain: String?
        var capacityPerWeek: Double?
        var normDays: Double?
        var regieEligible: Bool?
        var `case`: String?
        var bsn: String?
        var referral: String?
        var from: String?
        var to: String?
        var urgency: String?
        var lifeDomain: String?
        var dependsOn: [String]?
        var outcome: String?
        var reason: String?
        /// Kept as ordered pairs: the generator writes at most one bad score so order cannot matter.
        var zrm: [String: Double]?
        var unknownField: [String: [Int]]?
    }

    /// The mirror's data as the assembler's field source.
    struct MirrorFields: EventFieldSource {
        var payload: Payload
        func displayName(of field: DataField) -> String { "data." + field.keyText }
        func string(_ field: DataField) throws(FieldProblem) -> String? {
            switch field {
            case .party: payload.party
            case .name: payload.name
            case .domain: payload.domain
            case .case: payload.case
            case .bsn: payload.bsn
            case .referral: payload.referral
            case .from: payload.from
            case .to: payload.to
            case .urgency: payload.urgency
            case .lifeDomain: payload.lifeDomain
            case .outcome: payload.outcome
            case .reason: payload.reason
            default: nil
            }
        }
        func number(_ field: DataField) throws(FieldProblem) -> Double? {
            field == .capacityPerWeek ? payload.capacityPerWeek : field == .normDays ? payload.normDays : nil
        }
        func bool(_ field: DataField) throws(FieldProblem) -> Bool? { field == .regieEligible ? payload.regieEligible : nil }
        func stringList(_ field: DataField) throws(FieldProblem) -> [String]? { field == .dependsOn ? payload.dependsOn : nil }
        func scores(_ field: DataField) throws(FieldProblem) -> [(String, Double)]? {
            guard field == .zrm, let zrm = payload.zrm else { return nil }
            return zrm.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        }
    }

    enum Outcome: Equatable, CustomStringConvertible {
        case event(Event)
        case problem(field: String?, message: String)

        var description: String {
            switch self {
            case .event(let event): event.canonicalJSON
            case .problem(let field, let message): "\(field ?? "-"): \(message)"
            }
        }
    }

    static func reference(_ line: String) throws -> Outcome {
        let envelope = try JSONDecoder().decode(Envelope.self, from: Data(line.utf8))
        #expect(envelope.specversion == "1.0")
        do {
            return .event(try F.assembler.assemble(id: envelope.id, source: envelope.source, type: envelope.type, time: envelope.time, fields: MirrorFields(payload: envelope.data)))
        } catch {
            return .problem(field: error.field, message: error.message)
        }
    }

    static func ours(_ text: String) -> [Outcome] {
        F.decode(text).map { record in
            switch record.outcome {
            case .event(let event): .event(event)
            case .failure(let issue, _): .problem(field: issue.field, message: issue.message)
            }
        }
    }

    /// Hand-written lines with every escape, surrogate pairs, emoji, odd numbers and whitespace.
    static let corpus: [String] = [
        F.exampleLine,
        #" { "specversion" : "1.0" , "id" : "e\"1\\" , "source" : "urn:\/x" , "type" : "nl.ketenzicht.referral.completed" , "time" : "2026-03-02T10:00:00.123Z" , "data" : { "referral" : "r\b\f\n\r\t" , "outcome" : "\u00e9\u20ac\ud83d\ude00\uD834\uDD1E\u0000" } } "#,
        "\t{\"specversion\":\"1.0\",\r\"id\":\"tabs\",\"source\":\"s\",\"type\":\"nl.ketenzicht.referral.started\",\"time\":\"2026-03-02T10:00:00Z\",\"data\":{\"referral\":\"r-😀-ß-中文-🇳🇱\"}}\r",
        #"{"specversion":"1.0","id":"n","source":"s","type":"nl.ketenzicht.party.registered","time":"2026-03-02T10:00:00Z","data":{"party":"p","name":"N","domain":"ggz","capacityPerWeek":1.25E+2,"normDays":0.5e-0,"regieEligible":true}}"#,
        #"{"specversion":"1.0","id":"n2","source":"s","type":"nl.ketenzicht.party.registered","time":"2026-03-02T10:00:00Z","data":{"party":"p","name":"N","domain":"ggz","capacityPerWeek":-0.0,"normDays":123456789012345678901234567890}}"#,
        #"{"specversion":"1.0","id":"n3","source":"s","type":"nl.ketenzicht.party.registered","time":"2026-03-02T10:00:00Z","data":{"party":"p","name":"N","domain":"ggz","capacityPerWeek":0.1000000000000000055511151231257827,"normDays":4.9406564584124654e-324}}"#,
        #"{"specversion":"1.0","id":"n4","source":"s","type":"nl.ketenzicht.party.registered","time":"2026-03-02T10:00:00Z","data":{"party":"p","name":"N","domain":"ggz","capacityPerWeek":1.7976931348623157e308,"normDays":2.2250738585072014E-308}}"#,
        #"{"specversion":"1.0","id":"z","source":"s","type":"nl.ketenzicht.case.assessed","time":"2026-03-02T10:00:00Z","data":{"case":"c","zrm":{"financien":1,"justitie":5.0,"huisvesting":30e-1}},"ext":{"note":"x","values":[1e5,-2.5E-3,0],"inner":{"a":"\"}{]["}}}"#,
        #"{"ext":{"note":"first","values":[],"inner":null},"data":{"unknownField":{"a":[1,2,3]},"reason":"\u005c","referral":"r"},"time":"2026-02-28T23:59:60+14:00","type":"nl.ketenzicht.referral.withdrawn","source":"s","id":"reordered","specversion":"1.0"}"#,
        #"{"specversion":"1.0","id":"bsn","source":"s","type":"nl.ketenzicht.referral.created","time":"2024-02-29T00:00:00-12:00","data":{"referral":"r","bsn":"111222333","from":"a","to":"b","dependsOn":["x","y\u0000"]}}"#,
        #"{"specversion":"1.0","id":"ctl\u001f","source":"s","type":"nl.ketenzicht.referral.accepted","time":"2026-03-02T10:00:00Z","data":{"referral":"r"}}"#,
    ]

    @Test func handWrittenCorpusAgrees() throws {
        let decoded = Self.ours(Self.corpus.joined(separator: "\n"))
        #expect(decoded.count == Self.corpus.count)
        for (line, ours) in zip(Self.corpus, decoded) {
            #expect(ours == (try Self.reference(line)), "\(line)")
        }
    }

    @Test func randomEventsAgree() throws {
        var generator = SplitMix64(seed: 0x6B65_7465_6E7A_6963)
        let encoder = JSONEncoder()
        var lines: [String] = []
        for index in 0..<2000 {
            let envelope = Self.randomEnvelope(index: index, using: &generator)
            encoder.outputFormatting = Bool.random(using: &generator) ? [.sortedKeys] : [.withoutEscapingSlashes]
            lines.append(String(decoding: try encoder.encode(envelope), as: UTF8.self))
        }
        let decoded = Self.ours(lines.joined(separator: "\n"))
        #expect(decoded.count == lines.count)
        var events = 0
        for (line, ours) in zip(lines, decoded) {
            let reference = try Self.reference(line)
            #expect(ours == reference, "\(line)")
            if case .event = ours { events += 1 }
        }
        // The generator mostly writes valid events; make sure the comparison is about events.
        #expect(events > 1000)
    }

    @Test func batchArrayOfRandomEventsAgrees() throws {
        var generator = SplitMix64(seed: 42)
        let envelopes = (0..<200).map { Self.randomEnvelope(index: $0, using: &generator) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted]
        let batch = String(decoding: try encoder.encode(envelopes), as: UTF8.self)
        let references = try envelopes.map { try Self.reference(String(decoding: try JSONEncoder().encode($0), as: UTF8.self)) }
        #expect(Self.ours(batch) == references)
    }

    // MARK: - Generator

    static func randomEnvelope(index: Int, using generator: inout SplitMix64) -> Envelope {
        var payload = Payload()
        let types = EventType.allCases
        let type = types[Int.random(in: 0..<types.count, using: &generator)]
        func text(_ max: Int = 24) -> String { randomString(maxLength: max, using: &generator) }
        func caseOrBSN() {
            switch Int.random(in: 0..<10, using: &generator) {
            case 0: payload.bsn = "111222333"
            case 1: payload.bsn = "123456789"
            default: payload.case = text()
            }
        }
        switch type {
        case .partyRegistered:
            payload.party = text()
            payload.name = text(80)
            payload.domain = ["ggz", "wmo", text()].randomElement(using: &generator)
            if Bool.random(using: &generator) { payload.capacityPerWeek = randomNumber(using: &generator) }
            if Bool.random(using: &generator) { payload.normDays = randomNumber(using: &generator) }
            if Bool.random(using: &generator) { payload.regieEligible = Bool.random(using: &generator) }
        case .caseAssessed:
            caseOrBSN()
            var zrm: [String: Double] = [:]
            for domain in DomainCatalog.zrmLifeDomains where Int.random(in: 0..<3, using: &generator) == 0 {
                zrm[domain] = Double(Int.random(in: 1...5, using: &generator))
            }
            if Int.random(in: 0..<20, using: &generator) == 0 { zrm["financien"] = 2.5 }
            payload.zrm = zrm
        case .referralCreated:
            payload.referral = text()
            caseOrBSN()
            payload.from = text()
            payload.to = Int.random(in: 0..<30, using: &generator) == 0 ? payload.from : text()
            if Bool.random(using: &generator) { payload.urgency = Urgency.allCases.randomElement(using: &generator)?.rawValue }
            if Bool.random(using: &generator) { payload.lifeDomain = DomainCatalog.zrmLifeDomains.randomElement(using: &generator) }
            if Bool.random(using: &generator) { payload.dependsOn = (0..<Int.random(in: 0...3, using: &generator)).map { _ in text() } }
        case .referralAccepted, .referralStarted:
            payload.referral = text()
        case .referralCompleted:
            payload.referral = text()
            if Bool.random(using: &generator) { payload.outcome = text(200) }
        case .referralRejected, .referralWithdrawn:
            payload.referral = text()
            if Bool.random(using: &generator) { payload.reason = text(200) }
        case .regieAssigned:
            caseOrBSN()
            payload.party = text()
        }
        if Int.random(in: 0..<4, using: &generator) == 0 { payload.unknownField = [text(): [1, 2]] }
        let ext = Int.random(in: 0..<4, using: &generator) == 0
            ? Extension(note: text(), values: [randomNumber(using: &generator)], inner: [text(): text()]) : nil
        // Now and then a day the month does not have (2026-02-30), refused by both.
        let day = Int.random(in: 0..<20, using: &generator) == 0 ? 31 : Int.random(in: 1...28, using: &generator)
        let month = Int.random(in: 1...12, using: &generator)
        let time = String(format: "2026-%02d-%02dT%02d:%02d:%02d%@", month, day, Int.random(in: 0...23, using: &generator), Int.random(in: 0...59, using: &generator),
                          Int.random(in: 0...59, using: &generator), ["Z", "+01:00", ".5Z", "-05:30"].randomElement(using: &generator)!)
        return Envelope(specversion: "1.0", id: "e-\(index)-" + text(12), source: "urn:" + text(30), type: type.rawValue, time: time, data: payload, ext: ext)
    }

    static func randomNumber(using generator: inout SplitMix64) -> Double {
        switch Int.random(in: 0..<5, using: &generator) {
        case 0: Double(Int.random(in: 0...100, using: &generator))
        case 1: Double.random(in: 0...1, using: &generator)
        case 2: Double.random(in: 0...1e6, using: &generator)
        case 3: Double.random(in: 1e-12...1e-3, using: &generator)
        default: -Double.random(in: 0...10, using: &generator)
        }
    }

    /// Mostly ASCII identifiers, with quotes, backslashes, slashes, controls, accents, CJK, emoji.
    static func randomString(maxLength: Int, using generator: inout SplitMix64) -> String {
        let length = Int.random(in: 1...maxLength, using: &generator)
        var scalars = String.UnicodeScalarView()
        for _ in 0..<length {
            // Control characters are rare: identifiers holding one are (rightly) refused by both.
            let value: UInt32 = switch Int.random(in: 0..<400, using: &generator) {
            case 0..<10: [0x22, 0x5C, 0x2F].randomElement(using: &generator)!
            case 10: UInt32.random(in: 0x01...0x1F, using: &generator)
            case 11..<20: UInt32.random(in: 0xA0...0x7FF, using: &generator)
            case 20..<30: UInt32.random(in: 0x4E00...0x9FFF, using: &generator)
            case 30..<40: UInt32.random(in: 0x1F300...0x1FAFF, using: &generator)
            case 40..<45: UInt32.random(in: 0xE000...0xFFFD, using: &generator)
            default: UInt32.random(in: 0x21...0x7E, using: &generator)
            }
            if let scalar = Unicode.Scalar(value) { scalars.append(scalar) }
        }
        return String(scalars)
    }
}
