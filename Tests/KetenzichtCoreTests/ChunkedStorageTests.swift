import KetenzichtTestSupport
import Testing
@testable import KetenzichtCore

/// The chunked per-party lists against plain sorted arrays, through enough operations to split
/// and empty chunks many times over.
@Suite struct ChunkedStorageTests {
    @Test(arguments: [1 as UInt64, 2, 3])
    func sortedTimesAgreeWithASortedArray(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        var times = SortedTimes()
        var reference: [Int64] = []
        for step in 0..<6_000 {
            // Mostly in order, sometimes far back, often equal to an earlier value.
            let value: Int64 = switch Int.random(in: 0..<10, using: &generator) {
            case 0..<6: Int64(step)
            case 6..<8: Int64.random(in: 0...Int64(step), using: &generator)
            default: reference.randomElement(using: &generator) ?? 0
            }
            if Int.random(in: 0..<4, using: &generator) == 0, let victim = reference.randomElement(using: &generator) {
                times.remove(victim)
                reference.remove(at: reference.firstIndex(of: victim)!)
            } else {
                times.insert(value)
                reference.insert(value, at: reference.firstIndex { $0 > value } ?? reference.count)
            }
        }
        #expect(Array(times) == reference)
        #expect(times.count == reference.count)
        for probe in stride(from: Int64(-1), through: 6_001, by: 37) {
            #expect(times.countUpTo(probe) == reference.filter { $0 <= probe }.count)
        }
        times.remove(-5)
        #expect(times.count == reference.count)
    }

    @Test func aCopyIsUntouchedByLaterChanges() {
        var times = SortedTimes((0..<2_000).map { Int64($0 * 2) })
        let snapshot = times
        times.insert(501)
        times.remove(0)
        #expect(snapshot.countUpTo(501) == 251)
        #expect(times.countUpTo(501) == 251)
        #expect(snapshot.count == 2_000 && times.count == 2_000)
        var list: ChunkedArray<String> = ["a", "b"]
        let listSnapshot = list
        for index in 0..<1_500 { list.append("r-\(index)") }
        #expect(Array(listSnapshot) == ["a", "b"])
        #expect(list.count == 1_502 && Array(list).last == "r-1499")
    }
}
