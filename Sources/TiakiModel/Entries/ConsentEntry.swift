public import TiakiLedger

/// The name of a kind of entry (`consent.granted`), as it stands in the entry's `kind` member.
///
/// Each kind is declared beside its body type (see ``EntryBody``); ``EntryKinds/all`` is the one list of them.
public struct EntryKind: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// Every kind Tiaki writes, in the order of ``EntryKinds/all``.
    public static var allCases: [EntryKind] { EntryKinds.all.map { $0.kind } }

    /// The kind named `name`, if Tiaki knows it.
    public static func known(_ name: String) -> EntryKind? { EntryKinds.byName[name]?.kind }
}

/// The body of one kind of entry: its stored members (Codable, encoded canonically), its kind, and what it changes
/// in the consent state. Adding a kind of entry is one such type and a case of ``TypedEntryBody`` (the compiler
/// then asks for the rest), plus its tests; docs/architecture.md, "Adding an entry kind", lists the steps.
public protocol EntryBody: Codable, Sendable, Hashable {
    static var kind: EntryKind { get }

    /// The body as a case of the closed ``TypedEntryBody``, for switches the compiler checks are exhaustive.
    var typed: TypedEntryBody { get }

    /// Applies the entry to the state. Entries come in index order; one that does not fit the state (a withdrawal
    /// of an unknown consent, say) changes nothing, as a replay of the same ledger would. The default changes
    /// nothing (decisions and disclosures).
    func apply(to state: inout ConsentState, entry: ConsentEntry.Header)

    /// The body read from `json` without the generic `Decodable` machinery, for the kinds written most often (read
    /// back from the ledger by every audit and findings pass, and by every instance sharing a database, for the
    /// others' entries); `nil` when `json` is anything but the plain layout Tiaki writes, and then the `Decodable` path
    /// reads it (and says what is wrong, if anything). Whenever this gives a value it is the one the `Decodable`
    /// path gives (a test holds them to each other). The default gives `nil`.
    static func fast(_ json: JSONValue) -> Self?
}

extension EntryBody {
    public func apply(to state: inout ConsentState, entry: ConsentEntry.Header) {}
    public static func fast(_ json: JSONValue) -> Self? { nil }
}

/// The one list of entry kinds.
public enum EntryKinds {
    /// Every body type, in the order of ``TypedEntryBody/Tag``'s cases.
    public static let all: [any EntryBody.Type] = TypedEntryBody.Tag.allCases.map(\.type)

    static let byName: [String: any EntryBody.Type] = Dictionary(
        all.map { ($0.kind.rawValue, $0) },
        uniquingKeysWith: { first, _ in first }
    )
}

/// Who caused an entry: an organisation and, where there is one, the credential it used.
public struct EntryActor: Sendable, Hashable, Codable {
    public var org: String
    public var credential: String?

    public init(org: String, credential: String? = nil) {
        self.org = org
        self.credential = credential
    }

    /// Tiaki itself (start-up, policy publication, erasure at retention end).
    public static let system = EntryActor(org: "tiaki")

    /// Read without the `Decodable` machinery (see ``EntryBody/fast(_:)``).
    package static func fast(_ json: JSONValue) -> EntryActor? {
        let r = FastReader(json)
        guard let org = r?.string("org"), let credential = r?.optionalString("credential") else { return nil }
        return EntryActor(org: org, credential: credential)
    }
}

/// Text sealed to one subject's key (AES-GCM); opened only while the subject's key exists.
public struct Sealed: Sendable, Hashable, Codable {
    /// `aes-gcm:` followed by base64 of nonce ‖ ciphertext ‖ tag.
    public var token: String

    public init(token: String) { self.token = token }

    /// The prefix every sealed value starts with.
    public static let prefix = "aes-gcm:"

    /// Whether a member's text is a sealed value (a consent's words are sealed since entry format 1.1; earlier
    /// consents hold them in the clear).
    public static func isSealed(_ text: String) -> Bool { text.hasPrefix(prefix) }

    public init(from decoder: any Decoder) throws {
        token = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(token)
    }
}

/// An entry of the consent ledger: the common members and a typed body.
public struct ConsentEntry: Sendable {
    /// The members every entry has, apart from its body.
    public struct Header: Sendable, Hashable {
        public var index: UInt64
        /// The ledger time (RFC 3339 UTC).
        public var time: String
        public var actor: EntryActor
        public var subject: String?
    }

    public var header: Header
    public var body: any EntryBody

    /// The ledger index (set once the entry is sequenced).
    public var index: UInt64 {
        get { header.index }
        set { header.index = newValue }
    }
    /// The ledger time (RFC 3339 UTC).
    public var time: String {
        get { header.time }
        set { header.time = newValue }
    }
    public var actor: EntryActor { header.actor }
    public var subject: String? { header.subject }
    public var kind: EntryKind { type(of: body).kind }

    public init(index: UInt64 = 0, time: String = "", actor: EntryActor, subject: String? = nil, body: any EntryBody) {
        self.header = Header(index: index, time: time, actor: actor, subject: subject)
        self.body = body
    }

    /// The members the ledger stores (it adds `v`, `index` and `time`).
    public func members() throws -> [String: JSONValue] {
        var m: [String: JSONValue] = [
            "kind": .string(kind.rawValue),
            "actor": try JSONValueEncoder().encode(header.actor),
            "body": try JSONValueEncoder().encode(body),
        ]
        if let subject { m["subject"] = .string(subject) }
        return m
    }

    /// The entry as the ledger takes it. A body that writes its own canonical JSON (a decision) skips the generic
    /// encoder: the decision path runs once per request.
    public func draft() throws -> EntryDraft { try draftKeepingBody().draft }

    /// ``draft()``, and the body's canonical bytes as the entry holds them when the body wrote them itself (`nil`
    /// when it went through the generic encoder), so that an answer can carry exactly what was recorded.
    public func draftKeepingBody() throws -> (draft: EntryDraft, body: [UInt8]?) {
        guard let fast = body as? any CanonicalEncodable else { return (try EntryDraft(members()), nil) }
        var actor = CanonicalWriter(capacity: 64)
        actor.object { w in
            if let credential = header.actor.credential {
                w.key("credential")
                w.string(credential)
            }
            w.key("org")
            w.string(header.actor.org)
        }
        var kindBytes: [UInt8] = []
        CanonicalJSON.appendString(kind.rawValue, to: &kindBytes)
        let bodyBytes = fast.canonicalBytes
        var members: [(name: String, value: [UInt8])] = [
            ("actor", actor.bytes), ("body", bodyBytes), ("kind", kindBytes),
        ]
        if let subject {
            var bytes: [UInt8] = []
            CanonicalJSON.appendString(subject, to: &bytes)
            members.append(("subject", bytes))
        }
        return (try EntryDraft(canonicalMembers: members), bodyBytes)
    }

    /// Applies this entry to `state` (see ``EntryBody/apply(to:entry:)``) and counts it.
    public func apply(to state: inout ConsentState) {
        body.apply(to: &state, entry: header)
        state.count(kind, index: index)
    }

    /// The kind of an entry read from its canonical bytes without parsing them.
    ///
    /// In canonical JSON the top-level `kind` member follows `body`, and only `subject`, `time` and `v` (ids, a
    /// timestamp and a number) follow it, so the last `"kind":"` in the bytes is the top-level one; inside a
    /// string the quotes would be escaped and the pattern cannot occur.
    public static func kind(ofCanonical bytes: [UInt8]) -> EntryKind? {
        let pattern: [UInt8] = Array(#""kind":""#.utf8)
        var i = bytes.count - pattern.count
        while i >= 0 {
            if bytes[i] == 0x22, bytes[i + 1] == 0x6B, bytes[i..<(i + pattern.count)].elementsEqual(pattern) {
                let start = i + pattern.count
                guard let end = bytes[start...].firstIndex(of: 0x22) else { return nil }
                return EntryKind.known(String(decoding: bytes[start..<end], as: UTF8.self))
            }
            i -= 1
        }
        return nil
    }

    /// Reads an entry from its stored bytes.
    public init(bytes: [UInt8]) throws {
        try self.init(json: JSONParser().parse(bytes))
    }

    public init(json value: JSONValue) throws {
        let name = value["kind"]?.stringValue
        guard let name, let type = EntryKinds.byName[name] else {
            throw TiakiError(.invalid, "unknown entry kind \(name ?? "(none)")", field: "kind")
        }
        let decoder = JSONValueDecoder()
        func decode<T: EntryBody>(_ t: T.Type) throws -> any EntryBody {
            let body = value["body"] ?? .object([:])
            return try t.fast(body) ?? decoder.decode(t, from: body)
        }
        let body = try decode(type)
        let index = value["index"]?.integerValue.flatMap { UInt64(exactly: $0) } ?? 0
        let actor = value["actor"] ?? .null
        self.init(
            index: index,
            time: value["time"]?.stringValue ?? "",
            actor: try EntryActor.fast(actor) ?? decoder.decode(EntryActor.self, from: actor),
            subject: value["subject"]?.stringValue,
            body: body
        )
    }
}
