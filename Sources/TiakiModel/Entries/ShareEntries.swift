public import TiakiLedger

extension EntryKind {
    public static let decision = EntryKind(rawValue: "decision")
    public static let disclosure = EntryKind(rawValue: "disclosure")
    public static let disclosureReviewed = EntryKind(rawValue: "disclosure.reviewed")
}

/// What a share sends, to whom, how and where it is kept: the fields a request to share, its decision and the
/// disclosure that follows all name, declared once. Encoded flat, beside the members of whatever holds it.
public struct Share: Sendable, Hashable, Codable {
    public var purpose: String
    public var information: [String]
    /// The organisation that would receive the information.
    public var recipient: String
    public var channel: String
    public var storageRegion: String

    public init(recipient: String, purpose: String, information: [String], channel: String, storageRegion: String) {
        self.recipient = recipient
        self.purpose = purpose
        self.information = information
        self.channel = channel
        self.storageRegion = storageRegion
    }
}

/// A request to share information about a subject.
@dynamicMemberLookup
public struct ShareRequest: Sendable, Hashable, Codable {
    public var subject: String
    public var share: Share
    /// The day the share would happen (`YYYY-MM-DD`); retention and age are judged on it.
    public var date: String
    /// The requester says a serious threat to someone's life, health or safety makes the share necessary
    /// (Privacy Act 2020, IPP 11(1)(f)).
    public var seriousThreat: Bool?
    /// The organisation asking, and the role of its credential.
    public var requester: String
    public var requesterRole: String

    public init(
        subject: String,
        share: Share,
        date: String,
        seriousThreat: Bool? = nil,
        requester: String,
        requesterRole: String
    ) {
        self.subject = subject
        self.share = share
        self.date = date
        self.seriousThreat = seriousThreat
        self.requester = requester
        self.requesterRole = requesterRole
    }

    public subscript<T>(dynamicMember path: WritableKeyPath<Share, T>) -> T {
        get { share[keyPath: path] }
        set { share[keyPath: path] = newValue }
    }

    enum CodingKeys: String, CodingKey { case subject, date, seriousThreat, requester, requesterRole }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        subject = try c.decode(String.self, forKey: .subject)
        share = try Share(from: decoder)
        date = try c.decode(String.self, forKey: .date)
        seriousThreat = try c.decodeIfPresent(Bool.self, forKey: .seriousThreat)
        requester = try c.decode(String.self, forKey: .requester)
        requesterRole = try c.decode(String.self, forKey: .requesterRole)
    }

    public func encode(to encoder: any Encoder) throws {
        try share.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(subject, forKey: .subject)
        try c.encode(date, forKey: .date)
        try c.encodeIfPresent(seriousThreat, forKey: .seriousThreat)
        try c.encode(requester, forKey: .requester)
        try c.encode(requesterRole, forKey: .requesterRole)
    }
}

/// Something the recipient or Tiaki's operators must do because of a decision.
public struct Obligation: Sendable, Hashable, Codable {
    public var kind: String
    public var detail: String
    public var due: String?

    public init(kind: String, detail: String, due: String? = nil) {
        self.kind = kind
        self.detail = detail
        self.due = due
    }
}

extension Obligation {
    /// The kind of obligation that asks a privacy officer to review the share (the audit waits for the review).
    public static let privacyOfficerReview = "privacy-officer-review"
}

/// A decision on a share request, as recorded.
public struct DecisionRecord: EntryBody {
    public static let kind = EntryKind.decision
    public enum Effect: String, Sendable, Codable { case permit, deny }

    public var request: ShareRequest
    public var effect: Effect
    /// The rules that decided it: the permits that matched, or the forbids.
    public var rules: [String]
    /// The consents (ledger indexes) relied on.
    public var consents: [Int]
    public var obligations: [Obligation]
    /// Why, or why not, in plain words.
    public var reasons: [String]
    /// The digest of the policy set that decided.
    public var policy: String
    /// How many ledger entries the consent state held when the decision was made.
    public var basis: UInt64

    public init(
        request: ShareRequest,
        effect: Effect,
        rules: [String],
        consents: [Int],
        obligations: [Obligation],
        reasons: [String],
        policy: String,
        basis: UInt64
    ) {
        self.request = request
        self.effect = effect
        self.rules = rules
        self.consents = consents
        self.obligations = obligations
        self.reasons = reasons
        self.policy = policy
        self.basis = basis
    }

    public static func fast(_ json: JSONValue) -> DecisionRecord? {
        guard let r = FastReader(json), let q = FastReader(r.value("request")),
            let subject = q.string("subject"), let date = q.string("date"),
            let seriousThreat = q.optionalBool("seriousThreat"), let requester = q.string("requester"),
            let requesterRole = q.string("requesterRole"), let purpose = q.string("purpose"),
            let information = q.strings("information"), let recipient = q.string("recipient"),
            let channel = q.string("channel"), let storageRegion = q.string("storageRegion"),
            let effect = r.string("effect").flatMap(Effect.init(rawValue:)), let rules = r.strings("rules"),
            let consents = r.integers("consents"), let reasons = r.strings("reasons"),
            let policy = r.string("policy"), let basis = r.value("basis")?.integerValue.flatMap(UInt64.init(exactly:)),
            case .array(let items)? = r.value("obligations")
        else { return nil }
        var obligations: [Obligation] = []
        obligations.reserveCapacity(items.count)
        for item in items {
            guard let o = FastReader(item), let kind = o.string("kind"), let detail = o.string("detail"),
                let due = o.optionalString("due")
            else { return nil }
            obligations.append(Obligation(kind: kind, detail: detail, due: due))
        }
        let share = Share(
            recipient: recipient,
            purpose: purpose,
            information: information,
            channel: channel,
            storageRegion: storageRegion
        )
        return DecisionRecord(
            request: ShareRequest(
                subject: subject,
                share: share,
                date: date,
                seriousThreat: seriousThreat,
                requester: requester,
                requesterRole: requesterRole
            ),
            effect: effect,
            rules: rules,
            consents: consents,
            obligations: obligations,
            reasons: reasons,
            policy: policy,
            basis: basis
        )
    }
}

/// A share that was made, as the organisation that made it records it.
@dynamicMemberLookup
public struct DisclosureRecord: EntryBody {
    public static let kind = EntryKind.disclosure

    /// Why a disclosure needs a privacy officer's attention.
    public enum Flag: String, Sendable, Hashable, Codable, CaseIterable {
        case noDecision = "no-decision"
        case decisionDenied = "decision-denied"
        case otherRecipient = "other-recipient"
        case otherPurpose = "other-purpose"
        case moreInformation = "more-information"
    }

    /// The decision relied on (ledger index), if any.
    public var decision: Int?
    public var share: Share
    public var date: String
    /// Why the disclosure needs a privacy officer's attention (no permit decision, or beyond it); empty if none.
    public var flags: [Flag]
    public var noteSealed: Sealed?
    /// Whether the recipient owes the whānau an IPP 3A notice for what it collected (absent in early entries).
    public var notice: CollectionNoticeDuty?

    public init(
        decision: Int?,
        share: Share,
        date: String,
        flags: [Flag] = [],
        noteSealed: Sealed? = nil,
        notice: CollectionNoticeDuty? = nil
    ) {
        self.decision = decision
        self.share = share
        self.date = date
        self.flags = flags
        self.noteSealed = noteSealed
        self.notice = notice
    }

    /// The disclosure of exactly what `request` asked to share, on its date.
    public init(for request: ShareRequest, decision: Int?) {
        self.init(decision: decision, share: request.share, date: request.date)
    }

    public subscript<T>(dynamicMember path: WritableKeyPath<Share, T>) -> T {
        get { share[keyPath: path] }
        set { share[keyPath: path] = newValue }
    }

    enum CodingKeys: String, CodingKey { case decision, date, flags, noteSealed, notice }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        decision = try c.decodeIfPresent(Int.self, forKey: .decision)
        share = try Share(from: decoder)
        date = try c.decode(String.self, forKey: .date)
        flags = try c.decode([Flag].self, forKey: .flags)
        noteSealed = try c.decodeIfPresent(Sealed.self, forKey: .noteSealed)
        notice = try c.decodeIfPresent(CollectionNoticeDuty.self, forKey: .notice)
    }

    /// Whether a disclosure's canonical bytes record an IPP 3A notice as due, without parsing them: the only
    /// unescaped `"due":true` in a disclosure is its notice's (inside a string the quotes would be escaped). A
    /// replay skips the disclosures that change nothing in the state.
    public static func owesNotice(canonical bytes: [UInt8]) -> Bool {
        let pattern: [UInt8] = Array(#""due":true"#.utf8)
        guard bytes.count >= pattern.count else { return false }
        var i = 0
        while i <= bytes.count - pattern.count {
            if bytes[i] == 0x22, bytes[i + 1] == 0x64, bytes[i..<(i + pattern.count)].elementsEqual(pattern) {
                return true
            }
            i += 1
        }
        return false
    }

    public func apply(to state: inout ConsentState, entry: ConsentEntry.Header) {
        guard let notice, notice.due, let subject = entry.subject, let id = Int(exactly: entry.index),
            let shared = Day(date), let by = notice.by.flatMap(Day.init)
        else { return }
        state.collectionNotices[id] = .init(
            disclosure: id,
            subject: subject,
            recipient: share.recipient,
            discloser: entry.actor.org,
            shared: shared,
            dueBy: by
        )
        state.collectionNoticesByOrg[share.recipient, default: []].append(id)
        state.collectionNoticesDue[share.recipient, default: []].append(id)
    }

    public func encode(to encoder: any Encoder) throws {
        try share.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(decision, forKey: .decision)
        try c.encode(date, forKey: .date)
        try c.encode(flags, forKey: .flags)
        try c.encodeIfPresent(noteSealed, forKey: .noteSealed)
        try c.encodeIfPresent(notice, forKey: .notice)
    }
}

/// A privacy officer's review of a disclosure (required after a serious-threat share, IPP 11(1)(f)).
public struct DisclosureReviewed: EntryBody {
    public static let kind = EntryKind.disclosureReviewed

    public enum Outcome: String, Sendable, Hashable, Codable, CaseIterable {
        case justified
        case notJustified = "not-justified"
    }

    /// The disclosure reviewed (ledger index).
    public var disclosure: Int
    public var date: String
    public var outcome: Outcome
    public var notesSealed: Sealed?

    public init(disclosure: Int, date: String, outcome: Outcome, notesSealed: Sealed? = nil) {
        self.disclosure = disclosure
        self.date = date
        self.outcome = outcome
        self.notesSealed = notesSealed
    }

    public func apply(to state: inout ConsentState, entry: ConsentEntry.Header) {
        if state.reviews[disclosure] == nil { state.reviews[disclosure] = entry.index }
    }
}

// MARK: Canonical encoding on the decision path

extension Obligation: CanonicalEncodable {
    public func write(to w: inout CanonicalWriter) {
        w.object { w in
            w.key("detail")
            w.string(detail)
            if let due {
                w.key("due")
                w.string(due)
            }
            w.key("kind")
            w.string(kind)
        }
    }
}

extension ShareRequest: CanonicalEncodable {
    public func write(to w: inout CanonicalWriter) {
        w.object { w in
            w.key("channel")
            w.string(share.channel)
            w.key("date")
            w.string(date)
            w.key("information")
            w.strings(share.information)
            w.key("purpose")
            w.string(share.purpose)
            w.key("recipient")
            w.string(share.recipient)
            w.key("requester")
            w.string(requester)
            w.key("requesterRole")
            w.string(requesterRole)
            if let seriousThreat {
                w.key("seriousThreat")
                w.bool(seriousThreat)
            }
            w.key("storageRegion")
            w.string(share.storageRegion)
            w.key("subject")
            w.string(subject)
        }
    }
}

extension DecisionRecord: CanonicalEncodable {
    public func write(to w: inout CanonicalWriter) { write(to: &w, decision: nil, checkpoint: nil) }

    /// The record, and for a response, the entry's index (`decision`) and the checkpoint that covers it, each in
    /// its canonical place.
    public func write(to w: inout CanonicalWriter, decision: UInt64?, checkpoint: String?) {
        w.object { w in
            w.key("basis")
            w.integer(basis)
            if let checkpoint {
                w.key("checkpoint")
                w.string(checkpoint)
            }
            w.key("consents")
            w.integers(consents)
            if let decision {
                w.key("decision")
                w.integer(decision)
            }
            w.key("effect")
            w.string(effect.rawValue)
            w.key("obligations")
            w.array(obligations) { w, o in o.write(to: &w) }
            w.key("policy")
            w.string(policy)
            w.key("reasons")
            w.strings(reasons)
            w.key("request")
            request.write(to: &w)
            w.key("rules")
            w.strings(rules)
        }
    }

    /// The answer to a recorded decision, made from its body's canonical bytes as the ledger holds them: what
    /// ``write(to:decision:checkpoint:)`` writes, with the entry's index and the checkpoint put in their canonical
    /// places (after `basis`, after `consents`) and the rest the recorded bytes themselves. `nil` when `body` does
    /// not begin as a decision's body does.
    public static func response(recorded body: [UInt8], decision: UInt64, checkpoint: String) -> [UInt8]? {
        func digits(from start: Int, orCommas: Bool) -> Int {
            var i = start
            while i < body.count, (0x30...0x39).contains(body[i]) || (orCommas && body[i] == 0x2C) { i += 1 }
            return i
        }
        guard body.starts(with: Splice.basis) else { return nil }
        let afterBasis = digits(from: Splice.basis.count, orCommas: false)
        guard afterBasis > Splice.basis.count, body[afterBasis...].starts(with: Splice.consents) else { return nil }
        let closing = digits(from: afterBasis + Splice.consents.count, orCommas: true)
        guard closing < body.count, body[closing] == UInt8(ascii: "]"),
            body[(closing + 1)...].starts(with: Splice.effect)
        else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(body.count + checkpoint.utf8.count + 48)
        out.append(contentsOf: body[..<afterBasis])
        out.append(contentsOf: Splice.checkpoint)
        CanonicalJSON.appendString(checkpoint, to: &out)
        out.append(contentsOf: body[afterBasis...closing])
        out.append(contentsOf: Splice.decision)
        out.append(contentsOf: String(decision).utf8)
        out.append(contentsOf: body[(closing + 1)...])
        return out
    }

    private enum Splice {
        static let basis = Array(#"{"basis":"#.utf8)
        static let checkpoint = Array(#","checkpoint":"#.utf8)
        static let consents = Array(#","consents":["#.utf8)
        static let decision = Array(#","decision":"#.utf8)
        static let effect = Array(#","effect":"#.utf8)
    }
}
