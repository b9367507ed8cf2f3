import Foundation
import TiakiLedger
public import TiakiModel

/// A recipient's acknowledgement of a withdrawal: the date (default today).
public struct AcknowledgementInput: Sendable, Codable {
    public var date: String?

    public init(date: String? = nil) { self.date = date }
}

/// A withdrawal, as the organisation told of it sees it.
public struct WithdrawalNotice: Sendable, Codable {
    public enum Status: String, Sendable, Codable, CaseIterable {
        case due
        case acknowledged
    }

    /// What was shared with the organisation under the consent.
    public struct Shared: Sendable, Codable {
        public var disclosure: Int
        public var date: String
        public var information: [String]
        public var purpose: String
    }

    public var consent: Int
    public var subject: String
    public var withdrawn: String
    public var by: String
    public var shared: [Shared]
    /// What to do, in plain words.
    public var action: String
    public var acknowledgeBy: String
    public var status: Status
    /// The acknowledgement's ledger index, once given.
    public var acknowledgement: UInt64?
}

/// An IPP 3A notice the recipient of a disclosure owes the whānau, as its members see it.
public struct CollectionNoticeView: Sendable, Codable {
    public enum Status: String, Sendable, Codable, CaseIterable {
        case due, sent, exception
    }

    public var disclosure: Int
    public var subject: String
    /// The organisation that shared the information, and the day.
    public var sharedBy: String
    public var shared: String
    public var information: [String]
    public var purpose: String
    public var dueBy: String
    public var overdue: Bool
    public var status: Status
    /// The `notice.sent` or `notice.exception` entry, once recorded; who sent it.
    public var recorded: UInt64?
    public var sentBy: String?
    /// What to do, in plain words.
    public var action: String
}

/// Which notices to list: those still to act on, those done, or all.
public enum NoticeFilter: String, Sendable, CaseIterable {
    case due, done, all

    func keeps(due isDue: Bool) -> Bool { self == .all || (self == .due) == isDue }
}

/// Everything an organisation must act on after a share, as `GET /v1/notices` and `tiaki notices list` give it.
public struct NoticeList: Sendable, Encodable {
    /// How many of each list a page shows unless asked for more: the oldest, most urgent first.
    public static let defaultLimit = 25

    public var org: String
    public var asOf: String
    public var limit: Int
    public var collections: Page<CollectionNoticeView>
    public var withdrawals: Page<WithdrawalNotice>
    public var renewals: Page<RenewalReminder>
}

/// A consent the school recorded that comes off the register soon: ask the whānau whether to renew it.
public struct RenewalReminder: Sendable, Codable {
    public var consent: Int
    public var subject: String
    public var retentionUntil: String
    public var daysLeft: Int
    public var action: String
}

/// An IPP 3A notice sent to the whānau: the disclosures it covers (all about one child), the day, how, and in
/// which languages.
public struct NoticeSentInput: Sendable, Codable {
    public var disclosures: [Int]
    public var date: String?
    public var method: String
    public var languages: [String]?

    public init(disclosures: [Int], date: String? = nil, method: NoticeSent.Method, languages: [String]? = nil) {
        self.disclosures = disclosures
        self.date = date
        self.method = method.rawValue
        self.languages = languages
    }
}

/// A privacy officer's exception to an IPP 3A notice: the code and the reason.
public struct NoticeExceptionInput: Sendable, Codable {
    public var code: String
    public var reason: String
    public var date: String?

    public init(code: NoticeException.Code, reason: String, date: String? = nil) {
        self.code = code.rawValue
        self.reason = reason
        self.date = date
    }
}

/// The duties after a share: IPP 3A notices recipients owe the whānau, withdrawals recipients must acknowledge,
/// and consents coming off the register. Everything here reads the consent state (kept up to date with every
/// commit) and the few entries it names; nothing rescans the ledger.
public struct NoticeService: Sendable {
    let core: LedgerCore
    let duties: Duties

    /// What `org` must act on, on `day`: its IPP 3A notices, the withdrawals it was told of, and (unless only
    /// what is done is asked for) its consents to renew; at most `limit` of each, oldest first, with totals.
    public func list(for org: String, on day: Day, filter: NoticeFilter, limit: Int) throws -> NoticeList {
        NoticeList(
            org: org,
            asOf: day.description,
            limit: limit,
            collections: try collectionNotices(for: org, on: day, filter: filter, limit: limit),
            withdrawals: try withdrawalNotices(for: org, filter: filter, limit: limit),
            renewals: filter == .done ? Page(items: [], total: 0) : renewals(for: org, on: day, limit: limit)
        )
    }

    // MARK: IPP 3A

    /// Whether the recipient of `share` owes the whānau an IPP 3A notice, for a disclosure on `day` relying on
    /// `decision`: not when a consent the decision relied on named this recipient (or its kind), this purpose and
    /// all of this information — the whānau were told then; otherwise due, within the policy's working days.
    func collectionNoticeDuty(share: Share, day: Day, decision: DecisionRecord?) -> CollectionNoticeDuty {
        if let decision, decision.effect == .permit {
            let told: Int? = core.read { state in
                guard let kind = state.organisations[share.recipient]?.kind,
                    let kindBit = state.codes.bit(kind, .organisationKind),
                    let purpose = state.codes.bit(share.purpose, .purpose)
                else { return nil }
                let information = share.information.compactMap { state.codes.bit($0, .information) }
                guard information.count == share.information.count else { return nil }
                return decision.consents.first { id in
                    guard let c = state.consents[id] else { return false }
                    return (c.audienceKinds.contains(kindBit) || c.audienceOrganisations.contains(share.recipient))
                        && c.purposes.contains(purpose) && information.allSatisfy { c.information.contains($0) }
                }
            }
            if let told { return CollectionNoticeDuty(due: false, consent: told) }
        }
        return CollectionNoticeDuty(due: true, by: duties.collectionNoticeDue(sharedOn: day).description)
    }

    /// The IPP 3A notices `org` owes as recipient, oldest first: the first `limit` that `filter` keeps, and how
    /// many it keeps in all. Reads one entry per notice returned, none for the others.
    public func collectionNotices(
        for org: String,
        on day: Day,
        filter: NoticeFilter = .all,
        limit: Int = .max
    )
        throws -> Page<CollectionNoticeView>
    {
        let kept = core.read { state in
            filter == .due
                ? (state.collectionNoticesDue[org] ?? []).prefix(max(0, limit)).compactMap {
                    state.collectionNotices[$0]
                }
                : (state.collectionNoticesByOrg[org] ?? []).compactMap { state.collectionNotices[$0] }
                    .filter { filter.keeps(due: $0.outcome == nil) }
        }
        let total = filter == .due ? core.read { $0.collectionNoticesDue[org]?.count ?? 0 } : kept.count
        let page = Array(kept.prefix(max(0, limit)))
        let entries = try core.entries(at: page.compactMap { UInt64(exactly: $0.disclosure) })
        let items = page.compactMap { n -> CollectionNoticeView? in
            let s: CollectionNoticeView.Status
            var recorded: UInt64?
            var sentBy: String?
            switch n.outcome {
            case nil: s = .due
            case .sent(let index, let by):
                s = .sent
                recorded = index
                sentBy = by
            case .exception(let index):
                s = .exception
                recorded = index
            }
            guard let i = UInt64(exactly: n.disclosure), let d = entries[i]?.body as? DisclosureRecord else {
                return nil
            }
            let overdue = s == .due && day > n.dueBy
            let action =
                s == .due
                ? "You received \(d.share.information.joined(separator: ", ")) about child \(n.subject) from \(n.discloser) on \(n.shared.plain), which the whānau did not agree to share with you. Tell them you hold it, why, and how to see and correct it (IPP 3A), by \(n.dueBy.plain)\(overdue ? " — this is overdue" : ""), and record the notice sent; or ask your privacy officer whether an exception applies."
                : "Nothing to do: the notice was \(s == .sent ? "sent" : "excused by a privacy officer")."
            return CollectionNoticeView(
                disclosure: n.disclosure,
                subject: n.subject,
                sharedBy: n.discloser,
                shared: n.shared.description,
                information: d.share.information,
                purpose: d.share.purpose,
                dueBy: n.dueBy.description,
                overdue: overdue,
                status: s,
                recorded: recorded,
                sentBy: sentBy,
                action: action
            )
        }
        return Page(items: items, total: total)
    }

    /// Records an IPP 3A notice sent to the whānau (`notice.sent`) for disclosures about one child. The sender is
    /// the recipient of each, or the organisation that made the share, notifying on the recipients' behalf.
    public func recordSent(_ input: NoticeSentInput, actor: EntryActor) async throws -> Recorded {
        guard !input.disclosures.isEmpty else {
            throw TiakiError(.invalid, "name the disclosures the notice covers: disclosures", field: "disclosures")
        }
        guard input.disclosures.count <= 100, Set(input.disclosures).count == input.disclosures.count else {
            throw TiakiError(.invalid, "disclosures lists 1 to 100 different disclosures", field: "disclosures")
        }
        guard let method = NoticeSent.Method(rawValue: input.method) else {
            throw TiakiError(
                .invalid,
                "method must be one of \(NoticeSent.Method.allCases.map(\.rawValue).joined(separator: ", "))",
                field: "method"
            )
        }
        let languages = try Self.languages(input.languages)
        func owed(_ i: Int) -> ConsentState.CollectionNotice? { core.read { $0.collectionNotices[i] } }
        guard let first = owed(input.disclosures[0]),
            first.recipient == actor.org || first.discloser == actor.org
        else {
            throw TiakiError(
                .unknownDisclosure,
                "no IPP 3A notice is owed for disclosure \(input.disclosures[0]) by or on behalf of \(actor.org)",
                field: "disclosures[0]"
            )
        }
        return try await core.exclusive(first.subject) {
            var recipients: [String] = []
            var latestShare = first.shared
            for (i, id) in input.disclosures.enumerated() {
                guard let n = owed(id), n.recipient == actor.org || n.discloser == actor.org else {
                    throw TiakiError(
                        .unknownDisclosure,
                        "no IPP 3A notice is owed for disclosure \(id) by or on behalf of \(actor.org)",
                        field: "disclosures[\(i)]"
                    )
                }
                guard n.subject == first.subject else {
                    throw TiakiError(
                        .invalid,
                        "disclosure \(id) is about another child; one notice goes to one child's whānau",
                        field: "disclosures[\(i)]"
                    )
                }
                if n.outcome != nil {
                    throw TiakiError(
                        .conflict,
                        "the notice for disclosure \(id) was already recorded",
                        field: "disclosures[\(i)]"
                    )
                }
                if n.recipient != actor.org, !recipients.contains(n.recipient) { recipients.append(n.recipient) }
                latestShare = max(latestShare, n.shared)
            }
            let day =
                try input.date.map { try core.pastDay($0, field: "date", what: "the notice was sent") } ?? core.stampDay
            guard day >= latestShare else {
                throw TiakiError(
                    .invalid,
                    "date \(day.plain) is before the information was shared (\(latestShare.plain))",
                    field: "date"
                )
            }
            return try await core.append(
                ConsentEntry(
                    actor: actor,
                    subject: first.subject,
                    body: NoticeSent(
                        disclosures: input.disclosures,
                        date: day.description,
                        method: method,
                        onBehalfOf: recipients.isEmpty ? nil : recipients,
                        languages: languages
                    )
                )
            )
        }
    }

    static func languages(_ given: [String]?) throws -> [String] {
        let languages = given ?? ["en"]
        guard !languages.isEmpty, languages.count <= 2, Set(languages).count == languages.count else {
            throw TiakiError(.invalid, "languages is en, mi or both", field: "languages")
        }
        for (i, l) in languages.enumerated() where l != "en" && l != "mi" {
            throw TiakiError(
                .invalid,
                "\(l) is not a language Tiaki writes notices in: en or mi",
                field: "languages[\(i)]"
            )
        }
        return languages
    }

    /// Records a privacy officer's exception to an IPP 3A notice (`notice.exception`), with its reason (sealed).
    public func recordException(
        _ disclosure: Int,
        _ input: NoticeExceptionInput,
        actor: EntryActor
    ) async throws
        -> Recorded
    {
        guard let code = NoticeException.Code(rawValue: input.code) else {
            throw TiakiError(
                .invalid,
                "code must be one of \(NoticeException.Code.allCases.map(\.rawValue).joined(separator: ", "))",
                field: "code"
            )
        }
        guard let owed = core.read({ $0.collectionNotices[disclosure] }) else {
            throw TiakiError(
                .unknownDisclosure,
                "no IPP 3A notice is owed for disclosure \(disclosure)",
                field: "disclosure"
            )
        }
        let reason = input.reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty, input.reason.unicodeScalars.count <= 4000 else {
            throw TiakiError(.invalid, "say why the exception applies: reason, 1 to 4000 characters", field: "reason")
        }
        try FreeText.check(input.reason, field: "reason", limit: 4000, multiline: true)
        return try await core.exclusive(owed.subject) {
            if core.read({ $0.collectionNotices[disclosure]?.outcome }) != nil {
                throw TiakiError(.conflict, "the notice for disclosure \(disclosure) was already recorded")
            }
            let day =
                try input.date.map { try core.pastDay($0, field: "date", what: "of the exception") } ?? core.stampDay
            guard day >= owed.shared else {
                throw TiakiError(.invalid, "date is before the information was shared", field: "date")
            }
            return try await core.append(
                ConsentEntry(
                    actor: actor,
                    subject: owed.subject,
                    body: NoticeException(
                        disclosure: disclosure,
                        code: code,
                        date: day.description,
                        reasonSealed: try core.seal(input.reason, subject: owed.subject)
                    )
                )
            )
        }
    }

    /// What an IPP 3A notice for `disclosure` says, filled from the ledger, the organisations and the vault, for
    /// the recipient or the organisation that shared (or a privacy officer).
    public func collectionNoticeFacts(_ disclosure: Int, for caller: Caller) throws -> CollectionNoticeFacts {
        let owed = core.read { $0.collectionNotices[disclosure] }
        guard let owed, caller.role != .member || owed.recipient == caller.org || owed.discloser == caller.org,
            let d = try core.entry(at: UInt64(disclosure))?.body as? DisclosureRecord
        else {
            throw TiakiError(
                .unknownDisclosure,
                "no IPP 3A notice is owed for disclosure \(disclosure)",
                field: "disclosure"
            )
        }
        let (recipient, source) = core.read { s in (s.organisations[owed.recipient], s.organisations[owed.discloser]) }
        let name = try SubjectService(core: core).name(of: owed.subject)
        return CollectionNoticeFacts(
            disclosure: disclosure,
            subject: owed.subject,
            childName: name,
            shared: owed.shared.description,
            purpose: .init(code: d.share.purpose, label: core.vocabulary.label(d.share.purpose, in: .purpose)),
            information: d.share.information.map {
                .init(code: $0, label: core.vocabulary.label($0, in: .information))
            },
            collector: NoticeOrganisation(recipient, id: owed.recipient),
            source: NoticeOrganisation(source, id: owed.discloser),
            dueBy: owed.dueBy.description
        )
    }

    // MARK: Renewals

    /// The consents `org` recorded that are in force and come off the register within the policy's window.
    public func renewals(for org: String, on day: Day, limit: Int = .max) -> Page<RenewalReminder> {
        let horizon = Day(number: day.number + Int32(clamping: duties.renewalWindowDays))
        let due = core.read { state in
            (day.number...horizon.number).flatMap { n in
                (state.consentsByRetention[Day(number: n)] ?? []).compactMap { id -> ConsentState.Consent? in
                    guard let c = state.consents[id], c.recordedBy == org, c.isCurrent(on: day),
                        state.subjects[c.subject]?.erased == nil
                    else { return nil }
                    return c
                }
            }
        }
        let items = due.sorted { ($0.retentionUntil, $0.id) < ($1.retentionUntil, $1.id) }.prefix(max(0, limit)).map {
            c in
            let left = Int(c.retentionUntil.number - day.number)
            return RenewalReminder(
                consent: c.id,
                subject: c.subject,
                retentionUntil: c.retentionUntil.description,
                daysLeft: left,
                action:
                    "Consent \(c.id) for child \(c.subject) comes off the register on \(c.retentionUntil.plain), in \(left) day\(left == 1 ? "" : "s"). Ask the whānau whether to renew it; if they do, record the new consent with supersedes \(c.id)."
            )
        }
        return Page(items: Array(items), total: due.count)
    }

    // MARK: Withdrawals
    /// A recipient's acknowledgement that a consent it received information under was withdrawn
    /// (`withdrawal.acknowledged`).
    public func acknowledgeWithdrawal(_ consent: Int, date: String?, actor: EntryActor) async throws -> Recorded {
        guard let known = core.read({ $0.consents[consent] }) else {
            throw TiakiError(.unknownConsent, "no consent \(consent)", field: "consent")
        }
        return try await core.exclusive(known.subject) {
            guard let current = core.read({ $0.consents[consent] }), let withdrawn = current.withdrawn,
                current.notify.contains(actor.org)
            else {
                // Only an organisation that was told may acknowledge; to anyone else there is nothing here.
                throw TiakiError(
                    .unknownConsent,
                    "no withdrawal of consent \(consent) was sent to \(actor.org)",
                    field: "consent"
                )
            }
            if current.acknowledged[actor.org] != nil {
                throw TiakiError(.conflict, "\(actor.org) already acknowledged the withdrawal of consent \(consent)")
            }
            let day = try date.map { try core.pastDay($0, field: "date", what: "it was acknowledged") } ?? core.stampDay
            guard day >= withdrawn.date else {
                throw TiakiError(
                    .invalid,
                    "date \(day.plain) is before the consent was withdrawn (\(withdrawn.date.plain))",
                    field: "date"
                )
            }
            return try await core.append(
                ConsentEntry(
                    actor: actor,
                    subject: current.subject,
                    body: WithdrawalAcknowledged(consent: consent, date: day.description)
                )
            )
        }
    }

    /// The withdrawals `org` was told of, as notices: what was shared and when, what to do, by when, and whether
    /// it acknowledged.
    public func withdrawalNotices(
        for org: String,
        filter: NoticeFilter = .all,
        limit: Int = .max
    ) throws
        -> Page<WithdrawalNotice>
    {
        let (kept, total) = core.read { state -> ([ConsentState.Consent], Int) in
            if filter == .due {
                let due = state.withdrawalsDue[org] ?? []
                return (due.prefix(max(0, limit)).compactMap { state.consents[$0] }, due.count)
            }
            let all = (state.withdrawalNotices[org] ?? []).compactMap { state.consents[$0] }
                .filter { filter.keeps(due: $0.acknowledged[org] == nil) }
            return (all, all.count)
        }
        let page = Array(kept.prefix(max(0, limit)))
        // One read for the page's withdrawals, one for the disclosures they name.
        let withdrawals = try core.entries(at: page.compactMap { $0.withdrawn?.index })
        let named = page.compactMap { c in
            c.withdrawn.flatMap { (withdrawals[$0.index]?.body as? ConsentWithdrawn)?.notify?.first { $0.org == org } }
        }
        let disclosures = try core.entries(
            at: Array(Set(named.flatMap(\.disclosures).compactMap { UInt64(exactly: $0) })).sorted()
        )
        let items = page.compactMap { c -> WithdrawalNotice? in
            guard let w = c.withdrawn, let body = withdrawals[w.index]?.body as? ConsentWithdrawn,
                let recipient = body.notify?.first(where: { $0.org == org })
            else { return nil }
            var shared: [WithdrawalNotice.Shared] = []
            for index in recipient.disclosures {
                guard let i = UInt64(exactly: index), let d = disclosures[i]?.body as? DisclosureRecord else {
                    continue
                }
                shared.append(
                    .init(disclosure: index, date: d.date, information: d.share.information, purpose: d.share.purpose)
                )
            }
            let acknowledged = c.acknowledged[org]
            let due = duties.acknowledgementDue(withdrawnOn: w.date)
            return WithdrawalNotice(
                consent: c.id,
                subject: c.subject,
                withdrawn: w.date.description,
                by: w.by,
                shared: shared,
                action:
                    "Consent \(c.id) was withdrawn on \(w.date.plain): stop using what you received under it, and delete what you no longer need. Acknowledge by \(due.plain).",
                acknowledgeBy: due.description,
                status: acknowledged == nil ? .due : .acknowledged,
                acknowledgement: acknowledged
            )
        }
        return Page(items: items, total: total)
    }

}

extension NoticeOrganisation {
    init(_ o: ConsentState.Organisation?, id: String) {
        self.init(id: id, name: o?.name ?? id, contact: o?.contact, law: o?.law)
    }
}
