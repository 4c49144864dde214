import ArgumentParser
import Foundation
import KetenzichtCore
import KetenzichtDaemon
import KetenzichtIngest
import KetenzichtStore

/// Options shared by the analysis commands: where the events are, and the frame of SPEC §5.
struct AnalysisOptions: ParsableArguments {
    @OptionGroup var stateOptions: StateOptions

    @Option(name: .long, help: "The daemon's socket (default: paths.socket of the config, ./run/ketenzicht.sock). Ignored with --state or --input.")
    var socket: String?

    @Option(name: .long, help: ArgumentHelp(
        "Read this event file into memory and answer from it, storing nothing (repeatable; CloudEvents or canonical XML).",
        discussion: "No daemon or state directory is needed. BSNs are pseudonymised with the configured key file when it exists, else with a key that lives as long as the command."))
    var input: [String] = []

    @Option(name: .long, help: "Format of the --input files: cloudevents or xml (detected from the content when omitted).")
    var format: InputFormat?

    @Option(name: .long, help: "Reference time, RFC 3339 or a date (YYYY-MM-DD, midnight UTC). Default: now.")
    var asOf: String?

    @Option(name: .long, help: "Window in days (default 84 = 12 weeks).")
    var window: Double = AnalysisWindow.defaultDays

    @Flag(name: .long, help: "Print the raw JSON answer instead of a table.")
    var json = false

    func analysisWindow() throws -> AnalysisWindow {
        guard window > 0, window <= AnalysisWindow.maxDays else {
            throw ValidationError("--window must be a positive number of days, at most \(Int(AnalysisWindow.maxDays)) (10,000 years)")
        }
        guard let asOf else { return AnalysisWindow(asOf: wallClock(), days: window) }
        return AnalysisWindow(asOf: try parseTime(asOf, option: "--as-of"), days: window)
    }

    /// Asks the running daemon over its socket; with `--state`, reads the state directory directly;
    /// with `--input`, reads the files into memory.
    func answer(_ method: String, _ params: [String: JSONValue] = [:], offline: (ChainModel, AnalysisWindow) throws -> JSONValue?) throws -> JSONValue {
        let window = try analysisWindow()
        if !input.isEmpty || stateOptions.state != nil {
            let model = input.isEmpty ? try stateOptions.openLedger().model : try readInputs()
            // The command ends with this answer: freeing a model of a million referrals first would
            // only delay the exit (tens of milliseconds of free()), so the process's end takes it.
            _ = Unmanaged.passRetained(KeptUntilExit(model))
            guard let answer = try offline(model, window) else {
                throw RuntimeError("\(method): not found: \(params.values.map(\.text).joined(separator: " "))")
            }
            return answer
        }
        var params = params
        params["asOf"] = .time(window.asOf)
        params["window"] = .number(window.days)
        let path = try socket ?? stateOptions.loadConfiguration().socketPath
        return try SocketClient.call(socket: path, method: method, params: params)
    }

    /// The `--input` files in a model of their own. What became of their events goes to standard
    /// error (standard output is the answer's), with the first errors, as `ingest` reports them.
    func readInputs() throws -> ChainModel {
        if stateOptions.state != nil { throw ValidationError("--input and --state exclude each other: --input reads files instead of a state directory") }
        let configuration = try stateOptions.loadConfiguration()
        let keyFile = configuration.keyFile ?? configuration.stateDirectory + "/pseudonym.key"
        let key: (pseudonymizer: Pseudonymizer, usedKeyFile: Bool)
        do { key = try InMemoryIngest.pseudonymizer(keyFile: keyFile) } catch { throw RuntimeError("\(error)") }
        var reader = InMemoryIngest(settings: Ledger.Settings(configuration), pseudonymizer: key.pseudonymizer)
        var total = Ledger.Summary()
        for file in input {
            let summary = reader.ingest(.file(path: file), format: format)
            printError("read " + IngestCommand.describe(file: file, summary, seconds: nil))
            for issue in summary.errors.prefix(Self.maxPrintedErrors) { printError("  error: \(issue)") }
            if summary.rejected > Self.maxPrintedErrors { printError("  … and \(summary.rejected - Self.maxPrintedErrors) more errors") }
            total += summary
        }
        if !key.usedKeyFile, total.accepted + total.pending > 0 {
            printError("note: no key file at \(keyFile): any BSN was pseudonymised with a key of this run only")
        }
        return reader.model
    }

    private static let maxPrintedErrors = 20

    /// Prints `answer` as JSON, or hands it to `table` for people.
    func emit(_ answer: JSONValue, table: (JSONValue) -> Void) {
        if json { print(answer.serialized) } else { table(answer) }
    }
}

private final class KeptUntilExit {
    let model: ChainModel
    init(_ model: ChainModel) { self.model = model }
}

func parseTime(_ text: String, option: String) throws -> Timestamp {
    if let time = try? Timestamp(rfc3339: text) { return time }
    let parts = text.split(separator: "-").compactMap { Int64($0) }
    if parts.count == 3, text.count == 10 {
        do { return try Timestamp(year: parts[0], month: parts[1], day: parts[2]) } catch {
            throw ValidationError("\(option): \(error)")
        }
    }
    do { _ = try Timestamp(rfc3339: text) } catch { throw ValidationError("\(option): \(error)") }
    throw ValidationError("\(option): not a time")
}

struct BottlenecksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bottlenecks",
        abstract: "Where referrals queue: parties by expected wait against their norm (SPEC §5).")

    @OptionGroup var options: AnalysisOptions
    @Option(name: .long, help: "Show the first N (default 20).") var top = 20
    @Option(name: .long, help: "Only parties of this domain.") var domain: String?

    func run() throws {
        let window = try options.analysisWindow()
        var params: [String: JSONValue] = ["top": .int(top)]
        if let domain { params["domain"] = .string(domain) }
        let answer = try options.answer("bottlenecks", params) { Answers.bottlenecks($0, window: $1, top: top, domain: domain) }
        options.emit(answer) { answer in
            print("Bottlenecks as of \(window.asOf), window \(Table.number(window.days)) days (\(Table.number(answer["listed"])) parties listed)")
            let rows = answer["bottlenecks"].arrayValue.enumerated().map { index, entry in
                [String(index + 1), entry["party"].text, entry["domain"].text, entry["backlog"].text,
                 Table.number(entry["startsPerWeek"]), Table.days(entry["expectedWaitDays"]), Table.number(entry["normDays"]),
                 Table.number(entry["bottleneckScore"], decimals: 2), entry["overNorm"].text,
                 Table.days(entry["waitP50Days"]), Table.days(entry["waitP90Days"])]
            }
            Table.print(header: ["#", "party", "domain", "backlog", "starts/wk", "exp. wait", "norm", "score", "over norm", "p50", "p90"], rows: rows)
            print("")
            for (index, entry) in answer["bottlenecks"].arrayValue.prefix(5).enumerated() {
                print("\(index + 1). \(entry["name"].text): \(entry["reason"].text)")
            }
        }
    }
}

struct CaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "case",
        abstract: "One case for an MDT: referrals in time order, the regisseur and why, projected starts.")

    @OptionGroup var options: AnalysisOptions
    @Argument(help: "The (pseudonymous) case id.") var id: String

    func run() throws {
        let window = try options.analysisWindow()
        let answer = try options.answer("case.get", ["id": .string(id)]) { Answers.caseView($0, id: id, window: $1) }
        options.emit(answer) { answer in
            print("Case \(id) as of \(window.asOf)")
            if case .object(let zrm)? = answer["assessment"]?["zrm"] {
                print("ZRM: " + zrm.keys.sorted().map { "\($0) \(zrm[$0]!.text)" }.joined(separator: ", "))
            }
            print("")
            let rows = answer["referrals"].arrayValue.map { referral in
                [referral["created"].text.prefix(10).description, referral["referral"].text, referral["from"].text, referral["to"].text,
                 referral["state"].text, referral["wait"] == .null ? "" : Table.days(referral["wait"]),
                 referral["age"] == .null ? "" : Table.days(referral["age"]), Table.number(referral["normDays"])]
            }
            Table.print(header: ["created", "referral", "from", "to", "state", "wait", "age", "norm"], rows: rows)
            print("")
            let regie = answer["regisseur"]
            if regie != .null {
                print("Regisseur: \(regie?["regisseur"] == .null ? "none" : regie!["regisseur"].text) — \(regie!["rule"].text)")
                if case .object(let weights)? = regie?["weights"], !weights.isEmpty {
                    print("  weights: " + weights.keys.sorted().map { "\($0) \(Table.number(weights[$0]))" }.joined(separator: ", "))
                }
                if regie?["zwaartepuntUncovered"] == .bool(true) { print("  ! zwaartepunt uncovered: nobody from \(regie!["zwaartepunt"].arrayValue.map(\.text).joined(separator: ", ")) is involved") }
                if regie?["noRegisseur"] == .bool(true) { print("  ! no regisseur: no involved party may hold regie") }
            }
            let projected = answer["projection"]?["referrals"].arrayValue ?? []
            if !projected.isEmpty {
                print("")
                print("Projected starts of open referrals:")
                for entry in projected {
                    let flag = entry["exceedsNorm"] == .bool(true) ? "  ! over norm \(Table.number(entry["normDays"]))" : ""
                    let waits = entry["waitsFor"].arrayValue.map(\.text)
                    let after = waits.isEmpty ? "" : " (after \(waits.joined(separator: ", ")))"
                    print("  \(entry["referral"].text) → \(entry["to"].text): \(entry["projectedStart"].text.prefix(10)), wait \(Table.days(entry["projectedWaitDays"])) days\(after)\(flag)")
                }
                print("All help started by: \(answer["projection"]?["projectedCompletion"].text.prefix(10) ?? "")")
            }
        }
    }
}

struct RegisseursCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "regisseurs",
        abstract: "Who coordinates each case, and the regie caseload per party.")

    @OptionGroup var options: AnalysisOptions
    @Option(name: .long, help: "Only cases with this flag: noRegisseur or zwaartepuntUncovered.") var flag: String?
    @Option(name: .long, help: "Show the first N cases (default 30).") var top = 30

    func run() throws {
        let window = try options.analysisWindow()
        var regieFlag: Answers.RegieFlag?
        if let flag {
            guard let parsed = Answers.RegieFlag(rawValue: flag) else { throw ValidationError("--flag must be noRegisseur or zwaartepuntUncovered") }
            regieFlag = parsed
        }
        let answer = try options.answer("regisseurs", regieFlag.map { ["flag": .string($0.rawValue)] } ?? [:]) { Answers.regisseurs($0, window: $1, flag: regieFlag) }
        options.emit(answer) { answer in
            let cases = answer["cases"].arrayValue
            print("\(cases.count) cases as of \(window.asOf)")
            Table.print(header: ["case", "regisseur", "rule", "flags"], rows: cases.prefix(top).map { entry in
                var flags: [String] = []
                if entry["noRegisseur"] == .bool(true) { flags.append("noRegisseur") }
                if entry["zwaartepuntUncovered"] == .bool(true) { flags.append("zwaartepuntUncovered") }
                return [entry["case"].text, entry["regisseur"] == .null ? "-" : entry["regisseur"].text, entry["rule"].text, flags.joined(separator: ",")]
            })
            print("\nRegie caseload:")
            Table.print(header: ["party", "domain", "cases"], rows: answer["caseload"].arrayValue.prefix(15).map { [$0["party"].text, $0["domain"].text, $0["cases"].text] })
        }
    }
}

struct WhatIfCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whatif",
        abstract: "What if a party waits longer, or gets another capacity: who is hit?")

    @OptionGroup var options: AnalysisOptions
    @Argument(help: "The party.") var party: String
    @Option(name: .long, help: "Extra wait in days at the party.") var extraWaitDays: Double?
    @Option(name: .long, help: "New capacity (starts per week) of the party.") var capacityPerWeek: Double?

    func run() throws {
        let change: WhatIfAnswer.Change
        switch (extraWaitDays, capacityPerWeek) {
        case (let days?, nil):
            guard abs(days) <= AnalysisWindow.maxDays else {
                throw ValidationError("--extra-wait-days must be between -\(Int(AnalysisWindow.maxDays)) and \(Int(AnalysisWindow.maxDays)) days (10,000 years)")
            }
            change = .extraWait(days: days)
        case (nil, let capacity?):
            guard capacity >= 0 else { throw ValidationError("--capacity-per-week must be ≥ 0") }
            change = .capacity(perWeek: capacity)
        default: throw ValidationError("give exactly one of --extra-wait-days and --capacity-per-week")
        }
        var params: [String: JSONValue] = ["party": .string(party)]
        switch change {
        case .extraWait(let days): params["extraWaitDays"] = .number(days)
        case .capacity(let perWeek): params["capacityPerWeek"] = .number(perWeek)
        }
        let answer = try options.answer("propagation.whatIf", params) { Answers.whatIf($0, window: $1, party: party, change: change) }
        options.emit(answer) { answer in
            print("\(party): wait \(Table.days(answer["waitDays"])) → \(Table.days(answer["newWaitDays"])) days")
            Table.print(header: ["party", "T (days)", "new T", "change"], rows: answer["affectedParties"].arrayValue.prefix(20).map {
                [$0["party"].text, Table.days($0["T"]), Table.days($0["newT"]), Table.number($0["changeDays"], decimals: 1)]
            })
            print("\n\(answer["affectedCases"].arrayValue.count) open cases affected; newly over norm: \(answer["casesNewlyOverNorm"].arrayValue.count)")
            for entry in answer["affectedCases"].arrayValue.prefix(10) {
                print("  \(entry["case"].text): all help started by \(entry["projectedCompletion"].text.prefix(10)) → \(entry["newProjectedCompletion"].text.prefix(10))\(entry["newlyExceedsNorm"] == .bool(true) ? "  ! newly over norm" : "")")
            }
        }
    }
}

struct PingPongCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pingpong",
        abstract: "Who sends people back and forth: returns within 90 days, per pair and case.")

    @OptionGroup var options: AnalysisOptions

    func run() throws {
        let window = try options.analysisWindow()
        let answer = try options.answer("pingpong") { Answers.pingPong($0, window: $1) }
        options.emit(answer) { answer in
            print("\(answer["returns"].arrayValue.count) returns in the window ending \(window.asOf)")
            Table.print(header: ["parties", "returns", "cases"], rows: answer["pairs"].arrayValue.prefix(20).map {
                [$0["parties"].arrayValue.map(\.text).joined(separator: " ⇄ "), $0["returns"].text, $0["cases"].text]
            })
        }
    }
}

struct DroppedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dropped",
        abstract: "Tussen wal en schip: rejected or withdrawn referrals with no follow-up in 14 days.")

    @OptionGroup var options: AnalysisOptions

    func run() throws {
        let window = try options.analysisWindow()
        let answer = try options.answer("dropped") { Answers.dropped($0, window: $1) }
        options.emit(answer) { answer in
            let dropped = answer["dropped"].arrayValue
            print("\(dropped.count) dropped referrals in the window ending \(window.asOf)")
            Table.print(header: ["ended", "case", "referral", "from", "to", "status", "reason"], rows: dropped.prefix(30).map {
                [$0["endedAt"].text.prefix(10).description, $0["case"].text, $0["referral"].text, $0["from"].text, $0["to"].text, $0["status"].text, $0["reason"] == .null ? "" : $0["reason"].text]
            })
        }
    }
}

struct StructureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "structure",
        abstract: "Structural signals: betweenness of parties and closed loops that cases never leave.")

    @OptionGroup var options: AnalysisOptions
    @Option(name: .long, help: "Show the first N parties by betweenness (default 15).") var top = 15

    func run() throws {
        let answer = try options.answer("structure") { Answers.structure($0, window: $1, top: top) }
        options.emit(answer) { answer in
            Table.print(header: ["party", "betweenness"], rows: answer["betweenness"].arrayValue.map { [$0["party"].text, Table.number($0["betweenness"], decimals: 4)] })
            let loops = answer["closedLoops"].arrayValue
            print("\n\(loops.count) closed loops" + (loops.isEmpty ? "" : ":"))
            for loop in loops { print("  " + loop.arrayValue.map(\.text).joined(separator: " → ")) }
        }
    }
}

extension Optional where Wrapped == JSONValue {
    var text: String { self?.text ?? "" }
    var arrayValue: [JSONValue] { self?.arrayValue ?? [] }
}

extension JSONValue {
    var text: String {
        switch self {
        case .null: ""
        case .string(let value): value
        case .number, .bool: serialized
        default: serialized
        }
    }

    var arrayValue: [JSONValue] {
        if case .array(let values) = self { return values }
        return []
    }
}

/// Plain-text tables for people.
enum Table {
    static func print(header: [String], rows: [[String]]) {
        let columns = header.count
        var widths = header.map(\.count)
        for row in rows { for (index, cell) in row.enumerated() where index < columns { widths[index] = max(widths[index], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                let padding = String(repeating: " ", count: max(0, widths[index] - cell.count))
                return index == 0 || Double(cell) == nil ? cell + padding : padding + cell
            }.joined(separator: "  ")
        }
        Swift.print(line(header))
        Swift.print(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
        for row in rows { Swift.print(line(row)) }
    }

    static func number(_ value: JSONValue?, decimals: Int = 1) -> String {
        switch value {
        case .number(let number)?:
            if number == number.rounded() { return String(Int64(number)) }
            return String(format: "%.\(decimals)f", number)
        case .string(let text)?: return text == "Infinity" ? "∞" : text
        case .null?, nil: return "-"
        default: return value!.serialized
        }
    }

    static func number(_ value: Double) -> String { number(.number(value)) }

    static func days(_ value: JSONValue?) -> String {
        if case .number(let number)? = value { return String(Int64(number.rounded())) }
        return number(value)
    }
}

struct AlertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "The alerts firing now (from the running daemon).")

    @OptionGroup var options: AnalysisOptions

    func run() throws {
        let answer = try options.answer("alerts.list") { model, window in
            .object(["alerts": .array(AlertRules.evaluate(model, window: window).map(\.json))])
        }
        options.emit(answer) { answer in
            let alerts = answer["alerts"].arrayValue
            print("\(alerts.count) alerts firing")
            Table.print(header: ["alertname", "severity", "since", "summary"], rows: alerts.prefix(50).map {
                [$0["labels"]?["alertname"].text ?? "", $0["labels"]?["severity"].text ?? "", $0["startsAt"].text.prefix(16).description, $0["annotations"]?["summary"].text ?? ""]
            })
        }
    }
}

struct DotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dot",
        abstract: "Write a GraphViz view: network, bottlenecks, or case ID (and an SVG where Graphviz is installed).")

    @OptionGroup var options: AnalysisOptions
    @Option(name: .long, help: "With --state: the directory to write into (default ./graphs).") var graphs: String?
    @Argument(help: "network, bottlenecks or case.") var view: String
    @Argument(help: "The case id for the case view.") var id: String?

    func validate() throws {
        guard ["network", "bottlenecks", "case"].contains(view) else { throw ValidationError("view must be network, bottlenecks or case") }
        if view == "case", id == nil { throw ValidationError("the case view needs a case id") }
    }

    func run() throws {
        var params: [String: JSONValue] = ["view": .string(view)]
        if let id { params["id"] = .string(id) }
        let directory = try graphs ?? options.stateOptions.loadConfiguration().graphsDirectory
        let answer = try options.answer("dot.write", params) { model, window in
            if view == "case", model.cases[id!] == nil { return nil }
            let files = try DotWriter(directory: directory).files(view: view, id: id, model: model, window: window)
            return .object(["files": .array(files.map { .string($0) })])
        }
        options.emit(answer) { answer in
            for file in answer["files"].arrayValue { print(file.text) }
        }
    }
}
