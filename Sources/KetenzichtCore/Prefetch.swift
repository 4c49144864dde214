internal import CPrefetch

/// Prefetching for the model's tables. Applying an event costs a handful of cache misses (its
/// identity in the duplicate index, its referral's and case's keys, rows and bytes), each in a
/// different table, and one event's misses cannot start before the event before it is done. Bulk
/// loops (ingest, replay, `--input`) know the next events already, so they ask for that memory a
/// few events ahead (`ChainModel.prefetch(ahead:)`). Everything here is a hint: an address
/// computed from stale or wrong values only loads a useless line, and no result depends on it.

/// Where an array's elements begin, counted from its storage object (the runtime's header).
private let arrayElementOffset: Int = {
    let probe: [UInt64] = [0]
    return probe.withUnsafeBufferPointer { elements in
        withUnsafeBytes(of: probe) { UnsafeRawPointer(elements.baseAddress!) - $0.load(as: UnsafeRawPointer.self) }
    }
}()

/// Prefetches element `index` of the array whose value (a reference to its storage) sits at
/// `arrayAddress`, inside an outer array's buffer. Only the reference is read, never the storage:
/// reading the storage's header is the miss this avoids.
@inline(__always)
func prefetchElement<Element>(ofArrayAt arrayAddress: UnsafeRawPointer, index: Int, as type: Element.Type) {
    ketenzicht_prefetch(elementAddress(ofArrayAt: arrayAddress, index: index, as: type))
}

/// The address of element `index` of the array whose value sits at `arrayAddress`.
@inline(__always)
func elementAddress<Element>(ofArrayAt arrayAddress: UnsafeRawPointer, index: Int, as _: Element.Type) -> UnsafeRawPointer {
    arrayAddress.load(as: UnsafeRawPointer.self) + arrayElementOffset + index * MemoryLayout<Element>.stride
}

/// Starts loading the line at `address`.
@inline(__always)
func prefetchLine(_ address: UnsafeRawPointer) { ketenzicht_prefetch(address) }

/// Prefetches element `index` of chunk `chunk` of `chunks`, if that chunk exists.
@inline(__always)
func prefetchElement<Element>(of chunks: [[Element]], chunk: Int, index: Int) {
    chunks.withUnsafeBufferPointer { outer in
        guard chunk >= 0, chunk < outer.count else { return }
        prefetchElement(ofArrayAt: UnsafeRawPointer(outer.baseAddress! + chunk), index: index, as: Element.self)
    }
}

extension ChainModel {
    /// The hashes of an event's keys, as the model's indexes make them. Made on the decoding
    /// thread, they let the model's thread look ahead (`prefetch(ahead:)`) and skip hashing
    /// again in `apply(_:fingerprint:keys:)`.
    public struct EventKeys: Sendable, Equatable {
        /// Never zero for an event (`IdentityDigests.hash`); zero in `none`.
        let identity: UInt64
        /// Zero when the event names no referral (or, once in 2⁶⁴, when the hash is zero).
        let referral: UInt64
        let caseID: UInt64

        /// For what is not an event (a refused line): nothing to look ahead for.
        public static let none = EventKeys(identity: 0, referral: 0, caseID: 0)

        private init(identity: UInt64, referral: UInt64, caseID: UInt64) {
            (self.identity, self.referral, self.caseID) = (identity, referral, caseID)
        }

        public init(_ event: Event) {
            identity = IdentityDigests.hash(event.identity)
            switch event.body {
            case .referralCreated(let creation):
                referral = hashString(creation.referral)
                caseID = hashString(creation.caseID)
            case .referralStatus(let change):
                referral = hashString(change.referral)
                caseID = 0
            case .caseAssessed(let assessment):
                referral = 0
                caseID = hashString(assessment.caseID)
            case .regieAssigned(let assignment):
                referral = 0
                caseID = hashString(assignment.caseID)
            case .partyRegistered:
                (referral, caseID) = (0, 0)
            }
        }
    }

    /// How far ahead each step of the lookahead runs, in events. A miss takes about as long as
    /// applying two or three events; each step needs the line the step before it loaded.
    static let prefetchDistances = (buckets: 16, slots: 12, entries: 8, bytes: 4)

    /// Call before applying event `index` of a run whose keys are `keys` (`EventKeys.none` for
    /// what is not an event): starts loading the index buckets of event `index + 16`, their slots
    /// for event `index + 12`, the rows of event `index + 8` and the key bytes of event `index + 4`.
    /// The keys sit in an array of their own, read in order, rather than in the decoded records.
    public func prefetch(ahead index: Int, keys: UnsafeBufferPointer<EventKeys>) {
        let distances = Self.prefetchDistances
        if index + distances.buckets < keys.count {
            let ahead = keys[index + distances.buckets]
            if ahead.identity != 0 { fingerprints.prefetchBucket(hash: ahead.identity) }
            if ahead.referral != 0 { storage.referralKeys.prefetchBucket(hash: ahead.referral) }
            if ahead.caseID != 0 { storage.caseKeys.prefetchBucket(hash: ahead.caseID) }
        }
        if index + distances.slots < keys.count {
            let ahead = keys[index + distances.slots]
            if ahead.identity != 0 { fingerprints.prefetch(hash: ahead.identity) }
            if ahead.referral != 0 { storage.referralKeys.prefetchSlot(hash: ahead.referral) }
            if ahead.caseID != 0 { storage.caseKeys.prefetchSlot(hash: ahead.caseID) }
        }
        if index + distances.entries < keys.count {
            let ahead = keys[index + distances.entries]
            if ahead.referral != 0, let row = storage.referralKeys.probableRow(hash: ahead.referral) {
                storage.referralKeys.prefetchReference(row: row)
                storage.rows.prefetch(row)
            }
            if ahead.caseID != 0, let row = storage.caseKeys.probableRow(hash: ahead.caseID) {
                storage.caseKeys.prefetchReference(row: row)
                storage.caseRecords.prefetch(row)
            }
        }
        if index + distances.bytes < keys.count {
            let ahead = keys[index + distances.bytes]
            if ahead.referral != 0, let row = storage.referralKeys.probableRow(hash: ahead.referral), row < storage.rows.count {
                storage.referralKeys.prefetchKey(row: row)
                storage.caseRecords.prefetch(Int(storage.rows[row].caseRow))
            }
            if ahead.caseID != 0, let row = storage.caseKeys.probableRow(hash: ahead.caseID), row < storage.caseRecords.count {
                storage.caseKeys.prefetchKey(row: row)
                // A new referral is linked in after its case's last one.
                let last = storage.caseRecords[row].lastRow
                if last >= 0 { storage.rows.prefetch(Int(last)) }
            }
        }
    }
}
