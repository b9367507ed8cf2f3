extension EntryKind {
    public static let consentGranted = EntryKind(rawValue: "consent.granted")
    public static let consentWithdrawn = EntryKind(rawValue: "consent.withdrawn")
    public static let consentRefused = EntryKind(rawValue: "consent.refused")
    public static let withdrawalAcknowledged = EntryKind(rawValue: "withdrawal.acknowledged")
}

/// The seven things a consent must say, plus who agreed, how they were informed, and the text they were shown.
public struct ConsentTerms: EntryBody {
    public static let kind = EntryKind.consentGranted

    public struct Audience: Sendable, Hashable, Codable {
        /// Organisation ids named individually.
        public var organisations: [String]
        /// Organisation kinds (any organisation of the kind).
        public var kinds: [String]

        public init(organisations: [String] = [], kinds: [String] = []) {
            self.organisations = organisations
            self.kinds = kinds
        }

        /// Either list may be left out; at least one must name someone (checked when a consent is recorded).
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            organisations = try c.decodeIfPresent([String].self, forKey: .organisations) ?? []
            kinds = try c.decodeIfPresent([String].self, forKey: .kinds) ?? []
        }
    }

    public struct Sharing: Sendable, Hashable, Codable {
        public var channels: [String]
        public var storageRegions: [String]
        /// How the information is protected, in the words shown to the whānau.
        public var protection: String

        public init(channels: [String], storageRegions: [String], protection: String) {
            self.channels = channels
            self.storageRegions = storageRegions
            self.protection = protection
        }
    }

    public struct Retention: Sendable, Hashable, Codable {
        /// The date (`YYYY-MM-DD`) the information comes off the register.
        public var until: String
        /// An event that ends it earlier, such as leaving the cluster.
        public var event: String?

        public init(until: String, event: String? = nil) {
            self.until = until
            self.event = event
        }
    }

    public struct Accuracy: Sendable, Hashable, Codable {
        public var contact: String
        public var method: String

        public init(contact: String, method: String) {
            self.contact = contact
            self.method = method
        }
    }

    public struct Withdrawal: Sendable, Hashable, Codable {
        /// What happens if they decline or withdraw.
        public var effect: String
        /// How to withdraw.
        public var how: String

        public init(effect: String, how: String) {
            self.effect = effect
            self.how = how
        }
    }

    public struct Consenter: Sendable, Hashable, Codable {
        public var role: String
        public var nameSealed: Sealed?

        public init(role: String, nameSealed: Sealed? = nil) {
            self.role = role
            self.nameSealed = nameSealed
        }
    }

    public struct Informed: Sendable, Hashable, Codable {
        public var date: String
        public var noticeVersion: String
        public var language: String
        public var method: String

        public init(date: String, noticeVersion: String, language: String, method: String) {
            self.date = date
            self.noticeVersion = noticeVersion
            self.language = language
            self.method = method
        }
    }

    public var purposes: [String]
    public var information: [String]
    public var audience: Audience
    public var sharing: Sharing
    public var retention: Retention
    public var accuracy: Accuracy
    public var withdrawal: Withdrawal
    public var consenters: [Consenter]
    public var informed: Informed
    /// The plain-language text shown to the whānau.
    public var text: String
    public var evidence: String?
    /// The consent (ledger index) this one replaces.
    public var supersedes: Int?

    public init(
        purposes: [String],
        information: [String],
        audience: Audience,
        sharing: Sharing,
        retention: Retention,
        accuracy: Accuracy,
        withdrawal: Withdrawal,
        consenters: [Consenter],
        informed: Informed,
        text: String,
        evidence: String? = nil,
        supersedes: Int? = nil
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

    public func apply(to state: inout ConsentState, entry: ConsentEntry.Header) {
        guard let subject = entry.subject, state.subjects[subject] != nil, let id = Int(exactly: entry.index),
            let consent = state.compile(self, id: id, subject: subject, recordedBy: entry.actor.org, time: entry.time)
        else { return }
        state.consents[id] = consent
        state.consentsByRetention[consent.retentionUntil, default: []].append(id)
        state.subjects[subject]?.consents.append(id)
        if let old = supersedes, state.consents[old]?.subject == subject, state.consents[old]?.supersededBy == nil {
            state.consents[old]?.supersededBy = id
        }
    }
}

extension ConsentTerms {
    /// The consent with `f` applied to each member that holds words people typed: the words shown, how the
    /// information is protected, the event that ends retention, how to check and correct it and whom to ask, what
    /// withdrawing means and how to do it, how the whānau were told, and the evidence. These are sealed to the
    /// child's key when recorded (see ``Sealed``); consents recorded before that hold them in the clear.
    public func mapText(_ f: (String) throws -> String) rethrows -> ConsentTerms {
        var t = self
        t.text = try f(text)
        t.sharing.protection = try f(sharing.protection)
        t.retention.event = try retention.event.map(f)
        t.accuracy.contact = try f(accuracy.contact)
        t.accuracy.method = try f(accuracy.method)
        t.withdrawal.effect = try f(withdrawal.effect)
        t.withdrawal.how = try f(withdrawal.how)
        t.informed.method = try f(informed.method)
        t.evidence = try evidence.map(f)
        return t
    }
}

public struct ConsentWithdrawn: EntryBody {
    public static let kind = EntryKind.consentWithdrawn

    /// An organisation that received information under the consent before it was withdrawn, and the
    /// disclosures (ledger indexes) that gave it: it is told, and acknowledges (``WithdrawalAcknowledged``).
    public struct Recipient: Sendable, Hashable, Codable {
        public var org: String
        public var disclosures: [Int]

        public init(org: String, disclosures: [Int]) {
            self.org = org
            self.disclosures = disclosures
        }
    }

    public var consent: Int
    public var date: String
    /// The consenter role that withdrew.
    public var by: String
    public var reasonSealed: Sealed?
    /// How they withdrew ("a phone call to the office"), sealed (absent in early entries).
    public var howSealed: Sealed?

    /// Who must be told (absent in early entries, and when nothing was shared under the consent).
    public var notify: [Recipient]?

    public init(
        consent: Int,
        date: String,
        by: String,
        reasonSealed: Sealed? = nil,
        howSealed: Sealed? = nil,
        notify: [Recipient]? = nil
    ) {
        self.consent = consent
        self.date = date
        self.by = by
        self.reasonSealed = reasonSealed
        self.howSealed = howSealed
        self.notify = notify
    }

    public func apply(to state: inout ConsentState, entry: ConsentEntry.Header) {
        guard state.consents[consent]?.withdrawn == nil, let day = Day(date) else { return }
        state.consents[consent]?.withdrawn = .init(index: entry.index, date: day, by: by)
        for recipient in notify ?? [] where state.consents[consent]?.notify.contains(recipient.org) == false {
            state.consents[consent]?.notify.append(recipient.org)
            state.withdrawalNotices[recipient.org, default: []].append(consent)
            state.withdrawalsDue[recipient.org, default: []].append(consent)
        }
    }
}

/// A recipient told of a withdrawal acknowledges it: it no longer uses what it received under the consent, and
/// deletes what it no longer needs. The actor's organisation is the one acknowledging.
public struct WithdrawalAcknowledged: EntryBody {
    public static let kind = EntryKind.withdrawalAcknowledged
    /// The consent (ledger index) that was withdrawn.
    public var consent: Int
    public var date: String

    public init(consent: Int, date: String) {
        self.consent = consent
        self.date = date
    }

    public func apply(to state: inout ConsentState, entry: ConsentEntry.Header) {
        guard state.consents[consent]?.notify.contains(entry.actor.org) == true,
            state.consents[consent]?.acknowledged[entry.actor.org] == nil
        else { return }
        state.consents[consent]?.acknowledged[entry.actor.org] = entry.index
        state.withdrawalsDue[entry.actor.org]?.removeAll { $0 == consent }
    }
}

/// The whānau declined: what they were asked, who declined, and (when recorded) how they were told.
public struct ConsentRefused: EntryBody {
    public static let kind = EntryKind.consentRefused
    public var purposes: [String]
    public var information: [String]
    public var by: [String]
    public var date: String
    public var reasonSealed: Sealed?
    /// How the whānau were told what they were asked (recorded over HTTP; absent in early entries).
    public var informed: ConsentTerms.Informed?

    public init(
        purposes: [String],
        information: [String],
        by: [String],
        date: String,
        reasonSealed: Sealed? = nil,
        informed: ConsentTerms.Informed? = nil
    ) {
        self.purposes = purposes
        self.information = information
        self.by = by
        self.date = date
        self.reasonSealed = reasonSealed
        self.informed = informed
    }

    public func apply(to state: inout ConsentState, entry: ConsentEntry.Header) {
        if let subject = entry.subject { state.subjects[subject]?.refusals.append(entry.index) }
    }
}
