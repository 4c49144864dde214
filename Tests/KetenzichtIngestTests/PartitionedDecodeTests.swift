import Foundation
import KetenzichtCore
import KetenzichtIngest
import Testing

/// `CloudEventsDecoder.decode(path:part:of:…)`: the blocks of all workers, taken in turn, must be
/// exactly what one `decode` gives, line numbers, failures and raw text included.
@Suite struct PartitionedDecodeTests {
    typealias F = CloudEventsFixture
    static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("samples").path

    static func describe(_ record: DecodeRecord) -> String {
        switch record.outcome {
        case .event(let event): "\(record.location) \(event.canonicalJSON)"
        case .failure(let issue, let raw): "\(record.location) \(issue) raw: \(raw ?? "-")"
        }
    }

    static func serial(_ path: String) -> [String] {
        var records: [String] = []
        F.decoder.decode(.file(path: path), progress: nil) { records.append(describe($0)) }
        return records
    }

    /// Each worker's blocks, decoded one worker after the other, then taken in turn.
    static func partitioned(_ path: String, parts: Int, blockBytes: Int) -> [String] {
        var blocksByPart: [[[String]]] = []
        for part in 0..<parts {
            var blocks: [[String]] = []
            var current: [String] = []
            F.decoder.decode(path: path, part: part, of: parts, blockBytes: blockBytes, progress: nil,
                             sink: { current.append(describe($0)) }, endOfBlock: { blocks.append(current); current = [] })
            #expect(current.isEmpty, "records after the last block end")
            blocksByPart.append(blocks)
        }
        var merged: [String] = []
        var next = Array(repeating: 0, count: parts)
        var part = 0
        while next[part] < blocksByPart[part].count {
            merged += blocksByPart[part][next[part]]
            next[part] += 1
            part = (part + 1) % parts
        }
        #expect(zip(next, blocksByPart).allSatisfy { $0 == $1.count }, "blocks left over after a worker ran out")
        return merged
    }

    static func file(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kz-partition-\(UUID().uuidString)-\(name)").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test(arguments: [1, 2, 3])
    func samplesGiveWhatOneDecoderGives(parts: Int) {
        for name in ["municipality.ndjson", "municipality-invalid.ndjson"] {
            let path = Self.samples + "/" + name
            let expected = Self.serial(path)
            #expect(!expected.isEmpty)
            for blockBytes in [1, 700, 65_536, 1 << 20] {
                #expect(Self.partitioned(path, parts: parts, blockBytes: blockBytes) == expected, "\(name), \(parts) parts, blocks of \(blockBytes)")
            }
        }
    }

    @Test func edgesOfTheLineFormat() throws {
        let good = F.line(id: "e-1")
        let inputs: [(String, [UInt8])] = [
            ("bom-blank-no-final-newline", [0xEF, 0xBB, 0xBF] + Array("\(good)\n\n  \n{\"bad\n\(F.line(id: "e-2"))\n\n\(F.line(id: "e-3"))".utf8)),
            ("batch-array", Array("[\(good),\(F.line(id: "e-2")),{\"specversion\":1}]".utf8)),
            ("empty", []),
            ("only-newlines", Array("\n\n\n".utf8)),
            ("utf16", [0xFF, 0xFE, 0x7B, 0x00]),
        ]
        for (name, bytes) in inputs {
            let path = try Self.file(name, bytes)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let expected = Self.serial(path)
            for parts in [1, 2, 4] {
                for blockBytes in [1, 5, 200, 1 << 20] {
                    #expect(Self.partitioned(path, parts: parts, blockBytes: blockBytes) == expected, "\(name), \(parts) parts, blocks of \(blockBytes)")
                }
            }
        }
        let missing = "/nonexistent/kz-partition.ndjson"
        #expect(Self.partitioned(missing, parts: 2, blockBytes: 10) == Self.serial(missing))
        #expect(Self.serial(missing).count == 1)
    }
}
