import XMLStreaming

/// An event element of the exchange document as `ExchangeValidation` and `XMLEventFields` read
/// it: either the scanner's bytes in place (`ScannedNode`, the fast path) or a copy
/// (`XMLElement`, the general path). One generic implementation reads both, so the two paths
/// cannot come to different verdicts or values.
protocol ExchangeElement {
    associatedtype Children: Sequence where Children.Element == Self
    var children: Children { get }
    var childCount: Int { get }
    var isInExchangeNamespace: Bool { get }
    func hasLocalName(_ name: ExchangeName) -> Bool
    var attributeCount: Int { get }
    /// Calls `body` with each attribute (whether it is in a namespace, its local name if the
    /// XSD declares one so called, its value) until it answers false; answers whether it never did.
    func allAttributes(_ body: (_ namespaced: Bool, _ name: ExchangeName?, _ value: UnsafeBufferPointer<UInt8>) -> Bool) -> Bool
    /// The value of the attribute `name` that is in no namespace.
    func unqualifiedAttribute(_ name: ExchangeName) -> String?
    /// The text directly inside, in UTF-8 bytes.
    var textByteCount: Int { get }
    func textAllSatisfy(_ predicate: (UInt8) -> Bool) -> Bool
    var text: String { get }
}

extension ExchangeElement {
    var firstChild: Self? {
        var iterator = children.makeIterator()
        return iterator.next()
    }
}

extension XMLElement: ExchangeElement {
    var childCount: Int { children.count }

    var isInExchangeNamespace: Bool { namespaceURI == ExchangeSchema.namespace }

    func hasLocalName(_ name: ExchangeName) -> Bool { localName == name.text.description }

    var attributeCount: Int { attributes.count }

    func allAttributes(_ body: (Bool, ExchangeName?, UnsafeBufferPointer<UInt8>) -> Bool) -> Bool {
        for attribute in attributes {
            var name = attribute.localName
            var value = attribute.value
            let passed = name.withUTF8 { name in value.withUTF8 { value in body(attribute.namespaceURI != nil, ExchangeName(name), value) } }
            guard passed else { return false }
        }
        return true
    }

    func unqualifiedAttribute(_ name: ExchangeName) -> String? { attribute(name.text.description) }

    var textByteCount: Int { text.utf8.count }

    func textAllSatisfy(_ predicate: (UInt8) -> Bool) -> Bool { text.utf8.allSatisfy(predicate) }
}

extension ScannedNode: ExchangeElement {
    var isInExchangeNamespace: Bool {
        guard let uri = namespaceURI else { return false }
        return sameBytes(uri, ExchangeSchema.staticNamespace)
    }

    func hasLocalName(_ name: ExchangeName) -> Bool { nameTag == name.rawValue }

    func allAttributes(_ body: (Bool, ExchangeName?, UnsafeBufferPointer<UInt8>) -> Bool) -> Bool {
        for position in 0..<attributeCount {
            let attribute = attribute(at: position)
            guard body(attribute.namespaceURI != nil, ExchangeName(rawValue: attribute.nameTag), attribute.value) else { return false }
        }
        return true
    }

    func unqualifiedAttribute(_ name: ExchangeName) -> String? { string(ofAttributeTagged: name.rawValue) }
}

/// Byte equality, without the generic `elementsEqual`, which walks a `String.UTF8View` one
/// index at a time.
@inline(__always)
func sameBytes(_ value: UnsafeBufferPointer<UInt8>, _ other: UnsafeBufferPointer<UInt8>) -> Bool {
    guard value.count == other.count else { return false }
    for index in 0..<value.count where value[index] != other[index] { return false }
    return true
}

@inline(__always)
func sameBytes(_ value: UnsafeBufferPointer<UInt8>, _ text: StaticString) -> Bool {
    sameBytes(value, bytes(of: text))
}

func bytes(of text: StaticString) -> UnsafeBufferPointer<UInt8> {
    UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
}
