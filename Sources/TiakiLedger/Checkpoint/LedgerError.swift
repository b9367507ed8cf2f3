/// An error from the ledger, with a stable code, a plain message and where it was raised.
///
/// Equality compares the code only, so tests and callers can match on what went wrong, not on the wording.
public struct LedgerError: Error, Sendable, CustomStringConvertible, Equatable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        public static let malformedNote = Code("malformed-note")
        public static let malformedCheckpoint = Code("malformed-checkpoint")
        public static let malformedKey = Code("malformed-key")
        public static let signatureInvalid = Code("signature-invalid")
        public static let noTrustedSignature = Code("no-trusted-signature")
        public static let insecureKeyFile = Code("insecure-key-file")
        public static let io = Code("io")
        public static let notALedger = Code("not-a-ledger")
        public static let corrupt = Code("corrupt")
        public static let invalidEntry = Code("invalid-entry")
        /// An entry larger than `LedgerConfiguration.maximumEntryBytes`.
        public static let entryTooLarge = Code("entry-too-large")
        public static let invalidArgument = Code("invalid-argument")
        public static let closed = Code("closed")
    }

    public let code: Code
    public let message: String
    public let file: String
    public let line: Int

    public init(_ code: Code, _ message: String, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.file = file
        self.line = line
    }

    public var description: String { message }

    public static func == (lhs: LedgerError, rhs: LedgerError) -> Bool { lhs.code == rhs.code }
}
