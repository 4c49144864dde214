import ArgumentParser
import Foundation
import KetenzichtConfig
import KetenzichtCore
import KetenzichtStore

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Rebuild the model from a state directory and print what it holds."
    )

    @OptionGroup var stateOptions: StateOptions

    @Option(name: .long, help: "Count referral states as of this RFC 3339 time (default: the latest event).")
    var asOf: String?

    func run() throws {
        let ledger = try stateOptions.openLedger()
        let model = ledger.model
        let counts = try ledger.store.counts()
        var asOfTime = model.highWater ?? Timestamp(millisecondsSinceEpoch: 0)
        if let asOf {
            do { asOfTime = try Timestamp(rfc3339: asOf) } catch { throw ValidationError("--as-of: \(error)") }
        }
        let autoRegistered = model.parties.values.filter(\.isAutoRegistered).count
        var states: [ReferralState: Int] = [:]
        for referral in model.referrals.values {
            if let state = referral.state(asOf: asOfTime) { states[state, default: 0] += 1 }
        }
        print("state directory  \(ledger.stateDirectory)")
        print("events stored    \(counts.events)")
        print("quarantined      \(counts.quarantined)")
        print("pending          \(model.pendingCount)")
        print("parties          \(model.parties.count) (\(autoRegistered) known only from referrals, domain \(model.catalog.fallbackDomain))")
        print("cases            \(model.cases.count)")
        print("referrals        \(model.referrals.count), as of \(asOfTime):")
        for state in ReferralState.allCases {
            print("  \(state.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0)) \(states[state, default: 0])")
        }
        for issue in ledger.replayIssues.prefix(20) { printError("replay: \(issue)") }
    }
}

struct QuarantineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quarantine",
        abstract: "List the most recent quarantined input with its errors."
    )

    @OptionGroup var stateOptions: StateOptions

    @Option(name: .long, help: "How many entries to show, newest first.")
    var limit = 20

    @Flag(name: .long, help: "Also print the refused text (BSN-shaped digits are redacted).")
    var raw = false

    func run() throws {
        let ledger = try stateOptions.openLedger()
        for entry in try ledger.store.quarantineEntries(limit: limit) {
            var location = entry.origin
            if let line = entry.line { location += ":\(line)" }
            var text = "\(entry.receivedAt)  \(location): "
            if let event = entry.event { text += "event \(event): " }
            if let field = entry.field { text += "\(field): " }
            print(text + entry.message)
            if raw, let body = entry.raw { print("    " + body) }
        }
    }
}

struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a config file; exits non-zero with the reason when it is invalid."
    )

    @Argument(help: "The config file (YAML).")
    var file: String

    func run() throws {
        do {
            let configuration = try Configuration.load(path: file)
            print("\(file): valid (version \(Configuration.currentVersion), \(configuration.catalog.domains.count) domains, state \(configuration.stateDirectory))")
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
    }
}
