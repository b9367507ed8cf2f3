import Foundation
import TiakiLedger
public import TiakiModel

/// A share that was made, as the organisation that made it records it: the child, the decision relied on (if any),
/// the share, the day (default today) and a note (sealed).
public struct DisclosureInput: Sendable, Codable {
    public var subject: String
    public var decision: UInt64?
    public var share: Share
    public var date: String?
    public var note: String?

    public init(subject: String, decision: UInt64? = nil, share: Share, date: String? = nil, note: String? = nil) {
        self.subject = subject
        self.decision = decision
        self.share = share
        self.date = date
        self.note = note
    }

    enum CodingKeys: String, CodingKey { case subject, decision, date, note }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        subject = try c.decode(String.self, forKey: .subject)
        decision = try c.decodeIfPresent(UInt64.self, forKey: .decision)
        share = try Share(from: decoder)
        date = try c.decodeIfPresent(String.self, forKey: .date)
        note = try c.decodeIfPresent(String.self, forKey: .note)
    }

    public func encode(to encoder: any Encoder) throws {
        try share.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(subject, forKey: .subject)
        try c.encodeIfPresent(decision, forKey: .decision)
        try c.encodeIfPresent(date, forKey: .date)
        try c.encodeIfPresent(note, forKey: .note)
    }
}

/// A privacy officer's review of a disclosure.
public struct ReviewInput: Sendable, Codable {
    /// `justified` or `not-justified`.
    public var outcome: String
    public var date: String?
    public var notes: String?

    public init(outcome: DisclosureReviewed.Outcome, date: String? = nil, notes: String? = nil) {
        self.outcome = outcome.rawValue
        self.date = date
        self.notes = notes
    }
}

/// A disclosure as someone allowed to see it reads it.
public struct DisclosureView: Sendable, Codable {
    public var disclosure: UInt64
    public var recorded: String
    public var by: String
    public var record: DisclosureRecord
    public var reviewed: DisclosureReviewed.Outcome?

    enum CodingKeys: String, CodingKey { case disclosure, recorded, by, reviewed }

    public func encode(to encoder: any Encoder) throws {
        var record = record
        record.noteSealed = nil
        try record.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(disclosure, forKey: .disclosure)
        try c.encode(recorded, forKey: .recorded)
        try c.encode(by, forKey: .by)
        try c.encodeIfPresent(reviewed, forKey: .reviewed)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        record = try DisclosureRecord(from: decoder)
        disclosure = try c.decode(UInt64.self, forKey: .disclosure)
        recorded = try c.decode(String.self, forKey: .recorded)
        by = try c.decode(String.self, forKey: .by)
        reviewed = try c.decodeIfPresent(DisclosureReviewed.Outcome.self, forKey: .reviewed)
    }

    init(
        disclosure: UInt64,
        recorded: String,
        by: String,
        record: DisclosureRecord,
        reviewed: DisclosureReviewed.Outcome?
    ) {
        self.disclosure = disclosure
        self.recorded = recorded
        self.by = by
        self.record = record
        self.reviewed = reviewed
    }
}

/// Disclosures (shares that were made) and their reviews.
public struct DisclosureService: Sendable {
    let core: LedgerCore
    let notices: NoticeService

    /// Records a disclosure. One without a permit decision behind it, or beyond the decision it names, is still
    /// recorded, with flags saying why a privacy officer must look at it.
    public func record(_ input: DisclosureInput, actor: EntryActor) async throws -> Recorded {
        let subject = input.subject
        _ = try core.requireLiveSubject(subject)
        let share = input.share
        try core.requireCode(share.purpose, .purpose, field: "purpose")
        try core.requireCodes(
            share.information,
            .information,
            field: "information",
            missing: "say what information was shared"
        )
        try core.requireCode(share.channel, .channel, field: "channel")
        try core.requireCode(share.storageRegion, .storageRegion, field: "storageRegion")
        try core.requireOrganisation(share.recipient, field: "recipient", role: "recipient")
        let day =
            try input.date.map { try core.pastDay($0, field: "date", what: "the information was shared") }
            ?? core.stampDay
        if let note = input.note {
            try FreeText.check(note, field: "note", limit: 4000, multiline: true)
        }
        var record = DisclosureRecord(decision: nil, share: share, date: day.description)
        var relied: DecisionRecord?
        if let index = input.decision {
            let decision = try core.entry(at: index).flatMap { $0.body as? DecisionRecord }
            guard let decision, decision.request.subject == subject, let id = Int(exactly: index) else {
                throw TiakiError(
                    .invalid,
                    "decision \(index) is not a decision about this child",
                    field: "decision"
                )
            }
            record.decision = id
            relied = decision
            if decision.effect != .permit { record.flags.append(.decisionDenied) }
            if decision.request.recipient != share.recipient { record.flags.append(.otherRecipient) }
            if decision.request.purpose != share.purpose { record.flags.append(.otherPurpose) }
            if !Set(share.information).isSubset(of: decision.request.information) {
                record.flags.append(.moreInformation)
            }
        } else {
            record.flags.append(.noDecision)
        }
        if let note = input.note { record.noteSealed = try core.seal(note, subject: subject) }
        record.notice = notices.collectionNoticeDuty(share: share, day: day, decision: relied)
        return try await core.append(ConsentEntry(actor: actor, subject: subject, body: record))
    }

    /// Records a privacy officer's review of a disclosure (`disclosure.reviewed`). A disclosure is reviewed once;
    /// a second review is a conflict.
    public func review(_ index: UInt64, _ input: ReviewInput, actor: EntryActor) async throws -> Recorded {
        guard let outcome = DisclosureReviewed.Outcome(rawValue: input.outcome) else {
            throw TiakiError(
                .invalid,
                "outcome must be one of \(DisclosureReviewed.Outcome.allCases.map(\.rawValue).joined(separator: ", "))",
                field: "outcome"
            )
        }
        let entry = try core.entry(at: index)
        guard let entry, entry.body is DisclosureRecord, let subject = entry.subject, let id = Int(exactly: index)
        else { throw TiakiError(.unknownDisclosure, "entry \(index) is not a disclosure", field: "disclosure") }
        return try await core.exclusive(subject) {
            if let earlier = core.read({ $0.reviews[id] }) {
                throw TiakiError(
                    .conflict,
                    "disclosure \(index) was already reviewed (entry \(earlier)); a disclosure is reviewed once",
                    field: "disclosure"
                )
            }
            let day = try input.date.map { try core.pastDay($0, field: "date", what: "of the review") } ?? core.stampDay
            guard let shared = Day((entry.body as? DisclosureRecord)?.date ?? ""), day >= shared else {
                throw TiakiError(.invalid, "date is before the disclosure was made", field: "date")
            }
            var review = DisclosureReviewed(disclosure: id, date: day.description, outcome: outcome)
            if let notes = input.notes {
                try FreeText.check(notes, field: "notes", limit: 4000, multiline: true)
                if (try core.vault.key(for: subject)) != nil {
                    review.notesSealed = try core.seal(notes, subject: subject)
                }
            }
            return try await core.append(ConsentEntry(actor: actor, subject: subject, body: review))
        }
    }

    /// The child's disclosures that `caller` may see: a member, those its organisation made or received;
    /// facilitators and privacy officers, all.
    public func list(subject: String, for caller: Caller) throws -> [DisclosureView] {
        let reviews = core.read { $0.reviews }
        var views: [DisclosureView] = []
        for entry in try core.entries(of: subject, kinds: [.disclosure]) {
            guard let record = entry.body as? DisclosureRecord,
                caller.role != .member || entry.actor.org == caller.org || record.recipient == caller.org
            else { continue }
            var reviewed: DisclosureReviewed.Outcome?
            if let id = Int(exactly: entry.index), let review = reviews[id],
                let r = try core.entry(at: review)?.body as? DisclosureReviewed
            {
                reviewed = r.outcome
            }
            views.append(
                DisclosureView(
                    disclosure: entry.index,
                    recorded: entry.time,
                    by: entry.actor.org,
                    record: record,
                    reviewed: reviewed
                )
            )
        }
        return views
    }
}
