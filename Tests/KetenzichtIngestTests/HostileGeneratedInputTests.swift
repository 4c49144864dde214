import Foundation
import KetenzichtIngest
import KetenzichtStore
import KetenzichtTestSupport
import Testing

/// The hostile inputs too big to commit (see `Hostile/README.md`): written at test time and
/// ingested by the real `ketenzicht ingest --state` in a child process, whose peak resident
/// memory (its `VmHWM`) must stay under a bound far below the input's size.
///
/// The bound: an idle `ketenzicht ingest` of the debug build is about 35 MiB (runtime, SQLite,
/// the compiled schemas); decoding adds a 4 MiB window of the file mapping (and the next one,
/// prefetched), at most 64 KiB of refused input kept for the quarantine, and libxml2's buffers.
/// 128 MiB leaves room for allocator noise, and is an eighth of the gigabyte inputs: a decoder
/// that held even a fraction of the line would cross it.
@Suite(.serialized) struct HostileGeneratedInputTests {
    static let rssBound = 128 << 20
    static let gibibyte = 1 << 30

    static func event(_ id: String, party: String, name: String = "Partij") -> String {
        #"{"specversion":"1.0","id":"\#(id)","source":"urn:hostile","type":"nl.ketenzicht.party.registered","time":"2026-03-01T09:00:00+01:00","data":{"party":"\#(party)","name":"\#(name)","domain":"wmo"}}"#
    }

    static let before = event("before", party: "wmo-voor")
    static let after = event("after", party: "wmo-na")
    static let xmlNamespace = "urn:ketenzicht:exchange:1"

    static func xmlParty(_ id: String, party: String) -> String {
        #"<party id="\#(id)" source="urn:hostile" time="2026-03-01T09:00:00+01:00" party="\#(party)" domain="wmo"><name>Partij</name></party>"#
    }

    static var binary: String { builtKetenzichtBinary }

    /// A temporary directory with the input files and the state directory, removed at the end.
    final class Workspace {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kz-generated-\(UUID().uuidString)").path
        var state: String { path + "/state" }

        init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: path) }

        /// Writes `parts` in order; a number is a hole of that many bytes, which the file system
        /// reads back as NULs without writing them: a gigabyte costs no disk and no time.
        func write(_ name: String, _ parts: [Part]) throws -> String {
            let file = path + "/" + name
            let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            guard fd >= 0 else { throw CocoaError(.fileWriteUnknown) }
            defer { close(fd) }
            for part in parts {
                switch part {
                case .text(let text):
                    let bytes = Array(text.utf8)
                    guard bytes.withUnsafeBytes({ Foundation.write(fd, $0.baseAddress, $0.count) }) == bytes.count else { throw CocoaError(.fileWriteUnknown) }
                case .repeated(let text, let times):
                    let chunk = Array(text.utf8)
                    for _ in 0..<times {
                        guard chunk.withUnsafeBytes({ Foundation.write(fd, $0.baseAddress, $0.count) }) == chunk.count else { throw CocoaError(.fileWriteUnknown) }
                    }
                case .hole(let bytes):
                    lseek(fd, off_t(bytes), SEEK_CUR)
                }
            }
            return file
        }

        func eventIDs() throws -> [String] {
            let ledger = try Ledger(stateDirectory: state)
            return try ledger.store.allEventLines().map { line in
                ((try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["id"] as? String) ?? "?"
            }
        }
    }

    enum Part {
        case text(String)
        case repeated(String, times: Int)
        case hole(Int)
    }

    struct ChildResult {
        var status: Int32
        var peakRSS: Int
        var output: String
    }

    /// Runs `ketenzicht` with `arguments`, stdout and stderr into one file, and measures its
    /// peak resident memory.
    ///
    /// Not with `wait4`'s `ru_maxrss`: Linux folds into it the high-water mark of the memory a
    /// process leaves at `exec`, which for a spawned child is this test runner's (100 MiB and
    /// more while other suites run). The child's own high-water mark, `VmHWM` in
    /// `/proc/<pid>/status`, is read instead every 2 ms until it exits; being a high-water mark,
    /// any reading after the peak sees the peak, and the peaks here come while the input is
    /// read, long before the process ends.
    static func ketenzicht(_ arguments: [String], in workspace: Workspace) throws -> ChildResult {
        let log = workspace.path + "/child.log"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([binary] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, binary, &actions, nil, argv, environ)
        guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EINVAL) }
        var status: Int32 = 0
        var peak = 0
        while true {
            peak = max(peak, highWaterMark(of: pid))
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { break }
            guard reaped == 0 || errno == EINTR else { throw POSIXError(.ECHILD) }
            usleep(2000)
        }
        // WIFEXITED / WEXITSTATUS, which Swift does not import.
        let exitCode = status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return ChildResult(status: exitCode, peakRSS: peak, output: output)
    }

    /// `VmHWM` of a running process in bytes; 0 once it is gone.
    static func highWaterMark(of pid: pid_t) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
        return (Int(line.split { $0 == " " || $0 == "\t" }.dropFirst().first ?? "") ?? 0) * 1024
    }

    static func ingest(_ file: String, in workspace: Workspace, extra: [String] = []) throws -> ChildResult {
        try ketenzicht(["ingest", "--state", workspace.state, "--no-progress"] + extra + [file], in: workspace)
    }

    static func mebibytes(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }

    // MARK: JSON

    @Test func aGibibyteLineIsRefusedInFlatMemory() throws {
        let workspace = try Workspace()
        let head = #"{"specversion":"1.0","id":"big","source":"urn:hostile","type":"nl.ketenzicht.party.registered","time":"2026-03-01T09:00:00+01:00","data":{"party":"x","name":""#
        let tail = #""}}"#
        let file = try workspace.write("gib-line.ndjson", [.text(Self.before + "\n" + head), .hole(Self.gibibyte), .text(tail + "\n" + Self.after + "\n")])
        let run = try Self.ingest(file, in: workspace)
        let length = head.utf8.count + Self.gibibyte + tail.utf8.count
        #expect(run.status == 1)
        #expect(run.output.contains("  error: \(file):2: line is \(length) bytes, longer than the limit of 16777216 bytes; not decoded\n"), "\(run.output)")
        #expect(run.output.contains("\(file): accepted 2, duplicates 0, pending 0, rejected 1"))
        #expect(run.peakRSS < Self.rssBound, "peak RSS \(Self.mebibytes(run.peakRSS)) for a 1 GiB line")
        #expect(try workspace.eventIDs() == ["before", "after"])
        print("generated: 1 GiB NDJSON line: peak RSS \(Self.mebibytes(run.peakRSS))")
    }

    @Test func aGibibyteBatchElementIsSkippedInFlatMemory() throws {
        let workspace = try Workspace()
        let head = #"{"specversion":"1.0","id":"big","source":"urn:hostile","type":"nl.ketenzicht.party.registered","time":"2026-03-01T09:00:00+01:00","data":{"party":"x","name":""#
        let file = try workspace.write("gib-batch.json", [.text("[" + Self.before + ",\n" + head), .hole(Self.gibibyte), .text(#""}},"# + "\n" + Self.after + "]\n")])
        let run = try Self.ingest(file, in: workspace)
        #expect(run.status == 1)
        #expect(run.output.contains("  error: \(file):2: batch array element is longer than the limit of 16777216 bytes; not decoded\n"), "\(run.output)")
        #expect(run.peakRSS < Self.rssBound, "peak RSS \(Self.mebibytes(run.peakRSS)) for a 1 GiB batch element")
        #expect(try workspace.eventIDs() == ["before", "after"])
        print("generated: 1 GiB batch element: peak RSS \(Self.mebibytes(run.peakRSS))")
    }

    @Test func theConfiguredLineLimitIsExact() throws {
        let workspace = try Workspace()
        let config = try workspace.write("small-lines.yaml", [.text("version: 1\ningest: { maxLineBytes: 4096 }\n")])
        let template = Self.event("at-limit", party: "wmo-limiet", name: "")
        let atLimit = Self.event("at-limit", party: "wmo-limiet", name: String(repeating: "a", count: 4096 - template.utf8.count))
        let overTemplate = Self.event("over-limit", party: "wmo-over", name: "")
        let overLimit = Self.event("over-limit", party: "wmo-over", name: String(repeating: "a", count: 4097 - overTemplate.utf8.count))
        #expect(atLimit.utf8.count == 4096 && overLimit.utf8.count == 4097)
        let file = try workspace.write("limits.ndjson", [.text([Self.before, atLimit, overLimit, Self.after].joined(separator: "\n") + "\n")])
        let run = try Self.ingest(file, in: workspace, extra: ["--config", config])
        #expect(run.status == 1)
        #expect(run.output.contains("  error: \(file):3: line is 4097 bytes, longer than the limit of 4096 bytes; not decoded\n"), "\(run.output)")
        #expect(try workspace.eventIDs() == ["before", "at-limit", "after"])
    }

    @Test func hundredThousandNestedArraysAreRefusedWithoutRecursion() throws {
        let workspace = try Workspace()
        let head = #"{"specversion":"1.0","id":"deep","source":"urn:hostile","type":"nl.ketenzicht.party.registered","time":"2026-03-01T09:00:00+01:00","ext":"#
        let tail = #","data":{"party":"x","name":"X","domain":"wmo"}}"#
        let file = try workspace.write("deep.ndjson", [
            .text(Self.before + "\n" + head), .repeated("[", times: 100_000), .repeated("]", times: 100_000), .text(tail + "\n" + Self.after + "\n"),
        ])
        let run = try Self.ingest(file, in: workspace)
        // The event object is level 1, so the 64th bracket opens level 65.
        let column = head.utf8.count + 64
        #expect(run.status == 1)
        #expect(run.output.contains("  error: \(file):2: event deep (urn:hostile): malformed JSON (column \(column)): nested deeper than 64 levels\n"), "\(run.output)")
        #expect(run.peakRSS < Self.rssBound)
        #expect(try workspace.eventIDs() == ["before", "after"])
        print("generated: 10^5 nested JSON arrays: peak RSS \(Self.mebibytes(run.peakRSS))")
    }

    @Test func aLongDependsOnChainIsIngested() throws {
        let workspace = try Workspace()
        let count = 20_000
        var lines: [String] = []
        for index in 0..<count {
            let dependsOn = index == 0 ? "" : #","dependsOn":["r-\#(index - 1)"]"#
            lines.append(#"{"specversion":"1.0","id":"c-\#(index)","source":"urn:hostile","type":"nl.ketenzicht.referral.created","time":"2026-03-02T10:00:00+01:00","data":{"referral":"r-\#(index)","case":"c-1","from":"km-noord","to":"ggz-oost"\#(dependsOn)}}"#)
        }
        let file = try workspace.write("chain.ndjson", [.text(lines.joined(separator: "\n") + "\n")])
        let run = try Self.ingest(file, in: workspace)
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("\(file): accepted \(count), duplicates 0, pending 0, rejected 0"))
    }

    @Test func aBatchOnOneLineIsIngested() throws {
        let workspace = try Workspace()
        let count = 20_000
        let events = (0..<count).map { Self.event("e-\($0)", party: "wmo-\($0)") }
        let file = try workspace.write("one-line.json", [.text("[" + events.joined(separator: ",") + "]")])
        let run = try Self.ingest(file, in: workspace)
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("\(file): accepted \(count), duplicates 0, pending 0, rejected 0"))
    }

    // MARK: XML

    static func exchanges(_ parts: [Part]) -> [Part] {
        [.text("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<exchanges xmlns=\"\(xmlNamespace)\">\n" + xmlParty("before", party: "wmo-voor") + "\n")]
            + parts + [.text("\n" + xmlParty("after", party: "wmo-na") + "\n</exchanges>\n")]
    }

    @Test func hundredThousandNestedElementsAreRefused() throws {
        let workspace = try Workspace()
        let file = try workspace.write("deep.xml", Self.exchanges([
            .text(#"<party id="deep" source="urn:hostile" time="2026-03-01T09:00:00+01:00" party="x" domain="wmo">"#),
            .repeated("<x>", times: 100_000), .repeated("</x>", times: 100_000), .text("<name>X</name></party>"),
        ]))
        let run = try Self.ingest(file, in: workspace)
        #expect(run.status == 1)
        #expect(run.output.contains("  error: \(file):4: too deep: elements nested more than 256 levels; reading stopped here\n"), "\(run.output)")
        #expect(run.peakRSS < Self.rssBound)
        #expect(try workspace.eventIDs() == ["before"])
        print("generated: 10^5 nested XML elements: peak RSS \(Self.mebibytes(run.peakRSS))")
    }

    @Test func aQuarterGibibyteTextIsRefusedInFlatMemory() throws {
        let workspace = try Workspace()
        let megabyte = String(repeating: "abcdefghijklmnop", count: 65_536)
        let file = try workspace.write("text.xml", Self.exchanges([
            .text(#"<party id="long" source="urn:hostile" time="2026-03-01T09:00:00+01:00" party="x" domain="wmo"><name>"#),
            .repeated(megabyte, times: 256), .text("</name></party>"),
        ]))
        let run = try Self.ingest(file, in: workspace)
        #expect(run.status == 1)
        #expect(run.output.contains("  error: \(file):4: too long: more than 10000000 bytes of text in one element; reading stopped here\n"), "\(run.output)")
        #expect(run.peakRSS < Self.rssBound, "peak RSS \(Self.mebibytes(run.peakRSS)) for a 256 MiB text")
        #expect(try workspace.eventIDs() == ["before"])
        print("generated: 256 MiB XML text node: peak RSS \(Self.mebibytes(run.peakRSS))")
    }

    @Test func aTagOfAHundredThousandAttributesIsRefused() throws {
        let workspace = try Workspace()
        let attributes = (0..<100_000).map { "a\($0)=\"x\"" }.joined(separator: " ")
        let file = try workspace.write("attributes.xml", Self.exchanges([
            .text(#"<party id="wide" source="urn:hostile" time="2026-03-01T09:00:00+01:00" party="x" domain="wmo" "# + attributes + "><name>X</name></party>"),
        ]))
        let run = try Self.ingest(file, in: workspace)
        #expect(run.status == 1)
        #expect(run.output.contains("  error: \(file):4: too long: a tag of more than 65536 bytes (no event needs one, and thousands of attributes would stall the parser); reading stopped here\n"), "\(run.output)")
        #expect(run.peakRSS < Self.rssBound)
        #expect(try workspace.eventIDs() == ["before"])
    }

    @Test func entityExpansionNeverHappens() throws {
        let workspace = try Workspace()
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Hostile").path
        let laughs = try Self.ingest(corpus + "/xml-billion-laughs.xml", in: workspace)
        #expect(laughs.status == 1)
        #expect(laughs.output.contains("xml-billion-laughs.xml:2: DOCTYPE declarations are not allowed (no DTDs, no entities); reading stopped here\n"))
        #expect(laughs.peakRSS < Self.rssBound)
        // A 4 MiB entity used 100,000 times would be 400 GiB expanded.
        let blowup = try workspace.write("blowup.xml", [
            .text("<?xml version=\"1.0\"?>\n<!DOCTYPE exchanges [\n<!ENTITY a \""), .repeated("aaaaaaaaaaaaaaaa", times: 262_144), .text("\">\n]>\n"),
            .text("<exchanges xmlns=\"\(Self.xmlNamespace)\"><party id=\"x\" source=\"s\" time=\"2026-03-01T09:00:00Z\" party=\"x\" domain=\"wmo\"><name>"),
            .repeated("&a;", times: 100_000), .text("</name></party></exchanges>\n"),
        ])
        let quadratic = try Self.ingest(blowup, in: workspace)
        #expect(quadratic.status == 1)
        #expect(quadratic.output.contains("blowup.xml:2: DOCTYPE declarations are not allowed (no DTDs, no entities); reading stopped here\n"), "\(quadratic.output)")
        #expect(quadratic.peakRSS < Self.rssBound)
        // In UTF-16 the DOCTYPE is not visible to a byte scanner; the encoding is refused first.
        let utf16 = try Self.ingest(corpus + "/xml-utf16-doctype.xml", in: workspace, extra: ["--format", "xml"])
        #expect(utf16.status == 1)
        #expect(utf16.output.contains("xml-utf16-doctype.xml:1: not UTF-8: the input starts like UTF-16 or UTF-32; convert it to UTF-8; reading stopped here\n"), "\(utf16.output)")
        #expect(try workspace.eventIDs().isEmpty)
        print("generated: billion laughs \(Self.mebibytes(laughs.peakRSS)), 4 MiB x 100,000 blow-up \(Self.mebibytes(quadratic.peakRSS))")
    }
}
