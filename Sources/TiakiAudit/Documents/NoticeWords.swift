/// The languages Tiaki writes documents for whānau in.
public enum DocumentLanguage: String, Sendable, CaseIterable, Codable {
    case en, mi

    /// `en`, `mi`, or `both` (English, then te reo Māori).
    public static func choice(_ text: String?) -> [DocumentLanguage]? {
        switch text ?? "en" {
        case "en": [.en]
        case "mi": [.mi]
        case "both": [.en, .mi]
        default: nil
        }
    }
}

/// Every sentence of the notices Tiaki writes to whānau, in one language. The English ones are in this file; the
/// te reo Māori ones in `NoticeWords+mi.swift`, on their own so that a speaker can review them.
public struct NoticeWords: Sendable {
    /// Whether a speaker has reviewed these words.
    public var reviewed: Bool
    public var reviewNote: String?

    // IPP 3A notice
    public var collectionTitle: String
    public var collectionIntro:
        @Sendable (_ collector: String, _ child: String, _ source: String, _ date: String) -> String
    public var why: String
    public var what: String
    public var whoSees: @Sendable (_ collector: String) -> String
    public var collectedBy: String
    public var cameFrom: String
    public var law: String
    public var noLaw: String
    public var voluntary: String
    public var rightsTitle: String
    public var rights: @Sendable (_ contact: String) -> String
    public var complain: String
    public var noContact: String

    // Breach notice
    public var breachTitle: String
    public var breachIntro: @Sendable (_ agency: String, _ found: String, _ child: String) -> String
    public var breachWhatHappened: String
    public var breachInformation: String
    public var breachRecipients: String
    public var breachCommissioner: @Sendable (_ reference: String) -> String
    public var breachContact: @Sendable (_ contact: String) -> String

    /// "your child" when the name is not held (erased, or never given).
    public var yourChild: String
    public var reference: @Sendable (_ disclosure: String) -> String

    // The seven checklist items in plain words (ConsentSummary.plainLines): their headings, the words that join
    // a list ("and", "or"), the connecting phrases, and the months of the year.
    public var itemHeadings: [String]
    public var and: String
    /// Alternatives: "a; b or c" in English, "a rānei; b rānei; c rānei" in te reo.
    public var alternatives: @Sendable ([String]) -> String
    public var keptIn: String
    public var protectedBy: String
    public var orEarlierIf: String
    public var contact: String
    public var toWithdraw: String
    public var months: [String]
}

extension NoticeWords {
    public static func words(_ language: DocumentLanguage) -> NoticeWords {
        switch language {
        case .en: .english
        case .mi: .maori
        }
    }

    public static let english = NoticeWords(
        reviewed: true,
        reviewNote: nil,
        collectionTitle: "We hold information about your child",
        collectionIntro: { collector, child, source, date in
            "\(collector) received information about \(child) from \(source) on \(date). The Privacy Act 2020 (information privacy principle 3A) asks us to tell you."
        },
        why: "Why we have it",
        what: "What we received",
        whoSees: { collector in
            "The staff of \(collector) who work with your child. We will not pass it on without your agreement, unless the law requires or allows it."
        },
        collectedBy: "Who collected it and holds it",
        cameFrom: "Where it came from",
        law: "The law under which we collect it",
        noLaw: "No particular law requires us to collect it.",
        voluntary: "Whether you provide information to us is your choice.",
        rightsTitle: "Your rights",
        rights: { contact in
            "You may ask to see this information and ask us to correct it (Privacy Act 2020, principles 6 and 7). Contact us: \(contact)."
        },
        complain:
            "If you are not satisfied with our answer, you may complain to the Privacy Commissioner: www.privacy.org.nz, 0800 803 909.",
        noContact: "ask the school for our contact details",
        breachTitle: "A privacy breach involving your child's information",
        breachIntro: { agency, found, child in
            "On \(found), \(agency) found that information about \(child) was not kept as it should have been. We are sorry. This letter tells you what happened and what you can do."
        },
        breachWhatHappened: "What happened",
        breachInformation: "The information involved",
        breachRecipients: "Who had it",
        breachCommissioner: { reference in
            "We have told the Privacy Commissioner (reference \(reference))."
        },
        breachContact: { contact in
            "If you have questions, or want to see or correct the information we hold, contact us: \(contact)."
        },
        yourChild: "your child",
        reference: { disclosure in "Reference: Tiaki ledger entry \(disclosure)." },
        itemHeadings: [
            "Why it is shared", "What information", "Who will see it", "How it is shared and stored",
            "When it comes off the register", "How to check and correct it", "If you decline or withdraw",
        ],
        and: "and",
        alternatives: { ConsentSummary.list($0, joiner: "or") },
        keptIn: "kept in",
        protectedBy: "How it is protected:",
        orEarlierIf: "or earlier if",
        contact: "Contact:",
        toWithdraw: "To withdraw:",
        months: [
            "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
            "November", "December",
        ]
    )
}
