import FuzzSupport
import KetenzichtIngest

/// CloudEvents NDJSON and batch arrays (SPEC §2.1) through CloudEventsDecoder and its JSONScanner,
/// once with the production line limit and once with a tiny one, so that the "too long" paths
/// (a batch element stepped over structurally) are reached by small inputs too.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCloudEvents(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = FuzzSupport.bytes(start, count)
    for limit in [16 << 20, 48] {
        let decoder = CloudEventsDecoder(assembler: FuzzSupport.assembler, maxLineBytes: limit)
        decoder.decode(.bytes(bytes, origin: "fuzz"), progress: { _, _ in }, sink: FuzzSupport.check)
    }
    return 0
}
