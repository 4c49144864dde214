import Foundation
import FuzzSupport
import KetenzichtIngest

/// The iStandaarden XSDs: $KETENZICHT_ISTANDAARDEN_SCHEMAS, else this checkout's config/.
let schemaDirectory: String = {
    if let fromEnvironment = ProcessInfo.processInfo.environment[IStandaardenSchemas.environmentVariable], !fromEnvironment.isEmpty {
        return fromEnvironment
    }
    let directory = FuzzSupport.repositoryRoot + "/config/schema/istandaarden"
    // Without the XSDs every message is refused before parsing, and the fuzzer would test nothing.
    guard FileManager.default.fileExists(atPath: directory + "/ijw-3.2/basisschema.xsd") else {
        fatalError("no iStandaarden XSDs in \(directory); set \(IStandaardenSchemas.environmentVariable)")
    }
    return directory
}()

/// iJw / iWmo 3.2 messages (SPEC §2.3) through IStandaardenDecoder, validated against the real
/// XSDs. The input is up to three messages separated by NUL bytes, decoded in order with one link
/// table, so that a 301 can release the 305/307 held before it; the table is fresh per input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIStandaarden(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let decoder = IStandaardenDecoder(assembler: FuzzSupport.assembler, links: IStandaardenLinks(), schemaDirectory: schemaDirectory)
    for message in FuzzSupport.split(FuzzSupport.bytes(start, count), limit: 3) {
        decoder.decode(.bytes(message, origin: "fuzz"), progress: nil, sink: FuzzSupport.check)
    }
    return 0
}
