import Foundation
import TiakiLedger
public import TiakiModel

/// What a school gives to register a child: identifiers for lookup (kept out of the ledger), the birth month the
/// policy's age rules need, and personal details that are sealed.
public struct SubjectInput: Sendable, Codable {
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

/// Why personal details are erased.
public struct ErasureInput: Sendable, Codable {
    /// `retention-ended` or `request`.
    public var reason: String

    public init(reason: SubjectErased.Reason) { self.reason = reason.rawValue }
}

/// Children: registering and enrolling them, finding them by NSN or local reference, and erasing their details.
///
/// A child is one subject however many organisations know them. The first organisation registers them
/// (`subject.registered`); another that registers the same NSN enrols them (`subject.enrolled`), with an answer of
/// the same shape, so nobody learns whether another organisation knew the child.
public struct SubjectService: Sendable {
    let core: LedgerCore

    /// An NSN is this many ASCII digits.
    public static let nsnLengths = 9...10

    /// Registers a child for `actor.org`, or enrols a child already known by NSN to another organisation.
    public func register(_ input: SubjectInput, actor: EntryActor) async throws -> Recorded {
        // One registration at a time, so that two racing registrations of one NSN cannot both find it new.
        try await core.exclusive("registration") {
            try core.requireOrganisation(actor.org, field: "org")
            try checkBirthMonth(input.birthMonth)
            var identifiers: [SubjectVault.Identifier] = []
            if let nsn = input.nsn { identifiers.append(.nsn(try Self.nsn(nsn))) }
            if let reference = input.localReference {
                try FreeText.check(reference, field: "localReference", limit: 64)
                identifiers.append(.local(org: actor.org, reference: reference))
            }
            if let name = input.name { try checkText(name, field: "name", limit: 200) }
            if let notes = input.notes { try checkText(notes, field: "notes", limit: 4000) }
            // This organisation's own reference is its own to know about.
            for identifier in identifiers where identifier.isLocal {
                if try core.vault.find(identifier) != nil {
                    throw TiakiError(
                        .conflict,
                        "your organisation already registered a child with this localReference",
                        field: "localReference"
                    )
                }
            }
            if let nsn = identifiers.first(where: { !$0.isLocal }), let known = try core.vault.find(nsn),
                let subject = core.read({ $0.subjects[known] }), subject.erased == nil
            {
                guard !subject.isKnown(to: actor.org) else {
                    throw TiakiError(
                        .conflict,
                        "your organisation already registered a child with this NSN",
                        field: "nsn"
                    )
                }
                return try await enrol(subject: subject.id, input, identifiers: identifiers, actor: actor)
            }
            return try await registerNew(input, identifiers: identifiers, actor: actor)
        }
    }

    private func registerNew(
        _ input: SubjectInput,
        identifiers: [SubjectVault.Identifier],
        actor: EntryActor
    ) async throws -> Recorded {
        let vault = core.vault
        let subject = "s-" + vault.random.hex(8)
        do {
            try vault.recordRegistration(subject: subject, known: false, identifiers: identifiers)
            let body = try sealedBody(input, subject: subject) {
                SubjectRegistered(org: actor.org, birthMonth: input.birthMonth, nameSealed: $0, notesSealed: $1)
            }
            return try await core.append(ConsentEntry(actor: actor, subject: subject, body: body))
        } catch {
            // Nothing was acknowledged: leave no key or lookup row behind for a subject the ledger never saw.
            try? vault.erase(subject)
            throw error
        }
    }

    private func enrol(
        subject: String,
        _ input: SubjectInput,
        identifiers: [SubjectVault.Identifier],
        actor: EntryActor
    ) async throws -> Recorded {
        try await core.exclusive(subject) {
            let local = identifiers.filter(\.isLocal)
            // The same vault work as a new child's: nothing in the time taken says another school knew them.
            try core.vault.recordRegistration(subject: subject, known: true, identifiers: identifiers)
            do {
                let body = try sealedBody(input, subject: subject) {
                    SubjectEnrolled(org: actor.org, birthMonth: input.birthMonth, nameSealed: $0, notesSealed: $1)
                }
                return try await core.append(ConsentEntry(actor: actor, subject: subject, body: body))
            } catch {
                try? core.vault.removeLookup(local)
                throw error
            }
        }
    }

    /// The registration's body with its name and notes sealed under the child's key, read back from the vault
    /// (as a new child's and a known child's registration both do).
    private func sealedBody<Body>(
        _ input: SubjectInput,
        subject: String,
        _ make: (Sealed?, Sealed?) -> Body
    ) throws -> Body {
        guard let key = try core.vault.key(for: subject) else {
            throw TiakiError(.erased, "this child's personal details were erased", field: "subject")
        }
        return make(
            try input.name.map { try core.vault.seal($0, subject: subject, key: key) },
            try input.notes.map { try core.vault.seal($0, subject: subject, key: key) }
        )
    }

    func checkBirthMonth(_ text: String) throws {
        guard let month = Day(text + "-01"), text.utf8.count == 7 else {
            throw TiakiError(.invalid, "birthMonth must be YYYY-MM", field: "birthMonth")
        }
        guard month <= core.latestPastDay else {
            throw TiakiError(.invalid, "birthMonth \(text) has not come yet", field: "birthMonth")
        }
        let (year, _, _) = core.today.components
        guard month.components.year >= year - 30 else {
            throw TiakiError(.invalid, "birthMonth \(text) is more than 30 years ago", field: "birthMonth")
        }
    }

    func checkText(_ text: String, field: String, limit: Int) throws {
        try FreeText.check(text, field: field, limit: limit, multiline: field == "notes")
    }

    /// The child registered under an NSN, or under an organisation's local reference, if `caller` may see them.
    ///
    /// A member finds only children their organisation knows (a child another organisation registered is not
    /// found: the same answer as for an NSN nobody knows), and only by their own references. A privacy officer finds
    /// any child by NSN, or by the reference an organisation (`org`) gave them. An NSN may be typed with spaces or
    /// dashes.
    public func find(
        nsn: String? = nil,
        localReference: String? = nil,
        org: String? = nil,
        for caller: Caller
    ) throws -> String? {
        try caller.require(.findChild)
        let scope = caller.role == .member ? caller.org : nil
        let found: String?
        if let nsn {
            found = try core.vault.find(.nsn(try Self.nsn(nsn)))
        } else if let localReference, let owner = scope ?? org {
            if let scope, let org, org != scope {
                throw TiakiError(
                    .invalid,
                    "a member finds children by their own organisation's references",
                    field: "org"
                )
            }
            found = try core.vault.find(.local(org: owner, reference: localReference))
        } else if localReference != nil {
            throw TiakiError(.invalid, "say which organisation gave the reference", field: "org")
        } else {
            found = nil
        }
        guard let found else { return nil }
        return core.read { state in
            guard let subject = state.subjects[found], subject.erased == nil else { return nil }
            return scope.map { subject.isKnown(to: $0) } ?? true ? found : nil
        }
    }

    /// An NSN as typed (spaces and dashes between its digits allowed), as its digits; refused unless 9 or 10.
    public static func nsn(_ typed: String) throws -> String {
        let digits = String(typed.unicodeScalars.filter { $0 != " " && $0 != "-" && $0 != "\u{00A0}" })
        guard nsnLengths.contains(digits.utf8.count), digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw TiakiError(.invalid, "an NSN is 9 or 10 digits, 0 to 9, and nothing else", field: "nsn")
        }
        return digits
    }

    /// Erases a subject's personal details: appends `subject.erased`, then destroys the key and lookup rows.
    ///
    /// The entry comes first so the erasure is on record even if the process stops before the key is gone; the
    /// next start finishes it.
    public func erase(_ subject: String, _ input: ErasureInput, actor: EntryActor) async throws -> Recorded {
        guard let reason = SubjectErased.Reason(rawValue: input.reason) else {
            throw TiakiError(
                .invalid,
                "reason must be \(SubjectErased.Reason.allCases.map(\.rawValue).joined(separator: " or "))",
                field: "reason"
            )
        }
        return try await core.exclusive(subject) {
            _ = try core.requireLiveSubject(subject)
            let recorded = try await core.append(
                ConsentEntry(
                    actor: actor,
                    subject: subject,
                    body: SubjectErased(reason: reason, date: core.stampDay.description)
                )
            )
            try core.vault.erase(subject)
            return recorded
        }
    }

    /// The subject as the state holds it.
    public func subject(_ id: String) -> ConsentState.Subject? { core.read { $0.subjects[id] } }

    /// The child's name as the organisation that registered them gave it, while the vault holds their key.
    public func name(of subject: String) throws -> String? {
        guard let index = try core.ledger.indexes(forKey: subject).first,
            let r = try core.entry(at: index)?.body as? SubjectRegistered
        else { return nil }
        return try r.nameSealed.flatMap { try core.unseal($0, subject: subject) }
    }

    /// The breaches that touched the child (their `breach.recorded` entries): filed under no child, they are
    /// found from the register and added to the child's report.
    public func breachEntries(of subject: String) -> [UInt64] {
        core.read { s in s.breaches.values.filter { $0.affected[subject] != nil }.map(\.index).sorted() }
    }
}

extension SubjectVault.Identifier {
    var isLocal: Bool {
        if case .local = self { return true }
        return false
    }
}
