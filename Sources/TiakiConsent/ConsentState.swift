/// What the ledger says now: organisations, credentials, subjects and their consents, as a projection that is
/// rebuilt by replaying the ledger and updated with every committed entry, in index order.
///
/// Consent coverage is held as bitmasks (``CodeSet``) so that a decision checks a consent in a few instructions;
/// the full text of a consent stays in the ledger.
public struct ConsentState: Sendable {
    public struct Organisation: Sendable, Hashable {
        public var id: String
        public var kind: String
        public var name: String
        public var registered: UInt64
    }

    public struct Credential: Sendable, Hashable {
        public var id: String
        public var org: String
        public var role: String
        public var issued: UInt64
        public var revoked: UInt64?
    }

    public struct Subject: Sendable, Hashable {
        public var id: String
        public var org: String
        public var birthMonth: String
        /// `birthMonth` as numbers, for age rules.
        public var born: (year: Int, month: Int)?
        public var registered: UInt64
        /// Consents (ledger indexes), oldest first.
        public var consents: [Int] = []
        /// `consent.refused` entries.
        public var refusals: [UInt64] = []
        public var erased: (index: UInt64, date: String)?

        public static func == (a: Subject, b: Subject) -> Bool {
            a.id == b.id && a.org == b.org && a.birthMonth == b.birthMonth && a.registered == b.registered
                && a.consents == b.consents && a.refusals == b.refusals && a.erased?.index == b.erased?.index
        }

        public func hash(into h: inout Hasher) { h.combine(id) }
    }

    /// A consent's coverage, ready for the policy engine.
    public struct Consent: Sendable, Hashable {
        public var id: Int
        public var subject: String
        public var purposes: CodeSet
        public var information: CodeSet
        public var audienceKinds: CodeSet
        public var audienceOrganisations: [String]
        public var channels: CodeSet
        public var storageRegions: CodeSet
        public var consenters: CodeSet
        public var retentionUntil: Day
        public var retentionEvent: String?
        /// The day the whānau were informed and agreed.
        public var informed: Day
        public var language: String
        public var granted: String
        public var supersedes: Int?
        public var supersededBy: Int?
        public var withdrawn: Withdrawal?

        public struct Withdrawal: Sendable, Hashable {
            public var index: UInt64
            public var date: Day
            public var by: String
        }

        /// In force on `day`: not withdrawn, not superseded, retention not passed.
        public func isCurrent(on day: Day) -> Bool {
            withdrawn == nil && supersededBy == nil && day <= retentionUntil
        }
    }

    /// Entries applied so far (the next index expected).
    public private(set) var size: UInt64 = 0
    public private(set) var codes = CodeTable()
    public private(set) var organisations: [String: Organisation] = [:]
    public private(set) var credentials: [String: Credential] = [:]
    public private(set) var subjects: [String: Subject] = [:]
    public private(set) var consents: [Int: Consent] = [:]
    /// Digest → the index of its `policy.published` entry; and the newest digest.
    public private(set) var policies: [String: UInt64] = [:]
    public private(set) var currentPolicy: String?
    public private(set) var counts: [EntryKind: Int] = [:]

    public init() {}

    /// Applies the next entry. Entries must come in index order; one that does not fit the state (a withdrawal of
    /// an unknown consent, say) is counted but changes nothing, as a replay of the same ledger would.
    public mutating func apply(_ entry: ConsentEntry) {
        defer {
            size = max(size, entry.index + 1)
            counts[entry.kind, default: 0] += 1
        }
        switch entry.body {
        case .organisationRegistered(let b):
            if organisations[b.id] == nil {
                organisations[b.id] = Organisation(id: b.id, kind: b.kind, name: b.name, registered: entry.index)
            }
        case .credentialIssued(let b):
            credentials[b.id] = Credential(id: b.id, org: b.org, role: b.role, issued: entry.index)
        case .credentialRevoked(let b):
            if credentials[b.id]?.revoked == nil { credentials[b.id]?.revoked = entry.index }
        case .policyPublished(let b):
            if policies[b.digest] == nil { policies[b.digest] = entry.index }
            currentPolicy = b.digest
        case .subjectRegistered(let b):
            guard let id = entry.subject, subjects[id] == nil else { return }
            subjects[id] = Subject(
                id: id,
                org: b.org,
                birthMonth: b.birthMonth,
                born: Day.parseMonth(b.birthMonth),
                registered: entry.index
            )
        case .consentGranted(let terms):
            guard let subject = entry.subject, subjects[subject] != nil else { return }
            let id = Int(entry.index)
            guard let consent = compile(terms, id: id, subject: subject, time: entry.time) else { return }
            consents[id] = consent
            subjects[subject]?.consents.append(id)
            if let old = terms.supersedes, consents[old]?.subject == subject, consents[old]?.supersededBy == nil {
                consents[old]?.supersededBy = id
            }
        case .consentWithdrawn(let b):
            guard consents[b.consent]?.withdrawn == nil, let day = Day(b.date) else { return }
            consents[b.consent]?.withdrawn = .init(index: entry.index, date: day, by: b.by)
        case .consentRefused:
            if let subject = entry.subject { subjects[subject]?.refusals.append(entry.index) }
        case .subjectErased(let b):
            if let subject = entry.subject, subjects[subject]?.erased == nil {
                subjects[subject]?.erased = (entry.index, b.date)
            }
        case .decision, .disclosure, .disclosureReviewed:
            break
        }
    }

    private mutating func compile(_ t: ConsentTerms, id: Int, subject: String, time: String) -> Consent? {
        guard let purposes = codes.set(t.purposes, .purpose),
            let information = codes.set(t.information, .information),
            let kinds = codes.set(t.audience.kinds, .organisationKind),
            let channels = codes.set(t.sharing.channels, .channel),
            let regions = codes.set(t.sharing.storageRegions, .storageRegion),
            let consenters = codes.set(t.consenters.map(\.role), .consenter),
            let until = Day(t.retention.until),
            let informed = Day(t.informed.date)
        else { return nil }
        return Consent(
            id: id,
            subject: subject,
            purposes: purposes,
            information: information,
            audienceKinds: kinds,
            audienceOrganisations: t.audience.organisations,
            channels: channels,
            storageRegions: regions,
            consenters: consenters,
            retentionUntil: until,
            retentionEvent: t.retention.event,
            informed: informed,
            language: t.informed.language,
            granted: time,
            supersedes: t.supersedes
        )
    }

    /// The subject's consents, oldest first.
    public func consents(of subject: String) -> [Consent] {
        (subjects[subject]?.consents ?? []).compactMap { consents[$0] }
    }

    /// Records an entry that changes nothing here but the counts (a decision or disclosure).
    public mutating func count(_ kind: EntryKind, index: UInt64) {
        size = max(size, index + 1)
        counts[kind, default: 0] += 1
    }

    /// Gives every code of a vocabulary a bit.
    public mutating func intern(_ vocabulary: Vocabulary) {
        for d in Vocabulary.Dimension.allCases {
            for code in vocabulary.codes(d) { _ = codes.intern(code, d) }
        }
    }

    /// Interns a code so that a test or a simulation can build sets before any consent used it.
    public mutating func intern(_ code: String, _ dimension: Vocabulary.Dimension) -> Int? {
        codes.intern(code, dimension)
    }
}

extension ConsentState: Equatable {
    /// Two states are equal when they hold the same facts (code bit assignments may differ in order).
    public static func == (a: ConsentState, b: ConsentState) -> Bool {
        guard a.size == b.size, a.organisations == b.organisations, a.credentials == b.credentials,
            a.subjects == b.subjects, a.policies == b.policies, a.currentPolicy == b.currentPolicy,
            a.consents.count == b.consents.count
        else { return false }
        for (id, x) in a.consents {
            guard let y = b.consents[id] else { return false }
            let sameCodes =
                Set(a.codes.codes(in: x.purposes, .purpose)) == Set(b.codes.codes(in: y.purposes, .purpose))
                && Set(a.codes.codes(in: x.information, .information))
                    == Set(b.codes.codes(in: y.information, .information))
                && Set(a.codes.codes(in: x.consenters, .consenter)) == Set(b.codes.codes(in: y.consenters, .consenter))
            guard sameCodes, x.withdrawn == y.withdrawn, x.supersededBy == y.supersededBy,
                x.retentionUntil == y.retentionUntil,
                x.subject == y.subject
            else { return false }
        }
        return true
    }
}
