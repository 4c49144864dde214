// kz-bench: whole-file throughput runs for Ketenzicht. Every subcommand does one run and prints
// one JSON line: wall seconds (ContinuousClock), bytes, events, MB/s (10^6 bytes), events/s and
// peak RSS (VmHWM from /proc/self/status). run.sh runs each three times and takes the median.
//
//   kz-bench decode-json FILE          CloudEventsDecoder over an NDJSON file
//   kz-bench jsondecoder FILE          baseline: Foundation JSONDecoder, one Codable envelope per line
//   kz-bench decode-xml FILE           CanonicalXMLDecoder (streaming, schema-validating)
//   kz-bench ledger FILE [STATE_DIR]   durable ingest through Ledger into a fresh state directory
//                                      (a temp directory, removed afterwards, unless STATE_DIR is given)
//   kz-bench rebuild DIR               open an existing state directory (= replay time)
//   kz-bench case-view DIR IDS         Answers.caseView (case.get's work, serialised) for each case id
//                                      in the file IDS, three rounds (KZ_CASE_VIEW_ROUNDS); p50/p99 µs
//   kz-bench recompute DIR             open DIR, then time PartyMetrics + RegieDecision.decideAll +
//                                      Betweenness at asOf 2026-11-01
//   kz-bench betweenness N M SEED [EDGES [SCORES]]
//                                      random directed graph, N nodes, M distinct edges; times
//                                      Betweenness.compute(nodeCount:edges:); writes the edge list
//                                      (and, if SCORES is given, the unnormalised scores)
//   kz-bench model-memory REFERRALS [PARTIES]
//                                      builds a model of REFERRALS synthetic referrals (~3.7 events
//                                      each, the generator's shapes) straight through ChainModel.apply,
//                                      without decoding or a store, and reports resident bytes per referral

import Foundation
import KetenzichtCore
import KetenzichtIngest
import KetenzichtStore

// MARK: - Measurement

let clock = ContinuousClock()

func seconds(_ duration: Duration) -> Double {
    let parts = duration.components
    return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
}

func timed<T>(_ body: () throws -> T) rethrows -> (T, Double) {
    let start = clock.now
    let value = try body()
    return (value, seconds(clock.now - start))
}

/// Peak resident set size in KiB (VmHWM), or -1 when /proc is not there.
func peakRSSKiB() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let digits = line.dropFirst("VmHWM:".count).filter(\.isNumber)
        return Int(digits) ?? -1
    }
    return -1
}

func currentRSSKiB() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return Int(line.dropFirst("VmRSS:".count).filter(\.isNumber)) ?? -1
    }
    return -1
}

func fileSize(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
}

func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        default:
            if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
        }
    }
    return out + "\""
}

func formatNumber(_ value: Double) -> String {
    value.isFinite ? String(format: "%.6g", value) : "null"
}

/// Prints the one JSON line of a run. `extra` values are already JSON.
func report(command: String, input: String, seconds: Double, bytes: Int, events: Int, extra: [(String, String)] = []) {
    var fields: [(String, String)] = [
        ("command", jsonString(command)),
        ("input", jsonString(input)),
        ("seconds", formatNumber(seconds)),
        ("bytes", String(bytes)),
        ("events", String(events)),
        ("mb_per_s", formatNumber(seconds > 0 ? Double(bytes) / 1e6 / seconds : 0)),
        ("events_per_s", formatNumber(seconds > 0 ? Double(events) / seconds : 0)),
        ("peak_rss_kib", String(peakRSSKiB())),
    ]
    fields += extra
    print("{" + fields.map { "\(jsonString($0.0)):\($0.1)" }.joined(separator: ",") + "}")
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("kz-bench: \(message)\n".utf8))
    exit(2)
}

let benchKey = Pseudonymizer(keyBytes: Array(repeating: 7, count: 32))
let asOf = try! Timestamp(rfc3339: "2026-11-01T00:00:00Z")

// MARK: - Decoders

func decodeJSON(_ path: String) {
    let decoder = CloudEventsDecoder(assembler: EventAssembler(pseudonymizer: benchKey))
    var events = 0
    var failures = 0
    let (_, elapsed) = timed {
        decoder.decode(.file(path: path), progress: nil) { record in
            // Counted without copying the event out of its record (`record.event` would).
            if case .failure = record.outcome { failures += 1 } else { events += 1 }
        }
    }
    report(command: "decode-json", input: path, seconds: elapsed, bytes: fileSize(path), events: events, extra: [("failures", String(failures))])
}

func decodeXML(_ path: String) {
    let decoder = CanonicalXMLDecoder(assembler: EventAssembler(pseudonymizer: benchKey))
    var events = 0
    var failures = 0
    let (_, elapsed) = timed {
        decoder.decode(.file(path: path), progress: nil) { record in
            // Counted without copying the event out of its record (`record.event` would).
            if case .failure = record.outcome { failures += 1 } else { events += 1 }
        }
    }
    report(command: "decode-xml", input: path, seconds: elapsed, bytes: fileSize(path), events: events, extra: [("failures", String(failures))])
}

/// The baseline: the CloudEvents envelope plus the union of the data fields of every event type.
struct CloudEventEnvelope: Codable {
    struct Payload: Codable {
        var party: String?
        var name: String?
        var domain: String?
        var capacityPerWeek: Double?
        var normDays: Double?
        var regieEligible: Bool?
        var `case`: String?
        var bsn: String?
        var zrm: [String: Int]?
        var referral: String?
        var from: String?
        var to: String?
        var urgency: String?
        var lifeDomain: String?
        var dependsOn: [String]?
        var reason: String?
        var outcome: String?
    }

    var specversion: String
    var id: String
    var source: String
    var type: String
    var time: String
    var datacontenttype: String?
    var data: Payload
}

func jsonDecoderBaseline(_ path: String) {
    var events = 0
    var failures = 0
    let (_, elapsed) = timed {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else {
            fail("cannot read \(path)")
        }
        let decoder = JSONDecoder()
        var lineStart = data.startIndex
        while lineStart < data.endIndex {
            let lineEnd = data[lineStart...].firstIndex(of: 0x0A) ?? data.endIndex
            if lineEnd > lineStart {
                if (try? decoder.decode(CloudEventEnvelope.self, from: data[lineStart..<lineEnd])) != nil {
                    events += 1
                } else {
                    failures += 1
                }
            }
            lineStart = lineEnd + 1
        }
    }
    report(command: "jsondecoder", input: path, seconds: elapsed, bytes: fileSize(path), events: events, extra: [("failures", String(failures))])
}

// MARK: - Store

func makeTempDirectory() -> String {
    var template = Array((NSTemporaryDirectory() + "/kz-bench-state-XXXXXX").utf8CString)
    guard let result = mkdtemp(&template) else { fail("mkdtemp failed") }
    return String(cString: result)
}

func directorySize(_ path: String) -> Int {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
    return names.filter { $0.hasPrefix("events.sqlite") }.reduce(0) { $0 + fileSize(path + "/" + $1) }
}

func ledgerIngest(_ path: String, keep: String?) {
    let directory: String
    if let keep {
        if FileManager.default.fileExists(atPath: keep + "/events.sqlite") { fail("\(keep) already holds a store; give a fresh directory") }
        directory = keep
    } else {
        directory = makeTempDirectory()
    }
    defer { if keep == nil { try? FileManager.default.removeItem(atPath: directory) } }
    let receivedAt = try! Timestamp(rfc3339: "2026-11-01T12:00:00Z")
    let (summary, elapsed): (Ledger.Summary, Double)
    do {
        (summary, elapsed) = try timed {
            let ledger = try Ledger(stateDirectory: directory)
            return try ledger.ingest(.file(path: path), receivedAt: receivedAt)
        }
    } catch {
        fail("ledger ingest failed: \(error)")
    }
    let stored = directorySize(directory)
    report(command: "ledger", input: path, seconds: elapsed, bytes: fileSize(path), events: summary.accepted + summary.pending + summary.duplicates + summary.rejected, extra: [
        ("accepted", String(summary.accepted)), ("pending", String(summary.pending)),
        ("duplicates", String(summary.duplicates)), ("rejected", String(summary.rejected)),
        ("store_bytes", String(stored)), ("synchronous", jsonString("FULL")),
    ])
}

func rebuild(_ directory: String) {
    let (ledger, elapsed): (Ledger, Double)
    do {
        (ledger, elapsed) = try timed { try Ledger(stateDirectory: directory) }
    } catch {
        fail("cannot open \(directory): \(error)")
    }
    report(command: "rebuild", input: directory, seconds: elapsed, bytes: directorySize(directory), events: ledger.model.eventCount, extra: [
        ("replay_issues", String(ledger.replayIssues.count)),
        ("referrals", String(ledger.model.referrals.count)), ("parties", String(ledger.model.parties.count)),
    ])
}

func recompute(_ directory: String) {
    let ledger: Ledger
    do { ledger = try Ledger(stateDirectory: directory) } catch { fail("cannot open \(directory): \(error)") }
    let model = ledger.model
    let window = AnalysisWindow(asOf: asOf)
    let start = clock.now
    let (metrics, metricsTime) = timed { PartyMetrics.compute(model, window: window) }
    let (decisions, regieTime) = timed { RegieDecision.decideAll(model, asOf: asOf) }
    let (betweenness, betweennessTime) = timed { Betweenness.compute(model, window: window) }
    let total = seconds(clock.now - start)
    report(command: "recompute", input: directory, seconds: total, bytes: 0, events: model.eventCount, extra: [
        ("party_metrics_s", formatNumber(metricsTime)), ("regie_s", formatNumber(regieTime)),
        ("betweenness_s", formatNumber(betweennessTime)),
        ("parties", String(metrics.count)), ("cases_decided", String(decisions.count)),
        ("graph_nodes", String(betweenness.count)),
        ("top_bottleneck", jsonString(metrics.first?.party ?? "")),
    ])
}

// MARK: - Betweenness on a random graph

/// SplitMix64: small, fast and the same on every platform.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

func randomGraph(nodes: Int, edges: Int, seed: UInt64) -> [(from: Int, to: Int)] {
    guard nodes > 1, edges <= nodes * (nodes - 1) else { fail("cannot place \(edges) distinct edges on \(nodes) nodes") }
    var generator = SplitMix64(state: seed)
    var seen = Set<Int>()
    var list: [(from: Int, to: Int)] = []
    list.reserveCapacity(edges)
    while list.count < edges {
        let from = generator.below(nodes)
        let to = generator.below(nodes)
        if from == to || !seen.insert(from * nodes + to).inserted { continue }
        list.append((from, to))
    }
    return list
}

func betweenness(nodes: Int, edgeCount: Int, seed: UInt64, edgeFile: String, scoreFile: String?) {
    let edges = randomGraph(nodes: nodes, edges: edgeCount, seed: seed)
    var text = ""
    text.reserveCapacity(edges.count * 12)
    for edge in edges { text += "\(edge.from) \(edge.to)\n" }
    do { try text.write(toFile: edgeFile, atomically: true, encoding: .utf8) } catch { fail("cannot write \(edgeFile): \(error)") }
    let (scores, elapsed) = timed { Betweenness.compute(nodeCount: nodes, edges: edges) }
    // igraph reports raw (unnormalised) betweenness; ours is ÷ (n−1)(n−2).
    let scale = nodes > 2 ? Double((nodes - 1) * (nodes - 2)) : 1
    let raw = scores.map { $0 * scale }
    if let scoreFile {
        let lines = raw.map { String(format: "%.9g", $0) }.joined(separator: "\n") + "\n"
        do { try lines.write(toFile: scoreFile, atomically: true, encoding: .utf8) } catch { fail("cannot write \(scoreFile): \(error)") }
    }
    let top = raw.indices.max { raw[$0] < raw[$1] } ?? -1
    report(command: "betweenness", input: edgeFile, seconds: elapsed, bytes: 0, events: edges.count, extra: [
        ("nodes", String(nodes)), ("edges", String(edges.count)), ("seed", String(seed)),
        ("workers", String(ProcessInfo.processInfo.activeProcessorCount)),
        ("raw_sum", formatNumber(raw.reduce(0, +))), ("top_node", String(top)),
        ("top_raw", formatNumber(top >= 0 ? raw[top] : 0)),
    ])
}

// MARK: - File to table

/// File to bottleneck table in one process without the store: decoding on one thread, the model
/// on another (both cores, as `ketenzicht ingest` works), then PartyMetrics.
// MARK: - Model memory

/// Events shaped like scripts/generate_municipality.py's: sources per organisation, `e-N` ids per
/// source, `r-`/`c-` ids, life domains and urgencies from small sets. Every string is built afresh,
/// as a decoder would, so the model's own sharing (or lack of it) is what gets measured.
func modelMemory(referrals: Int, parties partyCount: Int) {
    let domains = ["participatie", "wmo", "jeugd", "ggz", "schuldhulp", "woningbouw", "uwv", "bewindvoering", "verslavingszorg", "overig"]
    let lifeDomains = ["financien", "werk-opleiding", "tijdsbesteding", "huisvesting", "huiselijke-relaties", "geestelijke-gezondheid",
                       "lichamelijke-gezondheid", "middelengebruik", "basale-adl", "sociaal-netwerk", "maatschappelijke-participatie", "justitie"]
    let partyNames = (0..<partyCount).map { "\(domains[$0 % domains.count])-organisatie-\($0)" }
    var generator = SplitMix64(state: 42)
    var model = ChainModel()
    var counters = [Int](repeating: 0, count: partyCount + 1)
    func identity(_ sourceIndex: Int) -> EventIdentity {
        counters[sourceIndex] += 1
        let source = sourceIndex == partyCount ? "urn:nl:gemeente:0363:participatie" : "urn:nl:\(domains[sourceIndex % domains.count]):\(partyNames[sourceIndex])"
        return EventIdentity(source: String(decoding: Array(source.utf8), as: UTF8.self), id: "e-\(counters[sourceIndex])")
    }
    func fresh(_ text: String) -> String { String(decoding: Array(text.utf8), as: UTF8.self) }
    let start = try! Timestamp(rfc3339: "2020-01-01T00:00:00Z").millisecondsSinceEpoch
    let day = Timestamp.millisecondsPerDay
    let baseline = currentRSSKiB()
    var events = 0
    var refused = 0
    let (_, elapsed) = timed {
        for index in 0..<partyCount {
            let event = Event(identity: identity(partyCount), time: Timestamp(millisecondsSinceEpoch: start + Int64(index)),
                              body: .partyRegistered(PartyRegistration(party: fresh(partyNames[index]), name: fresh("Organisatie \(index)"), domain: domains[index % domains.count])))
            if case .refused = model.apply(event).disposition { refused += 1 }
            events += 1
        }
        let cases = max(1, referrals / 4)
        for index in 0..<referrals {
            let created = start + day + Int64(index) * (6 * day * 365 / Int64(max(referrals, 1))) + Int64(generator.below(Int(day)))
            let from = generator.below(partyCount)
            var to = generator.below(partyCount)
            if to == from { to = (to + 1) % partyCount }
            let referral = "r-\(String(index + 1))"
            let creation = ReferralCreation(
                referral: fresh(referral), caseID: fresh("c-\(generator.below(cases) + 1)"), from: fresh(partyNames[from]), to: fresh(partyNames[to]),
                urgency: .regulier, lifeDomain: fresh(lifeDomains[generator.below(lifeDomains.count)]))
            var time = created
            var steps: [(ReferralStep, String?)] = []
            let roll = generator.below(100)
            if roll < 80 { steps = [(.accepted, nil), (.started, nil), (.completed, "afgerond")] }
            else if roll < 90 { steps = [(.accepted, nil), (.started, nil)] }
            else if roll < 95 { steps = [(.rejected, "geen-indicatie")] }
            else { steps = [] }
            if case .refused = model.apply(Event(identity: identity(from), time: Timestamp(millisecondsSinceEpoch: time), body: .referralCreated(creation))).disposition { refused += 1 }
            events += 1
            for (step, note) in steps {
                time += Int64(1 + generator.below(40)) * day / 2
                let change = ReferralStatusChange(referral: fresh(referral), step: step, note: note.map(fresh))
                if case .refused = model.apply(Event(identity: identity(to), time: Timestamp(millisecondsSinceEpoch: time), body: .referralStatus(change))).disposition { refused += 1 }
                events += 1
            }
        }
    }
    let resident = currentRSSKiB()
    let perReferral = Double(resident - baseline) * 1024 / Double(max(referrals, 1))
    report(command: "model-memory", input: "synthetic", seconds: elapsed, bytes: 0, events: events, extra: [
        ("referrals", String(model.referrals.count)), ("parties", String(model.parties.count)), ("cases", String(model.cases.count)),
        ("refused", String(refused)), ("baseline_rss_kib", String(baseline)), ("rss_kib", String(resident)),
        ("bytes_per_referral", formatNumber(perReferral)),
    ])
    withExtendedLifetime(model) {}
}

// MARK: - Command line

/// `case.get`'s work without the socket: the answer for each case id in IDS (one per line), serialised,
/// on the state in DIR; per-call percentiles in µs.
func caseView(_ directory: String, ids path: String) {
    let ledger: Ledger
    do { ledger = try Ledger(stateDirectory: directory) } catch { fail("cannot open \(directory): \(error)") }
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { fail("cannot read \(path)") }
    let ids = text.split(separator: "\n").map(String.init)
    let model = ledger.model
    let window = AnalysisWindow(asOf: asOf)
    var micros: [Double] = []
    var bytes = 0
    let start = clock.now
    for _ in 0..<(Int(ProcessInfo.processInfo.environment["KZ_CASE_VIEW_ROUNDS"] ?? "") ?? 3) {
        for id in ids {
            let (answer, elapsed) = timed { Answers.caseView(model, id: id, window: window)?.serialized ?? "" }
            bytes += answer.utf8.count
            micros.append(elapsed * 1e6)
        }
    }
    let total = seconds(clock.now - start)
    micros.sort()
    func percentile(_ p: Double) -> Double { micros[min(micros.count - 1, Int((p * Double(micros.count)).rounded(.up)) - 1)] }
    report(command: "case-view", input: directory, seconds: total, bytes: bytes, events: micros.count, extra: [
        ("p50_us", formatNumber(percentile(0.5))), ("p99_us", formatNumber(percentile(0.99))), ("max_us", formatNumber(micros.last ?? 0)),
    ])
}

let arguments = Array(CommandLine.arguments.dropFirst())
func argument(_ index: Int, _ name: String) -> String {
    guard index < arguments.count else { fail("missing \(name); see the header of main.swift for usage") }
    return arguments[index]
}

switch arguments.first {
case "decode-json": decodeJSON(argument(1, "FILE"))
case "jsondecoder": jsonDecoderBaseline(argument(1, "FILE"))
case "decode-xml": decodeXML(argument(1, "FILE"))
case "ledger": ledgerIngest(argument(1, "FILE"), keep: arguments.count > 2 ? arguments[2] : nil)
case "rebuild": rebuild(argument(1, "DIR"))
case "recompute": recompute(argument(1, "DIR"))
case "case-view": caseView(argument(1, "DIR"), ids: argument(2, "IDS"))
case "model-memory":
    guard let n = Int(argument(1, "REFERRALS")), n > 0 else { fail("model-memory REFERRALS [PARTIES]: REFERRALS is a positive integer") }
    modelMemory(referrals: n, parties: arguments.count > 2 ? Int(arguments[2]) ?? 1000 : 1000)
case "betweenness":
    guard let n = Int(argument(1, "N")), let m = Int(argument(2, "M")), let seed = UInt64(argument(3, "SEED")) else {
        fail("betweenness N M SEED [EDGES [SCORES]]: N, M and SEED are integers")
    }
    let edgeFile = arguments.count > 4 ? arguments[4] : NSTemporaryDirectory() + "/kz-bench-graph-\(n)-\(m)-\(seed).txt"
    betweenness(nodes: n, edgeCount: m, seed: seed, edgeFile: edgeFile, scoreFile: arguments.count > 5 ? arguments[5] : nil)
default:
    fail("usage: kz-bench decode-json|jsondecoder|decode-xml|ledger FILE, rebuild|recompute DIR, betweenness N M SEED [EDGES [SCORES]]")
}
