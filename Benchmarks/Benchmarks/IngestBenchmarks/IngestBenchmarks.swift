// Micro-benchmarks of the ingest path, run with
//   swift package --package-path Benchmarks benchmark
// Every input is built in memory before the measured iterations. One iteration of the
// "10,000 ..." benchmarks handles 10,000 events, so their throughput (iterations/s) × 10,000 is
// events/s; the single-item benchmarks run 1,000 items per iteration (scaling factor kilo).

import Benchmark
import KetenzichtCore
import KetenzichtIngest

/// The example line of SPEC §2.1, with a distinct event id and referral per line.
func specExampleLines(_ count: Int) -> [UInt8] {
    var text = ""
    text.reserveCapacity(count * 300)
    for i in 0..<count {
        text += #"{"specversion":"1.0","id":"e-\#(i)","source":"urn:nl:gemeente:0363:participatie","type":"nl.ketenzicht.referral.created","time":"2026-03-02T10:00:00+01:00","data":{"referral":"r-\#(i)","case":"c-1042","from":"km-participatie-noord","to":"ggz-parnassia","urgency":"regulier","lifeDomain":"geestelijke-gezondheid"}}"#
        text += "\n"
    }
    return Array(text.utf8)
}

/// The same events as a canonical exchange document (SPEC §2.2).
func specExampleXML(_ count: Int) -> [UInt8] {
    var text = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n" + #"<exchanges xmlns="urn:ketenzicht:exchange:1">"# + "\n"
    text.reserveCapacity(count * 260)
    for i in 0..<count {
        text += #"  <referral id="e-\#(i)" source="urn:nl:gemeente:0363:participatie" time="2026-03-02T10:00:00+01:00" referral="r-\#(i)" case="c-1042" from="km-participatie-noord" to="ggz-parnassia" urgency="regulier" lifeDomain="geestelijke-gezondheid"/>"#
        text += "\n"
    }
    text += "</exchanges>\n"
    return Array(text.utf8)
}

/// 2,500 referral lifecycles (created, accepted, started, completed): 10,000 events for the model.
func lifecycleLines(referrals: Int) -> [UInt8] {
    var text = ""
    let steps = ["accepted", "started", "completed"]
    var id = 0
    for r in 0..<referrals {
        let day = 1 + r % 28
        let month = 1 + (r / 28) % 9
        func time(_ hour: Int) -> String { "2026-0\(month)-\(day < 10 ? "0" : "")\(day)T\(hour < 10 ? "0" : "")\(hour):00:00+01:00" }
        text += #"{"specversion":"1.0","id":"e-\#(id)","source":"urn:nl:gemeente:0363:participatie","type":"nl.ketenzicht.referral.created","time":"\#(time(8))","data":{"referral":"r-\#(r)","case":"c-\#(r % 997)","from":"km-participatie-noord","to":"ggz-parnassia-\#(r % 40)","urgency":"regulier","lifeDomain":"geestelijke-gezondheid"}}"#
        text += "\n"
        id += 1
        for (index, step) in steps.enumerated() {
            text += #"{"specversion":"1.0","id":"e-\#(id)","source":"urn:nl:ggz:parnassia","type":"nl.ketenzicht.referral.\#(step)","time":"\#(time(9 + index))","data":{"referral":"r-\#(r)"}}"#
            text += "\n"
            id += 1
        }
    }
    return Array(text.utf8)
}

func decodeEvents(_ bytes: [UInt8], with decoder: some EventDecoder) -> [Event] {
    var events: [Event] = []
    decoder.decode(.bytes(bytes, origin: "memory"), progress: nil) { record in
        if let event = record.event { events.append(event) } else { fatalError("benchmark input refused: \(record.issue!)") }
    }
    return events
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 2,
        maxDuration: .seconds(3),
        maxIterations: 1_000
    )

    let assembler = EventAssembler(pseudonymizer: Pseudonymizer(keyBytes: Array(repeating: 7, count: 32)))
    let jsonDecoder = CloudEventsDecoder(assembler: assembler)
    let xmlDecoder = CanonicalXMLDecoder(assembler: assembler)
    let jsonLines = specExampleLines(10_000)
    let xmlDocument = specExampleXML(10_000)
    let lifecycle = decodeEvents(lifecycleLines(referrals: 2_500), with: jsonDecoder)
    precondition(lifecycle.count == 10_000)
    let sampleEvent = decodeEvents(specExampleLines(1), with: jsonDecoder)[0]

    Benchmark("CloudEvents decode, 10,000 SPEC-example lines") { _ in
        var events = 0
        jsonDecoder.decode(.bytes(jsonLines, origin: "memory"), progress: nil) { record in
            if record.event != nil { events += 1 }
        }
        precondition(events == 10_000)
        blackHole(events)
    }

    Benchmark("Canonical XML decode, 10,000 events") { _ in
        var events = 0
        xmlDecoder.decode(.bytes(xmlDocument, origin: "memory"), progress: nil) { record in
            if record.event != nil { events += 1 }
        }
        precondition(events == 10_000)
        blackHole(events)
    }

    Benchmark("Timestamp(rfc3339:)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for i in benchmark.scaledIterations {
            let text = i & 1 == 0 ? "2026-03-02T10:00:00+01:00" : "2026-11-01T23:59:59.125Z"
            blackHole(try? Timestamp(rfc3339: text))
        }
    }

    Benchmark("Event.canonicalJSON", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(sampleEvent.canonicalJSON)
        }
    }

    Benchmark("ChainModel.apply, 10,000 events") { _ in
        var model = ChainModel()
        for event in lifecycle {
            blackHole(model.apply(event))
        }
        precondition(model.eventCount == 10_000)
        blackHole(model)
    }
}
