/// Compact storage for the model's millions of referrals, cases and event identities (issue 3:
/// ≤ 200 bytes per referral resident). Strings live once as bytes in a chunked arena, rows are
/// fixed-width values in chunks, and the hash indexes hold small integers or digests in many
/// small buckets. Everything is a value built from arrays of chunks, so a published snapshot
/// shares all of it and the writer's next change copies only the chunks and buckets it touches.

/// A 64-bit hash of bytes, the one hash of the model's indexes and of event digests. Eight bytes
/// at a time, one multiply and one rotate per word (a byte-wise FNV-1a paid a dependent multiply
/// per byte: ~5% of a bulk ingest's CPU); the rotate carries high bits down, and MurmurHash3's
/// finaliser spreads every input bit over all 64, so the high bits (bucket choice) and the low
/// bits (slot tags, the duplicate index's 16 digest bits) are equally well mixed. Nothing stores
/// these hashes: a replay recomputes them, so the function may change between versions.
func hashBytes(_ bytes: UnsafeBufferPointer<UInt8>, seed: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 {
    let multiplier: UInt64 = 0x9E37_79B9_7F4A_7C15
    var hash = seed ^ (UInt64(bytes.count) &* multiplier)
    if let base = bytes.baseAddress {
        let raw = UnsafeRawPointer(base)
        var offset = 0
        while offset + 8 <= bytes.count {
            let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            hash = hashWord(hash ^ word)
            offset += 8
        }
        if offset < bytes.count {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while offset < bytes.count {
                tail |= UInt64(bytes[offset]) << shift
                shift += 8
                offset += 1
            }
            hash = hashWord(hash ^ tail)
        }
    }
    hash ^= hash >> 33
    hash &*= 0xff51_afd7_ed55_8ccd
    hash ^= hash >> 33
    hash &*= 0xc4ce_b9fe_1a85_ec53
    hash ^= hash >> 33
    return hash
}

/// One word into a running hash: the step `hashBytes` takes per eight bytes.
@inline(__always)
func hashWord(_ value: UInt64) -> UInt64 {
    let product = value &* 0x9E37_79B9_7F4A_7C15
    return product << 29 | product >> 35
}

func hashString(_ text: String) -> UInt64 {
    var text = text
    return text.withUTF8 { hashBytes($0) }
}

/// The bytes of many strings, appended in 64 KiB chunks. A reference packs the chunk, the offset
/// and the length into 64 bits. Each string may carry a trailer (bytes read back with it, such as a
/// referral's creating event), stored right after it with its length. A record too long for a
/// shared chunk gets a chunk of its own, with 32-bit lengths in front of both parts.
struct ByteArena: Sendable {
    typealias Reference = UInt64
    private static let chunkBytes = 1 << 16
    private static let ownChunk = 0xFFFF
    private var chunks: [[UInt8]] = []
    /// The chunk new short records go into, if any has room.
    private var openChunk = -1

    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>, trailer: UnsafeBufferPointer<UInt8>? = nil) -> Reference {
        let trailerCount = trailer.map { $0.count + 2 } ?? 0
        if bytes.count >= Self.ownChunk || trailerCount > Int(UInt16.max) || bytes.count + trailerCount > Self.chunkBytes {
            var chunk: [UInt8] = []
            chunk.reserveCapacity(8 + bytes.count + (trailer?.count ?? 0))
            chunk.append(contentsOf: withUnsafeBytes(of: UInt32(bytes.count).littleEndian, Array.init))
            chunk.append(contentsOf: bytes)
            if let trailer {
                chunk.append(contentsOf: withUnsafeBytes(of: UInt32(trailer.count).littleEndian, Array.init))
                chunk.append(contentsOf: trailer)
            }
            chunks.append(chunk)
            return UInt64(chunks.count - 1) << 32 | UInt64(Self.ownChunk)
        }
        if openChunk < 0 || chunks[openChunk].count + bytes.count + trailerCount > Self.chunkBytes {
            var chunk: [UInt8] = []
            chunk.reserveCapacity(Self.chunkBytes)
            chunks.append(chunk)
            openChunk = chunks.count - 1
        }
        let offset = chunks[openChunk].count
        chunks[openChunk].append(contentsOf: bytes)
        if let trailer {
            chunks[openChunk].append(contentsOf: withUnsafeBytes(of: UInt16(trailer.count).littleEndian, Array.init))
            chunks[openChunk].append(contentsOf: trailer)
        }
        return UInt64(openChunk) << 32 | UInt64(offset) << 16 | UInt64(bytes.count)
    }

    mutating func append(_ text: String) -> Reference {
        var text = text
        return text.withUTF8 { append($0) }
    }

    private static func littleEndian(_ buffer: UnsafeBufferPointer<UInt8>, at offset: Int, width: Int) -> Int {
        (0..<width).reduce(0) { $0 | Int(buffer[offset + $1]) << (8 * $1) }
    }

    /// The chunk of `reference`, with the range of its string and where its trailer's length sits.
    private func locate<Result>(_ reference: Reference, _ body: (UnsafeBufferPointer<UInt8>, Range<Int>, _ lengthWidth: Int) -> Result) -> Result {
        let length = Int(reference & 0xFFFF)
        return chunks[Int(reference >> 32)].withUnsafeBufferPointer { buffer in
            if length == Self.ownChunk {
                return body(buffer, 4..<4 + Self.littleEndian(buffer, at: 0, width: 4), 4)
            }
            let offset = Int(reference >> 16 & 0xFFFF)
            return body(buffer, offset..<offset + length, 2)
        }
    }

    func withBytes<Result>(_ reference: Reference, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        locate(reference) { buffer, range, _ in body(UnsafeBufferPointer(rebasing: buffer[range])) }
    }

    func withTrailer<Result>(_ reference: Reference, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        locate(reference) { buffer, range, width in
            let count = Self.littleEndian(buffer, at: range.upperBound, width: width)
            return body(UnsafeBufferPointer(rebasing: buffer[range.upperBound + width..<range.upperBound + width + count]))
        }
    }

    func string(_ reference: Reference) -> String {
        withBytes(reference) { String(decoding: $0, as: UTF8.self) }
    }

    /// Starts loading the first bytes of `reference`'s string (see Prefetch.swift).
    func prefetch(_ reference: Reference) {
        let length = Int(reference & 0xFFFF)
        let offset = length == Self.ownChunk ? 4 : Int(reference >> 16 & 0xFFFF)
        prefetchElement(of: chunks, chunk: Int(reference >> 32), index: offset)
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
    /// The low 32 bits of the key's hash: all a slot's place within its bucket depends on, so a
    /// bucket grows without hashing its keys again.
    var lowHashBits: UInt32 { get }
}

/// An open-addressing hash table split into many small buckets (chosen by the hash's top bits,
/// probed linearly from its low 32 bits). After a snapshot, an insert copies the list of buckets
/// and the one bucket it lands in — never the whole table. Buckets grow by half when 80% full,
/// which keeps the average load near two thirds instead of a doubling table's half. A slot need
/// not keep the top bits its bucket already tells: `hashOf` gets the bucket's prefix.
struct BucketedHashTable<Slot: HashTableSlot>: Sendable {
    private struct Bucket: Sendable {
        var slots: [Slot] = []
        var used: Int32 = 0
        /// `slots.count`, kept beside the reference so that `prefetch` finds a slot without
        /// reading the slots' storage.
        var capacity: Int32 = 0
    }

    private static var entriesPerBucket: Int { 384 }
    private var bucketBits: Int
    private var buckets: [Bucket]
    private(set) var count = 0

    init(minimumBucketBits: Int = 4) {
        bucketBits = minimumBucketBits
        buckets = [Bucket](repeating: Bucket(), count: 1 << minimumBucketBits)
    }

    private func bucketIndex(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: hash >> (64 - bucketBits)) }
    private func prefix(_ bucket: Int) -> UInt64 { UInt64(bucket) << (64 - bucketBits) }

    private static func start(_ hash: UInt64, capacity: Int) -> Int {
        // Shifts bind tighter than multiplication in Swift.
        Int(truncatingIfNeeded: ((hash & 0xFFFF_FFFF) &* UInt64(capacity)) >> 32)
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

    /// Starts loading the bucket entry (slots reference, capacity) of `hash` (see Prefetch.swift).
    func prefetchBucket(hash: UInt64) {
        buckets.withUnsafeBufferPointer { buckets in prefetchLine(buckets.baseAddress! + bucketIndex(hash)) }
    }

    /// Starts loading the slot a lookup of `hash` reads first; its bucket entry should be loaded.
    func prefetch(hash: UInt64) {
        buckets.withUnsafeBufferPointer { buckets in
            let bucket = buckets.baseAddress! + bucketIndex(hash)
            let capacity = Int(bucket.pointer(to: \.capacity)!.pointee)
            guard capacity > 0 else { return }
            prefetchElement(ofArrayAt: UnsafeRawPointer(bucket.pointer(to: \.slots)!), index: Self.start(hash, capacity: capacity), as: Slot.self)
        }
    }

    /// Inserts a slot whose key is not in the table yet. `hashOf` recomputes the hash of a stored
    /// slot (given its bucket's prefix) when the buckets split, the one time a bit above the
    /// slot's own is needed.
    mutating func insert(_ slot: Slot, hash: UInt64, hashOf: (Slot, _ prefix: UInt64) -> UInt64) {
        if count + 1 > buckets.count * Self.entriesPerBucket { doubleBuckets(hashOf: hashOf) }
        let bucket = bucketIndex(hash)
        if (Int(buckets[bucket].used) + 1) * 5 > buckets[bucket].slots.count * 4 {
            let capacity = max(8, buckets[bucket].slots.count * 3 / 2)
            let old = buckets[bucket].slots
            buckets[bucket] = Self.rebuilt(old.lazy.filter { !$0.isVacant }, capacity: capacity)
        }
        Self.place(slot, hash: hash, in: &buckets[bucket])
        count += 1
    }

    /// Removes the slot `matches` picks, if present (rare: evicted events), by rebuilding its bucket.
    mutating func remove(hash: UInt64, where matches: (Slot) -> Bool) {
        let bucket = bucketIndex(hash)
        guard let index = buckets[bucket].slots.firstIndex(where: { !$0.isVacant && matches($0) }) else { return }
        var kept = buckets[bucket].slots
        kept[index] = .vacant
        buckets[bucket] = Self.rebuilt(kept.lazy.filter { !$0.isVacant }, capacity: kept.count)
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

    private static func rebuilt(_ slots: some Sequence<Slot>, capacity: Int) -> Bucket {
        var bucket = Bucket(slots: [Slot](repeating: .vacant, count: capacity), used: 0, capacity: Int32(capacity))
        for slot in slots { place(slot, hash: UInt64(slot.lowHashBits), in: &bucket) }
        return bucket
    }

    /// Splits every bucket in two (the next hash bit chooses between 2i and 2i + 1), one bucket at
    /// a time: copying all entries out first would leave tens of megabytes of freed heap behind
    /// that the allocator keeps.
    private mutating func doubleBuckets(hashOf: (Slot, _ prefix: UInt64) -> UInt64) {
        let splitBit = 63 - bucketBits
        var doubled: [Bucket] = []
        doubled.reserveCapacity(buckets.count * 2)
        for index in buckets.indices {
            var halves: ([Slot], [Slot]) = ([], [])
            for slot in buckets[index].slots where !slot.isVacant {
                if hashOf(slot, prefix(index)) >> splitBit & 1 == 0 { halves.0.append(slot) } else { halves.1.append(slot) }
            }
            buckets[index] = Bucket()
            doubled.append(Self.rebuilt(halves.0, capacity: max(8, halves.0.count * 3 / 2)))
            doubled.append(Self.rebuilt(halves.1, capacity: max(8, halves.1.count * 3 / 2)))
        }
        buckets = doubled
        bucketBits += 1
    }
}

struct RowSlot: HashTableSlot {
    /// The row plus one; zero is vacant.
    var rowPlusOne: UInt32
    /// The key's hash, low half: a probe compares it before reading the key's bytes, which sit
    /// elsewhere in memory.
    var tag: UInt32
    static var vacant: RowSlot { RowSlot(rowPlusOne: 0, tag: 0) }
    var isVacant: Bool { rowPlusOne == 0 }
    var lowHashBits: UInt32 { tag }
    var row: Int { Int(rowPlusOne) - 1 }
}

/// Strings numbered densely in the order they were added, found again by hash: the ids of
/// referrals and of cases. Each id's bytes are kept once.
struct KeyTable: Sendable {
    private var arena = ByteArena()
    private var references = ChunkedArray<ByteArena.Reference>()
    private var index = BucketedHashTable<RowSlot>()

    var count: Int { references.count }

    /// `hash`, when given, must be `hashString(key)` (made ahead, `ChainModel.EventKeys`).
    func row(of key: String, hash knownHash: UInt64? = nil) -> Int? {
        var key = key
        return key.withUTF8 { bytes in
            let hash = knownHash ?? hashBytes(bytes)
            let tag = UInt32(truncatingIfNeeded: hash)
            return index.first(hash: hash) { $0.tag == tag && arena.equals(references[$0.row], bytes) }?.row
        }
    }

    /// Adds a key that is not in the table, with bytes to keep beside it; returns its row.
    mutating func append(_ key: String, trailer: [UInt8]? = nil, hash knownHash: UInt64? = nil) -> Int {
        var key = key
        let reference = key.withUTF8 { bytes in
            guard let trailer else { return arena.append(bytes) }
            return trailer.withUnsafeBufferPointer { arena.append(bytes, trailer: $0) }
        }
        references.append(reference)
        let row = references.count - 1
        // The rebuild closure reads copies, not `self`, which `index.insert` is changing.
        let (frozenArena, frozenReferences) = (arena, references)
        let hash = knownHash ?? hashString(key)
        index.insert(RowSlot(rowPlusOne: UInt32(row + 1), tag: UInt32(truncatingIfNeeded: hash)), hash: hash) { slot, _ in
            frozenArena.withBytes(frozenReferences[slot.row]) { hashBytes($0) }
        }
        return row
    }

    func key(at row: Int) -> String { arena.string(references[row]) }

    // The lookahead of Prefetch.swift, one step each.

    func prefetchBucket(hash: UInt64) { index.prefetchBucket(hash: hash) }
    func prefetchSlot(hash: UInt64) { index.prefetch(hash: hash) }

    /// The row whose slot carries `hash`'s tag: a guess, the key's bytes are not compared.
    func probableRow(hash: UInt64) -> Int? {
        let tag = UInt32(truncatingIfNeeded: hash)
        return index.first(hash: hash) { $0.tag == tag }?.row
    }

    func prefetchReference(row: Int) { references.prefetch(row) }

    func prefetchKey(row: Int) {
        guard row < references.count else { return }
        arena.prefetch(references[row])
    }

    func withTrailer<Result>(at row: Int, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        arena.withTrailer(references[row], body)
    }
}

/// An identity's 64-bit hash without its top 16 bits (which its bucket tells: the table has at
/// least 2¹⁶ buckets), and 16 bits of its content digest.
struct IdentitySlot: HashTableSlot {
    var bits: UInt64
    static var vacant: IdentitySlot { IdentitySlot(bits: 0) }
    var isVacant: Bool { bits == 0 }
    static let hashMask: UInt64 = (1 << 48) - 1
    var storedHash: UInt64 { bits >> 16 }
    var digest: UInt16 { UInt16(truncatingIfNeeded: bits) }
    var lowHashBits: UInt32 { UInt32(truncatingIfNeeded: storedHash) }
}

/// The duplicate index: every applied or pending event's identity as a 64-bit hash, with 16 bits
/// of its content digest — 8 bytes an event instead of the identity's strings (issue 3's memory
/// budget). Two different identities share a hash with probability ~n²/2⁶⁵ (3·10⁻⁵ over 35M
/// events); the later one is then refused as a conflict, with an error. An event re-sent with the
/// same identity and other content passes as a duplicate (not applied, not reported as a conflict)
/// when the two digests agree in 16 bits: one such conflict in 65,536 goes unreported.
struct IdentityDigests: Sendable {
    private var table = BucketedHashTable<IdentitySlot>(minimumBucketBits: 16)

    var count: Int { table.count }

    static func hash(_ identity: EventIdentity) -> UInt64 {
        var source = identity.source
        var id = identity.id
        let hash = source.withUTF8 { source in id.withUTF8 { id in hashBytes(id, seed: hashBytes(source)) } }
        // The stored part must never be all zero (a vacant slot) whatever the digest.
        return hash & IdentitySlot.hashMask == 0 ? hash | 1 : hash
    }

    static func digest16(_ digest: UInt64) -> UInt16 { UInt16(truncatingIfNeeded: digest ^ digest >> 16 ^ digest >> 32 ^ digest >> 48) }

    func prefetchBucket(hash: UInt64) { table.prefetchBucket(hash: hash) }
    func prefetch(hash: UInt64) { table.prefetch(hash: hash) }

    /// 16 bits of the digest this identity was applied with, if it was.
    func digest(of identity: EventIdentity, hash knownHash: UInt64? = nil) -> UInt16? {
        let hash = knownHash ?? Self.hash(identity)
        let stored = hash & IdentitySlot.hashMask
        return table.first(hash: hash) { $0.storedHash == stored }?.digest
    }

    mutating func insert(_ identity: EventIdentity, digest: UInt64, hash knownHash: UInt64? = nil) {
        let hash = knownHash ?? Self.hash(identity)
        table.insert(IdentitySlot(bits: (hash & IdentitySlot.hashMask) << 16 | UInt64(Self.digest16(digest))), hash: hash) { slot, prefix in
            prefix | slot.storedHash
        }
    }

    mutating func remove(_ identity: EventIdentity) {
        let hash = Self.hash(identity)
        let stored = hash & IdentitySlot.hashMask
        table.remove(hash: hash) { $0.storedHash == stored }
    }
}
