import KetenzichtCore
import Testing
@testable import KetenzichtIngest
import XMLStreaming

private let pseudonymizer = Pseudonymizer(keyBytes: Array(repeating: 7, count: 32))
private let namespace = "urn:ketenzicht:exchange:1"
private let t = "2026-03-02T10:00:00+01:00"
private let goodA = #"<accepted id="a-1" source="s" time="\#(t)" referral="r-1"/>"#
private let goodB = #"<started id="a-2" source="s" time="\#(t)" referral="r-1"/>"#

/// What a record says, in a form two decodes can be compared by.
private func summary(_ record: DecodeRecord) -> String {
    switch record.outcome {
    case .event(let event): "\(record.location): event \(event.canonicalJSON)"
    case .failure(let issue, let raw): "\(issue.description) | raw: \(raw ?? "-")"
    }
}

private func decode(_ xml: String, streaming: Bool) -> [String] {
    var decoder = CanonicalXMLDecoder(assembler: EventAssembler(pseudonymizer: pseudonymizer))
    decoder.streamingValidation = streaming
    var records: [String] = []
    decoder.decode(.bytes(Array(xml.utf8), origin: "test.xml"), progress: nil) { records.append(summary($0)) }
    return records
}

private func document(_ body: String, rootAttributes: String = "") -> String {
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<exchanges xmlns=\"\(namespace)\"\(rootAttributes)>\n\(body)\n</exchanges>\n"
}

private let long257 = String(repeating: "a", count: 257)
private let wide200 = String(repeating: "é", count: 200)
private let wide257 = String(repeating: "é", count: 257)

/// Values per XSD simple type: plain ones, edge cases libxml2 accepts and ones it refuses.
private let values: [(attribute: String, element: String, values: [String])] = [
    ("id", "accepted", ["", "x", String(repeating: "a", count: 256), long257, wide200, wide257, " x ", "&#9;", "a&amp;b"]),
    ("time", "accepted", [
        "2026-03-02T10:00:00Z", "2026-03-02T10:00:00", "2026-03-02T10:00:00.5+01:00", "2026-02-29T10:00:00Z",
        "2024-02-29T10:00:00Z", "1900-02-29T10:00:00Z", "2000-02-29T10:00:00Z", "2027-06-31T10:00:00+02:00",
        "2026-03-02T24:00:00Z", "2026-03-02T23:59:60Z", "2026-03-02T10:00:00+14:00", "2026-03-02T10:00:00-14:00",
        "2026-03-02T10:00:00+13:59", "2026-03-02T10:00:00+14:01", "0999-01-01T00:00:00Z", "0000-01-01T00:00:00Z",
        " 2026-03-02T10:00:00Z ", "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z", "2026-03-00T00:00:00Z",
        "2026-03-02 10:00:00", "2026-03-02T10:00:00.1234567Z", "2026-03-02T10:00:00.Z", "-2026-03-02T10:00:00Z",
        "2026-3-02T10:00:00Z", "12026-03-02T10:00:00Z", "2026-03-02T10:00:00+0100", "2026-03-02T10:00:00z", "",
    ]),
    ("bsn", "regie", ["111222333", "12345678", "1234567890", "11122233a", " 111222333", "١١١٢٢٢٣٣٣"]),
    ("urgency", "referral", ["regulier", "urgent", "crisis", "Urgent", " urgent", ""]),
    ("capacityPerWeek", "party", [
        "0", "4.5", "-1", "-0", "+4", "1e3", "00012", "0.0000001", "0.000001", "1234567890123456", "123456789012345",
        "  4 ", ".5", "5.", "vier", String(repeating: "9", count: 30), "",
    ]),
    ("normDays", "party", ["0", "0.0", "28", "0.5", "-1", "1e400", "0.000000", "000.001"]),
    ("regieEligible", "party", ["true", "false", "1", "0", "TRUE", " true", "yes", ""]),
    ("outcome", "completed", ["", "klaar", String(repeating: "x", count: 4097), String(repeating: "é", count: 3000)]),
]

private func element(_ name: String, with attribute: String, value: String) -> String {
    var attributes: [(String, String)]
    let children: String
    switch name {
    case "regie": attributes = [("case", "c-1"), ("party", "km")]; children = ""
    case "referral": attributes = [("referral", "r-9"), ("case", "c-1"), ("from", "km"), ("to", "ggz")]; children = ""
    case "party": attributes = [("party", "km"), ("domain", "wmo")]; children = "<name>KM</name>"
    case "completed": attributes = [("referral", "r-1")]; children = ""
    default: attributes = [("referral", "r-1")]; children = ""
    }
    attributes = [("id", "v-1"), ("source", "s"), ("time", t)] + attributes
    if attribute == "bsn" { attributes.removeAll { $0.0 == "case" } }
    if let index = attributes.firstIndex(where: { $0.0 == attribute }) {
        attributes[index].1 = value
    } else {
        attributes.append((attribute, value))
    }
    let text = attributes.map { " \($0.0)=\"\($0.1)\"" }.joined()
    return children.isEmpty ? "<\(name)\(text)/>" : "<\(name)\(text)>\(children)</\(name)>"
}

private let envelope = #"id="v-1" source="s" time="\#(t)""#

/// Content models and namespaces, valid and not.
private let structures: [String] = [
    #"<party \#(envelope) party="km" domain="wmo"><name>KM</name></party>"#,
    #"<party \#(envelope) party="km" domain="wmo"/>"#,
    #"<party \#(envelope) party="km" domain="wmo">  <name>KM</name>\#n  </party>"#,
    #"<party \#(envelope) party="km" domain="wmo">junk<name>KM</name></party>"#,
    #"<party \#(envelope) party="km" domain="wmo"><name>KM</name>junk</party>"#,
    #"<party \#(envelope) party="km" domain="wmo"><name>KM</name><name>KM</name></party>"#,
    #"<party \#(envelope) party="km" domain="wmo"><foo/>junk<name>KM</name></party>"#,
    #"<party \#(envelope) party="km" domain="wmo">a<!-- c -->b<name>KM</name></party>"#,
    #"<party \#(envelope) party="km" domain="wmo"><name lang="nl">KM</name></party>"#,
    #"<party \#(envelope) party="km" domain="wmo"><name>K<b/>M</name></party>"#,
    #"<party \#(envelope) party="km" domain="wmo"><name><![CDATA[K&M]]></name></party>"#,
    #"<party \#(envelope) party="km" domain="wmo"><name>\#(String(repeating: "n", count: 4097))</name></party>"#,
    #"<party \#(envelope) party="km" domain="wmo"><name>\#(String(repeating: "é", count: 4000))</name></party>"#,
    #"<party \#(envelope) party="km" domain="wmo"><name xmlns="urn:other">KM</name></party>"#,
    #"<party \#(envelope) party="km" domain="wmo"><name></name></party>"#,
    #"<party \#(envelope) domain="wmo" colour="red"><name>KM</name></party>"#,
    #"<assessment \#(envelope) case="c-1"><score domain="financien" value="2"/><score domain="huisvesting" value="4"/></assessment>"#,
    #"<assessment \#(envelope) case="c-1"></assessment>"#,
    #"<assessment \#(envelope) case="c-1"><score domain="financien" value="2">x</score></assessment>"#,
    #"<assessment \#(envelope) case="c-1"><score domain="financien" value="2"> </score></assessment>"#,
    #"<assessment \#(envelope) case="c-1"><score domain="financien"/></assessment>"#,
    #"<assessment \#(envelope) case="c-1"><score value="9"/></assessment>"#,
    #"<assessment \#(envelope) case="c-1"><score domain="financien" value="2" extra="1"/></assessment>"#,
    #"<assessment \#(envelope) case="c-1"><score domain="financien" value="2"><score domain="x" value="1"/></score></assessment>"#,
    #"<assessment \#(envelope) case="c-1" bsn="111222333"><score domain="financien" value="2"/></assessment>"#,
    #"<assessment \#(envelope)><score domain="financien" value="2"/></assessment>"#,
    #"<referral \#(envelope) referral="r-9" case="c-1" from="km" to="ggz"><dependsOn ref="r-1"/><dependsOn ref=""/></referral>"#,
    #"<referral \#(envelope) referral="r-9" case="c-1" from="km" to="ggz"><dependsOn/></referral>"#,
    #"<referral \#(envelope) referral="r-9" case="c-1" from="km" to="ggz"><score domain="financien" value="2"/></referral>"#,
    #"<referral \#(envelope) referral="r-9" case="c-1" from="km" to="ggz">\#n  <dependsOn ref="r-1"/>\#n</referral>"#,
    #"<referral \#(envelope) referral="r-9" case="c-1" from="km" to="ggz"><dependsOn ref="r-1"></dependsOn>x</referral>"#,
    #"<accepted \#(envelope) referral="r-1"> </accepted>"#,
    #"<accepted \#(envelope) referral="r-1">x</accepted>"#,
    #"<accepted \#(envelope) referral="r-1"><!-- note --></accepted>"#,
    #"<accepted \#(envelope) referral="r-1"><reason>x</reason></accepted>"#,
    #"<accepted \#(envelope) referral="r-1" xmlns:x="urn:other" x:colour="red"/>"#,
    #"<accepted \#(envelope) referral="r-1" a:colour="red"/>"#,
    #"<accepted \#(envelope) referral="r-1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true"/>"#,
    #"<accepted \#(envelope) referral="r-1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:k="urn:ketenzicht:exchange:1" xsi:type="k:StatusEvent"/>"#,
    #"<accepted \#(envelope) referral="r-1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:k="urn:ketenzicht:exchange:1" xsi:type="k:EndedEvent"/>"#,
    #"<accepted \#(envelope) referral="r-1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="nope:Thing"/>"#,
    #"<k:accepted xmlns:k="urn:ketenzicht:exchange:1" \#(envelope) referral="r-1"/>"#,
    #"<accepted \#(envelope) referral="r-1" xml:lang="nl"/>"#,
    #"<completed \#(envelope) referral="r-1" outcome="ok"><reason>x</reason></completed>"#,
    #"<rejected \#(envelope) referral="r-1"/>"#,
    #"<rejected \#(envelope) referral="r-1"><reason>vol</reason></rejected>"#,
    #"<rejected \#(envelope) referral="r-1"><reason>vol</reason><reason>vol</reason></rejected>"#,
    #"<withdrawn \#(envelope) referral="r-1"> <reason>\#(String(repeating: "r", count: 5000))</reason> </withdrawn>"#,
    #"<withdrawn \#(envelope)><reason>x</reason></withdrawn>"#,
    #"<regie \#(envelope) case="c-1" party="km"/>"#,
    #"<regie \#(envelope) case="c-1"/>"#,
    #"<regie \#(envelope) party="km" case="c-1" bsn="111222333"/>"#,
    #"<moved \#(envelope) referral="r-1"/>"#,
    #"<accepted xmlns="urn:other" \#(envelope) referral="r-1"/>"#,
    #"<accepted xmlns="" \#(envelope) referral="r-1"/>"#,
]

@Suite("Exchange validation: the Swift fast path against libxml2's streaming validation")
struct ExchangeValidationTests {
    private static var variants: [String] {
        values.flatMap { entry in entry.values.map { element(entry.element, with: entry.attribute, value: $0) } } + structures
    }

    @Test("every variant decodes to the same records both ways, alone between good neighbours")
    func eachVariant() {
        for variant in Self.variants {
            let xml = document("\(goodA)\n\(variant)\n\(goodB)")
            #expect(decode(xml, streaming: false) == decode(xml, streaming: true), "\(variant)")
        }
    }

    @Test("all variants in one document decode to the same records both ways")
    func allVariantsTogether() {
        let xml = document(Self.variants.joined(separator: "\n"))
        let fast = decode(xml, streaming: false)
        let streaming = decode(xml, streaming: true)
        #expect(fast.count == streaming.count)
        for (one, other) in zip(fast, streaming) { #expect(one == other) }
    }

    @Test("the fast path accepts only what libxml2 accepts, and takes the common shapes")
    func fastPathIsNarrower() throws {
        let schema = try XMLSchema(xsd: ExchangeSchema.xsd)
        for variant in Self.variants {
            let reader = try XMLStreamReader(bytes: Array(document(variant).utf8))
            while reader.read() == .node, !(reader.depth == 1 && reader.nodeKind == .element) {}
            let element = try #require(reader.readElement())
            guard element.namespaceURI == namespace, let type = CanonicalXMLDecoder.eventType(ofElement: element.localName) else { continue }
            if ExchangeValidation.isPlainlyValid(element, type: type) {
                #expect(schema.issues(in: element) == [], "\(variant)")
            }
        }
        let common = [
            #"<party \#(envelope) party="km" domain="wmo" capacityPerWeek="4.5" normDays="28" regieEligible="false"><name>KM</name></party>"#,
            #"<assessment \#(envelope) bsn="111222333"><score domain="financien" value="2"/></assessment>"#,
            #"<referral \#(envelope) referral="r-9" case="c-1" from="km" to="ggz" urgency="crisis" lifeDomain="financien"><dependsOn ref="r-1"/></referral>"#,
            #"<completed id="v-1" source="s" time="2026-03-02T10:00:00.125Z" referral="r-1" outcome="ok"/>"#,
            #"<withdrawn \#(envelope) referral="r-1"><reason>x</reason></withdrawn>"#,
            #"<regie \#(envelope) case="c-1" party="km"/>"#,
        ]
        for text in common {
            let reader = try XMLStreamReader(bytes: Array(document(text).utf8))
            while reader.read() == .node, !(reader.depth == 1 && reader.nodeKind == .element) {}
            let element = try #require(reader.readElement())
            let type = try #require(CanonicalXMLDecoder.eventType(ofElement: element.localName))
            #expect(ExchangeValidation.isPlainlyValid(element, type: type), "\(text)")
        }
    }

    @Test("xsi: attributes on the root switch the whole document to streaming validation")
    func instanceAttributesOnRoot() {
        let xsi = #" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance""#
        for attributes in [xsi + #" xsi:nil="true""#, xsi + #" xmlns:k="urn:ketenzicht:exchange:1" xsi:type="k:StatusEvent""#, xsi + #" xsi:schemaLocation="urn:x y""#] {
            let xml = document("\(goodA)\n\(goodB)", rootAttributes: attributes)
            #expect(decode(xml, streaming: false) == decode(xml, streaming: true), "\(attributes)")
        }
    }
}
