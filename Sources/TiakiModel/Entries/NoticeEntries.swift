extension EntryKind {
    public static let noticeSent = EntryKind(rawValue: "notice.sent")
    public static let noticeException = EntryKind(rawValue: "notice.exception")
}

/// Privacy Act 2020, IPP 3A: whether the recipient of a disclosure, which collected information about the child
/// from someone other than the child, owes the whānau a notice — worked out when the disclosure is recorded.
public struct CollectionNoticeDuty: Sendable, Hashable, Codable {
    /// Whether a notice is due.
    public var due: Bool
    /// When not due: the consent at which the whānau were told of this recipient (or its kind), this purpose and
    /// this information.
    public var consent: Int?
    /// When due: the day by which it is to be sent (the policy's working days after the share).
    public var by: String?

    public init(due: Bool, consent: Int? = nil, by: String? = nil) {
        self.due = due
        self.consent = consent
        self.by = by
    }
}

/// A notice sent to the whānau: an IPP 3A notice for one or more disclosures (one agency may notify on behalf of
/// the others that collected), or a breach notice (Part 6) for one child. The actor's organisation sent it.
public struct NoticeSent: EntryBody {
    public static let kind = EntryKind.noticeSent

    /// How it went to the whānau.
    public enum Method: String, Sendable, Hashable, Codable, CaseIterable {
        case email, post
        case inPerson = "in-person"
        case phone
    }

    /// The disclosures (ledger indexes) an IPP 3A notice covers.
    public var disclosures: [Int]?
    /// The breach (its id) a breach notice is about.
    public var breach: String?
    public var date: String
    public var method: Method
    /// The organisations on whose behalf the sender notified (the recipients of the disclosures, other than the
    /// sender).
    public var onBehalfOf: [String]?
    /// The language the notice was sent in (`en`, `mi`, or both).
    public var languages: [String]

    public init(
        disclosures: [Int]? = nil,
        breach: String? = nil,
        date: String,
        method: Method,
        onBehalfOf: [String]? = nil,
        languages: [String]
    ) {
        self.disclosures = disclosures
        self.breach = breach
        self.date = date
        self.method = method
        self.onBehalfOf = onBehalfOf
        self.languages = languages
    }

    public func apply(to state: inout ConsentState, entry: ConsentEntry.Header) {
        for d in disclosures ?? [] where state.collectionNotices[d]?.outcome == nil {
            state.collectionNotices[d]?.outcome = .sent(index: entry.index, by: entry.actor.org)
            state.settleCollectionNotice(d)
        }
        if let breach, let subject = entry.subject, state.breaches[breach]?.affected[subject] != nil,
            state.breaches[breach]?.noticesSent[subject] == nil
        {
            state.breaches[breach]?.noticesSent[subject] = entry.index
        }
    }
}

/// A privacy officer records that an IPP 3A notice need not be sent, with the exception that applies and why.
public struct NoticeException: EntryBody {
    public static let kind = EntryKind.noticeException

    /// The exceptions of IPP 3A(3) a privacy officer may rely on.
    public enum Code: String, Sendable, Hashable, Codable, CaseIterable {
        /// Telling them would prejudice the safety of any individual (or the child's interests).
        case prejudiceToSafety = "prejudice-to-safety"
        /// The whānau already know, by other means, what the notice would tell them.
        case alreadyAware = "already-aware"
        /// Telling them is not reasonably practicable in the circumstances.
        case notReasonablyPracticable = "not-reasonably-practicable"

        public var words: String {
            switch self {
            case .prejudiceToSafety: "telling the whānau would prejudice someone's safety"
            case .alreadyAware: "the whānau already know, by other means"
            case .notReasonablyPracticable: "telling the whānau is not reasonably practicable"
            }
        }
    }

    public var disclosure: Int
    public var code: Code
    public var date: String
    public var reasonSealed: Sealed

    public init(disclosure: Int, code: Code, date: String, reasonSealed: Sealed) {
        self.disclosure = disclosure
        self.code = code
        self.date = date
        self.reasonSealed = reasonSealed
    }

    public func apply(to state: inout ConsentState, entry: ConsentEntry.Header) {
        if state.collectionNotices[disclosure]?.outcome == nil {
            state.collectionNotices[disclosure]?.outcome = .exception(index: entry.index)
            state.settleCollectionNotice(disclosure)
        }
    }
}
