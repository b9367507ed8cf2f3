/// Turns a typed page model into what a template reads (``TemplateValue``): a struct becomes an object, an array
/// a list, a string text, a number its digits, a boolean a flag; an optional that is `nil` is left out, so the
/// template draws nothing for it and a section over it is skipped.
///
/// The models stay typed `Encodable` structs: the encoding the compiler writes for each walks it once, without
/// reflection (reading models through `Mirror` demangled a field's type on every lookup and took three quarters
/// of a page's time; see docs/benchmarks.md).
package enum TemplateEncoder {
    package static func encode(_ value: some Encodable) -> TemplateValue {
        if let direct = primitive(value) { return direct }
        let encoder = TreeEncoder()
        do {
            try value.encode(to: encoder)
        } catch {
            // A model is plain data: encoding it cannot fail. Should one ever throw, the page draws without it.
            return .object([:])
        }
        return encoder.result
    }

    /// Strings, booleans and numbers directly.
    @inline(__always)
    static func primitive(_ value: Any) -> TemplateValue? {
        switch value {
        case let v as String: .text(v)
        case let v as Bool: .flag(v)
        case let v as Int: .text(String(v))
        case let v as UInt64: .text(String(v))
        case let v as Int64: .text(String(v))
        case let v as Double: .text(String(v))
        default: nil
        }
    }
}

/// What one value encoded to, built in place by its containers.
private final class Node {
    enum Shape {
        case none
        case keyed([String: TemplateValue])
        case unkeyed([TemplateValue])
        case single(TemplateValue)
    }
    var shape: Shape = .none
    /// Containers nested by `nestedContainer`: filled after they are handed out, so resolved at the end.
    var nested: [(key: String?, node: Node)] = []

    var value: TemplateValue {
        switch shape {
        case .none:
            var out: [String: TemplateValue] = [:]
            for (key, node) in nested { if let key { out[key] = node.value } }
            return .object(out)
        case .keyed(var dictionary):
            for (key, node) in nested { if let key { dictionary[key] = node.value } }
            return .object(dictionary)
        case .unkeyed(var list):
            for (_, node) in nested { list.append(node.value) }
            return .list(list)
        case .single(let v): return v
        }
    }

    func set(_ key: String, _ value: TemplateValue) {
        if case .keyed(var dictionary) = shape {
            shape = .none
            dictionary[key] = value
            shape = .keyed(dictionary)
        } else {
            shape = .keyed([key: value])
        }
    }

    func append(_ value: TemplateValue) {
        if case .unkeyed(var list) = shape {
            shape = .none
            list.append(value)
            shape = .unkeyed(list)
        } else {
            shape = .unkeyed([value])
        }
    }
}

private final class TreeEncoder: Encoder {
    // The path is for errors, which a page model never raises: none is kept (building one cost a tenth of a page).
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    let node = Node()

    var result: TemplateValue { node.value }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .none = node.shape { node.shape = .keyed([:]) }
        return KeyedEncodingContainer(KeyedTree<Key>(node: node))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .none = node.shape { node.shape = .unkeyed([]) }
        return UnkeyedTree(node: node)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleTree(node: node) }

    /// A nested value: a primitive directly, anything else through an encoder of its own.
    static func tree(_ value: some Encodable) throws -> TemplateValue {
        if let direct = TemplateEncoder.primitive(value) { return direct }
        let encoder = TreeEncoder()
        try value.encode(to: encoder)
        return encoder.result
    }
}

private struct KeyedTree<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: Node
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil(forKey key: Key) throws {}
    mutating func encode(_ value: String, forKey key: Key) throws { node.set(key.stringValue, .text(value)) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { node.set(key.stringValue, .flag(value)) }
    mutating func encode(_ value: Int, forKey key: Key) throws { node.set(key.stringValue, .text(String(value))) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        node.set(key.stringValue, try TreeEncoder.tree(value))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type,
        forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        let child = Node()
        child.shape = .keyed([:])
        node.nested.append((key.stringValue, child))
        return KeyedEncodingContainer(KeyedTree<NestedKey>(node: child))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = Node()
        child.shape = .unkeyed([])
        node.nested.append((key.stringValue, child))
        return UnkeyedTree(node: child)
    }

    mutating func superEncoder() -> any Encoder {
        let encoder = TreeEncoder()
        node.nested.append(("super", encoder.node))
        return encoder
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        let encoder = TreeEncoder()
        node.nested.append((key.stringValue, encoder.node))
        return encoder
    }
}

private struct UnkeyedTree: UnkeyedEncodingContainer {
    let node: Node
    var codingPath: [any CodingKey] { [] }
    var count = 0

    init(node: Node) { self.node = node }

    mutating func encodeNil() throws {}
    mutating func encode(_ value: String) throws {
        node.append(.text(value))
        count += 1
    }
    mutating func encode<T: Encodable>(_ value: T) throws {
        node.append(try TreeEncoder.tree(value))
        count += 1
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type
    ) -> KeyedEncodingContainer<NestedKey> {
        let child = Node()
        child.shape = .keyed([:])
        node.nested.append((nil, child))
        count += 1
        return KeyedEncodingContainer(KeyedTree<NestedKey>(node: child))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let child = Node()
        child.shape = .unkeyed([])
        node.nested.append((nil, child))
        count += 1
        return UnkeyedTree(node: child)
    }

    mutating func superEncoder() -> any Encoder {
        let encoder = TreeEncoder()
        node.nested.append((nil, encoder.node))
        count += 1
        return encoder
    }
}

private struct SingleTree: SingleValueEncodingContainer {
    let node: Node
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil() throws {}
    mutating func encode(_ value: String) throws { node.shape = .single(.text(value)) }
    mutating func encode(_ value: Bool) throws { node.shape = .single(.flag(value)) }
    mutating func encode(_ value: Int) throws { node.shape = .single(.text(String(value))) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        node.shape = .single(try TreeEncoder.tree(value))
    }
}
