/// Why a consent-layer request was refused: a stable code (the HTTP layer turns it into a problem `type`), one
/// plain sentence, and the field at fault.
public struct ConsentError: Error, Sendable, CustomStringConvertible, Equatable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        /// A field is missing or malformed, or a checklist item is missing.
        public static let invalid = Code("invalid")
        /// A code is not in the policy set's vocabulary.
        public static let notInVocabulary = Code("not-in-vocabulary")
        public static let unknownSubject = Code("unknown-subject")
        public static let unknownOrganisation = Code("unknown-organisation")
        public static let unknownConsent = Code("unknown-consent")
        public static let unknownCredential = Code("unknown-credential")
        /// The request conflicts with the current state (e.g. withdrawing a consent already withdrawn).
        public static let conflict = Code("conflict")
        /// The subject's personal details were erased.
        public static let erased = Code("erased")
        /// A count limit: more of something than one subject may have.
        public static let tooMany = Code("too-many")
        public static let storage = Code("storage")
    }

    public let code: Code
    public let message: String
    /// The field at fault, as a dotted path (`sharing.storageRegions[0]`), where there is one.
    public let field: String?

    public init(_ code: Code, _ message: String, field: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
    }

    public var description: String { message }

    public static func == (a: ConsentError, b: ConsentError) -> Bool { a.code == b.code }
}
