/// A map from keys to values for the parts of the consent state that grow with the ledger (children, consents):
/// the values in one dense array and a hash table of positions beside it, rather than a `Dictionary`.
///
/// A `Dictionary` keeps its keys and values in buckets, a power of two of them at most three quarters full, so a
/// table of 1,000,000 consents of 184 bytes each holds 2,097,152 buckets of 192 bytes (403 MB). Here the buckets
/// hold a key and a 4-byte position, and the values sit in an array of exactly the size a snapshot read asks for
/// (about 220 MB for the same consents). Lookups
/// cost one hash and one array read, as before; removing swaps the last value into the hole. Iteration order is
/// unspecified, as a dictionary's is.
public struct KeyedTable<Key: Hashable, Value> {
    private var positions: [Key: Int32] = [:]
    public private(set) var keys: [Key] = []
    public private(set) var values: [Value] = []

    public init() {}

    public var count: Int { values.count }
    public var isEmpty: Bool { values.isEmpty }

    public mutating func reserveCapacity(_ n: Int) {
        positions.reserveCapacity(n)
        keys.reserveCapacity(n)
        values.reserveCapacity(n)
    }

    public subscript(key: Key) -> Value? {
        get { positions[key].map { values[Int($0)] } }
        set {
            if let at = positions[key].map(Int.init) {
                if let newValue {
                    values[at] = newValue
                } else {
                    remove(at: at, key: key)
                }
            } else if let newValue {
                precondition(values.count < Int(Int32.max), "a state table is full")
                positions[key] = Int32(values.count)
                keys.append(key)
                values.append(newValue)
            }
        }
    }

    private mutating func remove(at: Int, key: Key) {
        let last = values.count - 1
        if at != last {
            values.swapAt(at, last)
            keys.swapAt(at, last)
            positions[keys[at]] = Int32(at)
        }
        values.removeLast()
        keys.removeLast()
        positions[key] = nil
    }
}

extension KeyedTable: Sequence {
    public struct Iterator: IteratorProtocol {
        let keys: [Key]
        let values: [Value]
        var at = 0

        public mutating func next() -> (key: Key, value: Value)? {
            guard at < values.count else { return nil }
            defer { at += 1 }
            return (keys[at], values[at])
        }
    }

    public func makeIterator() -> Iterator { Iterator(keys: keys, values: values) }
    public var underestimatedCount: Int { values.count }
}

extension KeyedTable: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (Key, Value)...) {
        self.init()
        for (key, value) in elements { self[key] = value }
    }
}

extension KeyedTable: Sendable where Key: Sendable, Value: Sendable {}

extension KeyedTable: Equatable where Value: Equatable {
    /// The same keys with equal values, in whatever order.
    public static func == (a: KeyedTable, b: KeyedTable) -> Bool {
        guard a.count == b.count else { return false }
        for (key, value) in a {
            guard let other = b[key], other == value else { return false }
        }
        return true
    }
}

/// Written and read as the dictionary it stands for, so that what a state's JSON says does not change.
extension KeyedTable: Codable where Key: Codable, Value: Codable {
    public init(from decoder: any Decoder) throws {
        self.init()
        let dictionary = try [Key: Value](from: decoder)
        reserveCapacity(dictionary.count)
        for (key, value) in dictionary { self[key] = value }
    }

    public func encode(to encoder: any Encoder) throws {
        try Dictionary(uniqueKeysWithValues: zip(keys, values)).encode(to: encoder)
    }
}
