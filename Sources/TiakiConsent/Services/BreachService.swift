import Foundation
import TiakiLedger
public import TiakiModel

/// A privacy breach as a privacy officer records it: when it was found, what happened, and what it touched — the
/// disclosures to a recipient (in a date range), by a channel (in a date range), or a list of disclosures.
public struct BreachInput: Sendable, Codable {
    /// When it was found (RFC 3339, e.g. `2026-12-01T09:30:00+13:00`).
    public var found: String
    public var description: String
    public var recipient: String?
    public var channel: String?
    public var from: String?
    public var to: String?
    public var disclosures: [Int]?

    public init(
        found: String,
        description: String,
        recipient: String? = nil,
        channel: String? = nil,
        from: String? = nil,
        to: String? = nil,
        disclosures: [Int]? = nil
    ) {
        self.found = found
        self.description = description
        self.recipient = recipient
        self.channel = channel
        self.from = from
        self.to = to
        self.disclosures = disclosures
    }
}

/// The assessment of a breach: likely to cause serious harm or not, the factors that weighed, and why.
public struct BreachAssessmentInput: Sendable, Codable {
    public var seriousHarm: Bool
    public var factors: [String]
    public var reasons: String
    /// When (RFC 3339; default now).
    public var assessed: String?

    public init(seriousHarm: Bool, factors: [BreachAssessed.Factor], reasons: String, assessed: String? = nil) {
        self.seriousHarm = seriousHarm
        self.factors = factors.map(\.rawValue)
        self.reasons = reasons
        self.assessed = assessed
    }
}

/// The Commissioner's acknowledgement of a breach notification: its reference, and when it was made.
public struct CommissionerNotificationInput: Sendable, Codable {
    public var reference: String
    public var notified: String?

    public init(reference: String, notified: String? = nil) {
        self.reference = reference
        self.notified = notified
    }
}

/// A breach notice sent to one affected child's whānau.
public struct BreachNoticeInput: Sendable, Codable {
    public var date: String?
    public var method: String
    public var languages: [String]?

    public init(date: String? = nil, method: NoticeSent.Method, languages: [String]? = nil) {
        self.date = date
        self.method = method.rawValue
        self.languages = languages
    }
}

/// One line of the breach register.
public struct BreachSummary: Sendable, Codable {
    public var breach: String
    public var index: UInt64
    public var found: String
    public var children: Int
    public var status: String
    public var assessBy: String
    public var notifyBy: String
    public var overdue: Bool
}

/// The breach register (Privacy Act 2020, Part 6), for privacy officers.
public struct BreachService: Sendable {
    let core: LedgerCore
    let duties: Duties

    var now: Moment { Moment(core.ledger.configuration.clock()) }

    /// A moment given by the caller, of something that has happened (a minute's allowance for clocks).
    func pastMoment(_ text: String, field: String) throws -> Moment {
        guard let m = Moment(text) else {
            throw TiakiError(
                .invalid,
                "\(field) must be a date and time, RFC 3339 (e.g. 2026-12-01T09:30:00+13:00)",
                field: field
            )
        }
        guard m.seconds <= now.seconds + 60 else {
            throw TiakiError(.invalid, "\(field) is \(m.plainNZ), which has not come yet", field: field)
        }
        return m
    }

    func requireText(_ text: String, field: String, what: String) throws {
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, text.unicodeScalars.count <= 4000 else {
            throw TiakiError(.invalid, "\(what): \(field), 1 to 4000 characters", field: field)
        }
        try FreeText.check(text, field: field, limit: 4000, multiline: true)
    }

    /// Records a breach (`breach.recorded`) with the children Tiaki finds it touched: every disclosure that
    /// matches its scope. The description is sealed to a key of the breach's own.
    public func record(_ input: BreachInput, actor: EntryActor) async throws -> Recorded {
        let found = try pastMoment(input.found, field: "found")
        try requireText(input.description, field: "description", what: "say what happened")
        var scope = BreachScope()
        if let list = input.disclosures {
            guard !list.isEmpty, list.count <= 10_000 else {
                throw TiakiError(.invalid, "disclosures lists 1 to 10,000 disclosures", field: "disclosures")
            }
            guard input.recipient == nil, input.channel == nil, input.from == nil, input.to == nil else {
                throw TiakiError(
                    .invalid,
                    "a breach names either its disclosures, or a recipient or channel with dates, not both",
                    field: "disclosures"
                )
            }
            scope.disclosures = Array(Set(list)).sorted()
        } else {
            guard input.recipient != nil || input.channel != nil else {
                throw TiakiError(
                    .invalid,
                    "say what the breach touched: a recipient or a channel (with from and to), or the disclosures",
                    field: "recipient"
                )
            }
            if let recipient = input.recipient {
                try core.requireOrganisation(recipient, field: "recipient", role: "recipient")
            }
            if let channel = input.channel { try core.requireCode(channel, .channel, field: "channel") }
            let from = try input.from.map { try core.pastDay($0, field: "from", what: "the breach began") }
            let to = try input.to.map { try core.pastDay($0, field: "to", what: "the breach ended") }
            if let from, let to, to < from {
                throw TiakiError(
                    .invalid,
                    "to (\(to.plain)) is before from (\(from.plain)); the range runs forwards",
                    field: "to"
                )
            }
            scope.recipient = input.recipient
            scope.channel = input.channel
            scope.from = from?.description
            scope.to = to?.description
        }
        let affected = try affected(by: scope)
        guard !affected.isEmpty else {
            throw TiakiError(
                .invalid,
                "no disclosure in the ledger matches what the breach touched; check the recipient, channel, dates or disclosures",
                field: scope.disclosures == nil ? (scope.recipient != nil ? "recipient" : "channel") : "disclosures"
            )
        }
        let id = "b-" + core.vault.random.hex(8)
        let key = try core.vault.createKey(for: id)
        let sealed = try core.vault.seal(input.description, subject: id, key: key)
        return try await core.append(
            ConsentEntry(
                actor: actor,
                body: BreachRecorded(
                    breach: id,
                    found: found.description,
                    descriptionSealed: sealed,
                    scope: scope,
                    affected: affected
                )
            )
        )
    }

    /// Every disclosure that matches `scope`, grouped by child: a list is read entry by entry; a recipient or a
    /// channel takes one pass over the ledger's disclosures (a breach is rare; its record keeps the answer).
    func affected(by scope: BreachScope) throws -> [BreachRecorded.Affected] {
        var byChild: [String: BreachRecorded.Affected] = [:]
        var order: [String] = []
        func add(_ index: Int, _ entry: ConsentEntry, _ d: DisclosureRecord) {
            guard let subject = entry.subject else { return }
            if byChild[subject] == nil {
                order.append(subject)
                byChild[subject] = .init(subject: subject, disclosures: [], information: [])
            }
            byChild[subject]?.disclosures.append(index)
            for i in d.share.information where byChild[subject]?.information.contains(i) == false {
                byChild[subject]?.information.append(i)
            }
        }
        if let list = scope.disclosures {
            for (i, index) in list.enumerated() {
                guard index >= 0, let entry = try core.entry(at: UInt64(index)),
                    let d = entry.body as? DisclosureRecord
                else {
                    throw TiakiError(
                        .unknownDisclosure,
                        "entry \(index) is not a disclosure",
                        field: "disclosures[\(i)]"
                    )
                }
                add(index, entry, d)
            }
        } else {
            let size = core.ledger.checkpoint.size
            var start: UInt64 = 0
            while start < size {
                let end = min(size, start + 4096)
                for (offset, bytes) in try core.ledger.entries(in: start..<end).enumerated()
                where ConsentEntry.kind(ofCanonical: bytes) == .disclosure {
                    guard let entry = try? ConsentEntry(bytes: bytes), let d = entry.body as? DisclosureRecord,
                        let day = Day(d.date)
                    else { continue }
                    let index = Int(start) + offset
                    if scope.matches(index: index, recipient: d.share.recipient, channel: d.share.channel, day: day) {
                        add(index, entry, d)
                    }
                }
                start = end
            }
        }
        return order.compactMap { byChild[$0] }
    }

    func requireBreach(_ id: String) throws -> ConsentState.Breach {
        guard let b = core.read({ $0.breaches[id] }) else {
            throw TiakiError(.unknownBreach, "no breach \(id)", field: "breach")
        }
        return b
    }

    /// Records the assessment (`breach.assessed`), once.
    public func assess(_ id: String, _ input: BreachAssessmentInput, actor: EntryActor) async throws -> Recorded {
        let breach = try requireBreach(id)
        var factors: [BreachAssessed.Factor] = []
        for (i, f) in input.factors.enumerated() {
            guard let factor = BreachAssessed.Factor(rawValue: f) else {
                throw TiakiError(
                    .invalid,
                    "\(f) is not a factor of section 113; one of \(BreachAssessed.Factor.allCases.map(\.rawValue).joined(separator: ", "))",
                    field: "factors[\(i)]"
                )
            }
            if !factors.contains(factor) { factors.append(factor) }
        }
        guard !factors.isEmpty else {
            throw TiakiError(.invalid, "name the factors that weighed (section 113): factors", field: "factors")
        }
        try requireText(input.reasons, field: "reasons", what: "say why")
        let assessed = try input.assessed.map { try pastMoment($0, field: "assessed") } ?? now
        guard assessed.seconds >= Moment(breach.found)?.seconds ?? 0 else {
            throw TiakiError(.invalid, "assessed is before the breach was found", field: "assessed")
        }
        return try await core.exclusive(id) {
            if let a = core.read({ $0.breaches[id]?.assessment }) {
                throw TiakiError(.conflict, "breach \(id) was already assessed (entry \(a.index))")
            }
            let reasons = try sealToBreach(input.reasons, breach: id)
            return try await core.append(
                ConsentEntry(
                    actor: actor,
                    body: BreachAssessed(
                        breach: id,
                        assessed: assessed.description,
                        seriousHarm: input.seriousHarm,
                        factors: factors,
                        reasonsSealed: reasons
                    )
                )
            )
        }
    }

    func sealToBreach(_ text: String, breach: String) throws -> Sealed {
        guard let key = try core.vault.key(for: breach) else {
            throw TiakiError(.unavailable, "the key of breach \(breach) is missing from the vault")
        }
        return try core.vault.seal(text, subject: breach, key: key)
    }

    /// Records that the Commissioner was notified (`breach.commissioner-notified`), once, after an assessment.
    public func commissionerNotified(
        _ id: String,
        _ input: CommissionerNotificationInput,
        actor: EntryActor
    )
        async throws -> Recorded
    {
        let breach = try requireBreach(id)
        let reference = input.reference.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reference.isEmpty, reference.unicodeScalars.count <= 100,
            FreeText.forbidden(in: reference, multiline: false) == nil
        else {
            throw TiakiError(
                .invalid,
                "give the reference the Commissioner's office gave: reference, 1 to 100 characters",
                field: "reference"
            )
        }
        let notified = try input.notified.map { try pastMoment($0, field: "notified") } ?? now
        guard notified.seconds >= Moment(breach.found)?.seconds ?? 0 else {
            throw TiakiError(.invalid, "notified is before the breach was found", field: "notified")
        }
        return try await core.exclusive(id) {
            guard let current = core.read({ $0.breaches[id] }), current.assessment != nil else {
                throw TiakiError(
                    .conflict,
                    "breach \(id) has not been assessed; record the assessment first",
                    field: "breach"
                )
            }
            if let n = current.commissionerNotified {
                throw TiakiError(
                    .conflict,
                    "the Commissioner's notification of breach \(id) was already recorded (entry \(n.index))"
                )
            }
            return try await core.append(
                ConsentEntry(
                    actor: actor,
                    body: BreachCommissionerNotified(breach: id, notified: notified.description, reference: reference)
                )
            )
        }
    }

    /// Records the breach notice sent to an affected child's whānau (`notice.sent` naming the breach), once.
    public func noticeSent(
        _ id: String,
        subject: String,
        _ input: BreachNoticeInput,
        actor: EntryActor
    )
        async throws -> Recorded
    {
        let breach = try requireBreach(id)
        guard breach.affected[subject] != nil else {
            throw TiakiError(
                .unknownSubject,
                "child \(subject) is not among those breach \(id) affected",
                field: "subject"
            )
        }
        guard let method = NoticeSent.Method(rawValue: input.method) else {
            throw TiakiError(
                .invalid,
                "method must be one of \(NoticeSent.Method.allCases.map(\.rawValue).joined(separator: ", "))",
                field: "method"
            )
        }
        let languages = try NoticeService.languages(input.languages)
        let day =
            try input.date.map { try core.pastDay($0, field: "date", what: "the notice was sent") } ?? core.stampDay
        guard let found = Moment(breach.found), day >= found.day else {
            throw TiakiError(.invalid, "date is before the breach was found", field: "date")
        }
        return try await core.exclusive(subject) {
            if let sent = core.read({ $0.breaches[id]?.noticesSent[subject] }) {
                throw TiakiError(
                    .conflict,
                    "the whānau of child \(subject) were already told of breach \(id) (entry \(sent))"
                )
            }
            return try await core.append(
                ConsentEntry(
                    actor: actor,
                    subject: subject,
                    body: NoticeSent(breach: id, date: day.description, method: method, languages: languages)
                )
            )
        }
    }

    /// The register: every breach, newest first, with where it stands.
    public func list() -> [BreachSummary] {
        let breaches = core.read { $0.breaches.values.sorted { $0.index > $1.index } }
        let now = now
        return breaches.map { b in
            let (status, assessBy, notifyBy) = clocks(b)
            let overdue =
                (status == "assessment-due" && now > assessBy) || (status == "notification-due" && now > notifyBy)
            return BreachSummary(
                breach: b.id,
                index: b.index,
                found: b.found,
                children: b.affected.count,
                status: status,
                assessBy: assessBy.description,
                notifyBy: notifyBy.description,
                overdue: overdue
            )
        }
    }

    func clocks(_ b: ConsentState.Breach) -> (status: String, assessBy: Moment, notifyBy: Moment) {
        let found = Moment(b.found) ?? Moment(seconds: 0)
        let status: String
        if b.assessment == nil {
            status = "assessment-due"
        } else if b.assessment?.seriousHarm == false {
            status = "not-notifiable"
        } else {
            status = b.notificationOutstanding ? "notification-due" : "notified"
        }
        return (
            status, found.adding(hours: duties.breachAssessmentHours),
            found.adding(hours: duties.breachNotificationHours)
        )
    }

    /// Everything about a breach, for the register's page, the report and the notices: read from its entries,
    /// the organisations and the vault.
    public func facts(_ id: String) throws -> BreachFacts {
        let b = try requireBreach(id)
        guard let recorded = try core.entry(at: b.index)?.body as? BreachRecorded else {
            throw TiakiError(.unknownBreach, "no breach \(id)", field: "breach")
        }
        let description = try core.vault.open(recorded.descriptionSealed, subject: id)
        var assessment: BreachFacts.Assessment?
        if let a = b.assessment, let body = try core.entry(at: a.index)?.body as? BreachAssessed {
            assessment = .init(
                index: a.index,
                assessed: body.assessed,
                seriousHarm: body.seriousHarm,
                factors: body.factors.map { Labelled(code: $0.rawValue, label: $0.words) },
                reasons: try core.vault.open(body.reasonsSealed, subject: id)
            )
        }
        var reference: String?
        if let n = b.commissionerNotified {
            reference = (try core.entry(at: n.index)?.body as? BreachCommissionerNotified)?.reference
        }
        func label(_ code: String) -> Labelled {
            Labelled(code: code, label: core.vocabulary.label(code, in: .information))
        }
        let sensitiveCodes = Set(duties.sensitiveInformation)
        var children: [BreachFacts.Child] = []
        var information: [String] = []
        var recipientIds: [String] = []
        for a in recorded.affected {
            let name = try SubjectService(core: core).name(of: a.subject)
            children.append(
                .init(
                    subject: a.subject,
                    childName: name,
                    disclosures: a.disclosures,
                    information: a.information.map(label),
                    sensitive: a.information.filter { sensitiveCodes.contains($0) }.map(label),
                    noticeSent: b.noticesSent[a.subject]
                )
            )
            for i in a.information where !information.contains(i) { information.append(i) }
            for d in a.disclosures {
                if let r = (try core.entry(at: UInt64(d))?.body as? DisclosureRecord)?.share.recipient,
                    !recipientIds.contains(r)
                {
                    recipientIds.append(r)
                }
            }
        }
        let orgs = core.read { $0.organisations }
        let (status, assessBy, notifyBy) = clocks(b)
        return BreachFacts(
            breach: id,
            index: b.index,
            found: b.found,
            description: description,
            scope: recorded.scope,
            agency: NoticeOrganisation(orgs[b.recordedBy], id: b.recordedBy),
            recipients: recipientIds.map { NoticeOrganisation(orgs[$0], id: $0) },
            children: children,
            information: information.map(label),
            sensitive: information.filter { sensitiveCodes.contains($0) }.map(label),
            assessment: assessment,
            commissionerNotified: b.commissionerNotified?.time,
            commissionerReference: reference,
            assessBy: assessBy.description,
            notifyBy: notifyBy.description,
            status: status
        )
    }
}
