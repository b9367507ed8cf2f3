public import TiakiModel

/// One consent, or one refusal, with everything the ledger says of it: what the standard formats
/// (``FHIRConsent``, ``ISO27560Record``) are written from.
///
/// Sealed fields (consenters' names, reasons) are never in it; the names are added only for a caller who may see
/// them (``consenterNames``).
public struct ConsentRecord: Sendable {
    /// An organisation as the ledger registered it.
    public struct Party: Sendable, Hashable {
        public var id: String
        public var name: String
        public var kind: String
        /// Its postal or email address, and the law under which it collects, when registered.
        public var contact: String?
        public var law: String?
    }

    /// A later entry that changed the record's status.
    public struct Change: Sendable, Hashable {
        /// The ledger index of the entry.
        public var index: UInt64
        /// When the ledger recorded it.
        public var time: String
        /// The day it took effect (a withdrawal's date; the replacing consent's recording day).
        public var date: String
        /// Who withdrew (a consenter role); `nil` for a replacement.
        public var by: String?
    }

    /// The ledger index: the consent's id, or the refusal's.
    public var index: UInt64
    public var subject: String
    public var status: ConsentStatus
    /// When the ledger recorded it, and by which organisation.
    public var recorded: String
    public var recordedBy: Party
    /// A consent's terms, with every sealed field removed; `nil` for a refusal.
    public var terms: ConsentTerms?
    /// A refusal, its reason removed; `nil` for a consent.
    public var refusal: ConsentRefused?
    /// The organisations the audience names, as registered (an id the ledger does not know keeps its id as name).
    public var audience: [Party]
    /// The consenters' names, in the order of `terms.consenters`, for a caller allowed to see them.
    public var consenterNames: [String?]?
    public var withdrawn: Change?
    public var replacedBy: Change?
    /// The digest of the policy set in force when it was recorded.
    public var policy: String?
    /// The day the child's personal details were erased, if they were.
    public var erased: String?

    /// What was asked or agreed: purposes and information categories.
    public var purposes: [String] { terms?.purposes ?? refusal?.purposes ?? [] }
    public var information: [String] { terms?.information ?? refusal?.information ?? [] }
    /// Who agreed or declined, as consenter roles.
    public var consenterRoles: [String] { terms?.consenters.map(\.role) ?? refusal?.by ?? [] }
    /// How the whānau were told.
    public var informed: ConsentTerms.Informed? { terms?.informed ?? refusal?.informed }
}

/// Builds ``ConsentRecord``s from the consent state and the ledger's entries.
public struct ConsentRecords {
    public let state: ConsentState
    /// The entry at an index (`nil` when there is none).
    public let entry: (UInt64) throws -> ConsentEntry?
    /// A consent's sealed words as the reader of the records may see them: opened for a caller who may read a
    /// child's personal details; by default, for records that leave Tiaki, a note that they are sealed.
    public let words: (_ sealed: String, _ subject: String) -> String

    /// What a sealed word reads as in records for other systems.
    public static let sealedWords = "(sealed in the ledger: ask the organisation that recorded it)"

    public init(
        state: ConsentState,
        entry: @escaping (UInt64) throws -> ConsentEntry?,
        words: @escaping (_ sealed: String, _ subject: String) -> String = { _, _ in ConsentRecords.sealedWords }
    ) {
        self.state = state
        self.entry = entry
        self.words = words
    }

    /// The consent or refusal recorded at `index`, with its status on `day`; `nil` when the entry is neither.
    public func record(_ index: UInt64, on day: Day) throws -> ConsentRecord? {
        guard let found = try entry(index) else { return nil }
        if var terms = found.body as? ConsentTerms, let id = Int(exactly: index), let consent = state.consents[id] {
            for i in terms.consenters.indices { terms.consenters[i].nameSealed = nil }
            terms = terms.mapText { Sealed.isSealed($0) ? words($0, consent.subject) : $0 }
            var record = base(found, subject: consent.subject, status: consent.status(on: day))
            record.terms = terms
            record.audience = terms.audience.organisations.map(party)
            if let w = consent.withdrawn, let withdrawal = try entry(w.index) {
                record.withdrawn = .init(
                    index: w.index,
                    time: withdrawal.header.time,
                    date: w.date.description,
                    by: w.by
                )
            }
            if let next = consent.supersededBy, next >= 0, let replacing = try entry(UInt64(next)) {
                record.replacedBy = .init(
                    index: UInt64(next),
                    time: replacing.header.time,
                    date: String(replacing.header.time.prefix(10)),
                    by: nil
                )
            }
            return record
        }
        if var refusal = found.body as? ConsentRefused, let subject = found.header.subject {
            refusal.reasonSealed = nil
            if let method = refusal.informed?.method, Sealed.isSealed(method) {
                refusal.informed?.method = words(method, subject)
            }
            var record = base(found, subject: subject, status: .refused)
            record.refusal = refusal
            return record
        }
        return nil
    }

    /// Every consent and refusal of the ledger, in index order, with their status on `day`.
    public func all(on day: Day) throws -> [ConsentRecord] {
        var indexes = state.consents.keys.compactMap { UInt64(exactly: $0) }
        for subject in state.subjects.values { indexes.append(contentsOf: subject.refusals) }
        return try indexes.sorted().compactMap { try record($0, on: day) }
    }

    func base(_ entry: ConsentEntry, subject: String, status: ConsentStatus) -> ConsentRecord {
        let index = entry.header.index
        // The newest policy set published before the entry.
        let policy = state.policies.filter { $0.value < index }.max { $0.value < $1.value }?.key
        return ConsentRecord(
            index: index,
            subject: subject,
            status: status,
            recorded: entry.header.time,
            recordedBy: party(entry.header.actor.org),
            terms: nil,
            refusal: nil,
            audience: [],
            consenterNames: nil,
            withdrawn: nil,
            replacedBy: nil,
            policy: policy,
            erased: state.subjects[subject]?.erased?.date
        )
    }

    func party(_ id: String) -> ConsentRecord.Party {
        let org = state.organisations[id]
        return .init(id: id, name: org?.name ?? id, kind: org?.kind ?? "", contact: org?.contact, law: org?.law)
    }
}
