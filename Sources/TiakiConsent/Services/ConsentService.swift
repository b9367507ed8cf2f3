import Foundation
import TiakiLedger
public import TiakiModel

/// A consent as a school gives it: the seven checklist items, who agreed (names in plain text, sealed before
/// anything is written), how they were told, and the words they were shown.
///
/// The seven items are optional here only so that a missing one is refused in the words of the checklist
/// ("the consent does not say its retention …"), not as a decoding error.
public struct ConsentInput: Sendable, Codable {
    public struct Consenter: Sendable, Codable {
        public var role: String
        public var name: String?

        public init(role: String, name: String? = nil) {
            self.role = role
            self.name = name
        }
    }

    public var purposes: [String]?
    public var information: [String]?
    public var audience: ConsentTerms.Audience?
    public var sharing: ConsentTerms.Sharing?
    public var retention: ConsentTerms.Retention?
    public var accuracy: ConsentTerms.Accuracy?
    public var withdrawal: ConsentTerms.Withdrawal?
    public var consenters: [Consenter]
    public var informed: ConsentTerms.Informed
    /// The plain-language text shown to the whānau.
    public var text: String
    public var evidence: String?
    /// The consent (ledger index) this one replaces.
    public var supersedes: UInt64?

    public init(
        purposes: [String]?,
        information: [String]?,
        audience: ConsentTerms.Audience?,
        sharing: ConsentTerms.Sharing?,
        retention: ConsentTerms.Retention?,
        accuracy: ConsentTerms.Accuracy?,
        withdrawal: ConsentTerms.Withdrawal?,
        consenters: [Consenter],
        informed: ConsentTerms.Informed,
        text: String,
        evidence: String? = nil,
        supersedes: UInt64? = nil
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

/// A withdrawal: who withdrew, when (default today), and why (sealed).
public struct WithdrawalInput: Sendable, Codable {
    public var by: String
    public var date: String?
    public var reason: String?
    /// How they withdrew: "a phone call to the office", "in writing" (sealed).
    public var how: String?

    public init(by: String, date: String? = nil, reason: String? = nil, how: String? = nil) {
        self.by = by
        self.date = date
        self.reason = reason
        self.how = how
    }
}

/// The whānau declined: what they were asked, who declined, how they were told, and why (sealed).
public struct RefusalInput: Sendable, Codable {
    public var purposes: [String]
    public var information: [String]
    public var by: [String]
    public var date: String?
    public var informed: ConsentTerms.Informed?
    public var reason: String?

    public init(
        purposes: [String],
        information: [String],
        by: [String],
        date: String? = nil,
        informed: ConsentTerms.Informed? = nil,
        reason: String? = nil
    ) {
        self.purposes = purposes
        self.information = information
        self.by = by
        self.date = date
        self.informed = informed
        self.reason = reason
    }
}

/// One line of a child's consents list: a consent, or a refusal.
public struct ConsentListItem: Sendable, Codable {
    public var consent: Int?
    public var refusal: UInt64?
    public var status: ConsentStatus
    public var purposes: [String]
    public var information: [String]
    public var retentionUntil: String?
    public var current: Bool
    public var withdrawn: String?
    public var supersededBy: Int?
    public var date: String?
}

/// One consent as recorded, for someone allowed to see it: the terms without sealed fields, and for the members
/// of the organisation that recorded it, the consenters' names.
public struct ConsentView: Sendable, Codable {
    public struct Withdrawal: Sendable, Codable {
        public var date: String
        public var by: String
    }

    public var consent: Int
    public var subject: String
    public var status: ConsentStatus
    public var current: Bool
    public var terms: ConsentTerms
    public var consenterNames: [String?]?
    public var withdrawn: Withdrawal?
    public var supersededBy: Int?

    enum CodingKeys: String, CodingKey {
        case consent, subject, status, current, consenterNames, withdrawn, supersededBy
    }

    /// The terms' members stand beside the others, as the record's fields.
    public func encode(to encoder: any Encoder) throws {
        try terms.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(consent, forKey: .consent)
        try c.encode(subject, forKey: .subject)
        try c.encode(status, forKey: .status)
        try c.encode(current, forKey: .current)
        try c.encodeIfPresent(consenterNames, forKey: .consenterNames)
        try c.encodeIfPresent(withdrawn, forKey: .withdrawn)
        try c.encodeIfPresent(supersededBy, forKey: .supersededBy)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        terms = try ConsentTerms(from: decoder)
        consent = try c.decode(Int.self, forKey: .consent)
        subject = try c.decode(String.self, forKey: .subject)
        status = try c.decode(ConsentStatus.self, forKey: .status)
        current = try c.decode(Bool.self, forKey: .current)
        consenterNames = try c.decodeIfPresent([String?].self, forKey: .consenterNames)
        withdrawn = try c.decodeIfPresent(Withdrawal.self, forKey: .withdrawn)
        supersededBy = try c.decodeIfPresent(Int.self, forKey: .supersededBy)
    }

    init(
        consent: Int,
        subject: String,
        status: ConsentStatus,
        current: Bool,
        terms: ConsentTerms,
        consenterNames: [String?]?,
        withdrawn: Withdrawal?,
        supersededBy: Int?
    ) {
        self.consent = consent
        self.subject = subject
        self.status = status
        self.current = current
        self.terms = terms
        self.consenterNames = consenterNames
        self.withdrawn = withdrawn
        self.supersededBy = supersededBy
    }
}

/// Consents: recording, withdrawing, refusing, and reading them back.
public struct ConsentService: Sendable {
    let core: LedgerCore

    /// Consents one subject may have recorded (granted, withdrawn or replaced), so that no client can grow the
    /// state without bound; a child whose consent is renewed every term for thirteen years needs about forty.
    public static let maximumPerSubject = 100

    /// The seven checklist items, by the member that holds each, and the words used when one is missing.
    static let checklist: [(member: String, item: String)] = [
        ("purposes", "purpose (why the information is shared)"),
        ("information", "information (what is shared)"),
        ("audience", "audience (who will see it)"),
        ("sharing", "sharing and storage (how it is shared and stored)"),
        ("retention", "retention (when it comes off the register)"),
        ("accuracy", "accuracy (how the whānau can check and correct it)"),
        ("withdrawal", "withdrawal (what declining or withdrawing means, and how to withdraw)"),
    ]

    /// Validates a consent and records it (`consent.granted`), sealing the consenters' names.
    public func grant(subject: String, _ input: ConsentInput, actor: EntryActor) async throws -> Recorded {
        try await core.exclusive(subject) {
            _ = try core.requireLiveSubject(subject)
            let recorded = core.read { $0.subjects[subject]?.consents.count ?? 0 }
            guard recorded < Self.maximumPerSubject else {
                throw TiakiError(
                    .tooMany,
                    "this child already has \(recorded) consents recorded, the most one child may have",
                    field: "subject"
                )
            }
            // Every word people typed is sealed to the child's key, so that erasure leaves none of it readable.
            var terms = try validate(input, subject: subject, actor: actor).mapText {
                try core.seal($0, subject: subject).token
            }
            if input.consenters.contains(where: { $0.name != nil }) {
                for (i, consenter) in input.consenters.enumerated() {
                    if let name = consenter.name {
                        terms.consenters[i].nameSealed = try core.seal(name, subject: subject)
                    }
                }
            }
            return try await core.append(ConsentEntry(actor: actor, subject: subject, body: terms))
        }
    }

    /// The terms a valid input stands for (names not yet sealed).
    func validate(_ input: ConsentInput, subject: String, actor: EntryActor) throws -> ConsentTerms {
        let given: [String: Bool] = [
            "purposes": input.purposes != nil, "information": input.information != nil,
            "audience": input.audience != nil, "sharing": input.sharing != nil, "retention": input.retention != nil,
            "accuracy": input.accuracy != nil, "withdrawal": input.withdrawal != nil,
        ]
        for (member, item) in Self.checklist where given[member] != true {
            throw TiakiError(.invalid, "the consent does not say its \(item)", field: member)
        }
        guard let purposes = input.purposes, let information = input.information, let audience = input.audience,
            let sharing = input.sharing, let retention = input.retention, let accuracy = input.accuracy,
            let withdrawal = input.withdrawal
        else { throw TiakiError(.internal, "a checklist item passed its check but is missing") }

        func missing(_ item: String, _ field: String) -> String {
            "the consent does not say its \(item): \(field) is empty"
        }
        func text(_ s: String, _ field: String, item: String, limit: Int = 4000) throws {
            guard !s.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw TiakiError(.invalid, missing(item, field), field: field)
            }
            guard s.unicodeScalars.count <= limit else {
                throw TiakiError(.invalid, "\(field) is longer than \(limit) characters", field: field)
            }
            // A name is one line; the words shown and the other items may run over several.
            try FreeText.check(s, field: field, limit: limit, multiline: limit > 200)
        }
        try core.requireCodes(purposes, .purpose, field: "purposes", missing: missing("purpose", "purposes"))
        try core.requireCodes(
            information,
            .information,
            field: "information",
            missing: missing("information", "information")
        )
        guard !(audience.kinds.isEmpty && audience.organisations.isEmpty) else {
            throw TiakiError(
                .invalid,
                "the consent does not say its audience: name organisations or kinds",
                field: "audience"
            )
        }
        try core.requireCodes(audience.kinds, .organisationKind, field: "audience.kinds")
        for (i, org) in audience.organisations.enumerated() {
            try core.requireOrganisation(org, field: "audience.organisations[\(i)]", role: "audience names")
        }
        try core.requireCodes(
            sharing.channels,
            .channel,
            field: "sharing.channels",
            missing: missing("sharing and storage", "sharing.channels")
        )
        try core.requireCodes(
            sharing.storageRegions,
            .storageRegion,
            field: "sharing.storageRegions",
            missing: missing("sharing and storage", "sharing.storageRegions")
        )
        try text(sharing.protection, "sharing.protection", item: "sharing and storage")
        guard let until = Day(retention.until) else {
            throw TiakiError(.invalid, "retention.until must be a date, YYYY-MM-DD", field: "retention.until")
        }
        if let event = retention.event { try text(event, "retention.event", item: "retention") }
        try text(accuracy.contact, "accuracy.contact", item: "accuracy")
        try text(accuracy.method, "accuracy.method", item: "accuracy")
        try text(withdrawal.effect, "withdrawal.effect", item: "withdrawal")
        try text(withdrawal.how, "withdrawal.how", item: "withdrawal")
        guard !input.consenters.isEmpty else {
            throw TiakiError(.invalid, "the consent does not say who agreed", field: "consenters")
        }
        for (i, c) in input.consenters.enumerated() {
            try core.requireCode(c.role, .consenter, field: "consenters[\(i)].role")
            if let name = c.name { try text(name, "consenters[\(i)].name", item: "consenter's name", limit: 200) }
        }
        let informed = try core.pastDay(
            input.informed.date,
            field: "informed.date",
            what: "the whānau were told and agreed"
        )
        guard informed <= until else {
            throw TiakiError(.invalid, "retention.until is before the whānau were informed", field: "retention.until")
        }
        try text(input.informed.noticeVersion, "informed.noticeVersion", item: "notice", limit: 64)
        try text(input.informed.language, "informed.language", item: "notice", limit: 64)
        try text(input.informed.method, "informed.method", item: "notice", limit: 200)
        // The words shown are as long as they need to be; the ledger's entry limit bounds them.
        try text(input.text, "text", item: "plain-language text", limit: .max)
        if let evidence = input.evidence { try text(evidence, "evidence", item: "evidence", limit: 400) }
        var supersedes: Int?
        if let old = input.supersedes {
            let consent = Int(exactly: old).flatMap { id in core.read { $0.consents[id] } }
            guard let consent, consent.subject == subject, consent.recordedBy == actor.org else {
                throw TiakiError(
                    .invalid,
                    "supersedes names consent \(old), which is not one your organisation recorded for this child",
                    field: "supersedes"
                )
            }
            guard consent.supersededBy == nil, consent.withdrawn == nil else {
                throw TiakiError(.conflict, "consent \(old) was already withdrawn or replaced", field: "supersedes")
            }
            supersedes = consent.id
        }
        return ConsentTerms(
            purposes: purposes,
            information: information,
            audience: audience,
            sharing: sharing,
            retention: retention,
            accuracy: accuracy,
            withdrawal: withdrawal,
            consenters: input.consenters.map { ConsentTerms.Consenter(role: $0.role) },
            informed: input.informed,
            text: input.text,
            evidence: input.evidence,
            supersedes: supersedes
        )
    }

    /// Records that a consent was withdrawn (`consent.withdrawn`), once.
    public func withdraw(_ consent: Int, _ input: WithdrawalInput, actor: EntryActor) async throws -> Recorded {
        // A consent recorded through another instance sharing the ledger is known here too.
        try await core.ledger.synchronize()
        let known = core.read { $0.consents[consent] }
        guard let known else { throw TiakiError(.unknownConsent, "no consent \(consent)", field: "consent") }
        return try await core.exclusive(known.subject) {
            let current = core.read { $0.consents[consent] }
            guard let current else { throw TiakiError(.unknownConsent, "no consent \(consent)", field: "consent") }
            _ = try core.requireLiveSubject(current.subject)
            if let w = current.withdrawn {
                throw TiakiError(.conflict, "consent \(consent) was already withdrawn on \(w.date.plain)")
            }
            try core.requireCode(input.by, .consenter, field: "by")
            let day =
                try input.date.map { try core.pastDay($0, field: "date", what: "the whānau withdrew") } ?? core.stampDay
            guard day >= current.informed else {
                throw TiakiError(
                    .invalid,
                    "date \(day.plain) is before the consent was given (\(current.informed.plain))",
                    field: "date"
                )
            }
            if let reason = input.reason { try checkReason(reason) }
            if let how = input.how { try FreeText.check(how, field: "how", limit: 400, multiline: true) }
            let sealed = try input.reason.map { try core.seal($0, subject: current.subject) }
            let how = try input.how.map { try core.seal($0, subject: current.subject) }
            let notify = try recipients(of: consent, subject: current.subject, until: day)
            return try await core.append(
                ConsentEntry(
                    actor: actor,
                    subject: current.subject,
                    body: ConsentWithdrawn(
                        consent: consent,
                        date: day.description,
                        by: input.by,
                        reasonSealed: sealed,
                        howSealed: how,
                        notify: notify.isEmpty ? nil : notify
                    )
                )
            )
        }
    }

    /// The organisations that received information under `consent` up to `day`, with the disclosures that gave it:
    /// read from the child's own entries (the subject index), where each disclosure names the decision it relied
    /// on and each decision the consents it relied on.
    func recipients(of consent: Int, subject: String, until day: Day) throws -> [ConsentWithdrawn.Recipient] {
        var decisions: [Int: [Int]] = [:]
        var recipients: [ConsentWithdrawn.Recipient] = []
        for index in try core.ledger.indexes(forKey: subject) {
            guard let entry = try core.entry(at: index), let id = Int(exactly: index) else { continue }
            if let d = entry.body as? DecisionRecord {
                decisions[id] = d.consents
            } else if let d = entry.body as? DisclosureRecord, let decision = d.decision,
                decisions[decision]?.contains(consent) == true, let date = Day(d.date), date <= day
            {
                if let i = recipients.firstIndex(where: { $0.org == d.share.recipient }) {
                    recipients[i].disclosures.append(id)
                } else {
                    recipients.append(.init(org: d.share.recipient, disclosures: [id]))
                }
            }
        }
        return recipients
    }

    /// Records that the whānau declined (`consent.refused`).
    public func refuse(subject: String, _ input: RefusalInput, actor: EntryActor) async throws -> Recorded {
        try await core.exclusive(subject) {
            _ = try core.requireLiveSubject(subject)
            try core.requireCodes(input.purposes, .purpose, field: "purposes", missing: "say what was asked: purposes")
            try core.requireCodes(
                input.information,
                .information,
                field: "information",
                missing: "say what was asked: information"
            )
            try core.requireCodes(input.by, .consenter, field: "by", missing: "say who declined: by")
            let day =
                try input.date.map { try core.pastDay($0, field: "date", what: "the whānau declined") }
                ?? core.stampDay
            if let informed = input.informed {
                _ = try core.pastDay(informed.date, field: "informed.date", what: "the whānau were told")
                for (value, field) in [
                    (informed.noticeVersion, "informed.noticeVersion"), (informed.language, "informed.language"),
                    (informed.method, "informed.method"),
                ] where value.trimmingCharacters(in: .whitespaces).isEmpty || value.unicodeScalars.count > 200 {
                    throw TiakiError(.invalid, "\(field) must be 1 to 200 characters", field: field)
                }
                try FreeText.check(informed.method, field: "informed.method", limit: 200)
            }
            if let reason = input.reason { try checkReason(reason) }
            let sealed = try input.reason.map { try core.seal($0, subject: subject) }
            // How they were told is words people typed: sealed, as the reason is.
            var informed = input.informed
            if let method = informed?.method { informed?.method = try core.seal(method, subject: subject).token }
            return try await core.append(
                ConsentEntry(
                    actor: actor,
                    subject: subject,
                    body: ConsentRefused(
                        purposes: input.purposes,
                        information: input.information,
                        by: input.by,
                        date: day.description,
                        reasonSealed: sealed,
                        informed: informed
                    )
                )
            )
        }
    }

    func checkReason(_ reason: String) throws {
        try FreeText.check(reason, field: "reason", limit: 4000, multiline: true)
    }

    // MARK: Reading

    /// The child's consents and refusals that `caller` may see: a member, those its own organisation recorded;
    /// facilitators and privacy officers, all.
    public func list(subject: String, for caller: Caller) throws -> [ConsentListItem] {
        let today = core.today
        let (consents, refusals, codes) = core.read { state in
            (state.consents(of: subject), state.subjects[subject]?.refusals ?? [], state.codes)
        }
        var items: [ConsentListItem] = consents.filter { caller.role != .member || $0.recordedBy == caller.org }.map {
            c in
            ConsentListItem(
                consent: c.id,
                status: c.status(on: today),
                purposes: codes.codes(in: c.purposes, .purpose),
                information: codes.codes(in: c.information, .information),
                retentionUntil: c.retentionUntil.description,
                current: c.isCurrent(on: today),
                withdrawn: c.withdrawn?.date.description,
                supersededBy: c.supersededBy
            )
        }
        for index in refusals {
            guard let entry = try core.entry(at: index), let r = entry.body as? ConsentRefused,
                caller.role != .member || entry.actor.org == caller.org
            else { continue }
            items.append(
                ConsentListItem(
                    refusal: index,
                    status: .refused,
                    purposes: r.purposes,
                    information: r.information,
                    current: false,
                    date: r.date
                )
            )
        }
        return items
    }

    /// Whether `caller` may read the consent or refusal recorded at `index` (members: one their organisation
    /// recorded, of a child it knows; facilitators and privacy officers: any), and the consenters' names they may
    /// see; `nil` when it does not exist or is not theirs to see.
    public func readable(_ index: UInt64, for caller: Caller) throws -> Readable? {
        if let id = Int(exactly: index), core.read({ $0.consents[id] != nil }) {
            guard let view = try view(id, for: caller) else { return nil }
            return Readable(consenterNames: view.consenterNames)
        }
        guard let entry = try core.entry(at: index), entry.body is ConsentRefused, let subject = entry.subject,
            core.read({ state in state.subjects[subject].map { caller.may(see: $0) } ?? false }),
            caller.role != .member || entry.actor.org == caller.org
        else { return nil }
        return Readable(consenterNames: nil)
    }

    /// What ``readable(_:for:)`` lets a caller see beyond the record itself.
    public struct Readable: Sendable {
        public var consenterNames: [String?]?
    }

    /// One consent as `caller` may see it, or `nil` when it does not exist or is not theirs to see.
    public func view(_ id: Int, for caller: Caller) throws -> ConsentView? {
        let known = core.read { state in
            state.consents[id].flatMap { c in state.subjects[c.subject].map { (c, $0) } }
        }
        guard let (consent, subject) = known, caller.may(see: subject),
            caller.role != .member || consent.recordedBy == caller.org,
            id >= 0, let entry = try core.entry(at: UInt64(id)), var terms = entry.body as? ConsentTerms
        else { return nil }
        var names: [String?] = []
        for i in terms.consenters.indices {
            names.append(try terms.consenters[i].nameSealed.flatMap { try core.unseal($0, subject: consent.subject) })
            terms.consenters[i].nameSealed = nil
        }
        terms = try opened(terms, subject: consent.subject, for: caller)
        return ConsentView(
            consent: id,
            subject: consent.subject,
            status: consent.status(on: core.today),
            current: consent.isCurrent(on: core.today),
            terms: terms,
            consenterNames: caller.may(.readPersonalDetails) ? names : nil,
            withdrawn: consent.withdrawn.map { .init(date: $0.date.description, by: $0.by) },
            supersededBy: consent.supersededBy
        )
    }

    /// A consent's words, opened for a caller who may read personal details; sealed for anyone else, and
    /// `erased` (the words for it) once the child's key is destroyed.
    public func opened(
        _ terms: ConsentTerms,
        subject: String,
        for caller: Caller,
        erased: String = "(sealed)"
    ) throws
        -> ConsentTerms
    {
        guard caller.may(.readPersonalDetails) else { return terms }
        var open: ((Sealed) throws -> String?)?
        return try terms.mapText { text in
            guard Sealed.isSealed(text) else { return text }
            if open == nil { open = try core.unsealer(subject: subject) }
            return try open?(Sealed(token: text)) ?? erased
        }
    }
}
