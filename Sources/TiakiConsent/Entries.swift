public import TiakiLedger

/// The kinds of entry the consent layer writes.
public enum EntryKind: String, Sendable, CaseIterable, Codable {
    case organisationRegistered = "org.registered"
    case credentialIssued = "credential.issued"
    case credentialRevoked = "credential.revoked"
    case policyPublished = "policy.published"
    case subjectRegistered = "subject.registered"
    case consentGranted = "consent.granted"
    case consentWithdrawn = "consent.withdrawn"
    case consentRefused = "consent.refused"
    case decision
    case disclosure
    case disclosureReviewed = "disclosure.reviewed"
    case subjectErased = "subject.erased"
}

/// Who caused an entry: an organisation and, where there is one, the credential it used.
public struct Actor: Sendable, Hashable, Codable {
    public var org: String
    public var credential: String?

    public init(org: String, credential: String? = nil) {
        self.org = org
        self.credential = credential
    }

    /// Tiaki itself (start-up, policy publication, erasure at retention end).
    public static let system = Actor(org: "tiaki")
}

/// Text sealed to one subject's key (AES-GCM); opened only while the subject's key exists.
public struct Sealed: Sendable, Hashable, Codable {
    /// `aes-gcm:` followed by base64 of nonce ‖ ciphertext ‖ tag.
    public var token: String

    public init(token: String) { self.token = token }

    public init(from decoder: any Decoder) throws {
        token = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(token)
    }
}

// MARK: Bodies

public struct OrganisationRegistered: Sendable, Hashable, Codable {
    public var id: String
    public var kind: String
    public var name: String

    public init(id: String, kind: String, name: String) {
        self.id = id
        self.kind = kind
        self.name = name
    }
}

public struct CredentialIssued: Sendable, Hashable, Codable {
    public var id: String
    public var org: String
    public var role: String

    public init(
        id: String,
        org: String,
        role: String
    ) {
        self.id = id
        self.org = org
        self.role = role
    }
}

public struct CredentialRevoked: Sendable, Hashable, Codable {
    public var id: String

    public init(
        id: String
    ) {
        self.id = id
    }
}

public struct PolicyPublished: Sendable, Hashable, Codable {
    /// `sha256:` and the hex digest of the policy set.
    public var digest: String
    /// File name → content: the whole policy set, so a past decision can be replayed under it.
    public var files: [String: String]

    public init(
        digest: String,
        files: [String: String]
    ) {
        self.digest = digest
        self.files = files
    }
}

public struct SubjectRegistered: Sendable, Hashable, Codable {
    /// The organisation that registered the subject (their school, kura or service).
    public var org: String
    /// Year and month of birth, `YYYY-MM`: enough for the policy's age rules, less than a birth date.
    public var birthMonth: String
    public var nameSealed: Sealed?
    public var notesSealed: Sealed?

    public init(
        org: String,
        birthMonth: String,
        nameSealed: Sealed? = nil,
        notesSealed: Sealed? = nil
    ) {
        self.org = org
        self.birthMonth = birthMonth
        self.nameSealed = nameSealed
        self.notesSealed = notesSealed
    }
}

/// The seven things a consent must say, plus who agreed, how they were informed, and the text they were shown.
public struct ConsentTerms: Sendable, Hashable, Codable {
    public struct Audience: Sendable, Hashable, Codable {
        /// Organisation ids named individually.
        public var organisations: [String]
        /// Organisation kinds (any organisation of the kind).
        public var kinds: [String]

        public init(organisations: [String] = [], kinds: [String] = []) {
            self.organisations = organisations
            self.kinds = kinds
        }

        /// Either list may be left out; at least one must name someone (checked when a consent is recorded).
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            organisations = try c.decodeIfPresent([String].self, forKey: .organisations) ?? []
            kinds = try c.decodeIfPresent([String].self, forKey: .kinds) ?? []
        }
    }

    public struct Sharing: Sendable, Hashable, Codable {
        public var channels: [String]
        public var storageRegions: [String]
        /// How the information is protected, in the words shown to the whānau.
        public var protection: String

        public init(
            channels: [String],
            storageRegions: [String],
            protection: String
        ) {
            self.channels = channels
            self.storageRegions = storageRegions
            self.protection = protection
        }
    }

    public struct Retention: Sendable, Hashable, Codable {
        /// The date (`YYYY-MM-DD`) the information comes off the register.
        public var until: String
        /// An event that ends it earlier, such as leaving the cluster.
        public var event: String?

        public init(
            until: String,
            event: String? = nil
        ) {
            self.until = until
            self.event = event
        }
    }

    public struct Accuracy: Sendable, Hashable, Codable {
        public var contact: String
        public var method: String

        public init(
            contact: String,
            method: String
        ) {
            self.contact = contact
            self.method = method
        }
    }

    public struct Withdrawal: Sendable, Hashable, Codable {
        /// What happens if they decline or withdraw.
        public var effect: String
        /// How to withdraw.
        public var how: String

        public init(
            effect: String,
            how: String
        ) {
            self.effect = effect
            self.how = how
        }
    }

    public struct Consenter: Sendable, Hashable, Codable {
        public var role: String
        public var nameSealed: Sealed?

        public init(
            role: String,
            nameSealed: Sealed? = nil
        ) {
            self.role = role
            self.nameSealed = nameSealed
        }
    }

    public struct Informed: Sendable, Hashable, Codable {
        public var date: String
        public var noticeVersion: String
        public var language: String
        public var method: String

        public init(
            date: String,
            noticeVersion: String,
            language: String,
            method: String
        ) {
            self.date = date
            self.noticeVersion = noticeVersion
            self.language = language
            self.method = method
        }
    }

    public var purposes: [String]
    public var information: [String]
    public var audience: Audience
    public var sharing: Sharing
    public var retention: Retention
    public var accuracy: Accuracy
    public var withdrawal: Withdrawal
    public var consenters: [Consenter]
    public var informed: Informed
    /// The plain-language text shown to the whānau.
    public var text: String
    public var evidence: String?
    /// The consent (ledger index) this one replaces.
    public var supersedes: Int?

    public init(
        purposes: [String],
        information: [String],
        audience: Audience,
        sharing: Sharing,
        retention: Retention,
        accuracy: Accuracy,
        withdrawal: Withdrawal,
        consenters: [Consenter],
        informed: Informed,
        text: String,
        evidence: String? = nil,
        supersedes: Int? = nil
    ) {
        self.purposes = purposes
        self.information = information
        self.audience = audience
        self.sharing = sharing
        self.retention = retention
        self.accuracy = accuracy
        self.withdrawal = withdrawal
        self.consenters = consenters
        self.informed = informed
        self.text = text
        self.evidence = evidence
        self.supersedes = supersedes
    }
}

public struct ConsentWithdrawn: Sendable, Hashable, Codable {
    public var consent: Int
    public var date: String
    /// The consenter role that withdrew.
    public var by: String
    public var reasonSealed: Sealed?

    public init(
        consent: Int,
        date: String,
        by: String,
        reasonSealed: Sealed? = nil
    ) {
        self.consent = consent
        self.date = date
        self.by = by
        self.reasonSealed = reasonSealed
    }
}

public struct ConsentRefused: Sendable, Hashable, Codable {
    public var purposes: [String]
    public var information: [String]
    public var by: [String]
    public var date: String
    public var reasonSealed: Sealed?

    public init(
        purposes: [String],
        information: [String],
        by: [String],
        date: String,
        reasonSealed: Sealed? = nil
    ) {
        self.purposes = purposes
        self.information = information
        self.by = by
        self.date = date
        self.reasonSealed = reasonSealed
    }
}

/// A request to share information about a subject.
public struct ShareRequest: Sendable, Hashable, Codable {
    public var subject: String
    public var purpose: String
    public var information: [String]
    /// The organisation that would receive the information.
    public var recipient: String
    public var channel: String
    public var storageRegion: String
    /// The day the share would happen (`YYYY-MM-DD`); retention and age are judged on it.
    public var date: String
    /// The requester says a serious threat to someone's life, health or safety makes the share necessary
    /// (Privacy Act 2020, IPP 11(1)(f)).
    public var seriousThreat: Bool?
    /// The organisation asking, and the role of its credential.
    public var requester: String
    public var requesterRole: String

    public init(
        subject: String,
        purpose: String,
        information: [String],
        recipient: String,
        channel: String,
        storageRegion: String,
        date: String,
        seriousThreat: Bool? = nil,
        requester: String,
        requesterRole: String
    ) {
        self.subject = subject
        self.purpose = purpose
        self.information = information
        self.recipient = recipient
        self.channel = channel
        self.storageRegion = storageRegion
        self.date = date
        self.seriousThreat = seriousThreat
        self.requester = requester
        self.requesterRole = requesterRole
    }
}

/// Something the recipient or Tiaki's operators must do because of a decision.
public struct Obligation: Sendable, Hashable, Codable {
    public var kind: String
    public var detail: String
    public var due: String?

    public init(kind: String, detail: String, due: String? = nil) {
        self.kind = kind
        self.detail = detail
        self.due = due
    }
}

/// A decision on a share request, as recorded.
public struct DecisionRecord: Sendable, Hashable, Codable {
    public enum Effect: String, Sendable, Codable { case permit, deny }

    public var request: ShareRequest
    public var effect: Effect
    /// The rules that decided it: the permits that matched, or the forbids.
    public var rules: [String]
    /// The consents (ledger indexes) relied on.
    public var consents: [Int]
    public var obligations: [Obligation]
    /// Why, or why not, in plain words.
    public var reasons: [String]
    /// The digest of the policy set that decided.
    public var policy: String
    /// How many ledger entries the consent state held when the decision was made.
    public var basis: UInt64

    public init(
        request: ShareRequest,
        effect: Effect,
        rules: [String],
        consents: [Int],
        obligations: [Obligation],
        reasons: [String],
        policy: String,
        basis: UInt64
    ) {
        self.request = request
        self.effect = effect
        self.rules = rules
        self.consents = consents
        self.obligations = obligations
        self.reasons = reasons
        self.policy = policy
        self.basis = basis
    }
}

public struct DisclosureRecord: Sendable, Hashable, Codable {
    /// The decision relied on (ledger index), if any.
    public var decision: Int?
    public var recipient: String
    public var purpose: String
    public var information: [String]
    public var channel: String
    public var storageRegion: String
    public var date: String
    /// Why the disclosure needs a privacy officer's attention (no permit decision, or beyond it); empty if none.
    public var flags: [String]
    public var noteSealed: Sealed?

    public init(
        decision: Int?,
        recipient: String,
        purpose: String,
        information: [String],
        channel: String,
        storageRegion: String,
        date: String
    ) {
        self.decision = decision
        self.recipient = recipient
        self.purpose = purpose
        self.information = information
        self.channel = channel
        self.storageRegion = storageRegion
        self.date = date
        self.flags = []
        self.noteSealed = nil
    }
}

extension DisclosureRecord {
    /// The disclosure of exactly what `request` asked to share, on its date.
    public init(for request: ShareRequest, decision: Int?) {
        self.init(
            decision: decision,
            recipient: request.recipient,
            purpose: request.purpose,
            information: request.information,
            channel: request.channel,
            storageRegion: request.storageRegion,
            date: request.date
        )
    }
}

/// A privacy officer's review of a disclosure (required after a serious-threat share, IPP 11(1)(f)).
public struct DisclosureReviewed: Sendable, Hashable, Codable {
    /// The disclosure reviewed (ledger index).
    public var disclosure: Int
    public var date: String
    /// `justified` or `not-justified`.
    public var outcome: String
    public var notesSealed: Sealed?

    public static let outcomes = ["justified", "not-justified"]

    public init(disclosure: Int, date: String, outcome: String, notesSealed: Sealed? = nil) {
        self.disclosure = disclosure
        self.date = date
        self.outcome = outcome
        self.notesSealed = notesSealed
    }
}

public struct SubjectErased: Sendable, Hashable, Codable {
    /// `retention-ended` or `request`.
    public var reason: String
    public var date: String

    public init(
        reason: String,
        date: String
    ) {
        self.reason = reason
        self.date = date
    }
}

/// An entry of the consent ledger: the common members and a typed body.
public struct ConsentEntry: Sendable, Hashable {
    public enum Body: Sendable, Hashable {
        case organisationRegistered(OrganisationRegistered)
        case credentialIssued(CredentialIssued)
        case credentialRevoked(CredentialRevoked)
        case policyPublished(PolicyPublished)
        case subjectRegistered(SubjectRegistered)
        case consentGranted(ConsentTerms)
        case consentWithdrawn(ConsentWithdrawn)
        case consentRefused(ConsentRefused)
        case decision(DecisionRecord)
        case disclosure(DisclosureRecord)
        case disclosureReviewed(DisclosureReviewed)
        case subjectErased(SubjectErased)

        public var kind: EntryKind {
            switch self {
            case .organisationRegistered: .organisationRegistered
            case .credentialIssued: .credentialIssued
            case .credentialRevoked: .credentialRevoked
            case .policyPublished: .policyPublished
            case .subjectRegistered: .subjectRegistered
            case .consentGranted: .consentGranted
            case .consentWithdrawn: .consentWithdrawn
            case .consentRefused: .consentRefused
            case .decision: .decision
            case .disclosure: .disclosure
            case .disclosureReviewed: .disclosureReviewed
            case .subjectErased: .subjectErased
            }
        }

        var encodable: any Encodable {
            switch self {
            case .organisationRegistered(let b): b
            case .credentialIssued(let b): b
            case .credentialRevoked(let b): b
            case .policyPublished(let b): b
            case .subjectRegistered(let b): b
            case .consentGranted(let b): b
            case .consentWithdrawn(let b): b
            case .consentRefused(let b): b
            case .decision(let b): b
            case .disclosure(let b): b
            case .disclosureReviewed(let b): b
            case .subjectErased(let b): b
            }
        }
    }

    /// The ledger index (set once the entry is sequenced).
    public var index: UInt64
    /// The ledger time (RFC 3339 UTC).
    public var time: String
    public var actor: Actor
    public var subject: String?
    public var body: Body

    public init(index: UInt64 = 0, time: String = "", actor: Actor, subject: String? = nil, body: Body) {
        self.index = index
        self.time = time
        self.actor = actor
        self.subject = subject
        self.body = body
    }

    public var kind: EntryKind { body.kind }

    /// The members the ledger stores (it adds `v`, `index` and `time`).
    public func members() throws -> [String: JSONValue] {
        var m: [String: JSONValue] = [
            "kind": .string(kind.rawValue),
            "actor": try JSONValueEncoder().encode(actor),
            "body": try JSONValueEncoder().encode(body.encodable),
        ]
        if let subject { m["subject"] = .string(subject) }
        return m
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
                return EntryKind(rawValue: String(decoding: bytes[start..<end], as: UTF8.self))
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
        guard let kindText = value["kind"]?.stringValue, let kind = EntryKind(rawValue: kindText) else {
            throw ConsentError(.invalid, "unknown entry kind \(value["kind"]?.stringValue ?? "(none)")", field: "kind")
        }
        let decoder = JSONValueDecoder()
        let bodyValue = value["body"] ?? .object([:])
        func body<T: Decodable>(_ t: T.Type) throws -> T { try decoder.decode(t, from: bodyValue) }
        switch kind {
        case .organisationRegistered: self.body = .organisationRegistered(try body(OrganisationRegistered.self))
        case .credentialIssued: self.body = .credentialIssued(try body(CredentialIssued.self))
        case .credentialRevoked: self.body = .credentialRevoked(try body(CredentialRevoked.self))
        case .policyPublished: self.body = .policyPublished(try body(PolicyPublished.self))
        case .subjectRegistered: self.body = .subjectRegistered(try body(SubjectRegistered.self))
        case .consentGranted: self.body = .consentGranted(try body(ConsentTerms.self))
        case .consentWithdrawn: self.body = .consentWithdrawn(try body(ConsentWithdrawn.self))
        case .consentRefused: self.body = .consentRefused(try body(ConsentRefused.self))
        case .decision: self.body = .decision(try body(DecisionRecord.self))
        case .disclosure: self.body = .disclosure(try body(DisclosureRecord.self))
        case .disclosureReviewed: self.body = .disclosureReviewed(try body(DisclosureReviewed.self))
        case .subjectErased: self.body = .subjectErased(try body(SubjectErased.self))
        }
        index = UInt64(value["index"]?.integerValue ?? 0)
        time = value["time"]?.stringValue ?? ""
        actor = try decoder.decode(Actor.self, from: value["actor"] ?? .null)
        subject = value["subject"]?.stringValue
    }
}
