/// Compact storage for the model's millions of referrals, cases and event identities (issue 3:
/// ≤ 200 bytes per referral resident). Strings live once as bytes in a chunked arena, rows are
/// fixed-width values in chunks, and the hash indexes hold small integers or digests in many
/// small buckets. Everything is a value built from arrays of chunks, so a published snapshot
/// shares all of it and the writer's next change copies only the chunks and buckets it touches.

/// A 64-bit hash of bytes: FNV-1a, then a finaliser so that the high and low halves (bucket and
/// slot choice) are both well mixed.
func hashBytes(_ bytes: UnsafeBufferPointer<UInt8>, seed: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 {
    var hash = seed
    for byte in bytes {
        hash ^= UInt64(byte)
        hash &*= 0x0000_0100_0000_01b3
    }
    hash ^= hash >> 33
    hash &*= 0xff51_afd7_ed55_8ccd
    hash ^= hash >> 33
    hash &*= 0xc4ce_b9fe_1a85_ec53
    hash ^= hash >> 33
    return hash
}

func hashString(_ text: String) -> UInt64 {
    var text = text
    return text.withUTF8 { hashBytes($0) }
}

/// The bytes of many strings, appended in 64 KiB chunks. A reference packs the chunk, the offset
/// and the length into 64 bits; a string too long for a shared chunk gets a chunk of its own.
struct ByteArena: Sendable {
    typealias Reference = UInt64
    private static let chunkBytes = 1 << 16
    private static let ownChunk = 0xFFFF
    private var chunks: [[UInt8]] = []
    /// The chunk new short strings go into, if any has room.
    private var openChunk = -1

    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) -> Reference {
        if bytes.count >= Self.ownChunk {
            chunks.append(Array(bytes))
            return UInt64(chunks.count - 1) << 32 | UInt64(Self.ownChunk)
        }
        if openChunk < 0 || chunks[openChunk].count + bytes.count > Self.chunkBytes {
            var chunk: [UInt8] = []
            chunk.reserveCapacity(Self.chunkBytes)
            chunks.append(chunk)
            openChunk = chunks.count - 1
        }
        let offset = chunks[openChunk].count
        chunks[openChunk].append(contentsOf: bytes)
        return UInt64(openChunk) << 32 | UInt64(offset) << 16 | UInt64(bytes.count)
    }

    mutating func append(_ text: String) -> Reference {
        var text = text
        return text.withUTF8 { append($0) }
    }

    func withBytes<Result>(_ reference: Reference, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        let chunk = Int(reference >> 32)
        let length = Int(reference & 0xFFFF)
        return chunks[chunk].withUnsafeBufferPointer { buffer in
            if length == Self.ownChunk { return body(buffer) }
            let offset = Int(reference >> 16 & 0xFFFF)
            return body(UnsafeBufferPointer(rebasing: buffer[offset..<offset + length]))
        }
    }

    func string(_ reference: Reference) -> String {
        withBytes(reference) { String(decoding: $0, as: UTF8.self) }
    }

    func equals(_ reference: Reference, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        withBytes(reference) { stored in
            stored.count == bytes.count && (stored.isEmpty || memcmp(stored.baseAddress!, bytes.baseAddress!, stored.count) == 0)
        }
    }
}

/// Compares raw memory without Foundation (this module stays free of it).
@inline(__always)
private func memcmp(_ lhs: UnsafePointer<UInt8>, _ rhs: UnsafePointer<UInt8>, _ count: Int) -> Int32 {
    for index in 0..<count where lhs[index] != rhs[index] { return lhs[index] < rhs[index] ? -1 : 1 }
    return 0
}

/// A slot of a `BucketedHashTable`: all-zero bits mean vacant.
protocol HashTableSlot: Sendable {
    static var vacant: Self { get }
    var isVacant: Bool { get }
}

/// An open-addressing hash table split into many small buckets (chosen by the hash's high half,
/// probed linearly from its low half). After a snapshot, an insert copies the list of buckets
/// and the one bucket it lands in — never the whole table. Buckets grow by half when 80% full,
/// which keeps the average load near two thirds instead of a doubling table's half.
struct BucketedHashTable<Slot: HashTableSlot>: Sendable {
    private struct Bucket: Sendable {
        var slots: [Slot] = []
        var used = 0
    }

    private static var entriesPerBucket: Int { 384 }
    private var buckets = [Bucket](repeating: Bucket(), count: 16)
    private(set) var count = 0

    private func bucketIndex(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: hash >> 32) & (buckets.count - 1) }

    private static func start(_ hash: UInt64, capacity: Int) -> Int {
        Int(truncatingIfNeeded: (hash & 0xFFFF_FFFF) &* UInt64(capacity) >> 32)
    }

    func first(hash: UInt64, where matches: (Slot) -> Bool) -> Slot? {
        let bucket = bucketIndex(hash)
        return buckets[bucket].slots.withUnsafeBufferPointer { slots in
            guard !slots.isEmpty else { return nil }
            var index = Self.start(hash, capacity: slots.count)
            while true {
                let slot = slots[index]
                if slot.isVacant { return nil }
                if matches(slot) { return slot }
                index += 1
                if index == slots.count { index = 0 }
            }
        }
    }

    /// Inserts a slot whose key is not in the table yet. `hashOf` recomputes the hash of any
    /// stored slot when a bucket is rebuilt.
    mutating func insert(_ slot: Slot, hash: UInt64, hashOf: (Slot) -> UInt64) {
        if count + 1 > buckets.count * Self.entriesPerBucket { doubleBuckets(hashOf: hashOf) }
        let bucket = bucketIndex(hash)
        if (buckets[bucket].used + 1) * 5 > buckets[bucket].slots.count * 4 {
            let capacity = max(8, buckets[bucket].slots.count * 3 / 2)
            let old = buckets[bucket].slots
            buckets[bucket] = Self.rebuilt(old.lazy.filter { !$0.isVacant }, capacity: capacity, hashOf: hashOf)
        }
        Self.place(slot, hash: hash, in: &buckets[bucket])
        count += 1
    }

    /// Removes the slot `matches` picks, if present (rare: evicted events), by rebuilding its bucket.
    mutating func remove(hash: UInt64, where matches: (Slot) -> Bool, hashOf: (Slot) -> UInt64) {
        let bucket = bucketIndex(hash)
        guard let index = buckets[bucket].slots.firstIndex(where: { !$0.isVacant && matches($0) }) else { return }
        var kept = buckets[bucket].slots
        kept[index] = .vacant
        buckets[bucket] = Self.rebuilt(kept.lazy.filter { !$0.isVacant }, capacity: kept.count, hashOf: hashOf)
        count -= 1
    }

    private static func place(_ slot: Slot, hash: UInt64, in bucket: inout Bucket) {
        let capacity = bucket.slots.count
        var index = start(hash, capacity: capacity)
        while !bucket.slots[index].isVacant {
            index += 1
            if index == capacity { index = 0 }
        }
        bucket.slots[index] = slot
        bucket.used += 1
    }

    private static func rebuilt(_ slots: some Sequence<Slot>, capacity: Int, hashOf: (Slot) -> UInt64) -> Bucket {
        var bucket = Bucket(slots: [Slot](repeating: .vacant, count: capacity), used: 0)
        for slot in slots { place(slot, hash: hashOf(slot), in: &bucket) }
        return bucket
    }

    private mutating func doubleBuckets(hashOf: (Slot) -> UInt64) {
        let doubled = buckets.count * 2
        var members = [[Slot]](repeating: [], count: doubled)
        for bucket in buckets {
            for slot in bucket.slots where !slot.isVacant {
                members[Int(truncatingIfNeeded: hashOf(slot) >> 32) & (doubled - 1)].append(slot)
            }
        }
        buckets = members.map { Self.rebuilt($0, capacity: max(8, $0.count * 3 / 2), hashOf: hashOf) }
    }
}

struct RowSlot: HashTableSlot {
    /// The row plus one; zero is vacant.
    var rowPlusOne: UInt32
    static var vacant: RowSlot { RowSlot(rowPlusOne: 0) }
    var isVacant: Bool { rowPlusOne == 0 }
    var row: Int { Int(rowPlusOne) - 1 }
}

/// Strings numbered densely in the order they were added, found again by hash: the ids of
/// referrals and of cases. Each id's bytes are kept once.
struct KeyTable: Sendable {
    private var arena = ByteArena()
    private var references = ChunkedArray<ByteArena.Reference>()
    private var index = BucketedHashTable<RowSlot>()

    var count: Int { references.count }

    func row(of key: String) -> Int? {
        var key = key
        return key.withUTF8 { bytes in
            index.first(hash: hashBytes(bytes)) { arena.equals(references[$0.row], bytes) }?.row
        }
    }

    /// Adds a key that is not in the table; returns its row.
    mutating func append(_ key: String) -> Int {
        var key = key
        let reference = key.withUTF8 { arena.append($0) }
        references.append(reference)
        let row = references.count - 1
        // The rebuild closure reads copies, not `self`, which `index.insert` is changing.
        let (frozenArena, frozenReferences) = (arena, references)
        index.insert(RowSlot(rowPlusOne: UInt32(row + 1)), hash: hashString(key)) { slot in
            frozenArena.withBytes(frozenReferences[slot.row]) { hashBytes($0) }
        }
        return row
    }

    func key(at row: Int) -> String { arena.string(references[row]) }
}

struct IdentitySlot: HashTableSlot {
    var low: UInt32
    var high: UInt32
    var digest: UInt32
    static var vacant: IdentitySlot { IdentitySlot(low: 0, high: 0, digest: 0) }
    var isVacant: Bool { low == 0 && high == 0 }
    var hash: UInt64 { UInt64(high) << 32 | UInt64(low) }
}

/// The duplicate index: every applied or pending event's identity, as a 64-bit hash, with 32 bits
/// of its content digest (12 bytes an event instead of the identity's strings). Two different
/// identities share a 64-bit hash with probability ~n²/2⁶⁵ (3·10⁻⁵ at 35M events); the later one
/// is then refused as a conflict, with an error, never silently dropped unless its digest also
/// matches (2⁻³² on top). A conflict with the same identity passes as a duplicate only when the
/// two digests agree in 32 bits (2⁻³²).
struct IdentityDigests: Sendable {
    private var table = BucketedHashTable<IdentitySlot>()

    var count: Int { table.count }

    static func hash(_ identity: EventIdentity) -> UInt64 {
        var source = identity.source
        var id = identity.id
        let hash = source.withUTF8 { source in id.withUTF8 { id in hashBytes(id, seed: hashBytes(source)) } }
        return hash == 0 ? 1 : hash
    }

    func digest(of identity: EventIdentity) -> UInt32? {
        let hash = Self.hash(identity)
        return table.first(hash: hash) { $0.hash == hash }?.digest
    }

    mutating func insert(_ identity: EventIdentity, digest: UInt64) {
        let hash = Self.hash(identity)
        table.insert(IdentitySlot(low: UInt32(truncatingIfNeeded: hash), high: UInt32(truncatingIfNeeded: hash >> 32), digest: UInt32(truncatingIfNeeded: digest)),
                     hash: hash) { $0.hash }
    }

    mutating func remove(_ identity: EventIdentity) {
        let hash = Self.hash(identity)
        table.remove(hash: hash, where: { $0.hash == hash }) { $0.hash }
    }
}
