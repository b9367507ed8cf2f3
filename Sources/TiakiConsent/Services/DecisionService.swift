public import TiakiLedger
public import TiakiModel
public import TiakiPolicy

/// A request to share, as a school or facilitator asks it: the child, the share, the day (default today), and
/// whether a serious threat makes it necessary.
public struct DecisionInput: Sendable, Codable {
    public var subject: String
    public var share: Share
    public var date: String?
    public var seriousThreat: Bool?

    public init(subject: String, share: Share, date: String? = nil, seriousThreat: Bool? = nil) {
        self.subject = subject
        self.share = share
        self.date = date
        self.seriousThreat = seriousThreat
    }

    enum CodingKeys: String, CodingKey { case subject, date, seriousThreat }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        subject = try c.decode(String.self, forKey: .subject)
        share = try Share(from: decoder)
        date = try c.decodeIfPresent(String.self, forKey: .date)
        seriousThreat = try c.decodeIfPresent(Bool.self, forKey: .seriousThreat)
    }

    public func encode(to encoder: any Encoder) throws {
        try share.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(subject, forKey: .subject)
        try c.encodeIfPresent(date, forKey: .date)
        try c.encodeIfPresent(seriousThreat, forKey: .seriousThreat)
    }

    /// Reads a request strictly from JSON, in the order and with the words of the `Decodable` path (a test holds
    /// them to each other), without its generic machinery: this runs once per decision.
    public init(strict json: JSONValue, noun: String) throws {
        var r = try JSONObjectReader(json, noun: noun)
        subject = try r.string("subject")
        share = Share(
            recipient: "",
            purpose: try r.string("purpose"),
            information: try r.strings("information"),
            channel: "",
            storageRegion: ""
        )
        share.recipient = try r.string("recipient")
        share.channel = try r.string("channel")
        share.storageRegion = try r.string("storageRegion")
        date = try r.optionalString("date")
        seriousThreat = try r.optionalBool("seriousThreat")
        try r.finish()
    }
}

/// Decisions against the live consent state: the policy compiled once against the state's codes (an immutable
/// engine, shared without a lock), each decision evaluated on a snapshot taken under the state's lock and released
/// before evaluating, the policy set recorded in the ledger when it changes, and every recorded decision naming it.
public final class DecisionService: Sendable {
    let core: LedgerCore
    public let engine: PolicyEngine

    /// Compiles `policy` against the state's codes and, when `publish` is true, records it if it is not the current
    /// one. Only a service that records decisions needs to publish; a what-if question writes nothing.
    init(core: LedgerCore, policy: PolicySet, publish: Bool) async throws {
        self.core = core
        self.engine = try PolicyEngine(policy: policy, codes: core.read { $0.codes })
        if publish, core.read({ $0.currentPolicy != policy.digest }) {
            _ = try await core.append(
                ConsentEntry(actor: .system, body: PolicyPublished(digest: policy.digest, files: policy.files))
            )
        }
    }

    public var policy: PolicySet { engine.policy }

    /// The request `input` stands for, asked by `caller` (the date defaults to today).
    public func request(_ input: DecisionInput, caller: Caller) throws -> ShareRequest {
        let date = try input.date.map { text -> String in
            guard let day = Day(text) else { throw TiakiError(.invalid, "date must be YYYY-MM-DD", field: "date") }
            return day.description
        }
        return ShareRequest(
            subject: input.subject,
            share: input.share,
            date: date ?? core.stampDay.description,
            seriousThreat: input.seriousThreat,
            requester: caller.org,
            requesterRole: caller.role.rawValue
        )
    }

    /// Decides without recording (for what-if questions and tests).
    public func decide(_ request: ShareRequest) throws(TiakiError) -> DecisionRecord {
        let snapshot = core.read { $0.snapshot(for: request) }
        return try engine.decide(request, in: snapshot)
    }

    /// Records a decision exactly as given, without deciding it: for samples and tests that plant a decision the
    /// policy would not make, to show that replay finds it.
    package func recordAsGiven(_ decision: DecisionRecord, actor: EntryActor) async throws -> Recorded {
        try await core.append(ConsentEntry(actor: actor, subject: decision.request.subject, body: decision))
    }

    /// Decides and appends the decision to the ledger; returns only once it is durable.
    public func decideAndRecord(
        _ request: ShareRequest,
        actor: EntryActor
    ) async throws -> (decision: DecisionRecord, recorded: Recorded) {
        try await decideAndRecord(request, actor: actor, beforeAppend: {})
    }

    /// ``decideAndRecord(_:actor:)`` with a pause between deciding and appending, for tests of what happens when
    /// other entries are written meanwhile.
    package func decideAndRecord(
        _ request: ShareRequest,
        actor: EntryActor,
        beforeAppend: () async throws -> Void
    ) async throws -> (decision: DecisionRecord, recorded: Recorded) {
        let shared = core.ledger.isShared
        var attempt = 0
        while true {
            do {
                return try await decideOnce(request, actor: actor, checked: shared, beforeAppend: beforeAppend)
            } catch let error as LedgerError where error.code == .conflict && attempt < LedgerCore.conflictRetries {
                // Another instance wrote about this child between the snapshot and the commit: decide again on
                // what it wrote.
                attempt += 1
            } catch let error as TiakiError
                where shared && attempt == 0
                && [.unknownSubject, .unknownOrganisation, .unknownConsent].contains(error.code)
            {
                // Perhaps registered through another instance a moment ago: ask the database, then decide again.
                attempt += 1
                try await core.ledger.synchronize()
            }
        }
    }

    /// One decision: a snapshot of what the engine needs, taken under the state's lock; the evaluation outside
    /// it; the append. On a ledger other instances share, the append carries the snapshot's size, and the commit
    /// refuses it (``LedgerError/Code/conflict``) if another instance wrote about the child since: a withdrawal
    /// acknowledged anywhere before this decision is acknowledged is always respected by it.
    private func decideOnce(
        _ request: ShareRequest,
        actor: EntryActor,
        checked: Bool,
        beforeAppend: () async throws -> Void
    ) async throws -> (decision: DecisionRecord, recorded: Recorded) {
        // The basis is registered under the lock the snapshot is taken under, and stays registered until the
        // decision is in the ledger (or failed), so that the findings never apply an entry past it meanwhile.
        let inFlight = core.decisionsInFlight
        let snapshot = core.read { state in
            let snapshot = state.snapshot(for: request)
            inFlight.begin(snapshot.size)
            return snapshot
        }
        defer { inFlight.end(snapshot.size) }
        let decision = try engine.decide(request, in: snapshot)
        try await beforeAppend()
        let recorded = try await LedgerCore.$checkedAt.withValue(checked ? snapshot.size : nil) {
            try await core.append(ConsentEntry(actor: actor, subject: request.subject, body: decision))
        }
        return (decision, recorded)
    }

    /// The child's requests to share and their answers that `caller` may see: a member, those its organisation
    /// asked or would have received; facilitators and privacy officers, all. Oldest first.
    public func list(subject: String, for caller: Caller) throws -> [DecisionView] {
        try core.entries(of: subject, kinds: [.decision]).compactMap { entry in
            guard let record = entry.body as? DecisionRecord,
                caller.role != .member || entry.actor.org == caller.org || record.request.recipient == caller.org
            else { return nil }
            return DecisionView(decision: entry.index, recorded: entry.time, by: entry.actor.org, record: record)
        }
    }
}

/// A request to share and its answer, as someone allowed to see it reads it.
public struct DecisionView: Sendable {
    public var decision: UInt64
    /// When it was recorded (RFC 3339).
    public var recorded: String
    /// The organisation that asked.
    public var by: String
    public var record: DecisionRecord
}
