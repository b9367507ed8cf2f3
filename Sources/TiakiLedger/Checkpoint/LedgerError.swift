/// An error from the ledger, with a code from a closed set, a plain message and where it was raised.
///
/// Equality compares the code only, so tests and callers can match on what went wrong, not on the wording.
public struct LedgerError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What went wrong. The set is closed (a new code is added here, and its users' exhaustive switches then ask
    /// what it means for them).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        package enum Backing: String, CaseIterable, Sendable {
            case malformedNote = "malformed-note"
            case malformedCheckpoint = "malformed-checkpoint"
            case malformedKey = "malformed-key"
            case signatureInvalid = "signature-invalid"
            case noTrustedSignature = "no-trusted-signature"
            case insecureKeyFile = "insecure-key-file"
            case io
            case notALedger = "not-a-ledger"
            case corrupt
            case invalidEntry = "invalid-entry"
            case entryTooLarge = "entry-too-large"
            case invalidArgument = "invalid-argument"
            case closed
            case locked
            case diverged
            case noLedger = "no-ledger"
            case conflict
        }

        package let backing: Backing

        private init(_ backing: Backing) { self.backing = backing }

        public var name: String { backing.rawValue }
        public var description: String { name }

        /// Every code, for tests that check each has a deliberate meaning.
        public static var all: [Code] { Backing.allCases.map(Code.init) }

        public static let malformedNote = Code(.malformedNote)
        public static let malformedCheckpoint = Code(.malformedCheckpoint)
        public static let malformedKey = Code(.malformedKey)
        public static let signatureInvalid = Code(.signatureInvalid)
        public static let noTrustedSignature = Code(.noTrustedSignature)
        public static let insecureKeyFile = Code(.insecureKeyFile)
        public static let io = Code(.io)
        public static let notALedger = Code(.notALedger)
        public static let corrupt = Code(.corrupt)
        public static let invalidEntry = Code(.invalidEntry)
        /// An entry larger than `LedgerConfiguration.maximumEntryBytes`.
        public static let entryTooLarge = Code(.entryTooLarge)
        public static let invalidArgument = Code(.invalidArgument)
        public static let closed = Code(.closed)
        /// Another process appends to this data directory.
        public static let locked = Code(.locked)
        /// The ledger on disk moved ahead of this process's view: something else wrote to it.
        public static let diverged = Code(.diverged)
        /// There is no ledger where one was expected (and this command does not create one).
        public static let noLedger = Code(.noLedger)
        /// Another instance sharing the database wrote under the same key since the append's check: check again.
        public static let conflict = Code(.conflict)
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
