#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// One child of the root as `XMLEventScanner` collected it: names as libxml2 interned them,
/// attribute values and text as bytes in one buffer, and the elements below it as a small
/// array. Nothing is turned into a Swift `String` until asked for, so a caller that only needs
/// a few fields pays for those only; `copy()` builds the `XMLElement` the reader would have
/// made, for whatever needs the general path.
///
/// Names also carry a tag: a small number the scanner's user gives each name it knows
/// (`XMLEventScanner`'s `tagging`), worked out once per interned name, so that finding an
/// attribute or telling elements apart compares one integer, not bytes.
///
/// The scanner reuses one instance for every child of the root: it, and every pointer a
/// `ScannedNode` hands out, is valid only while the scanner's `element` callback runs.
public final class ScannedElement {
    /// The tag of a name the user of the scanner does not know.
    public static let untagged: Int16 = -1

    @inlinable
    static func tagBit(_ tag: Int16) -> UInt64 {
        tag >= 0 && tag < 63 ? 1 << UInt64(tag) : 1 << 63
    }

    @usableFromInline
    struct Node {
        @usableFromInline var name: UnsafePointer<UInt8>
        @usableFromInline var nameLength: Int
        @usableFromInline var nameTag: Int16
        @usableFromInline var namespaceURI: UnsafePointer<UInt8>?
        @usableFromInline var namespaceLength: Int
        @usableFromInline var line: Int
        @usableFromInline var firstChild: Int32 = -1
        @usableFromInline var lastChild: Int32 = -1
        @usableFromInline var nextSibling: Int32 = -1
        @usableFromInline var childCount: Int32 = 0
        @usableFromInline var firstAttribute: Int32
        @usableFromInline var attributeCount: Int32 = 0
        /// A bit for each of the attributes' tags below 63, and the top bit for any other: most
        /// lookups of an absent attribute end here.
        @usableFromInline var attributeTagBits: UInt64 = 0
        @usableFromInline var textLength: Int = 0
        @usableFromInline var runCount: Int32 = 0
    }

    @usableFromInline
    struct Attribute {
        @usableFromInline var name: UnsafePointer<UInt8>
        @usableFromInline var nameLength: Int
        @usableFromInline var namespaceURI: UnsafePointer<UInt8>?
        @usableFromInline var namespaceLength: Int
        @usableFromInline var start: Int
        @usableFromInline var end: Int
    }

    /// A text run: character data with nothing (no child, comment or processing instruction)
    /// between, as libxml2 keeps it in one text node.
    @usableFromInline
    struct Run {
        @usableFromInline var node: Int32
        @usableFromInline var childrenBefore: Int32
        @usableFromInline var start: Int
        @usableFromInline var end: Int
    }

    /// Everything, behind one pointer: this runs for every attribute of every event, and
    /// through a pointer Swift neither counts references to the buffers nor checks exclusive
    /// access to them at run time, as it would for a class's arrays.
    @usableFromInline
    struct Storage {
        @usableFromInline var nodes = RawList<Node>(capacity: 16)
        @usableFromInline var attributes = RawList<Attribute>(capacity: 32)
        /// The attributes' tags, in the order of `attributes`: `untagged` for an attribute in a
        /// namespace (tags name attributes in none).
        @usableFromInline var attributeTags = RawList<Int16>(capacity: 32)
        @usableFromInline var runs = RawList<Run>(capacity: 16)
        @usableFromInline var open = RawList<Int32>(capacity: 8)
        /// Attribute values and text. Names and namespace URIs are not copied: libxml2 interns
        /// them in the parser's dictionary, which lives as long as the parse.
        @usableFromInline var bytes = RawList<UInt8>(capacity: 4096)
        /// These two live across the elements of a document.
        @usableFromInline var repeated = RepeatedStrings()
        var names: InternedNames
    }

    @usableFromInline let storage: UnsafeMutablePointer<Storage>

    init(tagging: @escaping (UnsafeBufferPointer<UInt8>) -> Int16) {
        storage = .allocate(capacity: 1)
        storage.initialize(to: Storage(names: InternedNames(tagging: tagging)))
    }

    deinit {
        storage.pointee.nodes.deallocate()
        storage.pointee.attributes.deallocate()
        storage.pointee.attributeTags.deallocate()
        storage.pointee.runs.deallocate()
        storage.pointee.open.deallocate()
        storage.pointee.bytes.deallocate()
        storage.pointee.repeated.deallocate()
        storage.pointee.names.deallocate()
        storage.deinitialize(count: 1)
        storage.deallocate()
    }

    /// The child of the root itself.
    public var root: ScannedNode { ScannedNode(storage: storage, index: 0) }

    var nodeCount: Int { storage.pointee.nodes.count }

    var byteCount: Int { storage.pointee.bytes.count }

    // MARK: Building (by the scanner)

    func reset() {
        storage.pointee.nodes.count = 0
        storage.pointee.attributes.count = 0
        storage.pointee.attributeTags.count = 0
        storage.pointee.runs.count = 0
        storage.pointee.open.count = 0
        storage.pointee.bytes.count = 0
    }

    func open(name: UnsafePointer<UInt8>, namespaceURI: UnsafePointer<UInt8>?, line: Int) {
        let index = Int32(storage.pointee.nodes.count)
        let (nameLength, nameTag) = storage.pointee.names.lengthAndTag(of: name)
        storage.pointee.nodes.append(Node(
            name: name, nameLength: nameLength, nameTag: nameTag,
            namespaceURI: namespaceURI, namespaceLength: namespaceURI.map(byteLength) ?? 0,
            line: line, firstAttribute: Int32(storage.pointee.attributes.count)
        ))
        let nodes = storage.pointee.nodes.base
        if let parent = storage.pointee.open.last.map(Int.init) {
            if nodes[parent].lastChild >= 0 {
                nodes[Int(nodes[parent].lastChild)].nextSibling = index
            } else {
                nodes[parent].firstChild = index
            }
            nodes[parent].lastChild = index
            nodes[parent].childCount += 1
        }
        storage.pointee.open.append(index)
    }

    func close() {
        storage.pointee.open.count -= 1
    }

    /// Adds an attribute of the element opened last. libxml2's SAX2 parser hands over values
    /// with entities and character references replaced, except that it writes `&` (from
    /// `&amp;` or `&#38;`) as `&#38;` for the tree builder to decode again; that is undone here.
    /// Answers false for any other `&`, which only an error can leave behind.
    func addAttribute(name: UnsafePointer<UInt8>, namespaceURI: UnsafePointer<UInt8>?, value: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = storage.pointee.bytes.count
        guard let source = value.baseAddress else {
            return addAttribute(name: name, namespaceURI: namespaceURI, start: start)
        }
        storage.pointee.bytes.reserve(value.count)
        let target = storage.pointee.bytes.base + start
        if memchr(source, 0x26, value.count) == nil {
            target.update(from: source, count: value.count)
            storage.pointee.bytes.count += value.count
        } else {
            var written = 0
            var index = 0
            while index < value.count {
                let byte = value[index]
                if byte == 0x26 {
                    guard index + 4 < value.count, value[index + 1] == 0x23, value[index + 2] == 0x33,
                          value[index + 3] == 0x38, value[index + 4] == 0x3B
                    else { return false }
                    index += 4
                }
                target[written] = byte
                written += 1
                index += 1
            }
            storage.pointee.bytes.count += written
        }
        return addAttribute(name: name, namespaceURI: namespaceURI, start: start)
    }

    private func addAttribute(name: UnsafePointer<UInt8>, namespaceURI: UnsafePointer<UInt8>?, start: Int) -> Bool {
        let (nameLength, nameTag) = storage.pointee.names.lengthAndTag(of: name)
        let tag = namespaceURI == nil ? nameTag : ScannedElement.untagged
        storage.pointee.attributes.append(Attribute(
            name: name, nameLength: nameLength,
            namespaceURI: namespaceURI, namespaceLength: namespaceURI.map(byteLength) ?? 0,
            start: start, end: storage.pointee.bytes.count
        ))
        storage.pointee.attributeTags.append(tag)
        let node = storage.pointee.nodes.base + (storage.pointee.nodes.count - 1)
        node.pointee.attributeCount += 1
        node.pointee.attributeTagBits |= ScannedElement.tagBit(tag)
        return true
    }

    /// Appends character data to the innermost open element: to its last run when `continuing`
    /// (nothing came between), else as a new run.
    func appendText(_ text: UnsafeBufferPointer<UInt8>, continuing: Bool) {
        guard let node = storage.pointee.open.last, let source = text.baseAddress else { return }
        let start = storage.pointee.bytes.count
        storage.pointee.bytes.reserve(text.count)
        (storage.pointee.bytes.base + start).update(from: source, count: text.count)
        storage.pointee.bytes.count += text.count
        let nodes = storage.pointee.nodes.base
        if continuing, let last = storage.pointee.runs.last, last.node == node, last.end == start {
            storage.pointee.runs.base[storage.pointee.runs.count - 1].end += text.count
        } else {
            storage.pointee.runs.append(Run(node: node, childrenBefore: nodes[Int(node)].childCount, start: start, end: start + text.count))
            nodes[Int(node)].runCount += 1
        }
        nodes[Int(node)].textLength += text.count
    }

    // MARK: The general path

    /// The element as `XMLStreamReader.readElement()` copies it: the same names, values, text
    /// runs and lines (below line 65,535, where libxml2's tree stops counting exactly).
    public func copy() -> XMLElement {
        copy(0)
    }

    private func copy(_ index: Int32) -> XMLElement {
        let nodes = storage.pointee.nodes.base
        let node = nodes[Int(index)]
        var copied: [XMLElement.Attribute] = []
        copied.reserveCapacity(Int(node.attributeCount))
        for position in Int(node.firstAttribute)..<Int(node.firstAttribute + node.attributeCount) {
            let attribute = storage.pointee.attributes.base[position]
            copied.append(XMLElement.Attribute(
                localName: string(attribute.name, attribute.nameLength),
                namespaceURI: attribute.namespaceURI.map { string($0, attribute.namespaceLength) },
                value: String(decoding: storage.pointee.bytes.buffer(attribute.start, attribute.end), as: UTF8.self)
            ))
        }
        var element = XMLElement(
            localName: string(node.name, node.nameLength),
            namespaceURI: node.namespaceURI.map { string($0, node.namespaceLength) },
            attributes: copied,
            line: node.line
        )
        // Children and text runs in document order, so that `appendText` records each run's
        // place among the children as the reader's copy does.
        var child = node.firstChild
        var childrenDone: Int32 = 0
        for position in 0..<storage.pointee.runs.count {
            let run = storage.pointee.runs.base[position]
            guard run.node == index else { continue }
            while childrenDone < run.childrenBefore, child >= 0 {
                element.children.append(copy(child))
                child = nodes[Int(child)].nextSibling
                childrenDone += 1
            }
            element.appendText(String(decoding: storage.pointee.bytes.buffer(run.start, run.end), as: UTF8.self))
        }
        while child >= 0 {
            element.children.append(copy(child))
            child = nodes[Int(child)].nextSibling
        }
        return element
    }

    private func string(_ pointer: UnsafePointer<UInt8>, _ length: Int) -> String {
        String(decoding: UnsafeBufferPointer(start: pointer, count: length), as: UTF8.self)
    }
}

/// An element inside a `ScannedElement`, read in place. Valid only while the scanner's
/// `element` callback runs.
public struct ScannedNode {
    @usableFromInline let storage: UnsafeMutablePointer<ScannedElement.Storage>
    @usableFromInline let index: Int32

    @usableFromInline
    init(storage: UnsafeMutablePointer<ScannedElement.Storage>, index: Int32) {
        self.storage = storage
        self.index = index
    }

    @inlinable
    var node: ScannedElement.Node { storage.pointee.nodes.base[Int(index)] }

    @inlinable
    public var localName: UnsafeBufferPointer<UInt8> {
        let node = node
        return UnsafeBufferPointer(start: node.name, count: node.nameLength)
    }

    /// The local name's tag (see `ScannedElement`), whatever the namespace.
    @inlinable
    public var nameTag: Int16 { node.nameTag }

    @inlinable
    public var namespaceURI: UnsafeBufferPointer<UInt8>? {
        let node = node
        return node.namespaceURI.map { UnsafeBufferPointer(start: $0, count: node.namespaceLength) }
    }

    /// The line of the start tag's end, as libxml2 counts it.
    @inlinable
    public var line: Int { node.line }

    @inlinable
    public var childCount: Int { Int(node.childCount) }

    @inlinable
    public var children: Children { Children(storage: storage, first: node.firstChild) }

    @inlinable
    public var attributeCount: Int { Int(node.attributeCount) }

    @inlinable
    public func attribute(at position: Int) -> ScannedAttribute {
        let index = Int(node.firstAttribute) + position
        let attribute = storage.pointee.attributes.base[index]
        return ScannedAttribute(
            localName: UnsafeBufferPointer(start: attribute.name, count: attribute.nameLength),
            nameTag: storage.pointee.attributeTags.base[index],
            namespaceURI: attribute.namespaceURI.map { UnsafeBufferPointer(start: $0, count: attribute.namespaceLength) },
            value: storage.pointee.bytes.buffer(attribute.start, attribute.end)
        )
    }

    /// The value of the attribute in no namespace whose name has the tag `tag` (not `untagged`).
    @inlinable
    public func value(ofAttributeTagged tag: Int16) -> UnsafeBufferPointer<UInt8>? {
        let node = node
        guard node.attributeTagBits & ScannedElement.tagBit(tag) != 0 else { return nil }
        let tags = storage.pointee.attributeTags.base
        for position in Int(node.firstAttribute)..<Int(node.firstAttribute + node.attributeCount) where tags[position] == tag {
            let attribute = storage.pointee.attributes.base[position]
            return storage.pointee.bytes.buffer(attribute.start, attribute.end)
        }
        return nil
    }

    /// The same value as a string. Values that documents repeat on every event (sources, party
    /// ids) come from a small cache instead of being allocated again: ask this for data fields,
    /// not for ids or times, which are all different and would only push the repeated ones out.
    @inlinable
    public func string(ofAttributeTagged tag: Int16) -> String? {
        guard let value = value(ofAttributeTagged: tag) else { return nil }
        return storage.pointee.repeated.string(for: value)
    }

    /// The length of the text directly inside (all runs), in bytes.
    @inlinable
    public var textByteCount: Int { node.textLength }

    /// Whether every byte of the text directly inside satisfies `predicate`.
    @inlinable
    public func textAllSatisfy(_ predicate: (UInt8) -> Bool) -> Bool {
        guard node.runCount > 0 else { return true }
        for position in 0..<storage.pointee.runs.count {
            let run = storage.pointee.runs.base[position]
            guard run.node == index else { continue }
            guard storage.pointee.bytes.buffer(run.start, run.end).allSatisfy(predicate) else { return false }
        }
        return true
    }

    /// The text directly inside, all runs joined.
    @inlinable
    public var text: String {
        guard node.runCount > 0 else { return "" }
        var text = ""
        for position in 0..<storage.pointee.runs.count {
            let run = storage.pointee.runs.base[position]
            guard run.node == index else { continue }
            let piece = String(decoding: storage.pointee.bytes.buffer(run.start, run.end), as: UTF8.self)
            if node.runCount == 1 { return piece }
            text += piece
        }
        return text
    }

    public struct Children: Sequence, IteratorProtocol {
        @usableFromInline let storage: UnsafeMutablePointer<ScannedElement.Storage>
        @usableFromInline var following: Int32

        @inlinable
        init(storage: UnsafeMutablePointer<ScannedElement.Storage>, first: Int32) {
            self.storage = storage
            self.following = first
        }

        @inlinable
        public mutating func next() -> ScannedNode? {
            guard following >= 0 else { return nil }
            let current = ScannedNode(storage: storage, index: following)
            following = storage.pointee.nodes.base[Int(following)].nextSibling
            return current
        }
    }
}

public struct ScannedAttribute {
    public var localName: UnsafeBufferPointer<UInt8>
    /// The local name's tag; `untagged` for an attribute in a namespace.
    public var nameTag: Int16
    public var namespaceURI: UnsafeBufferPointer<UInt8>?
    public var value: UnsafeBufferPointer<UInt8>

    @usableFromInline
    init(localName: UnsafeBufferPointer<UInt8>, nameTag: Int16, namespaceURI: UnsafeBufferPointer<UInt8>?, value: UnsafeBufferPointer<UInt8>) {
        self.localName = localName
        self.nameTag = nameTag
        self.namespaceURI = namespaceURI
        self.value = value
    }
}

/// A growable list of plain values in manually managed memory (see `ScannedElement.Storage`).
@usableFromInline
struct RawList<Element> {
    @usableFromInline private(set) var base: UnsafeMutablePointer<Element>
    @usableFromInline var count = 0
    private var capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        base = .allocate(capacity: capacity)
    }

    func deallocate() {
        base.deallocate()
    }

    var last: Element? { count > 0 ? base[count - 1] : nil }

    @inline(__always)
    mutating func append(_ element: Element) {
        reserve(1)
        (base + count).initialize(to: element)
        count += 1
    }

    /// Makes room for `extra` more elements after `count`.
    mutating func reserve(_ extra: Int) {
        guard count + extra > capacity else { return }
        var grown = capacity * 2
        while grown < count + extra { grown *= 2 }
        let larger = UnsafeMutablePointer<Element>.allocate(capacity: grown)
        larger.moveInitialize(from: base, count: count)
        base.deallocate()
        base = larger
        capacity = grown
    }
}

extension RawList<UInt8> {
    @inlinable
    func buffer(_ start: Int, _ end: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: base + start, count: end - start)
    }
}

/// The lengths and tags of element and attribute names, by address: libxml2's SAX2 parser
/// interns names in its dictionary, so while it lives one address always holds the same text,
/// and a document uses a handful of names on every element. The dictionary packs short names a
/// few bytes apart, so the address is hashed whole and a name may take one of four slots:
/// a document's few dozen names then never push each other out.
struct InternedNames {
    private static let slots = 256
    private static let probes = 4
    private let addresses = UnsafeMutablePointer<UnsafePointer<UInt8>?>.allocate(capacity: slots)
    private let lengths = UnsafeMutablePointer<Int>.allocate(capacity: slots)
    private let tags = UnsafeMutablePointer<Int16>.allocate(capacity: slots)
    private let tagging: (UnsafeBufferPointer<UInt8>) -> Int16

    init(tagging: @escaping (UnsafeBufferPointer<UInt8>) -> Int16) {
        self.tagging = tagging
        addresses.initialize(repeating: nil, count: Self.slots)
        lengths.initialize(repeating: 0, count: Self.slots)
        tags.initialize(repeating: ScannedElement.untagged, count: Self.slots)
    }

    func deallocate() {
        addresses.deallocate()
        lengths.deallocate()
        tags.deallocate()
    }

    @inline(__always)
    func lengthAndTag(of name: UnsafePointer<UInt8>) -> (Int, Int16) {
        let home = Int(truncatingIfNeeded: (UInt64(UInt(bitPattern: name)) &* 0x9E37_79B9_7F4A_7C15) >> 56)
        var free = home
        for probe in 0..<Self.probes {
            let slot = (home + probe) & (Self.slots - 1)
            if addresses[slot] == name { return (lengths[slot], tags[slot]) }
            if addresses[slot] == nil { free = slot; break }
        }
        // A free slot, or (past a few hundred distinct names) the home slot, overwritten.
        let length = byteLength(name)
        let tag = tagging(UnsafeBufferPointer(start: name, count: length))
        addresses[free] = name
        lengths[free] = length
        tags[free] = tag
        return (length, tag)
    }
}

/// Swift strings for byte strings seen before, in a direct-mapped cache. Strings of up to 15
/// bytes are stored inline and cost no allocation, so only longer ones (up to 64 bytes) are kept.
@usableFromInline
struct RepeatedStrings {
    private static let slots = 1024
    private static let longest = 64
    private let lengths = UnsafeMutablePointer<Int>.allocate(capacity: slots)
    private let bytes = UnsafeMutablePointer<UInt8>.allocate(capacity: slots * longest)
    private let strings = UnsafeMutablePointer<String>.allocate(capacity: slots)

    init() {
        lengths.initialize(repeating: 0, count: Self.slots)
        strings.initialize(repeating: "", count: Self.slots)
    }

    func deallocate() {
        strings.deinitialize(count: Self.slots)
        strings.deallocate()
        bytes.deallocate()
        lengths.deallocate()
    }

    @usableFromInline
    func string(for value: UnsafeBufferPointer<UInt8>) -> String {
        guard value.count > 15, value.count <= Self.longest, let base = value.baseAddress else {
            return String(decoding: value, as: UTF8.self)
        }
        // The first and last eight bytes and the length: ids of one kind share a prefix.
        let head = UnsafeRawPointer(base).loadUnaligned(as: UInt64.self)
        let tail = UnsafeRawPointer(base + value.count - 8).loadUnaligned(as: UInt64.self)
        let mixed = (head &* 0x9E37_79B9_7F4A_7C15) ^ (tail &* 0xC2B2_AE3D_27D4_EB4F) ^ UInt64(value.count)
        let slot = Int(truncatingIfNeeded: ((mixed ^ (mixed >> 29)) &* 0xBF58_476D_1CE4_E5B9) >> 54)
        let stored = bytes + slot * Self.longest
        if lengths[slot] == value.count, memcmp(stored, base, value.count) == 0 {
            return strings[slot]
        }
        let string = String(decoding: value, as: UTF8.self)
        stored.update(from: base, count: value.count)
        lengths[slot] = value.count
        strings[slot] = string
        return string
    }
}
