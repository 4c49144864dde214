import Foundation
import KetenzichtCore
import Testing
@testable import KetenzichtDaemon
import KetenzichtTestSupport

/// Events for hand-made models: `day` counts days after 2026-01-01T00:00:00Z.
enum DotFixture {
    static let origin = try! Timestamp(rfc3339: "2026-01-01T00:00:00Z")
    static func at(_ day: Double) -> Timestamp { origin.adding(days: day) }

    static func party(_ id: String, _ domain: String, name: String? = nil) -> Event {
        Event(identity: EventIdentity(source: "urn:test", id: "p-\(id)"), time: at(-200),
              body: .partyRegistered(PartyRegistration(party: id, name: name ?? id.uppercased(), domain: domain)))
    }

    static func referral(_ id: String, case caseID: String = "c-1", from: String, to: String, day: Double, urgency: Urgency? = nil) -> Event {
        Event(identity: EventIdentity(source: "urn:test", id: "create-\(id)"), time: at(day),
              body: .referralCreated(ReferralCreation(referral: id, caseID: caseID, from: from, to: to, urgency: urgency)))
    }

    static func step(_ step: ReferralStep, _ referral: String, day: Double, note: String? = nil) -> Event {
        Event(identity: EventIdentity(source: "urn:test", id: "\(step.rawValue)-\(referral)"), time: at(day),
              body: .referralStatus(ReferralStatusChange(referral: referral, step: step, note: note)))
    }

    static func assessment(_ caseID: String, day: Double, _ scores: [(String, Int)]) -> Event {
        Event(identity: EventIdentity(source: "urn:test", id: "zrm-\(caseID)-\(day)"), time: at(day),
              body: .caseAssessed(CaseAssessment(caseID: caseID, scores: scores.map { (lifeDomain: $0.0, score: $0.1) })))
    }

    static func model(_ events: [Event]) -> ChainModel {
        var model = ChainModel()
        for event in events {
            if case .refused(let refusal) = model.apply(event).disposition { Issue.record("fixture event refused: \(refusal)") }
        }
        return model
    }

    /// Window (day 0, day 84]. km → ggz: 3 in the window, two started (waits 30 and 50, median 30),
    /// one open; km → shv: 2 open, nothing starts (infinite wait); ggz → wmo: 1 started (wait 4).
    static let window = AnalysisWindow(asOf: at(84))
    static func small() -> ChainModel {
        model([
            party("km", "participatie", name: "Klantmanager Noord"),
            party("ggz", "ggz", name: "GGZ Parnassia"),
            party("shv", "schuldhulp", name: "Schuldhulp"),
            party("wmo", "wmo", name: "Wmo-loket"),
            assessment("c-1", day: 1, [("financien", 1), ("geestelijke-gezondheid", 3)]),
            referral("r1", from: "km", to: "ggz", day: 10), step(.started, "r1", day: 40),
            referral("r2", from: "km", to: "ggz", day: 20), step(.started, "r2", day: 70),
            referral("r3", from: "km", to: "ggz", day: 30),
            referral("r4", from: "km", to: "shv", day: 60), step(.accepted, "r4", day: 61),
            referral("r5", case: "c-2", from: "km", to: "shv", day: 62),
            referral("r6", from: "ggz", to: "wmo", day: 66), step(.started, "r6", day: 70),
            referral("r7", from: "km", to: "wmo", day: 50), step(.rejected, "r7", day: 52, note: "Jan Jansen, Dorpsstraat 1"),
        ])
    }

    /// `parties` parties in all 13 domains and `referrals` referrals between them, skewed so that
    /// a few pairs carry most of them, a third started, the rest open.
    static func large(parties: Int = 1000, referrals: Int = 20_000) -> ChainModel {
        let domains = DotViews.domainPalette.map(\.domain)
        var events: [Event] = []
        events.reserveCapacity(parties + referrals * 2)
        for index in 0..<parties {
            events.append(party("party-\(index)", domains[index % domains.count], name: "Partij \(index)"))
        }
        var generator = SplitMix64(seed: 42)
        for index in 0..<referrals {
            // Squaring a uniform number favours low indices: a heavy core and a long tail.
            let u = Double(generator.next() % 10_000) / 10_000
            let from = Int(u * u * Double(parties))
            var to = Int(generator.next() % UInt64(parties))
            if to == from { to = (to + 1) % parties }
            let day = Double(generator.next() % 8_400) / 100
            let id = "r\(index)"
            events.append(referral(id, case: "c-\(index % 5_000)", from: "party-\(from)", to: "party-\(to)", day: day))
            if index % 3 == 0 { events.append(step(.started, id, day: min(84, day + Double(generator.next() % 30)))) }
        }
        return model(events)
    }
}

/// A fresh directory under the system temporary directory, removed by the caller.
func temporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "ketenzicht-dot-\(UInt64.random(in: .min ... .max))"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Runs `dot -Tsvg` on a file; nil when Graphviz is not installed.
func dotAccepts(_ path: String) -> (ok: Bool, message: String)? {
    guard let dot = DotWriter.findExecutable("dot") else { return nil }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: dot)
    process.arguments = ["-Tsvg", "-o", "/dev/null", path]
    let errors = Pipe()
    process.standardError = errors
    process.standardOutput = FileHandle.nullDevice
    try! process.run()
    let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus == 0 && !message.contains("Error"), message)
}

func dotAccepts(text: String) -> (ok: Bool, message: String)? {
    let directory = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let path = directory + "/view.dot"
    try! text.write(toFile: path, atomically: false, encoding: .utf8)
    return dotAccepts(path)
}

/// Lines of the dot text that declare edges.
func edgeLines(_ dot: String) -> [Substring] {
    dot.split(separator: "\n").filter { $0.contains(" -> ") }
}

@Suite struct DotViewTests {
    @Test func networkShowsPartiesEdgesCountsAndMedianWaits() throws {
        let network = DotViews.network(DotFixture.small(), window: DotFixture.window)
        let dot = network.dot
        #expect(dot.hasPrefix("digraph \"ketenzicht-network\" {"))
        #expect(dot.contains("label=\"Klantmanager Noord\\nbacklog 0\""))
        #expect(dot.contains("label=\"GGZ Parnassia\\nbacklog 1\""))
        #expect(dot.contains("label=\"Schuldhulp\\nbacklog 2\""))
        #expect(dot.contains("fillcolor=\"#80b1d3\""))   // participatie
        #expect(dot.contains("fillcolor=\"#bebada\""))   // ggz
        // Parties sorted by id: ggz p0, km p1, shv p2, wmo p3.
        let edges = edgeLines(dot)
        #expect(edges.count == 4)
        #expect(edges.contains { $0.contains("p1 -> p0") && $0.contains("label=\"3 · 30 d\"") })
        #expect(edges.contains { $0.contains("p1 -> p2") && $0.contains("label=\"2 · –\"") })
        #expect(edges.contains { $0.contains("p0 -> p3") && $0.contains("label=\"1 · 4 d\"") })
        #expect(edges.contains { $0.contains("p1 -> p3") && $0.contains("label=\"1 · –\"") })
        // Schuldhulp waits forever: beyond norm, drawn with a red border.
        #expect(dot.split(separator: "\n").contains { $0.contains("label=\"Schuldhulp") && $0.contains("color=\"#d7301f\"") })
        #expect(dot.contains("<b>domain</b>") && dot.contains(">schuldhulp</td>"))
        #expect(network.pruning.isPruned == false)
        #expect(network.pruning.note == nil)
        #expect(!dot.contains("Jansen"))
        if let result = dotAccepts(text: dot) { #expect(result.ok, "\(result.message)") }
    }

    @Test func bottlenecksAreRedBeyondNormWithTheirFlows() throws {
        let model = DotFixture.small()
        let dot = DotViews.bottlenecks(model, window: DotFixture.window, top: 2)
        // Order: shv (score ∞), then ggz (backlog 1 at 2 starts/12 weeks = 42 d / 98: within norm).
        let lines = dot.split(separator: "\n")
        let shv = try #require(lines.first { $0.contains("#1 Schuldhulp") })
        #expect(shv.contains("fillcolor=\"#d7301f\""))
        #expect(shv.contains("backlog 2 · expected wait ∞ (nothing started)"))
        #expect(shv.contains("norm 28 d · score ∞"))
        let ggz = try #require(lines.first { $0.contains("#2 GGZ Parnassia") })
        #expect(ggz.contains("fillcolor=\"#fdd49e\""))
        #expect(ggz.contains("backlog 1 · expected wait 42 d"))
        #expect(ggz.contains("norm 98 d · score 0.43"))
        // Node ids: shv p0, ggz p1, then neighbours km p2, wmo p3.
        let edges = edgeLines(dot)
        #expect(edges.contains { $0.hasSuffix("p2 -> p0 [label=\"2\", penwidth=4.54, tooltip=\"km → shv: 2 referrals created in the window\"]") })
        #expect(edges.contains { $0.contains("p2 -> p1 [label=\"3\"") })
        #expect(edges.contains { $0.contains("p1 -> p3 [label=\"1\"") })
        #expect(edges.count == 3)
        #expect(dot.contains("\\n1 more party with referrals not shown (see network.dot)"))
        if let result = dotAccepts(text: dot) { #expect(result.ok, "\(result.message)") }
    }

    @Test func bottleneckNeighboursBeyondTheLimitAreSummed() throws {
        var events = [DotFixture.party("hub", "ggz")]
        for index in 0..<5 {
            events.append(DotFixture.party("s\(index)", "wmo"))
            events.append(DotFixture.referral("r\(index)", from: "s\(index)", to: "hub", day: 10 + Double(index)))
        }
        let dot = DotViews.bottlenecks(DotFixture.model(events), window: DotFixture.window, top: 1, neighbours: 2)
        #expect(edgeLines(dot).count == 3)
        #expect(dot.contains("more_in_0 [shape=note, style=\"dashed\", label=\"+3 more senders\\n3 referrals\"]"))
    }

    @Test func caseGraphNumbersReferralsAndHighlightsTheRegisseur() throws {
        let model = DotFixture.small()
        let dot = try #require(DotViews.caseGraph(caseID: "c-1", model: model, window: DotFixture.window))
        #expect(dot.contains("casus c-1, as of 2026-03-26T00:00:00Z"))
        // financien weighs 4 (schuldhulp): the schuldhulp party took regie at day 60 and keeps it.
        #expect(dot.contains("regisseur: Schuldhulp (schuldhulp), rule: kept: the current regisseur is still involved"))
        let lines = dot.split(separator: "\n")
        let shv = try #require(lines.first { $0.contains("label=\"Schuldhulp\\nschuldhulp") })
        #expect(shv.contains("regisseur (kept: ") && shv.contains("penwidth=3") && shv.contains("bold"))
        // Parties in order of appearance: km p0, ggz p1, wmo p2, shv p3.
        let edges = edgeLines(dot)
        #expect(edges.count == 6)
        #expect(edges[0].contains("p0 -> p1 [label=\"1. 2026-01-11 · r1\\nstarted 2026-02-10, wait 30 d\""))
        #expect(edges[1].contains("p0 -> p1 [label=\"2. 2026-01-21 · r2\\nstarted 2026-03-12, wait 50 d\""))
        // r3 open at ggz, whose expected wait is 42 d: projected start day 72 = 2026-03-14.
        #expect(edges[2].contains("3. 2026-01-31 · r3\\nopen (created), age 54 d\\nprojected start 2026-03-26 (wait 54 d)"))
        #expect(edges[3].contains("p0 -> p2 [label=\"4. 2026-02-20 · r7\\nrejected 2026-02-22\""))
        #expect(edges[3].contains("style=dashed"))
        // r4 open at shv: infinite wait counts as 365 days, beyond the norm of 28.
        #expect(edges[4].contains("5. 2026-03-02 · r4\\nopen (accepted), age 24 d\\nprojected start 2027-03-02 (wait 365 d > norm 28 d)"))
        #expect(edges[4].contains("color=\"#d7301f\""))
        #expect(edges[4].contains("p0 -> p3 [label="))
        #expect(edges[5].contains("p1 -> p2 [label=\"6. 2026-03-08 · r6\\nstarted 2026-03-12, wait 4 d\""))
        #expect(dot.contains("all open help projected to have started by 2027-03-02; at least one projected wait exceeds its norm"))
        // Never the free-text reason of the rejection, nor other cases.
        #expect(!dot.contains("Jansen") && !dot.contains("c-2") && !dot.contains("r5"))
        if let result = dotAccepts(text: dot) { #expect(result.ok, "\(result.message)") }
        #expect(DotViews.caseGraph(caseID: "nope", model: model, window: DotFixture.window) == nil)
    }

    @Test func largeNetworkIsPrunedToTheConfiguredEdgesWithANote() throws {
        let model = DotFixture.large()
        let window = DotFixture.window
        let graph = WindowGraph(model, window: window)
        #expect(graph.edges.count > 300)
        for limit in [300, 50] {
            let network = DotViews.network(model, window: window, maxEdges: limit)
            let edges = edgeLines(network.dot)
            #expect(edges.count == limit)
            #expect(network.pruning.shownEdges == limit)
            #expect(network.pruning.totalEdges == graph.edges.count)
            // The kept edges are the heaviest: none left out is heavier than the lightest kept.
            let sorted = graph.counts.sorted(by: >)
            #expect(network.pruning.shownReferrals == sorted.prefix(limit).reduce(0, +))
            let note = try #require(network.pruning.note)
            #expect(note.hasPrefix("showing \(limit) of \(DotViews.grouped(graph.edges.count)) edges ("))
            #expect(note.contains("% of referrals); "))
            #expect(note.contains("\(DotViews.grouped(network.pruning.hiddenParties)) parties hidden"))
            #expect(network.pruning.hiddenParties > 0)
            #expect(network.dot.contains(DotText.body(note)))
            let nodes = network.dot.split(separator: "\n").filter { $0.hasPrefix("  p") && !$0.contains(" -> ") }
            #expect(nodes.count == network.pruning.shownParties)
        }
        let all = DotViews.network(model, window: window, maxEdges: .max)
        #expect(edgeLines(all.dot).count == graph.edges.count)
        #expect(all.pruning.note == nil)
    }

    @Test func nastyIdsAreEscaped() throws {
        let nasty = [
            "a\"b", "back\\slash", "ends with \\", "line\nbreak", "crlf\r\nend", "\\N\\G\\l",
            "<html>&amp;", "tab\there", "nul\u{0}byte", "bell\u{7}", "emoji 🧩 ünïcødé", "-> [label=x]", "}",
        ]
        var events: [Event] = []
        for (index, id) in nasty.enumerated() {
            events.append(DotFixture.party(id, "overig", name: id))
            if index > 0 {
                events.append(DotFixture.referral("ref \(id)", case: "case \(id)", from: nasty[index - 1], to: id, day: 10))
            }
        }
        let model = DotFixture.model(events)
        #expect(DotText.quoted("a\"b\\c\nd") == "\"a\\\"b\\\\c\\nd\"")
        #expect(DotText.quoted("x\r\ny\rz") == "\"x\\ny\\nz\"")
        #expect(DotText.quoted("nul\u{0}") == "\"nul\u{FFFD}\"")
        #expect(DotText.html("<a href='x'>&\"") == "&lt;a href=&#39;x&#39;&gt;&amp;&quot;")
        var views = [
            DotViews.network(model, window: DotFixture.window).dot,
            DotViews.bottlenecks(model, window: DotFixture.window),
        ]
        for id in nasty.dropFirst() {
            views.append(try #require(DotViews.caseGraph(caseID: "case \(id)", model: model, window: DotFixture.window)))
        }
        for view in views {
            #expect(!view.contains("\u{0}") && !view.contains("\r") && !view.contains("\t"))
            // Every line is one statement: no raw line break escaped into the text.
            for line in view.split(separator: "\n").dropFirst().dropLast() {
                #expect(line.hasPrefix("  "), "statement split across lines: \(line)")
            }
            if let result = dotAccepts(text: view) { #expect(result.ok, "\(result.message)\n\(view)") }
        }
        #expect(views[0].contains("label=\"a\\\"b\\nbacklog"))
        #expect(views[0].contains("label=\"ends with \\\\\\nbacklog"))
    }

    @Test func caseFileNamesCannotEscapeTheDirectory() throws {
        #expect(try CaseFileName.dotFileName(for: "c-1042") == "c-1042.dot")
        #expect(try CaseFileName.dotFileName(for: "p-0a1b_FF") == "p-0a1b_FF.dot")
        #expect(try CaseFileName.stem(for: "../../etc/passwd") == "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd")
        #expect(try CaseFileName.stem(for: "..") == "%2E%2E")
        #expect(try CaseFileName.stem(for: ".hidden") == "%2Ehidden")
        #expect(try CaseFileName.stem(for: "100%") == "100%25")
        #expect(try CaseFileName.stem(for: "é") == "%C3%A9")
        #expect(throws: CaseFileName.Refusal.empty) { try CaseFileName.stem(for: "") }
        let long = String(repeating: "/", count: 400)
        let stem = try CaseFileName.stem(for: long)
        #expect(stem.utf8.count <= CaseFileName.maxStemLength)
        #expect(!stem.contains("/"))
        #expect(try CaseFileName.stem(for: long + "x") != stem)
        for id in ["a/b", "..", "../x", "x/..", "/abs", "c:\\d", "\u{0}", long] {
            let name = try CaseFileName.dotFileName(for: id)
            #expect(!name.contains("/") && !name.hasPrefix(".") && !name.contains("\u{0}"))
        }
    }

    @Test func writerWritesAtomicallyAndRendersSVGs() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let graphs = directory + "/graphs"
        let model = DotFixture.small()
        let writer = DotWriter(directory: graphs)
        let metrics = PartyMetrics.compute(model, window: DotFixture.window)
        var written: [DotWriter.Written] = []
        for view: DotWriter.View in [.network, .bottlenecks, .case("c-1"), .case("c-2")] {
            written.append(try writer.write(view, model: model, window: DotFixture.window, metrics: metrics))
        }
        // Writing again replaces the files in place.
        written.append(try writer.write(.network, model: model, window: DotFixture.window))
        #expect(written.map(\.dotPath) == [
            graphs + "/network.dot", graphs + "/bottlenecks.dot", graphs + "/cases/c-1.dot", graphs + "/cases/c-2.dot",
            graphs + "/network.dot",
        ])
        #expect(written[0].pruning?.isPruned == false)
        #expect(try String(contentsOfFile: graphs + "/network.dot", encoding: .utf8) == DotViews.network(model, window: DotFixture.window).dot)
        let hasDot = DotWriter.findExecutable("dot") != nil
        for entry in written {
            if hasDot {
                #expect(entry.svgError == nil)
                let svg = try #require(entry.svgPath)
                #expect(try String(contentsOfFile: svg, encoding: .utf8).contains("<svg"))
                #expect(dotAccepts(entry.dotPath)?.ok == true)
            } else {
                #expect(entry.svgPath == nil)
            }
        }
        let expected = hasDot
            ? ["bottlenecks.dot", "bottlenecks.svg", "cases", "network.dot", "network.svg"]
            : ["bottlenecks.dot", "cases", "network.dot"]
        #expect(try FileManager.default.contentsOfDirectory(atPath: graphs).sorted() == expected)
        #expect(try FileManager.default.contentsOfDirectory(atPath: graphs + "/cases").sorted()
            == (hasDot ? ["c-1.dot", "c-1.svg", "c-2.dot", "c-2.svg"] : ["c-1.dot", "c-2.dot"]))
        let mode = try FileManager.default.attributesOfItem(atPath: graphs + "/network.dot")[.posixPermissions] as? Int
        #expect(mode == 0o640)

        #expect(throws: DotWriterError.unknownCase("nope")) {
            try writer.write(.case("nope"), model: model, window: DotFixture.window)
        }
        #expect(throws: DotWriterError.self) { try writer.write(.case(""), model: model, window: DotFixture.window) }
        for path in ["../escape.dot", "/abs.dot", "cases/../../x.dot", "a//b.dot", "network.svg"] {
            #expect(throws: DotWriterError.unsafePath(path)) { try writer.write("digraph {}\n", to: path) }
        }
        #expect(!FileManager.default.fileExists(atPath: directory + "/escape.dot"))
    }

    @Test func atomicWriteLeavesNoTemporaryFilesOnFailure() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Renaming a file over a non-empty directory fails after the temporary file was written.
        try FileManager.default.createDirectory(atPath: directory + "/occupied/inside", withIntermediateDirectories: true)
        #expect(throws: DotWriterError.self) { try DotWriter.writeAtomically("digraph {}\n", to: directory + "/occupied") }
        try DotWriter.writeAtomically("digraph { a }\n", to: directory + "/ok.dot")
        try DotWriter.writeAtomically("digraph { b }\n", to: directory + "/ok.dot")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == ["occupied", "ok.dot"])
        #expect(try String(contentsOfFile: directory + "/ok.dot", encoding: .utf8) == "digraph { b }\n")
    }

    @Test func failedOrSlowRenderingIsReportedAndBounded() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try DotWriter.writeAtomically("digraph { a -> }\n", to: directory + "/bad.dot")
        if let dot = DotWriter.findExecutable("dot") {
            #expect(throws: DotWriterError.self) {
                try DotWriter.renderSVG(dotFile: directory + "/bad.dot", svgFile: directory + "/bad.svg", executable: dot, timeoutSeconds: 10)
            }
        }
        // A renderer that never finishes is stopped at the timeout.
        let sleeper = directory + "/slow-dot"
        try DotWriter.writeAtomically("#!/bin/sh\nexec sleep 60\n", to: sleeper, permissions: 0o750)
        let started = ContinuousClock.now
        #expect(throws: DotWriterError.renderTimedOut(seconds: 0.5)) {
            try DotWriter.renderSVG(dotFile: directory + "/bad.dot", svgFile: directory + "/slow.svg", executable: sleeper, timeoutSeconds: 0.5)
        }
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == ["bad.dot", "slow-dot"])
    }

    @Test func largeViewsAreValidForDot() throws {
        // KETENZICHT_DOT_KEEP=<dir> keeps the large views there, for timing and looking at them by hand.
        let keep = ProcessInfo.processInfo.environment["KETENZICHT_DOT_KEEP"]
        let directory = keep ?? temporaryDirectory()
        defer { if keep == nil { try? FileManager.default.removeItem(atPath: directory) } }
        let model = DotFixture.large()
        let writer = DotWriter(directory: directory, renderTimeoutSeconds: 120)
        let metrics = PartyMetrics.compute(model, window: DotFixture.window)
        for view: DotWriter.View in [.network, .bottlenecks, .case("c-7")] {
            let written = try writer.write(view, model: model, window: DotFixture.window, metrics: metrics)
            if writer.dotExecutable != nil {
                #expect(written.svgError == nil)
                #expect(written.svgPath != nil)
            }
        }
    }
}
