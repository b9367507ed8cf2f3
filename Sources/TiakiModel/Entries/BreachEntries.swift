extension EntryKind {
    public static let breachRecorded = EntryKind(rawValue: "breach.recorded")
    public static let breachAssessed = EntryKind(rawValue: "breach.assessed")
    public static let breachCommissionerNotified = EntryKind(rawValue: "breach.commissioner-notified")
}

/// What a privacy breach touched, as the privacy officer describes it: the disclosures to a recipient in a time
/// range, the disclosures by a channel in a time range, or a list of disclosures.
public struct BreachScope: Sendable, Hashable, Codable {
    public var recipient: String?
    public var channel: String?
    /// The first and last day of the range (`YYYY-MM-DD`), inclusive.
    public var from: String?
    public var to: String?
    public var disclosures: [Int]?

    public init(
        recipient: String? = nil,
        channel: String? = nil,
        from: String? = nil,
        to: String? = nil,
        disclosures: [Int]? = nil
    ) {
        self.recipient = recipient
        self.channel = channel
        self.from = from
        self.to = to
        self.disclosures = disclosures
    }

    /// Whether a disclosure (its index, recipient, channel and day) falls within the scope.
    public func matches(index: Int, recipient r: String, channel c: String, day: Day) -> Bool {
        if let list = disclosures { return list.contains(index) }
        if let recipient, recipient != r { return false }
        if let channel, channel != c { return false }
        if let from = from.flatMap(Day.init), day < from { return false }
        if let to = to.flatMap(Day.init), day > to { return false }
        return true
    }
}

/// A privacy breach (Privacy Act 2020, Part 6) recorded by a privacy officer: when it was found, what happened
/// (sealed), what it touched, and the children affected as Tiaki found them from the ledger.
public struct BreachRecorded: EntryBody {
    public static let kind = EntryKind.breachRecorded

    /// A child whose information the breach touched, the disclosures that carried it and what they held.
    public struct Affected: Sendable, Hashable, Codable {
        public var subject: String
        public var disclosures: [Int]
        public var information: [String]

        public init(subject: String, disclosures: [Int], information: [String]) {
            self.subject = subject
            self.disclosures = disclosures
            self.information = information
        }
    }

    /// The breach's id (`b-` and hex); its texts are sealed to a key of its own in the vault.
    public var breach: String
    /// When it was found (RFC 3339, UTC).
    public var found: String
    public var descriptionSealed: Sealed
    public var scope: BreachScope
    public var affected: [Affected]

    public init(breach: String, found: String, descriptionSealed: Sealed, scope: BreachScope, affected: [Affected]) {
        self.breach = breach
        self.found = found
        self.descriptionSealed = descriptionSealed
        self.scope = scope
        self.affected = affected
    }

    public func apply(to state: inout ConsentState, entry: ConsentEntry.Header) {
        guard state.breaches[breach] == nil else { return }
        state.breaches[breach] = .init(
            id: breach,
            index: entry.index,
            found: found,
            recordedBy: entry.actor.org,
            affected: Dictionary(affected.map { ($0.subject, $0.disclosures) }, uniquingKeysWith: { a, b in a + b })
        )
    }
}

/// The privacy officer's assessment of a breach: whether it is likely to cause serious harm (and so must be
/// notified), with the factors of section 113 that weighed, and reasons (sealed).
public struct BreachAssessed: EntryBody {
    public static let kind = EntryKind.breachAssessed

    /// The matters section 113 of the Act says to consider.
    public enum Factor: String, Sendable, Hashable, Codable, CaseIterable {
        /// Action taken to reduce the risk of harm.
        case mitigation
        /// The information is sensitive.
        case sensitiveInformation = "sensitive-information"
        /// The nature of the harm that may be caused.
        case natureOfHarm = "nature-of-harm"
        /// Who has obtained, or may obtain, the information.
        case whoObtained = "who-obtained"
        /// Whether a security measure protects the information.
        case securityMeasures = "security-measures"
        /// Any other relevant matter.
        case other

        public var words: String {
            switch self {
            case .mitigation: "what was done to reduce the risk of harm"
            case .sensitiveInformation: "how sensitive the information is"
            case .natureOfHarm: "the nature of the harm that may be caused"
            case .whoObtained: "who obtained or may obtain the information"
            case .securityMeasures: "whether a security measure protects it"
            case .other: "other relevant matters"
            }
        }
    }

    public var breach: String
    /// When it was assessed (RFC 3339, UTC).
    public var assessed: String
    /// Likely to cause serious harm: the Commissioner and the affected people must be notified.
    public var seriousHarm: Bool
    public var factors: [Factor]
    public var reasonsSealed: Sealed

    public init(breach: String, assessed: String, seriousHarm: Bool, factors: [Factor], reasonsSealed: Sealed) {
        self.breach = breach
        self.assessed = assessed
        self.seriousHarm = seriousHarm
        self.factors = factors
        self.reasonsSealed = reasonsSealed
    }

    public func apply(to state: inout ConsentState, entry: ConsentEntry.Header) {
        guard state.breaches[breach] != nil, state.breaches[breach]?.assessment == nil else { return }
        state.breaches[breach]?.assessment = .init(index: entry.index, time: assessed, seriousHarm: seriousHarm)
    }
}

/// The Privacy Commissioner was notified of a breach (NotifyUs), with the reference it gave.
public struct BreachCommissionerNotified: EntryBody {
    public static let kind = EntryKind.breachCommissionerNotified

    public var breach: String
    /// When (RFC 3339, UTC).
    public var notified: String
    public var reference: String

    public init(breach: String, notified: String, reference: String) {
        self.breach = breach
        self.notified = notified
        self.reference = reference
    }

    public func apply(to state: inout ConsentState, entry: ConsentEntry.Header) {
        guard state.breaches[breach] != nil, state.breaches[breach]?.commissionerNotified == nil else { return }
        state.breaches[breach]?.commissionerNotified = .init(index: entry.index, time: notified)
    }
}
