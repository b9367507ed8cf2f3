public import TiakiModel

/// What a caller asks to do, one case per thing the API or the pages let someone do. Who may do each is said in
/// one place, ``roles``, and both front ends ask ``Caller/require(_:)`` before they call a service: a page and an
/// API route that do the same thing give the same answer to the same role.
///
/// The set is closed and ``roles`` switches over it without a default, so a new action does not compile until it
/// says who may do it.
public enum Action: String, CaseIterable, Sendable {
    /// Register a child (or enrol one another organisation knows).
    case registerChild = "register-child"
    /// Find a child by NSN or an organisation's reference.
    case findChild = "find-child"
    /// See a child: their consents, refusals, shares and the decisions about them (never a sealed field).
    case viewChild = "view-child"
    /// Read a child's personal details: their name, and the names of those who agreed.
    case readPersonalDetails = "read-personal-details"
    case recordConsent = "record-consent"
    case withdrawConsent = "withdraw-consent"
    case recordRefusal = "record-refusal"
    /// Read a consent (its terms, or as FHIR R4 or ISO 27560).
    case readConsent = "read-consent"
    /// A consent's receipt for the whānau, with its proof.
    case readReceipt = "read-receipt"
    /// Ask whether a share may be made (the decision is recorded).
    case decide
    /// Record that a share was made.
    case recordDisclosure = "record-disclosure"
    case reviewDisclosure = "review-disclosure"
    case eraseChild = "erase-child"
    /// Everything held about a child (IPP 6).
    case readReport = "read-report"
    case readFindings = "read-findings"
    /// Consent coverage across the cluster (counts, never a child).
    case readCoverage = "read-coverage"
    /// The ledger's entries and the export bundle.
    case readLedger = "read-ledger"
    /// Inclusion and consistency proofs.
    case readProofs = "read-proofs"
    case manageOrganisations = "manage-organisations"
    case manageCredentials = "manage-credentials"
    /// The IPP 3A and withdrawal notices an organisation owes.
    case readNotices = "read-notices"
    case recordCollectionNotice = "record-collection-notice"
    case acknowledgeWithdrawal = "acknowledge-withdrawal"
    case recordNoticeException = "record-notice-exception"
    case readNoticeDocument = "read-notice-document"
    /// The breach register: recording, assessing, notifying.
    case handleBreaches = "handle-breaches"

    /// The roles that may do this.
    public var roles: Set<Role> {
        switch self {
        case .registerChild, .recordConsent, .withdrawConsent, .recordRefusal, .readReceipt, .readNotices,
            .recordCollectionNotice, .acknowledgeWithdrawal:
            [.member]
        case .findChild, .readPersonalDetails, .readNoticeDocument: [.member, .privacyOfficer]
        case .viewChild, .readConsent: [.member, .facilitator, .privacyOfficer]
        case .decide, .recordDisclosure: [.member, .facilitator]
        case .reviewDisclosure, .eraseChild, .readReport, .readFindings, .recordNoticeException, .handleBreaches:
            [.privacyOfficer]
        case .readCoverage: [.facilitator]
        case .readLedger: [.auditor, .privacyOfficer]
        case .readProofs: Set(Role.allCases)
        case .manageOrganisations, .manageCredentials: [.admin]
        }
    }

    /// What it is, in words for a refusal ("record a consent").
    public var words: String {
        switch self {
        case .registerChild: "register a child"
        case .findChild: "find a child"
        case .viewChild: "see a child's records"
        case .readPersonalDetails: "read a child's personal details"
        case .recordConsent: "record a consent"
        case .withdrawConsent: "withdraw a consent"
        case .recordRefusal: "record that the whānau declined"
        case .readConsent: "read a consent"
        case .readReceipt: "read a consent receipt"
        case .decide: "ask whether a share may be made"
        case .recordDisclosure: "record a share"
        case .reviewDisclosure: "review a share"
        case .eraseChild: "erase a child's personal details"
        case .readReport: "read everything held about a child"
        case .readFindings: "read the findings"
        case .readCoverage: "read the cluster's consent coverage"
        case .readLedger: "read the ledger's entries"
        case .readProofs: "read proofs"
        case .manageOrganisations: "register organisations"
        case .manageCredentials: "issue and revoke credentials"
        case .readNotices: "read the notices owed"
        case .recordCollectionNotice: "record a collection notice"
        case .acknowledgeWithdrawal: "acknowledge a withdrawal"
        case .recordNoticeException: "record an exception to a notice"
        case .readNoticeDocument: "read a notice"
        case .handleBreaches: "handle privacy breaches"
        }
    }
}

extension Caller {
    /// Whether this caller's role may do `action`.
    public func may(_ action: Action) -> Bool { action.roles.contains(role) }

    /// Refuses `action` unless this caller's role may do it (``TiakiError/Code/forbidden``, saying which roles
    /// may).
    public func require(_ action: Action) throws {
        guard may(action) else {
            let allowed = Role.allCases.filter { action.roles.contains($0) }.map(\.rawValue)
            let list =
                allowed.count > 1
                ? allowed.dropLast().joined(separator: ", ") + " or " + (allowed.last ?? "") : allowed.first ?? ""
            throw TiakiError(
                .forbidden,
                "This needs a credential with the role \(list) (to \(action.words)); yours is \(role.rawValue)."
            )
        }
    }
}
