public import ArgumentParser
import Foundation
import KetenzichtCore
import KetenzichtDaemon
import KetenzichtIngest
import KetenzichtStore

struct IngestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Ingest event files straight into a state directory.",
        discussion: """
            Each file is decoded, validated and committed; rejected events are quarantined in the \
            state directory with their errors. Prints a summary per file and exits 1 when anything \
            was rejected. Ingesting the same file again changes nothing (all duplicates).
            """
    )

    @OptionGroup var stateOptions: StateOptions

    @Option(name: .long, help: "Ingest through a running daemon's socket instead of into --state.")
    var socket: String?

    @Option(name: .long, help: "Input format: cloudevents, xml, ijw or iwmo (detected from the content when omitted).")
    var format: InputFormat?

    @Option(name: .long, help: "How many errors to print per file (all are quarantined).")
    var maxErrors = 20

    @Flag(name: .long, help: "No progress bar, even on a terminal.")
    var noProgress = false

    @Argument(help: "Files or directories to ingest (NDJSON or JSON-array CloudEvents, canonical XML, iJw/iWmo messages).")
    var inputs: [String]

    /// A directory of iStandaarden messages stays one input (one summary, batched commits); any
    /// other directory stands for the files in it.
    var files: [String] {
        inputs.flatMap { input -> [String] in
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory), isDirectory.boolValue else { return [input] }
            let resolved = format ?? (try? InputFormat.detect(path: input))
            if resolved == .ijw || resolved == .iwmo { return [input] }
            return IStandaardenDecoder.messageFiles(in: input).map(\.path)
        }
    }

    func run() throws {
        if let socket {
            try ingestThroughSocket(socket)
            return
        }
        let files = self.files
        let ledger: Ledger
        do { ledger = try stateOptions.openLedger() } catch let error as ValidationError { throw error } catch {
            throw RuntimeError("\(error)")
        }
        var total = Ledger.Summary()
        let showProgress = !noProgress && isatty(STDERR_FILENO) == 1
        for file in files {
            let started = ContinuousClock.now
            let bar = showProgress ? ProgressBar(label: file) : nil
            var progress: DecodeProgress?
            if let bar { progress = { read, total in bar.update(read: read, total: total) } }
            let summary = try ledger.ingest(.file(path: file), format: format, receivedAt: wallClock(), progress: progress)
            bar?.finish()
            let seconds = (ContinuousClock.now - started).seconds
            print(Self.describe(file: file, summary, seconds: seconds))
            for issue in summary.errors.prefix(maxErrors) { printError("  error: \(issue)") }
            if summary.rejected > maxErrors {
                printError("  … and \(summary.rejected - maxErrors) more; all are in the quarantine (ketenzicht quarantine --state \(ledger.stateDirectory))")
            }
            for issue in summary.warnings.prefix(maxErrors) { printError("  \(issue)") }
            if summary.warnings.count > maxErrors { printError("  … and \(summary.warnings.count - maxErrors) more warnings") }
            total += summary
        }
        if files.count > 1 { print(Self.describe(file: "total", total, seconds: nil)) }
        if total.rejected > 0 { throw ExitCode(1) }
    }

    /// The daemon reads the file itself (it must be readable by the daemon's user).
    func ingestThroughSocket(_ socket: String) throws {
        let files = self.files
        var rejected = 0
        for file in files {
            let path = file.hasPrefix("/") ? file : FileManager.default.currentDirectoryPath + "/" + file
            var params: [String: JSONValue] = ["path": .string(path)]
            if let format { params["format"] = .string(format.rawValue) }
            let answer = try SocketClient.call(socket: socket, method: "ingest", params: params)
            func count(_ key: String) -> Int { if case .number(let value)? = answer[key] { return Int(value) } else { return 0 } }
            print("\(file): accepted \(count("accepted")), duplicates \(count("duplicates")), pending \(count("pending")), rejected \(count("rejected"))")
            if case .array(let errors)? = answer["errors"] {
                for error in errors.prefix(maxErrors) { if case .string(let text) = error { printError("  error: \(text)") } }
            }
            rejected += count("rejected")
        }
        if rejected > 0 { throw ExitCode(1) }
    }

    static func describe(file: String, _ summary: Ledger.Summary, seconds: Double?) -> String {
        var text = "\(file): accepted \(summary.accepted), duplicates \(summary.duplicates), pending \(summary.pending), rejected \(summary.rejected)"
        if summary.released > 0 { text += ", released from pending \(summary.released)" }
        if !summary.warnings.isEmpty { text += ", warnings \(summary.warnings.count)" }
        if let seconds, seconds > 0 {
            let events = summary.accepted + summary.duplicates + summary.pending + summary.rejected
            text += String(format: " (%.2f s, %.0f events/s)", seconds, Double(events) / seconds)
        }
        return text
    }
}

extension InputFormat: ExpressibleByArgument {}

func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

struct RuntimeError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// A one-line progress bar on standard error, redrawn at most ten times a second.
/// Only the decoding thread draws it, so its state needs no lock.
final class ProgressBar: @unchecked Sendable {
    private let label: String
    private let started = ContinuousClock.now
    private var lastDraw = ContinuousClock.now - .seconds(1)

    init(label: String) { self.label = label }

    func update(read: Int, total: Int) {
        let now = ContinuousClock.now
        guard now - lastDraw >= .milliseconds(100), total > 0 else { return }
        lastDraw = now
        let fraction = min(1, Double(read) / Double(total))
        let width = 30
        let filled = Int(fraction * Double(width))
        let rate = Double(read) / max((now - started).seconds, 0.001) / 1_048_576
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        FileHandle.standardError.write(Data(String(format: "\r[%@] %3.0f%% %6.1f MB/s %@", bar, fraction * 100, rate, label).utf8))
    }

    func finish() {
        FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
    }
}
