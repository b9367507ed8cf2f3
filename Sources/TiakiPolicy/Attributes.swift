public import TiakiModel

/// The typed attributes conditions can test, and what each one means.
public enum AttributeType: Sendable, Hashable, CustomStringConvertible {
    case code(Vocabulary.Dimension)
    case codes(Vocabulary.Dimension)
    case bool
    case date
    case number
    case string
    case role

    public var description: String {
        switch self {
        case .code(let d): "a \(d.noun) code"
        case .codes(let d): "a set of \(d.noun) codes"
        case .bool: "true or false"
        case .date: "a date"
        case .number: "a number"
        case .string: "a text value"
        case .role: "a credential role"
        }
    }

    /// The operators that apply to this type.
    var operators: [Operator] {
        switch self {
        case .code, .string, .role: [.equals, .in, .exists]
        case .codes: [.contains, .containsAny, .subsetOf, .exists]
        case .bool: [.equals, .exists]
        case .date: [.before, .after, .equals, .exists]
        case .number: [.equals, .atLeast, .atMost, .exists]
        }
    }
}

public enum Operator: String, Sendable, CaseIterable {
    case equals
    case `in`
    case contains
    case containsAny = "contains-any"
    case subsetOf = "subset-of"
    case before
    case after
    case atLeast = "at-least"
    case atMost = "at-most"
    case exists
}

public enum Attribute: String, Sendable, CaseIterable {
    case requestPurpose = "request.purpose"
    case requestInformation = "request.information"
    case requestChannel = "request.channel"
    case requestStorageRegion = "request.storage-region"
    case requestSeriousThreat = "request.serious-threat"
    case requestDate = "request.date"
    case recipientID = "recipient.id"
    case recipientKind = "recipient.kind"
    case requesterID = "requester.id"
    case requesterKind = "requester.kind"
    case requesterRole = "requester.role"
    case subjectAge = "subject.age"
    case subjectOrganisation = "subject.organisation"
    case subjectErased = "subject.erased"
    case consentPurposes = "consent.purposes"
    case consentInformation = "consent.information"
    case consentChannels = "consent.channels"
    case consentStorageRegions = "consent.storage-regions"
    case consentConsenters = "consent.consenters"
    case consentRetentionUntil = "consent.retention-until"
    case consentInformed = "consent.informed"

    public var type: AttributeType {
        switch self {
        case .requestPurpose: .code(.purpose)
        case .requestInformation: .codes(.information)
        case .requestChannel: .code(.channel)
        case .requestStorageRegion: .code(.storageRegion)
        case .requestSeriousThreat: .bool
        case .requestDate: .date
        case .recipientID, .requesterID, .subjectOrganisation: .string
        case .recipientKind, .requesterKind: .code(.organisationKind)
        case .requesterRole: .role
        case .subjectAge: .number
        case .subjectErased: .bool
        case .consentPurposes: .codes(.purpose)
        case .consentInformation: .codes(.information)
        case .consentChannels: .codes(.channel)
        case .consentStorageRegions: .codes(.storageRegion)
        case .consentConsenters: .codes(.consenter)
        case .consentRetentionUntil, .consentInformed: .date
        }
    }

    /// Words for explanations.
    var phrase: String {
        switch self {
        case .requestPurpose: "the purpose of the request"
        case .requestInformation: "the information requested"
        case .requestChannel: "the sharing channel"
        case .requestStorageRegion: "where the recipient will store it"
        case .requestSeriousThreat: "the request is marked as a serious threat"
        case .requestDate: "the date of the share"
        case .recipientID: "the recipient"
        case .recipientKind: "the kind of recipient"
        case .requesterID: "the organisation asking"
        case .requesterKind: "the kind of organisation asking"
        case .requesterRole: "the role of the person asking"
        case .subjectAge: "the child's age"
        case .subjectOrganisation: "the child's school or service"
        case .subjectErased: "the child's details were erased"
        case .consentPurposes: "the purposes the consent covers"
        case .consentInformation: "the information the consent covers"
        case .consentChannels: "the channels the consent allows"
        case .consentStorageRegions: "where the consent allows storage"
        case .consentConsenters: "who gave the consent"
        case .consentRetentionUntil: "the consent's retention date"
        case .consentInformed: "when the whānau were informed"
        }
    }

    /// Whether the attribute belongs to the covering consent (missing when no consent covers the request).
    var isConsentAttribute: Bool { rawValue.hasPrefix("consent.") }
}
