import TiakiLedger

/// Reads the members of one JSON object as the `Decodable` path would read them into the plain types Tiaki
/// writes, and gives `nil` for anything else, so that its caller can leave such a value to that path (see
/// ``EntryBody/fast(_:)``). Members the reader is not asked for are ignored, as `Decodable` ignores them.
struct FastReader {
    private let members: [String: JSONValue]

    init?(_ json: JSONValue?) {
        guard case .object(let members)? = json else { return nil }
        self.members = members
    }

    func value(_ name: String) -> JSONValue? { members[name] }

    /// A required string.
    func string(_ name: String) -> String? {
        guard case .string(let s)? = members[name] else { return nil }
        return s
    }

    /// An optional string: `.some(nil)` when absent or null, `nil` when of another type.
    func optionalString(_ name: String) -> String?? {
        switch members[name] {
        case nil, .null?: return .some(nil)
        case .string(let s)?: return .some(s)
        default: return nil
        }
    }

    /// An optional Boolean: `.some(nil)` when absent or null, `nil` when of another type.
    func optionalBool(_ name: String) -> Bool?? {
        switch members[name] {
        case nil, .null?: return .some(nil)
        case .bool(let b)?: return .some(b)
        default: return nil
        }
    }

    /// A required array of strings.
    func strings(_ name: String) -> [String]? {
        guard case .array(let items)? = members[name] else { return nil }
        var out: [String] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard case .string(let s) = item else { return nil }
            out.append(s)
        }
        return out
    }

    /// A required array of whole numbers.
    func integers(_ name: String) -> [Int]? {
        guard case .array(let items)? = members[name] else { return nil }
        var out: [Int] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard let i = item.integerValue else { return nil }
            out.append(i)
        }
        return out
    }
}
