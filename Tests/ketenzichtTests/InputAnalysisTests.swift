import Foundation
import Testing

/// `ketenzicht bottlenecks --input FILE`: an export analysed without a daemon or a state
/// directory, through the real binary.
@Suite struct InputAnalysisTests {
    struct Outcome {
        var status: Int32
        var standardOutput: String
        var standardError: String
    }

    static func run(_ arguments: [String], in directory: String) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Harness.binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Standard error is small; standard output is read to its end first so neither pipe fills.
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, standardOutput: String(decoding: out, as: UTF8.self), standardError: String(decoding: err, as: UTF8.self))
    }

    @Test func answersAsTheStateDirectoryDoesAndStoresNothing() throws {
        let workspace = try Workspace()
        let asOf = "2026-11-01T00:00:00Z"
        let fromFile = try Self.run(["bottlenecks", "--input", Harness.sample, "--as-of", asOf, "--top", "50", "--json"], in: workspace.path)
        #expect(fromFile.status == 0)
        #expect(fromFile.standardError.contains("accepted 12864, duplicates 0, pending 0, rejected 0"))
        // Nothing was written: no state directory, no key file in the working directory.
        #expect(!FileManager.default.fileExists(atPath: workspace.path + "/state"))

        let state = workspace.path + "/kept-state"
        #expect(Harness.run(Harness.binary, ["ingest", "--state", state, Harness.sample]) == 0)
        let fromState = try Self.run(["bottlenecks", "--state", state, "--as-of", asOf, "--top", "50", "--json"], in: workspace.path)
        #expect(fromState.status == 0)
        #expect(!fromFile.standardOutput.isEmpty)
        #expect(fromFile.standardOutput == fromState.standardOutput)

        let both = try Self.run(["bottlenecks", "--input", Harness.sample, "--state", state], in: workspace.path)
        #expect(both.status != 0)
        #expect(both.standardError.contains("--input and --state exclude each other"))
    }

    @Test func badEventsAreNamedOnStandardErrorAndTheRestIsAnswered() throws {
        let workspace = try Workspace()
        let outcome = try Self.run(["pingpong", "--input", Harness.invalidSample, "--as-of", "2026-11-01", "--json"], in: workspace.path)
        #expect(outcome.status == 0)
        #expect(outcome.standardError.contains("municipality-invalid.ndjson:"))
        #expect(outcome.standardError.contains("elfproef"))
        #expect(outcome.standardOutput.hasPrefix("{"))
        // The raw BSNs of the invalid sample appear nowhere.
        for bsn in ["999661358", "999661359", "999999999"] {
            #expect(!outcome.standardError.contains(bsn))
            #expect(!outcome.standardOutput.contains(bsn))
        }
    }
}
