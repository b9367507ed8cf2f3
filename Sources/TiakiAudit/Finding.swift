import TiakiLedger
public import TiakiModel

/// How urgently a privacy officer should act on a finding.
public enum Severity: String, Sendable, Codable, CaseIterable {
    /// Information may have been shared without authority, or a record cannot be trusted: act now.
    case high
    /// Something must be done (people told, a review made), but nothing was shared wrongly.
    case medium
    /// For planning: consents that will soon end.
    case info
}

/// What a finding is about. The raw values are stable: tools and golden files rely on them.
public enum FindingKind: String, Sendable, Codable, CaseIterable {
    case disclosureWithoutPermit = "disclosure-without-permit"
    case disclosureAfterWithdrawal = "disclosure-after-withdrawal"
    case disclosureAfterRetention = "disclosure-after-retention"
    case disclosureBeyondDecision = "disclosure-beyond-decision"
    case decisionReplayMismatch = "decision-replay-mismatch"
    case decisionPolicyUnknown = "decision-policy-unknown"
    case retentionOverdue = "retention-overdue"
    case consentExpiring = "consent-expiring"
    case withdrawalRecipientsToTell = "withdrawal-recipients-to-tell"
    case credentialUsedAfterRevocation = "credential-used-after-revocation"
    case seriousThreatReviewPending = "serious-threat-review-pending"
    case unreadableEntry = "unreadable-entry"
    /// A share of what the whānau declined to share, with no consent given since that covers it.
    case disclosureAfterRefusal = "disclosure-after-refusal"
    /// An organisation told of a withdrawal has not acknowledged it within the days allowed.
    case withdrawalNotAcknowledged = "withdrawal-not-acknowledged"
    /// A recipient owes the whānau an IPP 3A notice and has not sent it (nor has an exception been recorded) in time.
    case indirectCollectionNoticeOverdue = "indirect-collection-notice-overdue"
    /// A breach was found and has not been assessed within the policy's hours.
    case breachAssessmentDue = "breach-assessment-due"
    /// A breach likely to cause serious harm, and the Commissioner or some whānau not told within the policy's hours.
    case breachNotificationOverdue = "breach-notification-overdue"

    /// What the kind means, in a few words (the command's help lists every kind with it).
    public var meaning: String {
        switch self {
        case .disclosureWithoutPermit: "shared with no permit decision behind it"
        case .disclosureAfterWithdrawal: "shared after the consent relied on was withdrawn"
        case .disclosureAfterRetention: "shared after the consent's retention ended"
        case .disclosureBeyondDecision: "another recipient, purpose, channel or more information"
        case .decisionReplayMismatch: "the named policy set gives another effect on replay"
        case .decisionPolicyUnknown: "the named policy set was never recorded"
        case .retentionOverdue: "no consent in force, retention ended, not erased"
        case .consentExpiring: "retention ends within --within days"
        case .withdrawalRecipientsToTell: "a withdrawal, and who received information before it"
        case .credentialUsedAfterRevocation: "an entry made with a revoked credential"
        case .seriousThreatReviewPending: "a serious-threat share no privacy officer has reviewed"
        case .unreadableEntry: "an entry that is not a Tiaki entry"
        case .disclosureAfterRefusal: "shared what the whānau declined, with no consent since that covers it"
        case .withdrawalNotAcknowledged: "a recipient told of a withdrawal has not acknowledged it in time"
        case .indirectCollectionNoticeOverdue: "a recipient has not sent the whānau its IPP 3A notice in time"
        case .breachAssessmentDue: "a privacy breach not assessed within the policy's hours"
        case .breachNotificationOverdue: "a notifiable breach, and the Commissioner or whānau not told in time"
        }
    }

    public var severity: Severity {
        switch self {
        case .disclosureWithoutPermit, .disclosureAfterWithdrawal, .disclosureAfterRetention,
            .disclosureBeyondDecision, .decisionReplayMismatch, .retentionOverdue, .credentialUsedAfterRevocation,
            .unreadableEntry, .breachAssessmentDue, .breachNotificationOverdue:
            .high
        case .decisionPolicyUnknown, .withdrawalRecipientsToTell, .seriousThreatReviewPending, .disclosureAfterRefusal,
            .withdrawalNotAcknowledged, .indirectCollectionNoticeOverdue:
            .medium
        case .consentExpiring: .info
        }
    }
}

/// One thing a privacy officer should look at: its kind and severity, the ledger entries that prove it (the
/// entry that raised it first), and a sentence saying what happened and what to do.
public struct Finding: Sendable, Hashable, Codable {
    public var kind: FindingKind
    public var severity: Severity
    public var subject: String?
    /// Ledger indexes that prove the finding; the first is the entry that raised it.
    public var indexes: [UInt64]
    /// The ledger time of the entry that raised it (none for findings about the state on the audit day).
    public var time: String?
    public var summary: String
    /// Whom to tell (withdrawals).
    public var recipients: [String]?

    public init(
        _ kind: FindingKind,
        subject: String?,
        indexes: [UInt64],
        time: String? = nil,
        summary: String,
        recipients: [String]? = nil
    ) {
        self.kind = kind
        self.severity = kind.severity
        self.subject = subject
        self.indexes = indexes
        self.time = time
        self.summary = summary
        self.recipients = recipients
    }
}

/// What an audit looks at.
public struct AuditOptions: Sendable {
    /// The day the audit is for: retention and expiry are judged on it.
    public var asOf: Day
    /// Consents whose retention ends within this many days are listed.
    public var expiringWithinDays = 30
    /// How long the duties after a share may take; `nil`: as the newest policy set in the ledger says.
    public var duties: Duties?
    /// The moment breach clocks are judged at; `nil`: the end of the audit day (UTC).
    public var now: Moment?
    /// Only findings raised by entries at or after this time (RFC 3339 or `YYYY-MM-DD`); findings about the state
    /// on the audit day are always listed.
    public var since: String?

    public init(asOf: Day) { self.asOf = asOf }
}

/// A recorded decision whose replay, under the policy set it names, gives another effect (or cannot be made).
public struct ReplayMismatch: Sendable, Hashable, Codable {
    public var index: UInt64
    public var subject: String
    public var policy: String
    public var recorded: String
    /// `permit`, `deny`, or `unknown-policy` / `error` when it could not be replayed.
    public var replayed: String
    public var reasons: [String]
}

/// The outcome of a pass over a ledger.
public struct AuditResult: Sendable {
    public var entries: UInt64 = 0
    public var findings: [Finding] = []
    /// Decisions re-evaluated, and the ones that came out differently.
    public var decisionsReplayed = 0
    public var mismatches: [ReplayMismatch] = []
    /// Decisions whose state had to be taken later than their basis (more than the look-ahead window apart).
    public var replayedLate = 0
}

extension AuditResult {
    /// The findings as `tiaki audit findings --json` prints them and the findings endpoint returns them
    /// (canonical JSON, so golden files compare byte for byte).
    public func findingsJSON(options: AuditOptions) throws -> [UInt8] {
        var o: [String: JSONValue] = [
            "entries": .number(Double(entries)),
            "asOf": .string(options.asOf.description),
            "findings": try JSONValueEncoder().encode(findings),
        ]
        if let since = options.since { o["since"] = .string(since) }
        return try CanonicalJSON.encode(.object(o))
    }
}
