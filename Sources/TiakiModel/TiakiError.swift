/// Why a request to Tiaki's domain was refused: a code from a closed set (the HTTP layer maps each to a status and
/// a problem `type`), one plain sentence, the field at fault, and where it was raised (for logs, never shown).
///
/// Equality compares the code only, so callers and tests match on what went wrong, not on the wording.
public struct TiakiError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What went wrong. The set is closed: a new code is added here, and the HTTP layer's exhaustive mapping then
    /// asks for its status.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        package enum Backing: String, CaseIterable, Sendable {
            case invalid
            case unknownField = "unknown-field"
            case notInVocabulary = "not-in-vocabulary"
            case unknownSubject = "unknown-subject"
            case unknownOrganisation = "unknown-organisation"
            case unknownConsent = "unknown-consent"
            case unknownCredential = "unknown-credential"
            case unknownDisclosure = "unknown-disclosure"
            case unknownBreach = "unknown-breach"
            case conflict
            case erased
            case tooMany = "too-many"
            case forbidden
            case rateLimited = "rate-limited"
            case unavailable
            case `internal`
        }

        package let backing: Backing

        private init(_ backing: Backing) { self.backing = backing }

        /// The stable name (`not-in-vocabulary`), used as the problem `type`'s last part.
        public var name: String { backing.rawValue }
        public var description: String { name }

        /// Every code, for tests that check each has a deliberate meaning.
        public static var all: [Code] { Backing.allCases.map(Code.init) }

        /// A field is missing or malformed, or a checklist item is missing.
        public static let invalid = Code(.invalid)
        /// A request names a field the resource does not have.
        public static let unknownField = Code(.unknownField)
        /// A code is not in the policy set's vocabulary.
        public static let notInVocabulary = Code(.notInVocabulary)
        public static let unknownSubject = Code(.unknownSubject)
        public static let unknownOrganisation = Code(.unknownOrganisation)
        public static let unknownConsent = Code(.unknownConsent)
        public static let unknownCredential = Code(.unknownCredential)
        /// An entry named as a disclosure is not one.
        public static let unknownDisclosure = Code(.unknownDisclosure)
        /// No breach in the register has this id.
        public static let unknownBreach = Code(.unknownBreach)
        /// The request conflicts with what is recorded (withdrawing a consent already withdrawn, a second review).
        public static let conflict = Code(.conflict)
        /// The subject's personal details were erased.
        public static let erased = Code(.erased)
        /// A count limit: more of something than one subject may have.
        public static let tooMany = Code(.tooMany)
        /// The caller's role may not do this (see `Action` in TiakiConsent).
        public static let forbidden = Code(.forbidden)
        /// The caller wrote faster than its limit allows: nothing was recorded; try again after ``TiakiError/retryAfter``.
        public static let rateLimited = Code(.rateLimited)
        /// Storage failed or is not available: nothing was recorded, and trying again may work.
        public static let unavailable = Code(.unavailable)
        /// A fault in Tiaki itself (a policy compiled for another state, say): nothing was recorded.
        public static let `internal` = Code(.internal)
    }

    public let code: Code
    public let message: String
    /// The field at fault, as a dotted path (`sharing.storageRegions[0]`), where there is one.
    public let field: String?
    /// Seconds after which trying again may succeed (``Code/rateLimited``).
    public let retryAfter: Int?
    public let file: String
    public let line: Int

    public init(
        _ code: Code,
        _ message: String,
        field: String? = nil,
        retryAfter: Int? = nil,
        file: String = #fileID,
        line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.field = field
        self.retryAfter = retryAfter
        self.file = file
        self.line = line
    }

    public var description: String { message }

    public static func == (a: TiakiError, b: TiakiError) -> Bool { a.code == b.code }
}
