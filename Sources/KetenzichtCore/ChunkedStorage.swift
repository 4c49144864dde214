/// Per-party lists that grow with every referral live in chunks: the daemon publishes a snapshot
/// of the model after every ingest batch, and the writer's next change must not copy a party's
/// whole list (with plain arrays, a 1,000-event batch on a 1M-referral model spent ~50 ms copying).
/// A copy shares every chunk; a change after a copy duplicates the list of chunk references and the
/// one chunk it touches.
private let chunkCapacity = 512

/// Appends to the last chunk, or to a new one when it is full.
private func appendToLastChunk<Element>(_ chunks: inout [[Element]], _ element: Element) {
    if let last = chunks.indices.last, chunks[last].count < chunkCapacity {
        chunks[last].append(element)
    } else {
        var chunk: [Element] = []
        chunk.reserveCapacity(chunkCapacity)
        chunk.append(element)
        chunks.append(chunk)
    }
}

/// An append-only sequence in chunks.
public struct ChunkedArray<Element: Sendable>: Sendable, Sequence, ExpressibleByArrayLiteral {
    private var chunks: [[Element]] = []
    public private(set) var count = 0

    public init() {}

    public init(arrayLiteral elements: Element...) {
        for element in elements { append(element) }
    }

    public mutating func append(_ element: Element) {
        appendToLastChunk(&chunks, element)
        count += 1
    }

    /// Every chunk but the last is full, so an index is a chunk and an offset.
    public subscript(index: Int) -> Element {
        get { chunks[index / chunkCapacity][index % chunkCapacity] }
        set { chunks[index / chunkCapacity][index % chunkCapacity] = newValue }
    }

    public func makeIterator() -> FlattenSequence<[[Element]]>.Iterator { chunks.joined().makeIterator() }

    /// Starts loading element `index` (see Prefetch.swift); out of range is ignored.
    func prefetch(_ index: Int) {
        guard index >= 0 else { return }
        prefetchElement(of: chunks, chunk: index / chunkCapacity, index: index % chunkCapacity)
    }
}

/// A sorted multiset of millisecond times in chunks, answering "how many ≤ t" by binary search.
public struct SortedTimes: Sendable, Equatable, Sequence {
    /// Chunks in order; every element of a chunk is ≤ every element of the next.
    private var chunks: [[Int64]] = []
    /// How many elements come before each chunk, so that a count is two binary searches however
    /// many chunks a busy party's timeline has.
    private var before: [Int] = []
    public private(set) var count = 0

    public init() {}

    public init(_ values: some Sequence<Int64>) {
        for value in values { insert(value) }
    }

    public func makeIterator() -> FlattenSequence<[[Int64]]>.Iterator { chunks.joined().makeIterator() }

    public static func == (lhs: SortedTimes, rhs: SortedTimes) -> Bool {
        lhs.count == rhs.count && lhs.elementsEqual(rhs)
    }

    /// The number of elements ≤ `value`.
    public func countUpTo(_ value: Int64) -> Int {
        guard let index = chunkIndex(reaching: value, strictly: true) else { return count }
        return before[index] + chunks[index].countUpTo(value)
    }

    private mutating func appendToLast(_ value: Int64) {
        let chunkCount = chunks.count
        appendToLastChunk(&chunks, value)
        if chunks.count > chunkCount { before.append(count - 1) }
    }

    private mutating func shiftCounts(after index: Int, by delta: Int) {
        for later in (index + 1)..<before.count { before[later] += delta }
    }

    /// The first chunk whose last element is ≥ `value` (or > it, with `strictly`), if any.
    private func chunkIndex(reaching value: Int64, strictly: Bool) -> Int? {
        let index = chunks.insertionIndex { strictly ? $0[$0.count - 1] <= value : $0[$0.count - 1] < value }
        return index < chunks.count ? index : nil
    }

    public mutating func insert(_ value: Int64) {
        count += 1
        // Times mostly arrive in order: appending to the last chunk is the common case, decided
        // without walking the chunks.
        // (`chunks[i].last`, not `chunks.last?.last`: the latter copies the chunk's reference.)
        if !chunks.isEmpty, let last = chunks[chunks.count - 1].last, last <= value {
            appendToLast(value)
            return
        }
        guard let index = chunkIndex(reaching: value, strictly: true) else {
            appendToLast(value)
            return
        }
        chunks[index].insert(value, at: chunks[index].countUpTo(value))
        shiftCounts(after: index, by: 1)
        if chunks[index].count > 2 * chunkCapacity {
            let upper = Array(chunks[index][chunkCapacity...])
            chunks[index].removeSubrange(chunkCapacity...)
            chunks.insert(upper, at: index + 1)
            before.insert(before[index] + chunkCapacity, at: index + 1)
        }
    }

    /// Removes one occurrence of `value`, if there is one.
    public mutating func remove(_ value: Int64) {
        // Earlier chunks end below `value` and later ones start at or above this chunk's end, so
        // if `value` is present at all, this chunk holds it.
        guard let index = chunkIndex(reaching: value, strictly: false) else { return }
        let position = chunks[index].countUpTo(value) - 1
        guard position >= 0, chunks[index][position] == value else { return }
        chunks[index].remove(at: position)
        shiftCounts(after: index, by: -1)
        if chunks[index].isEmpty {
            chunks.remove(at: index)
            before.remove(at: index)
        }
        count -= 1
    }
}
