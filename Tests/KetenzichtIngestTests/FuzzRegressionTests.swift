import Foundation
import KetenzichtCore
import KetenzichtIngest
import Testing

/// Inputs found by libFuzzer (see Fuzz/README.md), kept byte for byte in `FuzzRegressions/`: the ones
/// that crashed a decoder, and for decoders that never crashed, small corpus inputs that reach their
/// error paths (a fatal error after a good event, a schema error inside one product). The file
/// name's prefix picks the decoder: `cloudevents-`, `xml-` or `istandaarden-` (iJw and iWmo alike).
/// Each input must be refused with a clear error — at least one error record, every one naming the
/// input and saying what is wrong — and must not trap. A sidecar `<file>.expect` holds a phrase that
/// one of the errors must contain.
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let directory = here.appendingPathComponent("FuzzRegressions").path
    static let schemas = here.deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("config/schema/istandaarden").path
    static let assembler = EventAssembler(pseudonymizer: Pseudonymizer(keyBytes: Array(repeating: 7, count: 32)))

    static let inputs: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { !$0.hasPrefix(".") && !$0.hasSuffix(".expect") }.sorted()
    }()

    static func decoder(for name: String) -> (any EventDecoder)? {
        if name.hasPrefix("cloudevents-") { return CloudEventsDecoder(assembler: assembler) }
        if name.hasPrefix("xml-") { return CanonicalXMLDecoder(assembler: assembler) }
        if name.hasPrefix("istandaarden-") {
            return IStandaardenDecoder(assembler: assembler, links: IStandaardenLinks(), schemaDirectory: schemas)
        }
        return nil
    }

    @Test("there are regression inputs for every decoder")
    func inputsExist() {
        for prefix in ["cloudevents-", "xml-", "istandaarden-"] {
            #expect(Self.inputs.contains { $0.hasPrefix(prefix) }, "no \(prefix)* input in FuzzRegressions/")
        }
    }

    @Test("a fuzzer-found input is refused with a clear error", arguments: inputs)
    func refusedClearly(_ name: String) throws {
        let decoder = try #require(Self.decoder(for: name), "\(name): the prefix names no decoder")
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.directory + "/" + name)))
        var records: [DecodeRecord] = []
        decoder.decode(.bytes(bytes, origin: name), progress: nil) { records.append($0) }

        let errors = records.compactMap(\.issue).filter { $0.severity == .error }
        #expect(!errors.isEmpty, "\(name): nothing was refused")
        for issue in errors {
            #expect(issue.location.origin == name)
            #expect(!issue.message.isEmpty)
            #expect(issue.description.hasPrefix(name))
        }
        let expectation = Self.directory + "/" + name + ".expect"
        if FileManager.default.fileExists(atPath: expectation) {
            let phrase = try String(contentsOfFile: expectation, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(errors.contains { $0.description.contains(phrase) }, "\(name): no error says \"\(phrase)\"; got \(errors.map(\.description))")
        }
    }
}
