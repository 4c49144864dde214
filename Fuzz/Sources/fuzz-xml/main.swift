import FuzzSupport
import KetenzichtIngest

/// The canonical exchange document (SPEC §2.2) through CanonicalXMLDecoder: libxml2's streaming
/// reader with the embedded XSD plugged in, exactly as the daemon reads a socket request.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCanonicalXML(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = FuzzSupport.bytes(start, count)
    let decoder = CanonicalXMLDecoder(assembler: FuzzSupport.assembler)
    decoder.decode(.bytes(bytes, origin: "fuzz"), progress: { _, _ in }, sink: FuzzSupport.check)
    return 0
}
