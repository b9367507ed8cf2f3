/// What the ledger says now: organisations, credentials, subjects and their consents, as a projection that is
/// rebuilt by replaying the ledger and updated with every committed entry, in index order.
///
/// Consent coverage is held as bitmasks (``CodeSet``) so that a decision checks a consent in a few instructions;
/// the full text of a consent stays in the ledger.
public struct ConsentState: Sendable, Codable {
    public struct Organisation: Sendable, Hashable, Codable {
        public var id: String
        public var kind: String
        public var name: String
        public var registered: UInt64
        /// A postal or email address for it; the law under which it collects, if any.
        public var contact: String?
        public var law: String?
    }

    public struct Credential: Sendable, Hashable, Codable {
        public var id: String
        public var org: String
        public var role: String
        public var issued: UInt64
        public var revoked: UInt64?
    }

    public struct Subject: Sendable, Hashable, Codable {
        public var id: String
        public var org: String
        public var birthMonth: String
        /// `birthMonth` as numbers, for age rules.
        public var born: (year: Int, month: Int)?
        public var registered: UInt64
        /// The organisations that know the child: the one that registered them first, then each that enrolled them.
        public var enrolments: [String] {
            get { listedEnrolments ?? [org] }
            set { listedEnrolments = newValue == [org] ? nil : newValue }
        }
        /// The whole list once another organisation has enrolled the child; `nil` while only the one that
        /// registered them knows them, as for most children, so that a million children hold no array each.
        private var listedEnrolments: [String]?
        /// Consents (ledger indexes), oldest first.
        public var consents: [Int] = []
        /// `consent.refused` entries.
        public var refusals: [UInt64] = []
        public var erased: (index: UInt64, date: String)?

        public static func == (a: Subject, b: Subject) -> Bool {
            a.id == b.id && a.org == b.org && a.birthMonth == b.birthMonth && a.registered == b.registered
                && a.enrolments == b.enrolments
                && a.consents == b.consents && a.refusals == b.refusals && a.erased?.index == b.erased?.index
        }

        public func hash(into h: inout Hasher) { h.combine(id) }

        init(id: String, org: String, birthMonth: String, born: (year: Int, month: Int)?, registered: UInt64) {
            self.id = id
            self.org = org
            self.birthMonth = birthMonth
            self.born = born
            self.registered = registered
        }

        /// Whether `org` knows the child (registered or enrolled them).
        public func isKnown(to org: String) -> Bool { listedEnrolments?.contains(org) ?? (org == self.org) }

        // The tuples, written as plain members (a state snapshot).
        enum CodingKeys: String, CodingKey {
            case id, org, birthMonth, bornYear, bornMonth, registered, enrolments, consents, refusals, erasedIndex
            case erasedDate
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(org, forKey: .org)
            try c.encode(birthMonth, forKey: .birthMonth)
            try c.encodeIfPresent(born?.year, forKey: .bornYear)
            try c.encodeIfPresent(born?.month, forKey: .bornMonth)
            try c.encode(registered, forKey: .registered)
            try c.encode(enrolments, forKey: .enrolments)
            try c.encode(consents, forKey: .consents)
            try c.encode(refusals, forKey: .refusals)
            try c.encodeIfPresent(erased?.index, forKey: .erasedIndex)
            try c.encodeIfPresent(erased?.date, forKey: .erasedDate)
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            id = try c.decode(String.self, forKey: .id)
            org = try c.decode(String.self, forKey: .org)
            birthMonth = try c.decode(String.self, forKey: .birthMonth)
            if let year = try c.decodeIfPresent(Int.self, forKey: .bornYear),
                let month = try c.decodeIfPresent(Int.self, forKey: .bornMonth)
            {
                born = (year, month)
            }
            registered = try c.decode(UInt64.self, forKey: .registered)
            enrolments = try c.decode([String].self, forKey: .enrolments)
            consents = try c.decode([Int].self, forKey: .consents)
            refusals = try c.decode([UInt64].self, forKey: .refusals)
            if let index = try c.decodeIfPresent(UInt64.self, forKey: .erasedIndex),
                let date = try c.decodeIfPresent(String.self, forKey: .erasedDate)
            {
                erased = (index, date)
            }
        }
    }

    /// A consent's coverage, ready for the policy engine.
    public struct Consent: Sendable, Hashable, Codable {
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
        /// The day the whānau were informed and agreed.
        public var informed: Day
        /// The organisation that recorded it.
        public var recordedBy: String
        public var supersedes: Int?
        public var supersededBy: Int?
        public var withdrawn: Withdrawal?
        /// The organisations told of its withdrawal (they had received information under it), and those that
        /// acknowledged, with the acknowledgement's index.
        public var notify: [String] = []
        public var acknowledged: [String: UInt64] = [:]

        public struct Withdrawal: Sendable, Hashable, Codable {
            public var index: UInt64
            public var date: Day
            public var by: String
        }

        /// Where it stands on `day`.
        public func status(on day: Day) -> ConsentStatus {
            if withdrawn != nil { return .withdrawn }
            if supersededBy != nil { return .replaced }
            return day > retentionUntil ? .expired : .inForce
        }

        /// In force on `day`: not withdrawn, not superseded, retention not passed.
        public func isCurrent(on day: Day) -> Bool {
            withdrawn == nil && supersededBy == nil && day <= retentionUntil
        }
    }

    /// A disclosure whose recipient owes the whānau an IPP 3A notice, and what became of it.
    public struct CollectionNotice: Sendable, Hashable, Codable {
        public enum Outcome: Sendable, Hashable, Codable {
            /// Sent (`notice.sent`), by the organisation named (the recipient, or one on its behalf).
            case sent(index: UInt64, by: String)
            /// An exception recorded by a privacy officer (`notice.exception`).
            case exception(index: UInt64)
        }

        public var disclosure: Int
        public var subject: String
        public var recipient: String
        /// The organisation that made the share.
        public var discloser: String
        public var shared: Day
        public var dueBy: Day
        public var outcome: Outcome?
    }

    /// A privacy breach and where its duties stand.
    public struct Breach: Sendable, Hashable, Codable {
        public struct Stamp: Sendable, Hashable, Codable {
            public var index: UInt64
            /// RFC 3339, UTC.
            public var time: String
        }

        public struct Assessment: Sendable, Hashable, Codable {
            public var index: UInt64
            public var time: String
            public var seriousHarm: Bool
        }

        public var id: String
        public var index: UInt64
        /// When it was found (RFC 3339, UTC).
        public var found: String
        public var recordedBy: String
        /// Child → the disclosures that carried their information.
        public var affected: [String: [Int]]
        public var assessment: Assessment?
        public var commissionerNotified: Stamp?
        /// Child → the `notice.sent` entry that told their whānau.
        public var noticesSent: [String: UInt64] = [:]

        /// Notifiable, and the Commissioner or some whānau not yet told.
        public var notificationOutstanding: Bool {
            guard assessment?.seriousHarm == true else { return false }
            return commissionerNotified == nil || affected.keys.contains { noticesSent[$0] == nil }
        }
    }

    /// Entries applied so far (the next index expected).
    public internal(set) var size: UInt64 = 0
    public internal(set) var codes = CodeTable()
    public internal(set) var organisations: [String: Organisation] = [:]
    public internal(set) var credentials: [String: Credential] = [:]
    /// Children and consents, the two parts that grow with the ledger, in tables that waste no buckets.
    public internal(set) var subjects: KeyedTable<String, Subject> = [:]
    public internal(set) var consents: KeyedTable<Int, Consent> = [:]
    /// Digest → the index of its `policy.published` entry; and the newest digest.
    public internal(set) var policies: [String: UInt64] = [:]
    public internal(set) var currentPolicy: String?
    public internal(set) var counts: [EntryKind: Int] = [:]
    /// Organisation → the withdrawn consents it was told of, oldest first.
    public internal(set) var withdrawalNotices: [String: [Int]] = [:]
    /// Disclosure (ledger index) → the index of its privacy officer's review.
    public internal(set) var reviews: [Int: UInt64] = [:]
    /// Disclosures whose recipient owes an IPP 3A notice; and, per recipient, those disclosures, oldest first.
    public internal(set) var collectionNotices: [Int: CollectionNotice] = [:]
    public internal(set) var collectionNoticesByOrg: [String: [Int]] = [:]
    /// Breaches by id.
    public internal(set) var breaches: [String: Breach] = [:]
    /// What is still to do, per organisation, oldest first, so that a list of what is due reads only that: the
    /// withdrawals it has not acknowledged, and the IPP 3A notices not yet sent or excused.
    public internal(set) var withdrawalsDue: [String: [Int]] = [:]
    public internal(set) var collectionNoticesDue: [String: [Int]] = [:]
    /// Consents by the day their retention ends, so that the ones ending soon are found without a scan.
    public internal(set) var consentsByRetention: [Day: [Int]] = [:]

    mutating func settleCollectionNotice(_ disclosure: Int) {
        guard let recipient = collectionNotices[disclosure]?.recipient else { return }
        collectionNoticesDue[recipient]?.removeAll { $0 == disclosure }
    }

    public init() {}

    /// A consent's coverage as bit sets, interning codes not seen before; `nil` when a dimension is full.
    mutating func compile(_ t: ConsentTerms, id: Int, subject: String, recordedBy: String, time: String) -> Consent? {
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
            informed: informed,
            recordedBy: recordedBy,
            supersedes: t.supersedes
        )
    }

    /// The subject's consents, oldest first.
    public func consents(of subject: String) -> [Consent] {
        (subjects[subject]?.consents ?? []).compactMap { consents[$0] }
    }

    /// Applies the next entry (see ``EntryBody/apply(to:entry:)``).
    public mutating func apply(_ entry: ConsentEntry) { entry.apply(to: &self) }

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
            a.reviews == b.reviews, a.withdrawalNotices == b.withdrawalNotices,
            a.collectionNotices == b.collectionNotices, a.collectionNoticesByOrg == b.collectionNoticesByOrg,
            a.breaches == b.breaches, a.withdrawalsDue == b.withdrawalsDue,
            a.collectionNoticesDue == b.collectionNoticesDue, a.consentsByRetention == b.consentsByRetention,
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
                x.notify == y.notify, x.acknowledged == y.acknowledged,
                x.retentionUntil == y.retentionUntil,
                x.subject == y.subject
            else { return false }
        }
        return true
    }
}

/// Where a consent stands; a refusal is a consent the whānau did not give.
public enum ConsentStatus: String, Sendable, Codable, CaseIterable {
    case inForce = "in-force"
    case withdrawn
    case replaced
    case expired
    case refused
}
