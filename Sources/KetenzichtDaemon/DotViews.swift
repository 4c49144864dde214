public import KetenzichtCore

/// The GraphViz views of SPEC §7, rendered from a model snapshot and a window. Pure: no I/O, no
/// clock, so the same snapshot always gives the same bytes (the writer can skip unchanged files and
/// tests can compare text).
///
/// Node ids in the output are synthetic (`p0`, `p1`, …): party ids may hold any character, and
/// keeping them out of the dot grammar means only labels and tooltips need escaping. The real id is
/// in each node's tooltip, which the SVG shows on hover.
///
/// Privacy (SPEC §4): the only personal identifier written is the pseudonymous case id. Referral
/// notes (rejection reasons, outcomes), ZRM scores and life domains are never written: they are
/// free text or describe a person's problems, and an MDT graph is shared more widely than the store.
public enum DotViews {
    /// Heaviest edges kept in `network.dot`; about what `dot` lays out in a few seconds.
    public static let defaultMaxEdges = 300
    /// Bottlenecks shown in `bottlenecks.dot`.
    public static let defaultTop = 15
    /// Senders and receivers shown per bottleneck and direction; the rest are summed into one node.
    public static let defaultNeighbours = 8

    // MARK: Palette

    /// One fill colour per SPEC domain: ColorBrewer Set3 plus one, light enough for black text and
    /// distinguishable in print. Fixed, so a coordinator learns them once.
    public static let domainPalette: [(domain: String, color: String)] = [
        ("participatie", "#80b1d3"),
        ("wmo", "#b3de69"),
        ("jeugd", "#fdb462"),
        ("ggz", "#bebada"),
        ("schuldhulp", "#ffed6f"),
        ("woningbouw", "#8dd3c7"),
        ("uwv", "#fccde5"),
        ("bewindvoering", "#bc80bd"),
        ("huisarts", "#ccebc5"),
        ("verslavingszorg", "#e5c494"),
        ("welzijn", "#ffffb3"),
        ("reclassering", "#fb8072"),
        ("overig", "#d9d9d9"),
    ]
    /// Domains added in the config share one neutral colour; the legend names them.
    public static let extraDomainColor = "#f7f7f7"

    public static func color(ofDomain domain: String) -> String {
        paletteIndex[domain].map { domainPalette[$0].color } ?? extraDomainColor
    }

    private static let paletteIndex: [String: Int] = Dictionary(
        uniqueKeysWithValues: domainPalette.enumerated().map { ($0.element.domain, $0.offset) })

    // MARK: network.dot

    /// What the network view left out, for its note and for the socket's answer.
    public struct NetworkPruning: Sendable, Equatable {
        /// Party pairs with a referral created in the window.
        public var totalEdges: Int
        public var shownEdges: Int
        /// Referrals created in the window, and those on the shown edges.
        public var totalReferrals: Int
        public var shownReferrals: Int
        /// Parties the unpruned view would show: those with a referral created in the window, or a backlog.
        public var totalParties: Int
        public var shownParties: Int
        /// Hidden parties whose expected wait is beyond their norm (they are in bottlenecks.dot).
        public var hiddenBeyondNorm: Int

        public var hiddenParties: Int { totalParties - shownParties }
        public var isPruned: Bool { shownEdges < totalEdges || shownParties < totalParties }

        /// "showing 300 of 4,812 edges (92% of referrals); 812 parties hidden", or nil when complete.
        public var note: String? {
            guard isPruned else { return nil }
            var text = "showing \(grouped(shownEdges)) of \(grouped(totalEdges)) edges (\(percent(shownReferrals, of: totalReferrals)) of referrals)"
            text += "; \(grouped(hiddenParties)) part\(hiddenParties == 1 ? "y" : "ies") hidden"
            if hiddenBeyondNorm > 0 {
                text += ", \(grouped(hiddenBeyondNorm)) of them beyond norm (see bottlenecks.dot)"
            }
            return text
        }
    }

    public struct Network: Sendable, Equatable {
        public var dot: String
        public var pruning: NetworkPruning
    }

    /// The referral network of the window: parties coloured by domain and sized by backlog; an edge
    /// per party pair with referrals created in the window, its width by that count and its label
    /// the median wait of the pair's referrals started in the window. Beyond `maxEdges` pairs only
    /// the heaviest are kept (ties by ids), with the parties they touch, and the graph says so.
    public static func network(
        _ model: ChainModel, window: AnalysisWindow, metrics: [PartyMetrics]? = nil,
        maxEdges: Int = defaultMaxEdges
    ) -> Network {
        let metrics = metrics ?? PartyMetrics.compute(model, window: window)
        let byParty = Dictionary(metrics.map { ($0.party, $0) }, uniquingKeysWith: { first, _ in first })
        let graph = WindowGraph(model, window: window)
        let medians = medianWaits(model, window: window)

        var universe = Set(graph.parties)
        for entry in metrics where entry.backlog > 0 { universe.insert(entry.party) }

        let order = graph.edges.indices.sorted { lhs, rhs in
            if graph.counts[lhs] != graph.counts[rhs] { return graph.counts[lhs] > graph.counts[rhs] }
            let (l, r) = (graph.edges[lhs], graph.edges[rhs])
            return (graph.parties[l.from], graph.parties[l.to]) < (graph.parties[r.from], graph.parties[r.to])
        }
        let kept = Array(order.prefix(max(0, maxEdges)))
        let pruned = kept.count < graph.edges.count

        var shown: Set<String>
        if pruned {
            shown = []
            for edge in kept {
                shown.insert(graph.parties[graph.edges[edge].from])
                shown.insert(graph.parties[graph.edges[edge].to])
            }
        } else {
            shown = universe
        }
        let totalReferrals = graph.counts.reduce(0, +)
        let shownReferrals = kept.reduce(0) { $0 + graph.counts[$1] }
        let hiddenBeyondNorm = universe.subtracting(shown).count { (byParty[$0]?.bottleneckScore ?? 0) > 1 }
        let pruning = NetworkPruning(
            totalEdges: graph.edges.count, shownEdges: kept.count, totalReferrals: totalReferrals,
            shownReferrals: shownReferrals, totalParties: universe.count, shownParties: shown.count,
            hiddenBeyondNorm: hiddenBeyondNorm)

        var out = DotBuilder(name: "ketenzicht-network")
        var title = ["Ketenzicht: referral network, \(days(window.days)) days to \(window.asOf.rfc3339)"]
        title.append("node: domain colour, size by backlog, red border beyond norm; edge: width by referrals created in the window, label: referrals · median wait of those started in the window")
        if let note = pruning.note { title.append(note) }
        if graph.edges.isEmpty { title.append("no referrals created in the window") }
        // `dot` with left-to-right ranks: measured fastest of dot/neato/fdp at 300 edges, and the
        // ranks read as the chain's direction. splines=true keeps edges off nodes at little cost.
        out.graphAttributes([
            ("label", DotText.label(title)), ("labelloc", "t"), ("labeljust", "l"), ("fontname", "\"Helvetica\""),
            ("rankdir", "LR"), ("splines", "true"), ("nodesep", "0.15"), ("ranksep", "0.6"),
            ("outputorder", "edgesfirst"),
        ])
        out.line("node [shape=ellipse, style=filled, fontname=\"Helvetica\", fontsize=10, margin=\"0.05,0.03\"]")
        out.line("edge [fontname=\"Helvetica\", fontsize=8, color=\"#4d4d4d\", arrowsize=0.6]")

        let parties = shown.sorted()
        let maxBacklog = parties.map { byParty[$0]?.backlog ?? 0 }.max() ?? 0
        out.legend(domains: Set(parties.map { model.domain(ofParty: $0) }))
        var ids: [String: String] = [:]
        for (index, party) in parties.enumerated() {
            let node = "p\(index)"
            ids[party] = node
            let entry = byParty[party]
            let backlog = entry?.backlog ?? 0
            let domain = model.domain(ofParty: party)
            // Area grows with backlog: width by its square root, from 0.4 to 2 inches.
            let width = maxBacklog == 0 ? 0.4 : 0.4 + 1.6 * (Double(backlog) / Double(maxBacklog)).squareRoot()
            var attributes: [(String, String)] = [
                ("label", DotText.label([model.displayName(ofParty: party), "backlog \(grouped(backlog))"])),
                ("fillcolor", quoted(color(ofDomain: domain))),
                ("width", fixed(width, 2)), ("height", fixed(max(0.3, width * 0.6), 2)),
                ("tooltip", DotText.label(partyTooltip(party, domain: domain, metrics: entry))),
            ]
            if let entry, entry.bottleneckScore > 1 {
                attributes += [("color", "\"#d7301f\""), ("penwidth", "2.5")]
            }
            out.node(node, attributes)
        }
        let maxCount = kept.map { graph.counts[$0] }.max() ?? 1
        // Keep the file's edge order stable by ids rather than by weight, so diffs stay small.
        let keptSorted = kept.sorted { graph.edges[$0].from != graph.edges[$1].from ? graph.edges[$0].from < graph.edges[$1].from : graph.edges[$0].to < graph.edges[$1].to }
        for edge in keptSorted {
            let (from, to) = (graph.parties[graph.edges[edge].from], graph.parties[graph.edges[edge].to])
            let count = graph.counts[edge]
            let median = medians[PartyPair(from: from, to: to)]
            let waitText = median.map { "median \(days($0)) d" } ?? "none started"
            out.edge(ids[from]!, ids[to]!, [
                ("penwidth", fixed(penwidth(count, max: maxCount), 2)),
                ("weight", String(count)),
                ("label", DotText.label(["\(grouped(count)) · \(median.map { "\(days($0)) d" } ?? "–")"])),
                ("tooltip", DotText.label(["\(from) → \(to)", "\(grouped(count)) referral\(count == 1 ? "" : "s") created in the window", waitText])),
            ])
        }
        return Network(dot: out.finish(), pruning: pruning)
    }

    /// Median (nearest rank) of `started − created` per party pair over referrals started in the
    /// window: the same waits PartyMetrics uses, split by sender.
    static func medianWaits(_ model: ChainModel, window: AnalysisWindow) -> [PartyPair: Double] {
        var waits: [PartyPair: [Double]] = [:]
        for referral in model.referrals.values {
            guard let started = referral.started, window.contains(started) else { continue }
            waits[PartyPair(from: referral.from, to: referral.to), default: []].append(started.days(since: referral.created))
        }
        return waits.compactMapValues { PartyMetrics.nearestRank($0.sorted(), 0.5) }
    }

    // MARK: bottlenecks.dot

    /// The top bottlenecks in PartyMetrics order, each with the parties that sent it referrals in the
    /// window and those it referred on, with counts. Red when the expected wait is beyond the norm
    /// (bottleneckScore > 1). Per bottleneck and direction the `neighbours` largest flows are drawn;
    /// the rest are summed into one dashed node, so a hub with 400 senders stays readable.
    public static func bottlenecks(
        _ model: ChainModel, window: AnalysisWindow, metrics: [PartyMetrics]? = nil,
        top: Int = defaultTop, neighbours: Int = defaultNeighbours
    ) -> String {
        let metrics = metrics ?? PartyMetrics.compute(model, window: window)
        let listed = Array(metrics.prefix(max(0, top)))
        let byParty = Dictionary(metrics.map { ($0.party, $0) }, uniquingKeysWith: { first, _ in first })
        let focus = Set(listed.map(\.party))

        var inflow: [String: [String: Int]] = [:]
        var outflow: [String: [String: Int]] = [:]
        for referral in model.referrals.values where window.contains(referral.created) {
            if focus.contains(referral.to) { inflow[referral.to, default: [:]][referral.from, default: 0] += 1 }
            if focus.contains(referral.from) { outflow[referral.from, default: [:]][referral.to, default: 0] += 1 }
        }

        var out = DotBuilder(name: "ketenzicht-bottlenecks")
        var title = ["Ketenzicht: top \(listed.count) bottleneck\(listed.count == 1 ? "" : "s"), \(days(window.days)) days to \(window.asOf.rfc3339)"]
        title.append("box: bottleneck in rank order, red when its expected wait exceeds its norm; edges: referrals created in the window")
        if metrics.count > listed.count {
            let more = metrics.count - listed.count
            title.append("\(grouped(more)) more part\(more == 1 ? "y" : "ies") with referrals not shown (see network.dot)")
        }
        if listed.isEmpty { title.append("no party has a referral created in the window or open") }
        out.graphAttributes([
            ("label", DotText.label(title)), ("labelloc", "t"), ("labeljust", "l"), ("fontname", "\"Helvetica\""),
            ("rankdir", "LR"), ("nodesep", "0.2"), ("ranksep", "0.8"),
        ])
        out.line("node [fontname=\"Helvetica\", fontsize=10, style=filled]")
        out.line("edge [fontname=\"Helvetica\", fontsize=9, color=\"#4d4d4d\", arrowsize=0.7]")

        var ids: [String: String] = [:]
        func id(_ party: String) -> String {
            if let known = ids[party] { return known }
            let new = "p\(ids.count)"
            ids[party] = new
            return new
        }
        for (rank, entry) in listed.enumerated() {
            let beyond = entry.bottleneckScore > 1
            let wait = entry.expectedWaitDays.isFinite ? "expected wait \(days(entry.expectedWaitDays)) d" : "expected wait ∞ (nothing started)"
            let score = entry.bottleneckScore.isFinite ? fixed(entry.bottleneckScore, 2) : "∞"
            out.node(id(entry.party), [
                ("shape", "box"), ("style", "\"filled,bold\""),
                ("label", DotText.label([
                    "#\(rank + 1) \(entry.name)", "\(entry.domain)",
                    "backlog \(grouped(entry.backlog)) · \(wait)",
                    "norm \(days(entry.normDays)) d · score \(score)",
                ])),
                ("fillcolor", beyond ? "\"#d7301f\"" : "\"#fdd49e\""),
                ("fontcolor", beyond ? "\"#ffffff\"" : "\"#000000\""),
                ("tooltip", DotText.label([entry.party, entry.reason])),
            ])
        }

        var drawnEdges = Set<PartyPair>()
        var pending: [(PartyPair, Int)] = []
        var neighbourNodes: [String] = []
        for (rank, entry) in listed.enumerated() {
            for (direction, flows) in [("in", inflow[entry.party] ?? [:]), ("out", outflow[entry.party] ?? [:])] {
                let sorted = flows.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                for (other, count) in sorted.prefix(max(0, neighbours)) {
                    let pair = direction == "in" ? PartyPair(from: other, to: entry.party) : PartyPair(from: entry.party, to: other)
                    guard drawnEdges.insert(pair).inserted else { continue }
                    if ids[other] == nil {
                        _ = id(other)
                        neighbourNodes.append(other)
                    }
                    pending.append((pair, count))
                }
                let rest = sorted.dropFirst(max(0, neighbours))
                if !rest.isEmpty {
                    let node = "more_\(direction)_\(rank)"
                    let total = rest.reduce(0) { $0 + $1.value }
                    let what = direction == "in" ? "sender" : "receiver"
                    out.node(node, [
                        ("shape", "note"), ("style", "\"dashed\""),
                        ("label", DotText.label(["+\(grouped(rest.count)) more \(what)\(rest.count == 1 ? "" : "s")", "\(grouped(total)) referral\(total == 1 ? "" : "s")"])),
                    ])
                    let (from, to) = direction == "in" ? (node, ids[entry.party]!) : (ids[entry.party]!, node)
                    out.edge(from, to, [("style", "dashed"), ("label", DotText.label([grouped(total)]))])
                }
            }
        }
        for party in neighbourNodes {
            let domain = model.domain(ofParty: party)
            var lines = [model.displayName(ofParty: party)]
            if let entry = byParty[party], entry.backlog > 0 { lines.append("backlog \(grouped(entry.backlog))") }
            out.node(ids[party]!, [
                ("shape", "ellipse"), ("label", DotText.label(lines)),
                ("fillcolor", quoted(color(ofDomain: domain))), ("fontsize", "9"),
                ("tooltip", DotText.label([party, domain])),
            ])
        }
        let maxCount = pending.map(\.1).max() ?? 1
        for (pair, count) in pending {
            out.edge(ids[pair.from]!, ids[pair.to]!, [
                ("label", DotText.label([grouped(count)])),
                ("penwidth", fixed(penwidth(count, max: maxCount), 2)),
                ("tooltip", DotText.label(["\(pair.from) → \(pair.to): \(grouped(count)) referral\(count == 1 ? "" : "s") created in the window"])),
            ])
        }
        out.legend(domains: Set(neighbourNodes.map { model.domain(ofParty: $0) }))
        return out.finish()
    }

    // MARK: cases/<case>.dot

    /// One case for an MDT: its parties as boxes in their domain colour (dashed when no longer
    /// involved), its referrals as edges numbered in creation order with date, state and wait (or
    /// age while open), the regisseur with a bold border and the rule that chose it, and for open
    /// referrals the projected start (CaseProjection with the parties' expected waits). Nil when the
    /// case is unknown.
    public static func caseGraph(
        caseID: String, model: ChainModel, window: AnalysisWindow, metrics: [PartyMetrics]? = nil
    ) -> String? {
        guard let record = model.cases[caseID] else { return nil }
        let asOf = window.asOf
        let metrics = metrics ?? PartyMetrics.compute(model, window: window)
        let referrals = model.referrals(of: record).filter { $0.created <= asOf }
        let decision = RegieDecision.decide(caseID: caseID, in: model, asOf: asOf)
        let projection = CaseProjection.project(caseID: caseID, in: model, asOf: asOf, waits: CaseProjection.waits(from: metrics))
        let projected = Dictionary((projection?.referrals ?? []).map { ($0.referral, $0) }, uniquingKeysWith: { first, _ in first })
        let number = Dictionary(referrals.enumerated().map { ($0.element.id, $0.offset + 1) }, uniquingKeysWith: { first, _ in first })

        var out = DotBuilder(name: "ketenzicht-case")
        var title = ["Ketenzicht: casus \(caseID), as of \(asOf.rfc3339)"]
        if let decision {
            if let regisseur = decision.regisseur {
                title.append("regisseur: \(model.displayName(ofParty: regisseur)) (\(model.domain(ofParty: regisseur))), rule: \(decision.rule.rawValue)")
            } else {
                title.append("no regisseur: \(decision.rule.rawValue)")
            }
            var flags: [String] = []
            if decision.noRegisseur { flags.append("noRegisseur") }
            if decision.zwaartepuntUncovered { flags.append("zwaartepuntUncovered: no involved party from the domain where the problems weigh most") }
            if !flags.isEmpty { title.append("flags: " + flags.joined(separator: "; ")) }
        }
        if let completion = projection?.projectedCompletion {
            let late = projection?.exceedsNorm == true ? "; at least one projected wait exceeds its norm" : ""
            title.append("all open help projected to have started by \(date(completion))\(late)")
        }
        if referrals.isEmpty { title.append("no referrals as of this date") }
        title.append("edge: referral in creation order; blue started, grey completed, orange open (red beyond norm), dashed rejected or withdrawn")
        out.graphAttributes([
            ("label", DotText.label(title)), ("labelloc", "t"), ("labeljust", "l"), ("fontname", "\"Helvetica\""),
            ("rankdir", "LR"), ("nodesep", "0.4"), ("ranksep", "1.2"),
        ])
        out.line("node [shape=box, style=\"filled,rounded\", fontname=\"Helvetica\", fontsize=11]")
        out.line("edge [fontname=\"Helvetica\", fontsize=9]")

        var partyOrder: [String] = []
        var seen = Set<String>()
        for referral in referrals {
            for party in [referral.from, referral.to] where seen.insert(party).inserted { partyOrder.append(party) }
        }
        let involved = Set((decision?.involved ?? []).map(\.party))
        var ids: [String: String] = [:]
        for (index, party) in partyOrder.enumerated() {
            ids[party] = "p\(index)"
            let domain = model.domain(ofParty: party)
            var lines = [model.displayName(ofParty: party), domain]
            var style = involved.contains(party) ? "filled,rounded" : "filled,rounded,dashed"
            var extra: [(String, String)] = []
            if party == decision?.regisseur, let decision {
                lines.append("regisseur (\(decision.rule.rawValue))")
                style += ",bold"
                extra = [("penwidth", "3"), ("color", "\"#000000\"")]
            }
            if !involved.contains(party) { lines.append("no longer involved") }
            out.node("p\(index)", [
                ("label", DotText.label(lines)), ("style", quoted(style)),
                ("fillcolor", quoted(color(ofDomain: domain))),
                ("tooltip", DotText.label([party])),
            ] + extra)
        }

        for referral in referrals {
            let state = referral.state(asOf: asOf)!
            var lines = ["\(number[referral.id]!). \(date(referral.created)) · \(referral.id)"]
            var urgency = ""
            if let level = referral.urgency, level != .regulier { urgency = " · \(level.rawValue)" }
            var attributes: [(String, String)] = []
            switch state {
            case .created, .accepted:
                let age = asOf.days(since: referral.created)
                lines.append("open (\(state.rawValue)), age \(days(age)) d\(urgency)")
                if let projection = projected[referral.id] {
                    let over = projection.exceedsNorm ? " > norm \(days(projection.normDays)) d" : ""
                    lines.append("projected start \(date(projection.projectedStart)) (wait \(days(projection.projectedWaitDays)) d\(over))")
                    let after = projection.waitsFor.compactMap { number[$0] }.sorted()
                    if !after.isEmpty { lines.append("after " + after.map { "\($0)." }.joined(separator: ", ")) }
                }
                let late = projected[referral.id]?.exceedsNorm == true || age > model.normDays(of: referral)
                attributes = [("color", late ? "\"#d7301f\"" : "\"#fe9929\""), ("fontcolor", late ? "\"#d7301f\"" : "\"#000000\""), ("penwidth", late ? "2.5" : "1.8")]
            case .started, .completed:
                let wait = referral.started!.days(since: referral.created)
                lines.append("\(state.rawValue) \(date(state == .started ? referral.started! : referral.ended!.time)), wait \(days(wait)) d\(urgency)")
                attributes = [("color", state == .started ? "\"#2b8cbe\"" : "\"#969696\""), ("penwidth", "1.5")]
            case .rejected, .withdrawn:
                lines.append("\(state.rawValue) \(date(referral.ended!.time))\(urgency)")
                attributes = [("color", "\"#969696\""), ("fontcolor", "\"#636363\""), ("style", "dashed")]
            }
            out.edge(ids[referral.from]!, ids[referral.to]!, [("label", DotText.label(lines))] + attributes)
        }
        if !partyOrder.isEmpty { out.legend(domains: Set(partyOrder.map { model.domain(ofParty: $0) })) }
        return out.finish()
    }

    // MARK: Helpers

    private static func partyTooltip(_ party: String, domain: String, metrics entry: PartyMetrics?) -> [String] {
        var lines = [party, domain]
        if let entry { lines.append(entry.reason) }
        return lines
    }

    /// 1 point for a single referral up to 6 for the heaviest, by the square root so one huge pair
    /// does not flatten all others.
    static func penwidth(_ count: Int, max: Int) -> Double {
        1 + 5 * (Double(Swift.max(0, count - 1)) / Double(Swift.max(1, max - 1))).squareRoot()
    }

    /// Whole days from 10 up; one decimal below, where half a day matters.
    static func days(_ value: Double) -> String {
        guard value.isFinite else { return "∞" }
        if abs(value) >= 10 || value == value.rounded() { return String(Int(value.rounded())) }
        return fixed(value, 1)
    }

    /// The UTC calendar date of the instant: what an MDT reads; times of day only clutter.
    static func date(_ time: Timestamp) -> String { String(time.rfc3339.prefix(10)) }

    /// A decimal with `places` digits, without Foundation's locale-dependent formatting.
    static func fixed(_ value: Double, _ places: Int) -> String {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let scaled = Int((abs(value) * scale).rounded())
        let whole = scaled / Int(scale)
        var fraction = String(scaled % Int(scale))
        while fraction.count < places { fraction = "0" + fraction }
        let sign = value < 0 && scaled != 0 ? "-" : ""
        return places == 0 ? "\(sign)\(whole)" : "\(sign)\(whole).\(fraction)"
    }

    /// "4,812": thousands grouped as in the SPEC's example note.
    static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return value < 0 ? "-" + out : out
    }

    static func percent(_ part: Int, of total: Int) -> String {
        guard total > 0 else { return "100%" }
        // Rounded down, so a view that leaves anything out never claims 100%.
        let value = part * 100 / total
        return "\(part < total ? min(value, 99) : 100)%"
    }

    static func quoted(_ text: String) -> String { DotText.quoted(text) }
}

/// Escaping for the dot language.
public enum DotText {
    /// A double-quoted dot string whose text displays as given: backslashes doubled (a label would
    /// otherwise read `\N`, `\G`, `\l` as escapes), quotes escaped, any line break (CRLF, CR, LF,
    /// U+2028/9) turned into a centred `\n` break, tabs into spaces, and other control characters
    /// into U+FFFD, which Graphviz would otherwise reject or pass into the SVG as invalid XML.
    public static func quoted(_ text: String) -> String {
        "\"" + body(text) + "\""
    }

    /// Several lines as one quoted label, each line escaped on its own.
    public static func label(_ lines: [String]) -> String {
        "\"" + lines.map(body).joined(separator: "\\n") + "\""
    }

    static func body(_ text: String) -> String {
        var out = ""
        out.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        var afterCR = false
        for scalar in text.unicodeScalars {
            defer { afterCR = scalar == "\r" }
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\r", "\u{2028}", "\u{2029}": out += "\\n"
            case "\n": if !afterCR { out += "\\n" }
            case "\t": out += " "
            default:
                if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// Text for Graphviz HTML-like labels (the legend).
    public static func html(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}

/// File names for `cases/<case>.dot`. Case ids come from outside (pseudonyms, but any string a
/// source sends), so the name is an encoding of the id that can never leave the `cases` directory.
public enum CaseFileName {
    public enum Refusal: Error, Equatable, Sendable, CustomStringConvertible {
        case empty

        public var description: String {
            switch self {
            case .empty: "an empty case id has no file name"
            }
        }
    }

    /// Longest encoded stem kept whole; longer ones are cut and given a hash of the full id, so the
    /// name with ".dot", ".svg" and a temporary suffix stays under the usual 255-byte limit.
    public static let maxStemLength = 160

    /// The stem of the id's file: ASCII letters, digits, `-` and `_` stay; every other UTF-8 byte,
    /// `.` and `%` included, becomes `%XX`. So `/` and `..` cannot occur, the name never starts
    /// with a dot, and distinct ids get distinct names (on case-sensitive file systems).
    public static func stem(for caseID: String) throws(Refusal) -> String {
        guard !caseID.isEmpty else { throw .empty }
        let hex = Array("0123456789ABCDEF".utf8)
        var bytes: [UInt8] = []
        for byte in caseID.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                bytes.append(byte)
            default:
                bytes += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            }
        }
        if bytes.count > maxStemLength {
            // Cut on a whole escape so the kept part still decodes.
            var cut = maxStemLength - 17
            while cut > 0, bytes[cut - 1] == UInt8(ascii: "%") || (cut > 1 && bytes[cut - 2] == UInt8(ascii: "%")) { cut -= 1 }
            bytes = Array(bytes[..<cut]) + Array("~".utf8) + Array(hex16(fnv1a(caseID)).utf8)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    public static func dotFileName(for caseID: String) throws(Refusal) -> String {
        try stem(for: caseID) + ".dot"
    }

    private static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        return hash
    }

    private static func hex16(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}


/// Accumulates one digraph's text.
struct DotBuilder {
    private var text: String

    init(name: String) {
        text = "digraph \(DotText.quoted(name)) {\n"
        text.reserveCapacity(1 << 16)
    }

    mutating func line(_ line: String) {
        text += "  " + line + "\n"
    }

    mutating func graphAttributes(_ attributes: [(String, String)]) {
        line("graph [" + Self.list(attributes) + "]")
    }

    mutating func node(_ id: String, _ attributes: [(String, String)]) {
        line(id + " [" + Self.list(attributes) + "]")
    }

    mutating func edge(_ from: String, _ to: String, _ attributes: [(String, String)]) {
        line(from + " -> " + to + " [" + Self.list(attributes) + "]")
    }

    /// A table of the domains in view and their colours, as one HTML-like node.
    mutating func legend(domains: Set<String>) {
        guard !domains.isEmpty else { return }
        let known = DotViews.domainPalette.map(\.domain).filter(domains.contains)
        let extra = domains.subtracting(known).sorted()
        var rows = "<tr><td colspan=\"2\"><b>domain</b></td></tr>"
        for domain in known {
            rows += "<tr><td bgcolor=\"\(DotViews.color(ofDomain: domain))\" width=\"14\"> </td><td align=\"left\">\(DotText.html(domain))</td></tr>"
        }
        if !extra.isEmpty {
            rows += "<tr><td bgcolor=\"\(DotViews.extraDomainColor)\" width=\"14\"> </td><td align=\"left\">\(DotText.html(extra.joined(separator: ", ")))</td></tr>"
        }
        line("legend [shape=plaintext, style=\"\", fontsize=9, label=<<table border=\"0\" cellborder=\"1\" cellspacing=\"0\" cellpadding=\"3\">\(rows)</table>>]")
    }

    func finish() -> String { text + "}\n" }

    private static func list(_ attributes: [(String, String)]) -> String {
        attributes.map { "\($0.0)=\($0.1)" }.joined(separator: ", ")
    }
}
