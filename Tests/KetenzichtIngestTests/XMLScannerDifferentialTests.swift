import Foundation
import KetenzichtCore
import Testing
@testable import KetenzichtIngest
import XMLStreaming

private let pseudonymizer = Pseudonymizer(keyBytes: Array(repeating: 7, count: 32))
private let namespace = "urn:ketenzicht:exchange:1"
private let t = "2026-03-02T10:00:00+01:00"

/// Everything a record says, lines, raw quarantine text and all, in a form two decodes can be
/// compared by.
private func summary(_ record: DecodeRecord) -> String {
    switch record.outcome {
    case .event(let event): "\(record.location): event \(event.canonicalJSON)"
    case .failure(let issue, let raw): "\(record.location) | \(issue.description) | raw: \(raw ?? "-")"
    }
}

private func decode(_ input: IngestInput, scanning: Bool, chunkSize: Int = 65_536) -> [String] {
    var decoder = CanonicalXMLDecoder(assembler: EventAssembler(pseudonymizer: pseudonymizer))
    decoder.scanning = scanning
    decoder.scanChunkSize = chunkSize
    var records: [String] = []
    decoder.decode(input, progress: nil) { records.append(summary($0)) }
    return records
}

private func decode(_ xml: String, scanning: Bool) -> [String] {
    decode(.bytes(Array(xml.utf8), origin: "test.xml"), scanning: scanning)
}

/// The same records, in the same order, through the scanner (with its hand-over) and through
/// the reader alone.
private func expectSameBothWays(_ input: IngestInput, _ comment: Comment? = nil, chunkSize: Int = 65_536, sourceLocation: SourceLocation = #_sourceLocation) {
    let scanned = decode(input, scanning: true, chunkSize: chunkSize)
    let read = decode(input, scanning: false)
    #expect(scanned.count == read.count, comment, sourceLocation: sourceLocation)
    for (one, other) in zip(scanned, read) where one != other {
        #expect(one == other, comment, sourceLocation: sourceLocation)
        return
    }
}

private func expectSameBothWays(_ xml: String, _ comment: Comment? = nil, chunkSize: Int = 65_536, sourceLocation: SourceLocation = #_sourceLocation) {
    expectSameBothWays(.bytes(Array(xml.utf8), origin: "test.xml"), comment, chunkSize: chunkSize, sourceLocation: sourceLocation)
}

private func document(_ body: String) -> String {
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<exchanges xmlns=\"\(namespace)\">\n\(body)\n</exchanges>\n"
}

/// Enough good events (about 400 KB) that the scanner settles and passes on a good many of them
/// before whatever follows makes it hand over; the reader then has to pass over exactly those.
private let longPrefix = (0..<4000).map { index in
    #"  <accepted id="a-\#(index)" source="urn:nl:gemeente:0363:participatie" time="\#(t)" referral="r-\#(index)"/>"#
}.joined(separator: "\n")

/// Elements that make the scanner hand over (or take the general path), and plain errors.
private let troublemakers: [String] = [
    #"<accepted id="x" source="s" time="\#(t)" referral="r-1"><![CDATA[x]]></accepted>"#,
    #"<accepted id="x" source="s" time="\#(t)" referral="r-1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true"/>"#,
    #"<accepted id="x" source="s" time="\#(t)" referral="r-1" xml:lang="nl"/>"#,
    #"<accepted id="x" source="s" time="\#(t)" referral="r-1" xml:id="1bad"/>"#,
    #"<accepted id="x" source="s" time="\#(t)" referral="r-1" a:colour="red"/>"#,
    #"<a:accepted id="x" source="s" time="\#(t)" referral="r-1"/>"#,
    #"<accepted id="x" source="s" time="\#(t)" referral="r-1">&foo;</accepted>"#,
    #"<accepted id="x" source="s" time="\#(t)" referral="r-1" id="y"/>"#,
    #"<accepted id="x" source="s" time="\#(t)" referral="r-1">"#,
    #"<accepted id="x" source="s" time="\#(t)" referral="r-1"/><!DOCTYPE x>"#,
    #"<accepted id="x" source="s" time="\#(t)" referral="r-1"/>"# + String(repeating: "tekst ", count: 4000),
    #"<accepted id="x" source="s" time="\#(t)" referral="r-1">"# + String(repeating: "<a>", count: 40) + String(repeating: "</a>", count: 40) + "</accepted>",
    #"<referral id="x" source="s" time="\#(t)" referral="r-9" case="c-1" from="km" to="ggz">"# + String(repeating: #"<dependsOn ref="r-1"/>"#, count: 1200) + "</referral>",
    #"<accepted id="a&amp;b" source="s&#38;t" time="\#(t)" referral="r&lt;1&gt;"/>"#,
    #"<accepted id="x" source="s" time="\#(t)" referral="r-1"><!-- c --></accepted>"#,
    #"<party id="x" source="s" time="\#(t)" party="km" domain="wmo"><name>K&amp;M<!-- c --> en &#x7A;o</name></party>"#,
    #"<accepted id="x" source="s" time="2027-06-31T10:00:00Z" referral="r-1"/>"#,
    #"<referral id="x" source="s" time="\#(t)" referral="r-9" case="c-1" from="km" to="km"/>"#,
    #"<regie id="x" source="s" time="\#(t)" bsn="123456789" party="km"/>"#,
    #"<moved id="x" source="s" time="\#(t)"/>"#,
    "<accepted id=\"x\" source=\"s\" time=\"\(t)\" referral=\"r-1\"/>\u{1}",
]

@Suite("XML scanner: SAX fast path against the reader alone")
struct XMLScannerDifferentialTests {
    @Test("each troublemaker, alone and after a long run of good events, decodes the same both ways")
    func troublemakersBothWays() {
        for element in troublemakers {
            let goodAfter = #"<started id="s-1" source="s" time="\#(t)" referral="r-1"/>"#
            expectSameBothWays(document("\(element)\n\(goodAfter)"), "alone: \(element.prefix(120))")
            expectSameBothWays(document("\(longPrefix)\n\(element)\n\(goodAfter)"), "after 4000: \(element.prefix(120))")
            // No whitespace between the elements: libxml2 attributes some errors differently.
            expectSameBothWays(document("\(longPrefix)\(element)\(goodAfter)"), "tight: \(element.prefix(120))")
        }
    }

    @Test("errors just past a chunk boundary land where the reader puts them")
    func errorsAtChunkBoundaries() {
        // An error in an element's start tag is tagged by the reader on the element before it,
        // when its parser (ahead of it) gets there before the reader has left that element. If
        // the scanner had passed that element on at the end of its chunk, the reader would pass
        // over it and the error would be lost. The settling lag prevents that; this slides such
        // pairs across the scanner's first chunk boundary, placed where it does not line up
        // with the reader's own reads (with a lag of 0, about half of these positions differ).
        let header = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<exchanges xmlns=\"\(namespace)\">\n"
        var prefix = ""
        var index = 0
        while prefix.utf8.count < 65_536 - 300 {
            prefix += #"<accepted id="a-\#(index)" source="urn:nl:gemeente:0363:participatie" time="\#(t)" referral="r-\#(index)"/>"# + "\n"
            index += 1
        }
        let pairs = [
            #"<accepted id="k" source="s" time="\#(t)" referral="r-1"/><a:accepted id="k1" source="s" time="\#(t)" referral="r-1"/>"#,
            #"<accepted id="k" source="s" time="\#(t)" referral="r-1"/><accepted id="k1" a:source="s" time="\#(t)" referral="r-1"/>"#,
        ]
        for chunkSize in [65_500, 65_700] {
            // The boundary is `chunkSize` bytes after the root's start tag.
            let boundary = header.utf8.count + chunkSize
            let firstShift = max(0, boundary - (header.utf8.count + prefix.utf8.count + 7) - 200)
            for pair in pairs {
                for shift in stride(from: firstShift, to: firstShift + 220, by: 3) {
                    let filler = "<!--" + String(repeating: "x", count: shift) + "-->"
                    expectSameBothWays(document(prefix + filler + pair + "\n"), "chunk \(chunkSize), shift \(shift): \(pair)", chunkSize: chunkSize)
                }
            }
        }
    }

    @Test("a document in another encoding decodes the same both ways")
    func otherEncoding() {
        let body = #"<party id="p" source="s" time="\#(t)" party="km" domain="wmo"><name>Caf"#
            + "\u{E9}" + #" Pi\#u{00EB}t</name></party><accepted id="a" source="s" time="\#(t)" referral="r-1" colour="r\#u{E9}d"/>"#
        let xml = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<exchanges xmlns=\"\(namespace)\">\n\(body)\n</exchanges>\n"
        let latin1 = xml.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) }
        expectSameBothWays(.bytes(latin1, origin: "latin1.xml"))
        #expect(decode(.bytes(latin1, origin: "latin1.xml"), scanning: true).first?.contains("Café Piët") == true)
    }

    @Test("a document of many tiny elements decodes the same both ways")
    func tinyElements() {
        // 100,000 refused elements of 4 bytes: too many records to wait for 256 KiB to settle,
        // so the scanner hands over to the reader, which holds nothing.
        let tiny = String(repeating: "<x/>", count: 100_000)
        expectSameBothWays(document(#"<accepted id="a" source="s" time="\#(t)" referral="r-1"/>"# + tiny))
    }

    @Test("a truncated long document keeps the same events both ways")
    func truncatedLongDocument() {
        let full = document(longPrefix)
        for cut in [full.utf8.count - 3, full.utf8.count - 20, full.utf8.count / 2, 300_000] {
            let bytes = Array(full.utf8.prefix(cut))
            expectSameBothWays(.bytes(bytes, origin: "cut.xml"), "cut at \(cut)")
        }
    }

    @Test("a long document with errors spread through it decodes the same both ways")
    func errorsSpreadThrough() {
        let lines = (0..<6000).map { index -> String in
            switch index % 997 {
            case 13: #"<accepted id="b-\#(index)" source="s" time="\#(t)" referral="r-1" colour="red"/>"#
            case 500: #"<referral id="b-\#(index)" source="s" time="\#(t)" referral="r-9" case="c-1" from="km" to="km"/>"#
            default: #"<started id="g-\#(index)" source="urn:s" time="\#(t)" referral="r-\#(index)"/>"#
            }
        }
        expectSameBothWays(document(lines.joined(separator: "\n")))
        // And once more with a libxml2 error near the end, which hands over late.
        expectSameBothWays(document(lines.joined(separator: "\n") + "\n<accepted a:b=\"c\"/>"))
    }

    @Test("the hostile corpus, the fuzz regressions and the samples decode the same both ways")
    func corpora() throws {
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        let directories = [
            here.appendingPathComponent("Hostile"),
            here.appendingPathComponent("FuzzRegressions"),
            here.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("samples"),
        ]
        var files = 0
        for directory in directories {
            for name in try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() where name.hasSuffix(".xml") {
                let path = directory.appendingPathComponent(name).path
                expectSameBothWays(.file(path: path), "\(name)")
                let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
                expectSameBothWays(.bytes(bytes, origin: name), "\(name) in memory")
                files += 1
            }
        }
        #expect(files >= 20)
    }

    @Test("the scanner's copy of an element is the reader's copy")
    func copiesMatch() throws {
        let elements = troublemakers + [
            #"<party id="x" source="s" time="\#(t)" party="km" domain="wmo">  <name>KM</name>\#n  </party>"#,
            #"<party id="x" source="s" time="\#(t)" party="km" domain="wmo">a<!-- c -->b<name>K<b/>M</name>c</party>"#,
            #"<assessment id="x" source="s" time="\#(t)" case="c-1"><score domain="financien" value="2"> </score></assessment>"#,
            #"<accepted xmlns="urn:other" id="x" source="s" time="\#(t)" referral="r-1" xmlns:x="urn:x" x:colour="red"/>"#,
            #"<accepted id="&#9;x&#10;y" source=" s  t " time="\#(t)" referral="r"/>"#,
        ]
        var compared = 0
        for element in elements {
            let bytes = Array(document("\(element)\n<started id=\"s\" source=\"s\" time=\"\(t)\" referral=\"r\"/>").utf8)
            var scanned: [XMLElement] = []
            let outcome = XMLEventScanner(bytes: bytes).scan(acceptingRoot: { _, _, _ in true }, element: { scanned.append($0.copy()); return true }, settled: { _ in })
            let reader = try XMLStreamReader(bytes: bytes)
            var read: [XMLElement] = []
            while reader.read() == .node {
                guard reader.depth == 1, reader.nodeKind == .element, let copy = reader.readElement() else { continue }
                read.append(copy)
            }
            // After a hand-over the scanner may have copied an element the reader refuses.
            let count = outcome == .finished ? read.count : min(scanned.count, read.count) - 1
            if outcome == .finished { #expect(scanned.count == read.count, "\(element.prefix(120))") }
            for index in 0..<max(0, count) {
                #expect(scanned[index] == read[index], "\(element.prefix(120))")
                compared += 1
            }
        }
        #expect(compared >= 20)
    }

    @Test("the scanner settles and passes on events before it hands over, and hands over on the first oddity")
    func settlingAndHandOver() {
        let cdata = #"<accepted id="x" source="s" time="\#(t)" referral="r-1"><![CDATA[x]]></accepted>"#
        for (body, handsOver) in [(longPrefix, false), (longPrefix + "\n" + cdata, true)] {
            let scanner = XMLEventScanner(bytes: Array(document(body).utf8))
            var delivered = 0
            var settledOffsets: [Int] = []
            let outcome = scanner.scan(acceptingRoot: { name, uri, xsi in name == "exchanges" && uri == namespace && !xsi },
                                       element: { _ in delivered += 1; return true }, settled: { settledOffsets.append($0) })
            #expect(outcome == (handsOver ? .handOver : .finished))
            #expect(delivered == 4000)
            #expect(settledOffsets == settledOffsets.sorted())
            #expect(settledOffsets.contains { $0 > 100_000 && $0 < Int.max })
            // Only a document read to the end settles completely.
            #expect(settledOffsets.contains(Int.max) == !handsOver)
        }
    }
}
