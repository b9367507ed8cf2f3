public import TiakiLedger
public import TiakiModel

/// The URIs that name Tiaki's codes and records, so that a coding read elsewhere resolves to its label.
///
/// Every URI is under the ledger's origin (fixed for the life of the ledger), as `https://ORIGIN/v1/…`: the
/// vocabulary's code systems at `/v1/vocabulary/DIMENSION`, which `tiaki serve` answers with the codes and
/// their labels (JSON, or a FHIR `CodeSystem` with `?format=fhir-r4`).
public struct CodeSystems: Sendable {
    public let origin: String
    public let vocabulary: Vocabulary
    /// The digest of the policy set the vocabulary comes from.
    public let policy: String?

    public init(origin: String, vocabulary: Vocabulary, policy: String?) {
        self.origin = origin
        self.vocabulary = vocabulary
        self.policy = policy
    }

    public var base: String { "https://" + origin + "/v1" }

    /// The code system of one dimension of the vocabulary.
    public func url(_ dimension: Vocabulary.Dimension) -> String { base + "/vocabulary/" + dimension.rawValue }

    /// Identifier systems: subjects, organisations, consents (by ledger index), policy sets (by digest).
    public var subjects: String { base + "/subjects" }
    public var organisations: String { base + "/organisations" }
    public var consents: String { base + "/consents" }
    public var policies: String { base + "/policies" }

    /// A FHIR extension defined by Tiaki.
    public func extensionURL(_ name: String) -> String { "https://" + origin + "/fhir/StructureDefinition/" + name }

    /// `{system, code, display}` for a code of a dimension, the display its label.
    public func coding(_ code: String, _ dimension: Vocabulary.Dimension) -> JSONValue {
        [
            "system": .string(url(dimension)), "code": .string(code),
            "display": .string(vocabulary.label(code, in: dimension)),
        ]
    }

    /// One dimension as JSON: its URL and every code with its label, in the policy's order.
    public func json(_ dimension: Vocabulary.Dimension) -> JSONValue {
        [
            "dimension": .string(dimension.rawValue),
            "url": .string(url(dimension)),
            "title": .string(Self.title(dimension)),
            "concepts": .array(
                (vocabulary.terms[dimension] ?? []).map { concept($0.code, $0.label, dimension) }
            ),
        ]
    }

    /// A code with its English words as `display` and its words in other languages as FHIR designations
    /// (`{"language": "mi", "value": …}`), the same shape in Tiaki's JSON and in a FHIR `CodeSystem`.
    public func concept(_ code: String, _ label: String, _ dimension: Vocabulary.Dimension) -> JSONValue {
        let designations: [JSONValue] = vocabulary.translations.keys.sorted().compactMap { language in
            vocabulary.translations[language]?[dimension]?[code].map {
                ["language": .string(language), "value": .string($0)]
            }
        }
        return .object(
            JSONValue.compact([
                ("code", .string(code)), ("display", .string(label)), ("designation", .array(designations)),
            ])
        )
    }

    /// A dimension's name for people ("Information categories").
    public static func title(_ dimension: Vocabulary.Dimension) -> String {
        switch dimension {
        case .purpose: "Purposes"
        case .information: "Information categories"
        case .organisationKind: "Organisation kinds"
        case .channel: "Sharing channels"
        case .storageRegion: "Storage regions"
        case .consenter: "Consenters"
        }
    }

    /// Every dimension as JSON (`GET /v1/vocabulary`).
    public func json() -> JSONValue {
        .object(
            JSONValue.compact([
                ("origin", .string(origin)),
                ("policy", policy.map(JSONValue.string)),
                ("codeSystems", .array(Vocabulary.Dimension.allCases.map(json))),
            ])
        )
    }
}

extension JSONValue {
    /// An object's members without those that are `nil`, empty arrays or empty objects.
    static func compact(_ members: [(String, JSONValue?)]) -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for (key, value) in members {
            switch value {
            case nil: continue
            case .array(let a)? where a.isEmpty: continue
            case .object(let o)? where o.isEmpty: continue
            case let v?: out[key] = v
            }
        }
        return out
    }

    /// `compact(members)` as an object.
    static func object(compacting members: [(String, JSONValue?)]) -> JSONValue { .object(compact(members)) }
}
