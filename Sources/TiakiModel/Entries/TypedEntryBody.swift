/// Every kind of entry body as one closed enum. A `switch` over ``EntryBody/typed`` without `default` names every
/// kind, so adding a kind (a case here, and its type's `typed` below, which ``EntryBody`` requires) is a compile
/// error in each place that must decide what it does with the new kind: the audit's checks, the subject report,
/// the findings; and ``EntryKinds/all`` is derived from its ``Tag``, so the new kind is known everywhere else.
public enum TypedEntryBody: Sendable {
    case organisationRegistered(OrganisationRegistered)
    case credentialIssued(CredentialIssued)
    case credentialRevoked(CredentialRevoked)
    case policyPublished(PolicyPublished)
    case subjectRegistered(SubjectRegistered)
    case subjectEnrolled(SubjectEnrolled)
    case consentTerms(ConsentTerms)
    case consentWithdrawn(ConsentWithdrawn)
    case consentRefused(ConsentRefused)
    case withdrawalAcknowledged(WithdrawalAcknowledged)
    case decisionRecord(DecisionRecord)
    case disclosureRecord(DisclosureRecord)
    case disclosureReviewed(DisclosureReviewed)
    case noticeSent(NoticeSent)
    case noticeException(NoticeException)
    case breachRecorded(BreachRecorded)
    case breachAssessed(BreachAssessed)
    case breachCommissionerNotified(BreachCommissionerNotified)
    case subjectErased(SubjectErased)
}

extension TypedEntryBody {
    /// The cases without their bodies, in the order of ``EntryKinds/all``, which is derived from them.
    public enum Tag: CaseIterable, Sendable {
        case organisationRegistered, credentialIssued, credentialRevoked, policyPublished, subjectRegistered,
            subjectEnrolled, consentTerms, consentWithdrawn, consentRefused, withdrawalAcknowledged, decisionRecord,
            disclosureRecord, disclosureReviewed, noticeSent, noticeException, breachRecorded, breachAssessed,
            breachCommissionerNotified, subjectErased

        /// The body type of each case.
        public var type: any EntryBody.Type {
            switch self {
            case .organisationRegistered: OrganisationRegistered.self
            case .credentialIssued: CredentialIssued.self
            case .credentialRevoked: CredentialRevoked.self
            case .policyPublished: PolicyPublished.self
            case .subjectRegistered: SubjectRegistered.self
            case .subjectEnrolled: SubjectEnrolled.self
            case .consentTerms: ConsentTerms.self
            case .consentWithdrawn: ConsentWithdrawn.self
            case .consentRefused: ConsentRefused.self
            case .withdrawalAcknowledged: WithdrawalAcknowledged.self
            case .decisionRecord: DecisionRecord.self
            case .disclosureRecord: DisclosureRecord.self
            case .disclosureReviewed: DisclosureReviewed.self
            case .noticeSent: NoticeSent.self
            case .noticeException: NoticeException.self
            case .breachRecorded: BreachRecorded.self
            case .breachAssessed: BreachAssessed.self
            case .breachCommissionerNotified: BreachCommissionerNotified.self
            case .subjectErased: SubjectErased.self
            }
        }
    }

    public var tag: Tag {
        switch self {
        case .organisationRegistered: .organisationRegistered
        case .credentialIssued: .credentialIssued
        case .credentialRevoked: .credentialRevoked
        case .policyPublished: .policyPublished
        case .subjectRegistered: .subjectRegistered
        case .subjectEnrolled: .subjectEnrolled
        case .consentTerms: .consentTerms
        case .consentWithdrawn: .consentWithdrawn
        case .consentRefused: .consentRefused
        case .withdrawalAcknowledged: .withdrawalAcknowledged
        case .decisionRecord: .decisionRecord
        case .disclosureRecord: .disclosureRecord
        case .disclosureReviewed: .disclosureReviewed
        case .noticeSent: .noticeSent
        case .noticeException: .noticeException
        case .breachRecorded: .breachRecorded
        case .breachAssessed: .breachAssessed
        case .breachCommissionerNotified: .breachCommissionerNotified
        case .subjectErased: .subjectErased
        }
    }
}

extension OrganisationRegistered {
    public var typed: TypedEntryBody { .organisationRegistered(self) }
}

extension CredentialIssued {
    public var typed: TypedEntryBody { .credentialIssued(self) }
}

extension CredentialRevoked {
    public var typed: TypedEntryBody { .credentialRevoked(self) }
}

extension PolicyPublished {
    public var typed: TypedEntryBody { .policyPublished(self) }
}

extension SubjectRegistered {
    public var typed: TypedEntryBody { .subjectRegistered(self) }
}

extension SubjectEnrolled {
    public var typed: TypedEntryBody { .subjectEnrolled(self) }
}

extension ConsentTerms {
    public var typed: TypedEntryBody { .consentTerms(self) }
}

extension ConsentWithdrawn {
    public var typed: TypedEntryBody { .consentWithdrawn(self) }
}

extension ConsentRefused {
    public var typed: TypedEntryBody { .consentRefused(self) }
}

extension WithdrawalAcknowledged {
    public var typed: TypedEntryBody { .withdrawalAcknowledged(self) }
}

extension DecisionRecord {
    public var typed: TypedEntryBody { .decisionRecord(self) }
}

extension DisclosureRecord {
    public var typed: TypedEntryBody { .disclosureRecord(self) }
}

extension DisclosureReviewed {
    public var typed: TypedEntryBody { .disclosureReviewed(self) }
}

extension NoticeSent {
    public var typed: TypedEntryBody { .noticeSent(self) }
}

extension NoticeException {
    public var typed: TypedEntryBody { .noticeException(self) }
}

extension BreachRecorded {
    public var typed: TypedEntryBody { .breachRecorded(self) }
}

extension BreachAssessed {
    public var typed: TypedEntryBody { .breachAssessed(self) }
}

extension BreachCommissionerNotified {
    public var typed: TypedEntryBody { .breachCommissionerNotified(self) }
}

extension SubjectErased {
    public var typed: TypedEntryBody { .subjectErased(self) }
}
