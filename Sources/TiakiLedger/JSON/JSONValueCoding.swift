/// Encodes `Encodable` values to ``JSONValue`` (and so to canonical JSON) without Foundation's JSON coders.
public struct JSONValueEncoder {
    public init() {}

    public func encode(_ value: some Encodable) throws -> JSONValue {
        let encoder = ValueEncoder(codingPath: [])
        try value.encode(to: encoder)
        return encoder.storage.value ?? .object([:])
    }
}

/// Decodes `Decodable` values from ``JSONValue``.
///
/// Errors are `DecodingError`s whose coding path names the field at fault; ``JSONValueDecoder/describe(_:)``
/// turns them into one plain sentence.
public struct JSONValueDecoder {
    /// What to do with members of an object that the type being decoded does not read.
    public enum UnknownFields: Sendable {
        /// Leave them (for entries read back from a ledger, which later versions may extend).
        case ignore
        /// Refuse the whole value with ``UnknownFieldError``, naming the first such member and the nearest field
        /// the type does read. `noun` names what is decoded in the message ("a consent").
        case refuse(noun: String)
    }

    public var unknownFields: UnknownFields

    public init(unknownFields: UnknownFields = .ignore) { self.unknownFields = unknownFields }

    public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        guard case .refuse(let noun) = unknownFields else {
            return try T(from: ValueDecoder(value: value, codingPath: []))
        }
        let tracker = KeyTracker()
        let decoded: T
        do {
            decoded = try T(from: ValueDecoder(value: value, codingPath: [], tracker: tracker))
        } catch DecodingError.keyNotFound(let key, let context) {
            // A required member missing beside a near spelling of it is reported as the misspelling.
            if let slot = tracker.slotByPath[JSONValueDecoder.path(context.codingPath)],
                let typo = UnknownFieldError.misspelling(
                    of: key.stringValue,
                    among: tracker.slots[slot].members,
                    asked: tracker.slots[slot].asked,
                    path: tracker.slots[slot].path,
                    noun: noun
                )
            {
                throw typo
            }
            throw DecodingError.keyNotFound(key, context)
        }
        try tracker.check(noun: noun)
        return decoded
    }

    /// The dotted path of a coding path (`consent.sharing.channels[1]`).
    public static func path(_ codingPath: [any CodingKey]) -> String {
        var out = ""
        for key in codingPath {
            if let i = key.intValue {
                out += "[\(i)]"
            } else {
                out += out.isEmpty ? key.stringValue : "." + key.stringValue
            }
        }
        return out
    }

    /// One sentence for a decoding error, naming the field.
    public static func describe(_ error: any Error) -> (field: String, message: String) {
        if let unknown = error as? UnknownFieldError { return (unknown.field, unknown.message) }
        guard let error = error as? DecodingError else { return ("", "\(error)") }
        switch error {
        case .keyNotFound(let key, let context):
            let field = path(context.codingPath + [key])
            return (field, "\(field) is missing")
        case .typeMismatch(let type, let context):
            let field = path(context.codingPath)
            return (field, "\(field.isEmpty ? "the body" : field) must be \(describeType(type))")
        case .valueNotFound(let type, let context):
            let field = path(context.codingPath)
            return (field, "\(field) must be \(describeType(type)), not null")
        case .dataCorrupted(let context):
            let field = path(context.codingPath)
            return (field, field.isEmpty ? context.debugDescription : "\(field): \(context.debugDescription)")
        @unknown default:
            return ("", "\(error)")
        }
    }

    static func describeType(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is UInt64.Type: "a whole number, 0 or more"
        case is Int.Type, is Int64.Type, is Int32.Type: "a whole number"
        case is Double.Type: "a number"
        default:
            String(describing: type).hasPrefix("Array") ? "a list" : "an object"
        }
    }
}

// MARK: Encoding

private final class EncodedBox {
    var value: JSONValue?
    var object: [String: EncodedBox]?
    var array: [EncodedBox]?

    init() {}

    var resolved: JSONValue {
        if let object { return .object(object.mapValues(\.resolved)) }
        if let array { return .array(array.map(\.resolved)) }
        return value ?? .null
    }
}

private final class ValueEncoder: Encoder {
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    let box = EncodedBox()

    init(codingPath: [any CodingKey]) { self.codingPath = codingPath }

    var storage: (value: JSONValue?, Void) {
        (box.object != nil || box.array != nil || box.value != nil ? box.resolved : nil, ())
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if box.object == nil { box.object = [:] }
        return KeyedEncodingContainer(KeyedEncoder<Key>(box: box, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if box.array == nil { box.array = [] }
        return UnkeyedEncoder(box: box, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleEncoder(box: box, codingPath: codingPath) }
}

private func encodeNested(_ value: some Encodable, path: [any CodingKey]) throws -> EncodedBox {
    if let direct = directValue(value) {
        let b = EncodedBox()
        b.value = direct
        return b
    }
    let encoder = ValueEncoder(codingPath: path)
    try value.encode(to: encoder)
    return encoder.box
}

private func directValue(_ value: Any) -> JSONValue? {
    switch value {
    case let v as JSONValue: v
    case let v as String: .string(v)
    case let v as Bool: .bool(v)
    case let v as Int: .number(Double(v))
    case let v as Int64: .number(Double(v))
    case let v as UInt64: .number(Double(v))
    case let v as Int32: .number(Double(v))
    case let v as Double: .number(v)
    default: nil
    }
}

private struct KeyedEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let box: EncodedBox
    let codingPath: [any CodingKey]

    func set(_ key: Key, _ child: EncodedBox) { box.object?[key.stringValue] = child }

    mutating func encodeNil(forKey key: Key) throws {
        let b = EncodedBox()
        b.value = .null
        set(key, b)
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        set(key, try encodeNested(value, path: codingPath + [key]))
    }

    // Optionals that are nil are left out rather than written as null.
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type,
        forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        let child = EncodedBox()
        child.object = [:]
        set(key, child)
        return KeyedEncodingContainer(KeyedEncoder<NestedKey>(box: child, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = EncodedBox()
        child.array = []
        set(key, child)
        return UnkeyedEncoder(box: child, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder { ValueEncoder(codingPath: codingPath) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { ValueEncoder(codingPath: codingPath + [key]) }
}

private struct IndexKey: CodingKey {
    var stringValue: String { "\(intValue ?? 0)" }
    var intValue: Int?
    init(_ i: Int) { intValue = i }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
}

private struct UnkeyedEncoder: UnkeyedEncodingContainer {
    let box: EncodedBox
    let codingPath: [any CodingKey]
    var count: Int { box.array?.count ?? 0 }

    mutating func encodeNil() throws {
        let b = EncodedBox()
        b.value = .null
        box.array?.append(b)
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        let child = try encodeNested(value, path: codingPath + [IndexKey(count)])
        box.array?.append(child)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type
    ) -> KeyedEncodingContainer<NestedKey> {
        let child = EncodedBox()
        child.object = [:]
        box.array?.append(child)
        return KeyedEncodingContainer(KeyedEncoder<NestedKey>(box: child, codingPath: codingPath))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let child = EncodedBox()
        child.array = []
        box.array?.append(child)
        return UnkeyedEncoder(box: child, codingPath: codingPath)
    }

    mutating func superEncoder() -> any Encoder { ValueEncoder(codingPath: codingPath) }
}

private struct SingleEncoder: SingleValueEncodingContainer {
    let box: EncodedBox
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { box.value = .null }

    mutating func encode<T: Encodable>(_ value: T) throws {
        let child = try encodeNested(value, path: codingPath)
        box.value = child.value
        box.object = child.object
        box.array = child.array
    }
}

// MARK: Decoding

/// A member of an object that the type being decoded does not have, refused by
/// ``JSONValueDecoder/UnknownFields/refuse(noun:)``.
public struct UnknownFieldError: Error, Sendable, CustomStringConvertible {
    /// The member's dotted path (`sharing.chanels`).
    public let field: String
    /// The nearest field the type reads at that place, when one is close.
    public let suggestion: String?
    public let message: String
    public var description: String { message }

    /// The member the caller most likely meant as `missing`, when the object has one it has not asked about that is
    /// a near spelling of it (`storageRegoin` for `storageRegion`): then "storageRegoin is not a field of a
    /// decision; did you mean storageRegion?" says what to fix, where "storageRegion is missing" would not.
    static func misspelling(
        of missing: String,
        among members: some Collection<String>,
        asked: Set<String>,
        path: String,
        noun: String
    ) -> UnknownFieldError? {
        let prefix = path.isEmpty ? "" : path + "."
        guard
            let typo = members.filter({ !asked.contains($0) && nearest($0, in: [missing]) != nil }).sorted().first
        else { return nil }
        return UnknownFieldError(
            field: prefix + typo,
            suggestion: prefix + missing,
            message: "\(prefix + typo) is not a field of \(noun); did you mean \(prefix + missing)?"
        )
    }
}

/// The members each object holds and those the decoding type asked about (read, or checked for and found absent);
/// what was never asked about is unknown to the type. Containers over one object (a type that decodes another's
/// fields from the same object) share one slot, found by the object's path when the container is made.
private final class KeyTracker {
    var slots: [(path: String, members: Set<String>, asked: Set<String>)] = []
    var slotByPath: [String: Int] = [:]

    func register(_ path: [any CodingKey], members: some Collection<String>) -> Int {
        let key = JSONValueDecoder.path(path)
        if let slot = slotByPath[key] { return slot }
        slots.append((key, Set(members), []))
        slotByPath[key] = slots.count - 1
        return slots.count - 1
    }

    func ask(_ slot: Int, _ name: String) { slots[slot].asked.insert(name) }

    func check(noun: String) throws {
        for object in slots.sorted(by: { $0.path < $1.path }) {
            guard let unknown = object.members.subtracting(object.asked).sorted().first else { continue }
            let prefix = object.path.isEmpty ? "" : object.path + "."
            let near = nearest(unknown, in: object.asked.sorted())
            let hint = near.map { "; did you mean \(prefix)\($0)?" } ?? ""
            throw UnknownFieldError(
                field: prefix + unknown,
                suggestion: near.map { prefix + $0 },
                message: "\(prefix + unknown) is not a field of \(noun)\(hint)"
            )
        }
    }

}

/// The closest of `names` to `word` by edit distance, when close enough to be a likely typo (field names, codes,
/// roles, attributes: every "did you mean" Tiaki says). Long inputs (a fuzzer's, say) are not compared: no name is that long.
public func nearest(_ word: String, in names: [String]) -> String? {
    guard word.utf8.count <= 256 else { return nil }
    func distance(_ a: [Character], _ b: [Character]) -> Int {
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in 1...max(b.count, 1) where !b.isEmpty {
                let current = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = current
            }
        }
        return row[b.count]
    }
    let w = Array(word)
    let best = names.map { ($0, distance(w, Array($0))) }.min { $0.1 < $1.1 }
    guard let best, best.1 <= max(2, word.count / 3) else { return nil }
    return best.0
}

private struct ValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var tracker: KeyTracker? = nil
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else {
            throw DecodingError.typeMismatch(
                [String: JSONValue].self,
                .init(codingPath: codingPath, debugDescription: "expected an object")
            )
        }
        let slot = tracker?.register(codingPath, members: members.keys)
        return KeyedDecodingContainer(
            KeyedDecoder<Key>(members: members, codingPath: codingPath, tracker: tracker, slot: slot ?? 0)
        )
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let items) = value else {
            throw DecodingError.typeMismatch(
                [JSONValue].self,
                .init(codingPath: codingPath, debugDescription: "expected a list")
            )
        }
        return UnkeyedDecoder(items: items, codingPath: codingPath, tracker: tracker)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleDecoder(value: value, codingPath: codingPath, tracker: tracker)
    }
}

private func decodeValue<T: Decodable>(
    _ type: T.Type,
    _ value: JSONValue,
    path: [any CodingKey],
    tracker: KeyTracker?
) throws -> T {
    func mismatch() -> DecodingError {
        .typeMismatch(T.self, .init(codingPath: path, debugDescription: "wrong type"))
    }
    /// Each branch below has checked that `T` is the type of `v`, so the cast succeeds.
    func cast(_ v: Any) throws -> T {
        guard let t = v as? T else { throw mismatch() }
        return t
    }
    switch type {
    case is JSONValue.Type:
        return try cast(value)
    case is String.Type:
        guard case .string(let s) = value else { throw mismatch() }
        return try cast(s)
    case is Bool.Type:
        guard case .bool(let b) = value else { throw mismatch() }
        return try cast(b)
    case is Int.Type:
        guard let i = value.integerValue else { throw mismatch() }
        return try cast(i)
    case is Int64.Type:
        guard let i = value.integerValue else { throw mismatch() }
        return try cast(Int64(i))
    case is UInt64.Type:
        guard let i = value.integerValue, let u = UInt64(exactly: i) else { throw mismatch() }
        return try cast(u)
    case is Double.Type:
        guard case .number(let d) = value else { throw mismatch() }
        return try cast(d)
    default:
        return try T(from: ValueDecoder(value: value, codingPath: path, tracker: tracker))
    }
}

private struct KeyedDecoder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [String: JSONValue]
    let codingPath: [any CodingKey]
    let tracker: KeyTracker?
    let slot: Int

    var allKeys: [Key] {
        members.keys.compactMap { name in
            guard let key = Key(stringValue: name) else { return nil }
            tracker?.ask(slot, name)
            return key
        }
    }

    func contains(_ key: Key) -> Bool {
        tracker?.ask(slot, key.stringValue)
        return members[key.stringValue] != nil
    }

    func value(_ key: Key) throws -> JSONValue {
        tracker?.ask(slot, key.stringValue)
        guard let v = members[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "missing"))
        }
        return v
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        tracker?.ask(slot, key.stringValue)
        return members[key.stringValue] == nil || members[key.stringValue] == .null
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let v = try value(key)
        if v == .null, !(T.self is JSONValue.Type) {
            throw DecodingError.valueNotFound(T.self, .init(codingPath: codingPath + [key], debugDescription: "null"))
        }
        return try decodeValue(type, v, path: codingPath + [key], tracker: tracker)
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type,
        forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try ValueDecoder(value: value(key), codingPath: codingPath + [key], tracker: tracker).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try ValueDecoder(value: value(key), codingPath: codingPath + [key], tracker: tracker).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        ValueDecoder(value: .object(members), codingPath: codingPath, tracker: tracker)
    }
    func superDecoder(forKey key: Key) throws -> any Decoder {
        ValueDecoder(value: try value(key), codingPath: codingPath + [key], tracker: tracker)
    }
}

private struct UnkeyedDecoder: UnkeyedDecodingContainer {
    let items: [JSONValue]
    let codingPath: [any CodingKey]
    let tracker: KeyTracker?
    var currentIndex = 0
    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    mutating func next() throws -> JSONValue {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                JSONValue.self,
                .init(codingPath: codingPath, debugDescription: "list ended")
            )
        }
        defer { currentIndex += 1 }
        return items[currentIndex]
    }

    mutating func decodeNil() throws -> Bool {
        if !isAtEnd, items[currentIndex] == .null {
            currentIndex += 1
            return true
        }
        return false
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let path = codingPath + [IndexKey(currentIndex)]
        return try decodeValue(type, next(), path: path, tracker: tracker)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type
    ) throws -> KeyedDecodingContainer<NestedKey> {
        let path = codingPath + [IndexKey(currentIndex)]
        return try ValueDecoder(value: next(), codingPath: path, tracker: tracker).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let path = codingPath + [IndexKey(currentIndex)]
        return try ValueDecoder(value: next(), codingPath: path, tracker: tracker).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        ValueDecoder(value: try next(), codingPath: codingPath, tracker: tracker)
    }
}

private struct SingleDecoder: SingleValueDecodingContainer {
    let value: JSONValue
    let codingPath: [any CodingKey]
    let tracker: KeyTracker?

    func decodeNil() -> Bool { value == .null }
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try decodeValue(type, value, path: codingPath, tracker: tracker)
    }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        if let d = decoder as? ValueDecoder {
            self = d.value
            return
        }
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let d = try? c.decode(Double.self) {
            self = .number(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}
