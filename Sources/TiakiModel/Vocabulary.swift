/// The codes a policy set defines, each with the plain words shown to people.
///
/// Consents, requests and rules speak in these codes; explanations speak in their labels.
public struct Vocabulary: Sendable, Equatable {
    public enum Dimension: String, Sendable, CaseIterable, Hashable {
        case purpose = "purposes"
        case information
        case organisationKind = "organisation-kinds"
        case channel = "channels"
        case storageRegion = "storage-regions"
        case consenter = "consenters"

        /// The dimension's place in `allCases`, for tables indexed by dimension.
        public var ordinal: Int {
            switch self {
            case .purpose: 0
            case .information: 1
            case .organisationKind: 2
            case .channel: 3
            case .storageRegion: 4
            case .consenter: 5
            }
        }

        /// The noun with its article ("an information category").
        public var withArticle: String {
            (["information", "organisation-kinds"].contains(rawValue) ? "an " : "a ") + noun
        }

        /// The singular noun, for messages.
        public var noun: String {
            switch self {
            case .purpose: "purpose"
            case .information: "information category"
            case .organisationKind: "organisation kind"
            case .channel: "sharing channel"
            case .storageRegion: "storage region"
            case .consenter: "consenter"
            }
        }
    }

    /// Code → label, per dimension, in the order the policy lists them.
    public private(set) var terms: [Dimension: [(code: String, label: String)]]
    private var labels: [Dimension: [String: String]]
    /// Labels in other languages (`mi`: te reo Māori): language → dimension → code → label. A code without one
    /// is shown with its English label.
    public private(set) var translations: [String: [Dimension: [String: String]]]

    public init(
        _ terms: [Dimension: [(code: String, label: String)]],
        translations: [String: [Dimension: [String: String]]] = [:]
    ) {
        self.terms = terms
        self.labels = terms.mapValues { Dictionary($0.map { ($0.code, $0.label) }, uniquingKeysWith: { a, _ in a }) }
        self.translations = translations
    }

    /// The plain words for a code in `language` (`en`, `mi`), or in English when the vocabulary has none in it.
    public func label(_ code: String, in dimension: Dimension, language: String) -> String {
        translations[language]?[dimension]?[code] ?? label(code, in: dimension)
    }

    public func contains(_ code: String, in dimension: Dimension) -> Bool {
        labels[dimension]?[code] != nil
    }

    /// The plain words for a code (the code itself when the vocabulary does not know it).
    public func label(_ code: String, in dimension: Dimension) -> String {
        labels[dimension]?[code] ?? code
    }

    public func codes(_ dimension: Dimension) -> [String] { terms[dimension]?.map(\.code) ?? [] }

    public static func == (a: Vocabulary, b: Vocabulary) -> Bool {
        a.labels == b.labels && a.translations == b.translations
    }
}

/// A set of codes of one dimension as a bitmask, for constant-time coverage checks.
///
/// Bits are assigned by a ``CodeTable`` in order of first use; at most 64 codes per dimension.
public struct CodeSet: Sendable, Hashable, Codable {
    public var bits: UInt64

    public init(bits: UInt64 = 0) { self.bits = bits }

    @inline(__always) public func contains(_ bit: Int) -> Bool { bits & (1 << UInt64(bit)) != 0 }
    @inline(__always) public func isSubset(of other: CodeSet) -> Bool { bits & ~other.bits == 0 }
    @inline(__always) public func intersects(_ other: CodeSet) -> Bool { bits & other.bits != 0 }
    @inline(__always) public mutating func insert(_ bit: Int) { bits |= 1 << UInt64(bit) }
    public var isEmpty: Bool { bits == 0 }

    /// The bits set, lowest first.
    public var members: [Int] {
        var out: [Int] = []
        var b = bits
        while b != 0 {
            out.append(b.trailingZeroBitCount)
            b &= b - 1
        }
        return out
    }
}

/// Assigns each code of each dimension a bit, in order of first use.
public struct CodeTable: Sendable, Codable {
    /// Identifies this table and its copies: bits are only ever added, so a policy compiled against a table stays
    /// valid for it, and only for it.
    public let identity = UInt64.random(in: 1...UInt64.max)
    private var bits: [Vocabulary.Dimension: [String: Int]] = [:]
    private var codes: [Vocabulary.Dimension: [String]] = [:]

    public init() {}

    /// Written as each dimension's codes in bit order; read back by interning them in that order, so every bit is
    /// the same (the identity is new: a policy is compiled against the table read).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(Dictionary(uniqueKeysWithValues: codes.map { ($0.key.rawValue, $0.value) }))
    }

    public init(from decoder: any Decoder) throws {
        let written = try decoder.singleValueContainer().decode([String: [String]].self)
        for (name, list) in written {
            guard let dimension = Vocabulary.Dimension(rawValue: name) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: name))
            }
            for code in list { _ = intern(code, dimension) }
        }
    }

    /// The bit of `code`, assigning the next free one the first time; `nil` when the dimension has 64 codes.
    public mutating func intern(_ code: String, _ dimension: Vocabulary.Dimension) -> Int? {
        if let b = bits[dimension]?[code] { return b }
        let next = codes[dimension, default: []].count
        guard next < 64 else { return nil }
        bits[dimension, default: [:]][code] = next
        codes[dimension, default: []].append(code)
        return next
    }

    /// The bit of a code already seen.
    @inline(__always)
    public func bit(_ code: String, _ dimension: Vocabulary.Dimension) -> Int? { bits[dimension]?[code] }

    public func code(_ bit: Int, _ dimension: Vocabulary.Dimension) -> String {
        codes[dimension]?[bit] ?? "?"
    }

    public func codes(in set: CodeSet, _ dimension: Vocabulary.Dimension) -> [String] {
        set.members.map { code($0, dimension) }
    }

    /// A set from codes, interning new ones.
    public mutating func set(_ list: [String], _ dimension: Vocabulary.Dimension) -> CodeSet? {
        var s = CodeSet()
        for code in list {
            guard let b = intern(code, dimension) else { return nil }
            s.insert(b)
        }
        return s
    }

    /// A set from codes already seen; codes never seen cannot be in any stored set, so they are reported apart.
    public func lookup(_ list: [String], _ dimension: Vocabulary.Dimension) -> (set: CodeSet, unseen: [String]) {
        var s = CodeSet()
        var unseen: [String] = []
        for code in list {
            if let b = bit(code, dimension) { s.insert(b) } else { unseen.append(code) }
        }
        return (s, unseen)
    }
}
