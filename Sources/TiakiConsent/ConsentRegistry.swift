import Foundation
public import Logging
import Synchronization
public import TiakiLedger

/// The roles a credential can have (DESIGN.md, "HTTP API").
public enum Role: String, Sendable, CaseIterable, Codable {
    case member
    case facilitator
    case privacyOfficer = "privacy-officer"
    case auditor
    case admin
}

/// An entry once it is in the ledger, with the receipt that proves it.
public struct Recorded: Sendable {
    public let entry: ConsentEntry
    public let receipt: AppendReceipt
    /// The entry's `body` as JSON, as it was written (so a response need not encode it again).
    public let body: JSONValue
    public var index: Int { Int(receipt.index) }
}

/// What a school gives to register a child: identifiers for lookup (kept out of the ledger), the birth month the
/// policy's age rules need, and personal details that are sealed.
public struct SubjectInput: Sendable, Decodable {
    public var birthMonth: String
    public var nsn: String?
    public var localReference: String?
    public var name: String?
    public var notes: String?

    public init(
        birthMonth: String,
        nsn: String? = nil,
        localReference: String? = nil,
        name: String? = nil,
        notes: String? = nil
    ) {
        self.birthMonth = birthMonth
        self.nsn = nsn
        self.localReference = localReference
        self.name = name
        self.notes = notes
    }
}

/// The consent ledger: every write of the consent layer goes through here, is validated, appended, and reflected
/// in the consent state before the call returns.
public final class ConsentRegistry: Sendable {
    public let ledger: Ledger
    let vault: SubjectVault
    private let state: StateBox
    private let vocabularyBox: Mutex<Vocabulary>
    private let logger: Logger
    /// Token hash → credential, filled on first use: tokens never change, and revocation is checked against the
    /// consent state on every call.
    private let credentialCache = Mutex<[Data: (credential: String, org: String, role: Role)]>([:])
    /// Check-then-append steps that change a subject's state run one at a time per subject.
    private let subjectLock = KeyedLock()
    /// Consents one subject may have recorded (granted, withdrawn or replaced), so that no client can grow the
    /// state without bound; a child whose consent is renewed every term for thirteen years needs about forty.
    public static let maximumConsentsPerSubject = 100

    final class StateBox: Sendable {
        let state: Mutex<ConsentState>
        init(_ s: ConsentState) { state = Mutex(s) }
    }

    /// Opens (or creates) the ledger in `directory`, rebuilds the consent state by replaying it, and keeps the
    /// state in step with every later commit.
    public static func open(
        _ directory: LedgerDirectory,
        configuration: LedgerConfiguration = LedgerConfiguration(),
        vocabulary: Vocabulary,
        random: RandomSource = .system,
        logger: Logger
    ) throws -> ConsentRegistry {
        var configuration = configuration
        configuration.keyMember = "subject"
        let ledger = try Ledger.open(directory, configuration: configuration, logger: logger)
        let vault = try SubjectVault(database: ledger.database, directory: directory, random: random)
        let started = Date()
        let state = try ConsentState.replay(ledger)
        logger.info(
            "consent state rebuilt",
            metadata: [
                "entries": "\(state.size)", "subjects": "\(state.subjects.count)",
                "consents": "\(state.consents.count)",
                "milliseconds": "\(Int(Date().timeIntervalSince(started) * 1000))",
            ]
        )
        // Finish erasures whose key destruction did not complete (the entry is written first).
        for subject in state.subjects.values where subject.erased != nil { try vault.erase(subject.id) }
        return ConsentRegistry(ledger: ledger, vault: vault, state: state, vocabulary: vocabulary, logger: logger)
    }

    private init(ledger: Ledger, vault: SubjectVault, state: ConsentState, vocabulary: Vocabulary, logger: Logger) {
        var state = state
        state.intern(vocabulary)
        self.ledger = ledger
        self.vault = vault
        self.state = StateBox(state)
        self.vocabularyBox = Mutex(vocabulary)
        self.logger = logger
        let box = self.state
        ledger.observeCommits { batch in
            box.state.withLock { s in
                for committed in batch {
                    var entry: ConsentEntry
                    if let known = committed.context as? ConsentEntry {
                        entry = known
                    } else if let parsed = try? ConsentEntry(bytes: committed.entry) {
                        entry = parsed
                    } else {
                        continue
                    }
                    entry.index = committed.index
                    entry.time = committed.time
                    s.apply(entry)
                }
            }
        }
    }

    public func close() async { await ledger.close() }

    /// Runs `body` with the current state, under the lock that commits take: keep it short.
    public func withState<R>(_ body: (borrowing ConsentState) throws -> R) rethrows -> R {
        try state.state.withLock { try body($0) }
    }

    public var vocabulary: Vocabulary {
        get { vocabularyBox.withLock { $0 } }
    }

    /// Adopts a vocabulary: new codes get bits in the state's code table, which is returned for compiling the
    /// policy against.
    public func adopt(_ v: Vocabulary) -> CodeTable {
        vocabularyBox.withLock { $0 = v }
        return state.state.withLock { s in
            s.intern(v)
            return s.codes
        }
    }

    var today: Day { Day(ledger.configuration.clock()) }

    // MARK: Appending

    func append(_ entry: ConsentEntry) async throws -> Recorded {
        var draft: EntryDraft
        let members = try entry.members()
        do {
            draft = try EntryDraft(members)
        } catch {
            throw ConsentError(.invalid, error.message)
        }
        draft.context = entry
        // Filed by subject; an organisation's registration under `org:ID`, so a report can name it without a scan.
        if let subject = entry.subject {
            draft.key = subject
        } else if case .organisationRegistered(let o) = entry.body {
            draft.key = "org:" + o.id
        } else if entry.kind == .policyPublished {
            draft.key = "policy"
        }
        let receipt = try await ledger.append(draft)
        var recorded = entry
        recorded.index = receipt.index
        recorded.time = receipt.time
        return Recorded(entry: recorded, receipt: receipt, body: members["body"] ?? .null)
    }

    // MARK: Organisations and credentials

    public func registerOrganisation(
        id: String,
        kind: String,
        name: String,
        actor: Actor = .system
    ) async throws -> Recorded {
        guard Self.isIdentifier(id) else {
            throw ConsentError(
                .invalid,
                "an organisation id is 1 to 64 lower-case letters, digits and '-'",
                field: "id"
            )
        }
        guard vocabulary.contains(kind, in: .organisationKind) else {
            throw unknownCode(kind, .organisationKind, field: "kind")
        }
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ConsentError(.invalid, "name is empty", field: "name")
        }
        guard withState({ $0.organisations[id] == nil }) else {
            throw ConsentError(.conflict, "organisation \(id) is already registered", field: "id")
        }
        return try await append(
            ConsentEntry(actor: actor, body: .organisationRegistered(.init(id: id, kind: kind, name: name)))
        )
    }

    /// Issues a credential and returns its bearer token, which is shown once and stored only as a hash.
    public func issueCredential(
        org: String,
        role: Role,
        actor: Actor = .system
    ) async throws -> (recorded: Recorded, id: String, token: String) {
        guard withState({ $0.organisations[org] != nil }) else {
            throw ConsentError(.unknownOrganisation, "no organisation \(org) is registered", field: "org")
        }
        let id = "cred-" + vault.random.hex(6)
        // Tokens always come from the system generator, even in a seeded simulation.
        let token = "tiaki_" + RandomSource.system.hex(24)
        try vault.storeCredential(id: id, org: org, role: role.rawValue, token: token)
        let recorded = try await append(
            ConsentEntry(actor: actor, body: .credentialIssued(.init(id: id, org: org, role: role.rawValue)))
        )
        return (recorded, id, token)
    }

    /// The credential a bearer token belongs to, if it is known and not revoked.
    ///
    /// The token is hashed and looked up by its hash, so nothing is compared with the secret itself; the stored
    /// hash is then compared in constant time.
    public func authenticate(token: String) throws -> (credential: String, org: String, role: Role)? {
        guard !token.isEmpty, token.utf8.count <= 256 else { return nil }
        let hash = SubjectVault.hash(token: token)
        let known: (credential: String, org: String, role: Role)
        if let cached = credentialCache.withLock({ $0[hash] }) {
            known = cached
        } else {
            guard let found = try vault.credential(hash: hash), SubjectVault.constantTimeEqual(found.hash, hash),
                !found.revoked, let role = Role(rawValue: found.role)
            else { return nil }
            known = (found.id, found.org, role)
            credentialCache.withLock { $0[hash] = known }
        }
        // The ledger is the record: a credential revoked there is revoked, whatever the table or cache says.
        guard withState({ $0.credentials[known.credential].map { $0.revoked == nil } ?? false }) else { return nil }
        return known
    }

    public func revokeCredential(id: String, actor: Actor = .system) async throws -> Recorded {
        let known = withState { $0.credentials[id] }
        guard let known else { throw ConsentError(.unknownCredential, "no credential \(id)", field: "id") }
        guard known.revoked == nil else {
            throw ConsentError(.conflict, "credential \(id) is already revoked", field: "id")
        }
        try vault.revokeCredential(id: id)
        return try await append(ConsentEntry(actor: actor, body: .credentialRevoked(.init(id: id))))
    }

    // MARK: Policy

    /// Records a policy set if its digest is not the current one; returns nil when nothing changed.
    public func publishPolicy(digest: String, files: [String: String], actor: Actor = .system) async throws -> Recorded?
    {
        guard withState({ $0.currentPolicy != digest }) else { return nil }
        return try await append(ConsentEntry(actor: actor, body: .policyPublished(.init(digest: digest, files: files))))
    }

    // MARK: Subjects

    /// Registers a child: a random subject id, a sealing key, lookup rows for the NSN and local reference, and a
    /// `subject.registered` entry holding only the id, the organisation, the birth month and sealed details.
    public func registerSubject(_ input: SubjectInput, actor: Actor) async throws -> Recorded {
        // One registration at a time, so that two racing registrations of one NSN cannot both pass `isTaken`.
        try await subjectLock.withLock("registration") {
            guard withState({ $0.organisations[actor.org] != nil }) else {
                throw ConsentError(.unknownOrganisation, "no organisation \(actor.org) is registered", field: "org")
            }
            guard Day.validBirthMonth(input.birthMonth) else {
                throw ConsentError(.invalid, "birthMonth must be YYYY-MM", field: "birthMonth")
            }
            var identifiers: [SubjectVault.Identifier] = []
            if let nsn = input.nsn {
                guard nsn.count >= 6, nsn.count <= 12, nsn.allSatisfy(\.isNumber) else {
                    throw ConsentError(.invalid, "an NSN is 6 to 12 digits", field: "nsn")
                }
                identifiers.append(.nsn(nsn))
            }
            if let reference = input.localReference {
                guard !reference.isEmpty, reference.count <= 64 else {
                    throw ConsentError(.invalid, "localReference must be 1 to 64 characters", field: "localReference")
                }
                identifiers.append(.local(org: actor.org, reference: reference))
            }
            for identifier in identifiers where try vault.isTaken(identifier) {
                throw ConsentError(
                    .conflict,
                    "a subject with this \(identifier.fieldName) is already registered",
                    field: identifier.fieldName
                )
            }
            let subject = "s-" + vault.random.hex(8)
            let key = try vault.createKey(for: subject)
            do {
                try vault.addLookup(identifiers, subject: subject)
                let body = SubjectRegistered(
                    org: actor.org,
                    birthMonth: input.birthMonth,
                    nameSealed: try input.name.map { try vault.seal($0, subject: subject, key: key) },
                    notesSealed: try input.notes.map { try vault.seal($0, subject: subject, key: key) }
                )
                return try await append(ConsentEntry(actor: actor, subject: subject, body: .subjectRegistered(body)))
            } catch {
                // Nothing was acknowledged: leave no key or lookup row behind for a subject the ledger never saw.
                try? vault.erase(subject)
                throw error
            }
        }
    }

    /// The subject registered under an NSN, or under an organisation's local reference.
    public func findSubject(nsn: String? = nil, org: String? = nil, localReference: String? = nil) throws -> String? {
        let found: String?
        if let nsn {
            found = try vault.find(.nsn(nsn))
        } else if let org, let localReference {
            found = try vault.find(.local(org: org, reference: localReference))
        } else {
            found = nil
        }
        guard let found else { return nil }
        return withState { $0.subjects[found]?.erased == nil ? found : nil }
    }

    /// Opens a sealed field of a subject; nil once the subject is erased.
    public func unseal(_ sealed: Sealed, subject: String) throws -> String? {
        try vault.open(sealed, subject: subject)
    }

    /// Erases a subject's personal details: appends `subject.erased`, then destroys the key and lookup rows.
    ///
    /// The entry comes first so the erasure is on record even if the process stops before the key is gone; the
    /// next start finishes it.
    public func eraseSubject(_ subject: String, reason: String, actor: Actor) async throws -> Recorded {
        try await subjectLock.withLock(subject) {
            try requireLiveSubject(subject)
            guard ["retention-ended", "request"].contains(reason) else {
                throw ConsentError(.invalid, "reason must be retention-ended or request", field: "reason")
            }
            let recorded = try await append(
                ConsentEntry(
                    actor: actor,
                    subject: subject,
                    body: .subjectErased(.init(reason: reason, date: today.description))
                )
            )
            try vault.erase(subject)
            return recorded
        }
    }

    func requireLiveSubject(_ subject: String) throws {
        let known = withState { $0.subjects[subject] }
        guard let known else { throw ConsentError(.unknownSubject, "no subject \(subject)", field: "subject") }
        if let erased = known.erased {
            throw ConsentError(
                .erased,
                "subject \(subject)'s personal details were erased on \(Day(erased.date)?.plain ?? erased.date)",
                field: "subject"
            )
        }
    }

    // MARK: Consents

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

    /// Validates a consent as given by a school (consenter names in plain text) and records it, sealing the names.
    public func grantConsent(subject: String, _ input: JSONValue, actor: Actor) async throws -> Recorded {
        try await subjectLock.withLock(subject) {
            try requireLiveSubject(subject)
            let recorded = withState { $0.subjects[subject]?.consents.count ?? 0 }
            guard recorded < Self.maximumConsentsPerSubject else {
                throw ConsentError(
                    .tooMany,
                    "this child already has \(recorded) consents recorded, the most one child may have",
                    field: "subject"
                )
            }
            let terms = try consentTerms(from: input, subject: subject)
            return try await append(ConsentEntry(actor: actor, subject: subject, body: .consentGranted(terms)))
        }
    }

    /// Parses and validates consent input; names are sealed to the subject.
    func consentTerms(from input: JSONValue, subject: String) throws -> ConsentTerms {
        guard case .object(var members) = input else { throw ConsentError(.invalid, "a consent is a JSON object") }
        for (member, item) in Self.checklist {
            guard let value = members[member], value != .null else {
                throw ConsentError(.invalid, "the consent does not say its \(item)", field: member)
            }
        }
        // Consenter names arrive in plain text and are sealed before anything is written.
        var names: [String?] = []
        if case .array(let list)? = members["consenters"] {
            var sealedList: [JSONValue] = []
            for item in list {
                guard case .object(var c) = item else {
                    throw ConsentError(.invalid, "each consenter is an object", field: "consenters")
                }
                names.append(c.removeValue(forKey: "name")?.stringValue)
                c["nameSealed"] = nil
                sealedList.append(.object(c))
            }
            members["consenters"] = .array(sealedList)
        }
        var terms: ConsentTerms
        do {
            terms = try JSONValueDecoder().decode(ConsentTerms.self, from: .object(members))
        } catch {
            let (field, message) = JSONValueDecoder.describe(error)
            throw ConsentError(.invalid, message, field: field)
        }
        if names.contains(where: { $0 != nil }), let key = try vault.key(for: subject) {
            for (i, name) in names.enumerated() where name != nil {
                terms.consenters[i].nameSealed = try vault.seal(name ?? "", subject: subject, key: key)
            }
        }
        try validate(terms, subject: subject)
        return terms
    }

    func validate(_ t: ConsentTerms, subject: String) throws {
        let v = vocabulary
        func codes(_ list: [String], _ d: Vocabulary.Dimension, _ field: String, item: String) throws {
            guard !list.isEmpty else {
                throw ConsentError(.invalid, "the consent does not say its \(item): \(field) is empty", field: field)
            }
            for (i, code) in list.enumerated() where !v.contains(code, in: d) {
                throw unknownCode(code, d, field: "\(field)[\(i)]")
            }
        }
        func text(_ s: String, _ field: String, item: String) throws {
            guard !s.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw ConsentError(.invalid, "the consent does not say its \(item): \(field) is empty", field: field)
            }
        }
        try codes(t.purposes, .purpose, "purposes", item: "purpose")
        try codes(t.information, .information, "information", item: "information")
        guard !(t.audience.kinds.isEmpty && t.audience.organisations.isEmpty) else {
            throw ConsentError(
                .invalid,
                "the consent does not say its audience: name organisations or kinds",
                field: "audience"
            )
        }
        for (i, kind) in t.audience.kinds.enumerated() where !v.contains(kind, in: .organisationKind) {
            throw unknownCode(kind, .organisationKind, field: "audience.kinds[\(i)]")
        }
        let orgs = withState { s in t.audience.organisations.filter { s.organisations[$0] == nil } }
        if let missing = orgs.first {
            throw ConsentError(
                .unknownOrganisation,
                "audience names organisation \(missing), which is not registered",
                field: "audience.organisations"
            )
        }
        try codes(t.sharing.channels, .channel, "sharing.channels", item: "sharing and storage")
        try codes(t.sharing.storageRegions, .storageRegion, "sharing.storageRegions", item: "sharing and storage")
        try text(t.sharing.protection, "sharing.protection", item: "sharing and storage")
        guard let until = Day(t.retention.until) else {
            throw ConsentError(.invalid, "retention.until must be a date, YYYY-MM-DD", field: "retention.until")
        }
        try text(t.accuracy.contact, "accuracy.contact", item: "accuracy")
        try text(t.accuracy.method, "accuracy.method", item: "accuracy")
        try text(t.withdrawal.effect, "withdrawal.effect", item: "withdrawal")
        try text(t.withdrawal.how, "withdrawal.how", item: "withdrawal")
        guard !t.consenters.isEmpty else {
            throw ConsentError(.invalid, "the consent does not say who agreed", field: "consenters")
        }
        for (i, c) in t.consenters.enumerated() where !v.contains(c.role, in: .consenter) {
            throw unknownCode(c.role, .consenter, field: "consenters[\(i)].role")
        }
        guard let informed = Day(t.informed.date) else {
            throw ConsentError(.invalid, "informed.date must be a date, YYYY-MM-DD", field: "informed.date")
        }
        guard informed <= until else {
            throw ConsentError(.invalid, "retention.until is before the whānau were informed", field: "retention.until")
        }
        try text(t.informed.noticeVersion, "informed.noticeVersion", item: "notice")
        try text(t.informed.language, "informed.language", item: "notice")
        try text(t.informed.method, "informed.method", item: "notice")
        try text(t.text, "text", item: "plain-language text")
        if let old = t.supersedes {
            let consent = withState { $0.consents[old] }
            guard let consent, consent.subject == subject else {
                throw ConsentError(
                    .unknownConsent,
                    "supersedes names consent \(old), which is not this subject's",
                    field: "supersedes"
                )
            }
            guard consent.supersededBy == nil, consent.withdrawn == nil else {
                throw ConsentError(.conflict, "consent \(old) was already withdrawn or replaced", field: "supersedes")
            }
        }
    }

    public func withdrawConsent(
        _ consent: Int,
        by role: String,
        date: String? = nil,
        reason: String? = nil,
        actor: Actor
    ) async throws -> Recorded {
        let known = withState { $0.consents[consent] }
        guard let known else { throw ConsentError(.unknownConsent, "no consent \(consent)", field: "consent") }
        return try await subjectLock.withLock(known.subject) {
            try await withdrawLocked(consent, by: role, date: date, reason: reason, actor: actor)
        }
    }

    private func withdrawLocked(
        _ consent: Int,
        by role: String,
        date: String?,
        reason: String?,
        actor: Actor
    ) async throws -> Recorded {
        let known = withState { $0.consents[consent] }
        guard let known else { throw ConsentError(.unknownConsent, "no consent \(consent)", field: "consent") }
        try requireLiveSubject(known.subject)
        if let w = known.withdrawn {
            throw ConsentError(.conflict, "consent \(consent) was already withdrawn on \(w.date.plain)")
        }
        guard vocabulary.contains(role, in: .consenter) else { throw unknownCode(role, .consenter, field: "by") }
        let day = date ?? today.description
        guard Day(day) != nil else { throw ConsentError(.invalid, "date must be YYYY-MM-DD", field: "date") }
        let sealed = try reason.map { r -> Sealed in
            guard let key = try vault.key(for: known.subject) else {
                throw ConsentError(.erased, "the subject was erased")
            }
            return try vault.seal(r, subject: known.subject, key: key)
        }
        return try await append(
            ConsentEntry(
                actor: actor,
                subject: known.subject,
                body: .consentWithdrawn(.init(consent: consent, date: day, by: role, reasonSealed: sealed))
            )
        )
    }

    /// Records that the whānau declined to consent.
    public func refuseConsent(
        subject: String,
        purposes: [String],
        information: [String],
        by: [String],
        reason: String? = nil,
        actor: Actor
    ) async throws -> Recorded {
        try await subjectLock.withLock(subject) {
            try requireLiveSubject(subject)
            let v = vocabulary
            for (i, p) in purposes.enumerated() where !v.contains(p, in: .purpose) {
                throw unknownCode(p, .purpose, field: "purposes[\(i)]")
            }
            for (i, p) in information.enumerated() where !v.contains(p, in: .information) {
                throw unknownCode(p, .information, field: "information[\(i)]")
            }
            for (i, p) in by.enumerated() where !v.contains(p, in: .consenter) {
                throw unknownCode(p, .consenter, field: "by[\(i)]")
            }
            guard !by.isEmpty else { throw ConsentError(.invalid, "say who declined", field: "by") }
            let sealed = try reason.map { r -> Sealed in
                guard let key = try vault.key(for: subject) else {
                    throw ConsentError(.erased, "the subject was erased")
                }
                return try vault.seal(r, subject: subject, key: key)
            }
            return try await append(
                ConsentEntry(
                    actor: actor,
                    subject: subject,
                    body: .consentRefused(
                        .init(
                            purposes: purposes,
                            information: information,
                            by: by,
                            date: today.description,
                            reasonSealed: sealed
                        )
                    )
                )
            )
        }
    }

    // MARK: Decisions and disclosures

    /// Records a decision (permit or deny); the caller returns it only after this.
    public func recordDecision(_ decision: DecisionRecord, actor: Actor) async throws -> Recorded {
        try await append(ConsentEntry(actor: actor, subject: decision.request.subject, body: .decision(decision)))
    }

    /// Records a disclosure. One without a permit decision behind it, or beyond the decision it names, is still
    /// recorded, with flags saying why a privacy officer must look at it.
    public func recordDisclosure(
        subject: String,
        _ d: DisclosureRecord,
        note: String? = nil,
        actor: Actor
    ) async throws -> Recorded {
        try requireLiveSubject(subject)
        var record = d
        let v = vocabulary
        guard v.contains(d.purpose, in: .purpose) else { throw unknownCode(d.purpose, .purpose, field: "purpose") }
        for (i, c) in d.information.enumerated() where !v.contains(c, in: .information) {
            throw unknownCode(c, .information, field: "information[\(i)]")
        }
        guard v.contains(d.channel, in: .channel) else { throw unknownCode(d.channel, .channel, field: "channel") }
        guard v.contains(d.storageRegion, in: .storageRegion) else {
            throw unknownCode(d.storageRegion, .storageRegion, field: "storageRegion")
        }
        guard withState({ $0.organisations[d.recipient] != nil }) else {
            throw ConsentError(.unknownOrganisation, "recipient \(d.recipient) is not registered", field: "recipient")
        }
        guard Day(d.date) != nil else { throw ConsentError(.invalid, "date must be YYYY-MM-DD", field: "date") }
        record.flags = []
        if let index = d.decision {
            let bytes = index >= 0 ? try ledger.entry(at: UInt64(index)) : nil
            guard let bytes, let entry = try? ConsentEntry(bytes: bytes),
                case .decision(let decision) = entry.body,
                decision.request.subject == subject
            else {
                throw ConsentError(
                    .unknownConsent,
                    "decision \(index) is not a decision about this subject",
                    field: "decision"
                )
            }
            if decision.effect != .permit { record.flags.append("decision-denied") }
            if decision.request.recipient != d.recipient { record.flags.append("other-recipient") }
            if decision.request.purpose != d.purpose { record.flags.append("other-purpose") }
            if !Set(d.information).isSubset(of: decision.request.information) {
                record.flags.append("more-information")
            }
        } else {
            record.flags.append("no-decision")
        }
        if let note {
            guard let key = try vault.key(for: subject) else { throw ConsentError(.erased, "the subject was erased") }
            record.noteSealed = try vault.seal(note, subject: subject, key: key)
        }
        return try await append(ConsentEntry(actor: actor, subject: subject, body: .disclosure(record)))
    }

    /// Records a privacy officer's review of a disclosure (`justified` or `not-justified`), with sealed notes.
    public func reviewDisclosure(
        _ index: Int,
        outcome: String,
        date: String? = nil,
        notes: String? = nil,
        actor: Actor
    ) async throws -> Recorded {
        guard DisclosureReviewed.outcomes.contains(outcome) else {
            throw ConsentError(
                .invalid,
                "outcome must be one of \(DisclosureReviewed.outcomes.joined(separator: ", "))",
                field: "outcome"
            )
        }
        let date = date ?? today.description
        guard Day(date) != nil else { throw ConsentError(.invalid, "date must be YYYY-MM-DD", field: "date") }
        let bytes = index >= 0 ? try ledger.entry(at: UInt64(index)) : nil
        guard let bytes, let entry = try? ConsentEntry(bytes: bytes), case .disclosure = entry.body,
            let subject = entry.subject
        else { throw ConsentError(.unknownConsent, "entry \(index) is not a disclosure", field: "disclosure") }
        var review = DisclosureReviewed(disclosure: index, date: date, outcome: outcome)
        if let notes, let key = try vault.key(for: subject) {
            review.notesSealed = try vault.seal(notes, subject: subject, key: key)
        }
        return try await append(ConsentEntry(actor: actor, subject: subject, body: .disclosureReviewed(review)))
    }

    // MARK: Helpers

    func unknownCode(_ code: String, _ d: Vocabulary.Dimension, field: String) -> ConsentError {
        let known = vocabulary.codes(d)
        let hint = nearest(code, in: known).map { " Did you mean \($0)?" } ?? ""
        return ConsentError(
            .notInVocabulary,
            "\(code) is not \(d.withArticle) in the policy vocabulary.\(hint) Known: \(known.joined(separator: ", "))",
            field: field
        )
    }

    static func isIdentifier(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 64
            && s.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
    }
}

extension SubjectVault.Identifier {
    var fieldName: String {
        switch self {
        case .nsn: "nsn"
        case .local: "localReference"
        }
    }
}

extension Day {
    static func validBirthMonth(_ s: String) -> Bool { Day(s + "-01") != nil }
}

/// The closest of `candidates` to `word` by edit distance, when it is close enough to be a likely typo.
public func nearest(_ word: String, in candidates: [String]) -> String? {
    func distance(_ a: [Character], _ b: [Character]) -> Int {
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in 1...max(b.count, 1) where !b.isEmpty {
                let current = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = current
            }
        }
        return row[b.count]
    }
    let w = Array(word)
    let best = candidates.map { ($0, distance(w, Array($0))) }.min { $0.1 < $1.1 }
    guard let best, best.1 <= max(2, word.count / 3) else { return nil }
    return best.0
}

extension ConsentState {
    /// Rebuilds the state by replaying every entry of the ledger.
    public static func replay(_ ledger: Ledger, upTo limit: UInt64? = nil) throws -> ConsentState {
        var state = ConsentState()
        let size = min(limit ?? ledger.checkpoint.size, ledger.checkpoint.size)
        var next: UInt64 = 0
        while next < size {
            let page = try ledger.entries(in: next..<min(size, next + 4096))
            for bytes in page {
                // Decisions and disclosures, most of a ledger, change nothing in the projection: count them
                // without parsing.
                if let kind = ConsentEntry.kind(ofCanonical: bytes), kind == .decision || kind == .disclosure {
                    state.count(kind, index: next)
                } else {
                    var entry = try ConsentEntry(bytes: bytes)
                    entry.index = next
                    state.apply(entry)
                }
                next += 1
            }
        }
        return state
    }
}
