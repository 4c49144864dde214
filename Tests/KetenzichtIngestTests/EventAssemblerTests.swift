import Testing
@testable import KetenzichtIngest

@Suite struct EventAssemblerTests {
    /// The word-at-a-time check answers what a byte-by-byte one does: every byte value at every
    /// position of texts 0 to 24 bytes long, among printable ASCII and among bytes ≥ 0x80 (where
    /// a carry between bytes of a word could fool a careless bit trick).
    @Test func controlCharactersAreFoundAtEveryPosition() {
        for filler in [UInt8(ascii: "a"), 0xFF, 0x80, 0x7E, 0x20] {
            for length in 1...24 {
                for position in 0..<length {
                    for byte in UInt8.min...UInt8.max {
                        var text = [UInt8](repeating: filler, count: length)
                        text[position] = byte
                        let expected = byte < 0x20 || byte == 0x7F
                        let found = text.withUnsafeBufferPointer(EventAssembler.containsControlCharacter)
                        if found != expected {
                            Issue.record("byte \(byte) at \(position) of \(length) among \(filler): \(found)")
                            return
                        }
                    }
                }
            }
        }
        #expect(![UInt8]().withUnsafeBufferPointer(EventAssembler.containsControlCharacter))
        #expect(!Array(0x20...0x7E).map(UInt8.init).withUnsafeBufferPointer(EventAssembler.containsControlCharacter))
        #expect(!Array(0x80...0xFF).map(UInt8.init).withUnsafeBufferPointer(EventAssembler.containsControlCharacter))
    }
}
