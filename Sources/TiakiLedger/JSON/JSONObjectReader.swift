/// Reads the members of one JSON object by hand, strictly: a missing member, a member of the wrong type, or a
/// member the reader never asks for is refused with the same field and sentence ``JSONValueDecoder`` gives in its
/// `refuse` mode. For request types on a hot path, where `Decodable`'s generic machinery costs more than the work.
public struct JSONObjectReader {
    private let members: [String: JSONValue]
    private var asked: [String] = []
    private let noun: String

    /// Reads `value`, which must be an object; `noun` names it in messages ("a decision").
    public init(_ value: JSONValue, noun: String) throws {
        self.noun = noun
        guard case .object(let members) = value else {
            throw DecodingError.typeMismatch(
                [String: JSONValue].self,
                .init(codingPath: [], debugDescription: "expected an object")
            )
        }
        self.members = members
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private mutating func value(_ name: String) -> JSONValue? {
        asked.append(name)
        return members[name]
    }

    /// A required member is missing: reported as the misspelling beside it, when there is one.
    private func missing(_ name: String) -> any Error {
        UnknownFieldError.misspelling(of: name, among: members.keys, asked: Set(asked), path: "", noun: noun)
            ?? DecodingError.keyNotFound(Key(name), .init(codingPath: [], debugDescription: "missing"))
    }

    private func mismatch<T>(_ name: String, _ type: T.Type) -> DecodingError {
        .typeMismatch(type, .init(codingPath: [Key(name)], debugDescription: "wrong type"))
    }

    private func null<T>(_ name: String, _ type: T.Type) -> DecodingError {
        .valueNotFound(type, .init(codingPath: [Key(name)], debugDescription: "null"))
    }

    public mutating func string(_ name: String) throws -> String {
        guard let v = value(name) else { throw missing(name) }
        guard case .string(let s) = v else { throw v == .null ? null(name, String.self) : mismatch(name, String.self) }
        return s
    }

    public mutating func optionalString(_ name: String) throws -> String? {
        guard let v = value(name), v != .null else { return nil }
        guard case .string(let s) = v else { throw mismatch(name, String.self) }
        return s
    }

    public mutating func optionalBool(_ name: String) throws -> Bool? {
        guard let v = value(name), v != .null else { return nil }
        guard case .bool(let b) = v else { throw mismatch(name, Bool.self) }
        return b
    }

    public mutating func strings(_ name: String) throws -> [String] {
        guard let v = value(name) else { throw missing(name) }
        guard case .array(let items) = v else {
            throw v == .null ? null(name, [String].self) : mismatch(name, [String].self)
        }
        var out: [String] = []
        out.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            guard case .string(let s) = item else {
                let key = [Key(name), IndexKey(i)] as [any CodingKey]
                throw item == .null
                    ? DecodingError.valueNotFound(String.self, .init(codingPath: key, debugDescription: "null"))
                    : DecodingError.typeMismatch(String.self, .init(codingPath: key, debugDescription: "wrong type"))
            }
            out.append(s)
        }
        return out
    }

    private struct IndexKey: CodingKey {
        let intValue: Int?
        var stringValue: String { String(intValue ?? 0) }
        init(_ i: Int) { intValue = i }
        init?(stringValue: String) { nil }
        init?(intValue: Int) { self.intValue = intValue }
    }

    /// Refuses any member that was not asked for, naming the nearest that was.
    public func finish() throws {
        guard members.count > 0 else { return }
        let unknown = members.keys.filter { !asked.contains($0) }.sorted()
        guard let first = unknown.first else { return }
        let near = nearest(first, in: asked.sorted())
        throw UnknownFieldError(
            field: first,
            suggestion: near,
            message: "\(first) is not a field of \(noun)" + (near.map { "; did you mean \($0)?" } ?? "")
        )
    }
}
