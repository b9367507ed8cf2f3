/// A code with its plain words.
public struct Labelled: Sendable, Hashable, Codable {
    public var code: String
    public var label: String

    public init(code: String, label: String) {
        self.code = code
        self.label = label
    }
}

/// An organisation as a notice names it: its name, contact address, and the law under which it collects.
public struct NoticeOrganisation: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    public var contact: String?
    public var law: String?

    public init(id: String, name: String, contact: String?, law: String?) {
        self.id = id
        self.name = name
        self.contact = contact
        self.law = law
    }
}

/// Everything an IPP 3A notice tells the whānau, gathered from the ledger, the organisations and the vault.
public struct CollectionNoticeFacts: Sendable, Codable {
    public typealias Organisation = NoticeOrganisation

    public var disclosure: Int
    public var subject: String
    /// The child's name, while the vault holds it.
    public var childName: String?
    public var shared: String
    public var purpose: Labelled
    public var information: [Labelled]
    /// The agency that collected the information and holds it (the recipient of the share).
    public var collector: Organisation
    /// The organisation it came from.
    public var source: Organisation
    public var dueBy: String

    public init(
        disclosure: Int,
        subject: String,
        childName: String?,
        shared: String,
        purpose: Labelled,
        information: [Labelled],
        collector: Organisation,
        source: Organisation,
        dueBy: String
    ) {
        self.disclosure = disclosure
        self.subject = subject
        self.childName = childName
        self.shared = shared
        self.purpose = purpose
        self.information = information
        self.collector = collector
        self.source = source
        self.dueBy = dueBy
    }
}

/// Everything a breach notice to one child's whānau, and the breach report, say.
public struct BreachFacts: Sendable, Codable {
    public struct Child: Sendable, Codable {
        public var subject: String
        public var childName: String?
        public var disclosures: [Int]
        public var information: [Labelled]
        /// Information among it the policy calls sensitive.
        public var sensitive: [Labelled]
        /// The `notice.sent` entry that told the whānau, once recorded.
        public var noticeSent: UInt64?

        public init(
            subject: String,
            childName: String?,
            disclosures: [Int],
            information: [Labelled],
            sensitive: [Labelled],
            noticeSent: UInt64?
        ) {
            self.subject = subject
            self.childName = childName
            self.disclosures = disclosures
            self.information = information
            self.sensitive = sensitive
            self.noticeSent = noticeSent
        }
    }

    public struct Assessment: Sendable, Codable {
        public var index: UInt64
        public var assessed: String
        public var seriousHarm: Bool
        public var factors: [Labelled]
        public var reasons: String?

        public init(index: UInt64, assessed: String, seriousHarm: Bool, factors: [Labelled], reasons: String?) {
            self.index = index
            self.assessed = assessed
            self.seriousHarm = seriousHarm
            self.factors = factors
            self.reasons = reasons
        }
    }

    public var breach: String
    /// The `breach.recorded` entry.
    public var index: UInt64
    public var found: String
    public var description: String?
    public var scope: BreachScope
    /// The organisation that recorded it (the privacy officer's), with its contact.
    public var agency: NoticeOrganisation
    /// The organisations that received what was breached.
    public var recipients: [NoticeOrganisation]
    public var children: [Child]
    /// Every kind of information that went, and the sensitive ones among them.
    public var information: [Labelled]
    public var sensitive: [Labelled]
    public var assessment: Assessment?
    public var commissionerNotified: String?
    public var commissionerReference: String?
    /// When the assessment, and when the notifications, are due (RFC 3339, UTC).
    public var assessBy: String
    public var notifyBy: String
    /// `assessment-due`, `notification-due`, `not-notifiable` or `notified`.
    public var status: String

    public init(
        breach: String,
        index: UInt64,
        found: String,
        description: String?,
        scope: BreachScope,
        agency: NoticeOrganisation,
        recipients: [NoticeOrganisation],
        children: [Child],
        information: [Labelled],
        sensitive: [Labelled],
        assessment: Assessment?,
        commissionerNotified: String?,
        commissionerReference: String?,
        assessBy: String,
        notifyBy: String,
        status: String
    ) {
        self.breach = breach
        self.index = index
        self.found = found
        self.description = description
        self.scope = scope
        self.agency = agency
        self.recipients = recipients
        self.children = children
        self.information = information
        self.sensitive = sensitive
        self.assessment = assessment
        self.commissionerNotified = commissionerNotified
        self.commissionerReference = commissionerReference
        self.assessBy = assessBy
        self.notifyBy = notifyBy
        self.status = status
    }
}
