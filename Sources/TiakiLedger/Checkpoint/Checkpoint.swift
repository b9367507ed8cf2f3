import Foundation

/// A C2SP tlog-checkpoint body: the log's origin, its size and its RFC 9162 root.
///
/// See https://c2sp.org/tlog-checkpoint.
public struct Checkpoint: Sendable, Hashable {
    public let origin: String
    public let size: UInt64
    public let root: MerkleHash
    /// Extension lines after the root, as they appear (without newlines).
    public let extensions: [String]

    public init(origin: String, size: UInt64, root: MerkleHash, extensions: [String] = []) {
        self.origin = origin
        self.size = size
        self.root = root
        self.extensions = extensions
    }

    /// The body text, each line ending in a newline.
    public var body: String {
        var s = "\(origin)\n\(size)\n\(Data(root.array).base64EncodedString())\n"
        for line in extensions { s += line + "\n" }
        return s
    }

    /// Parses a checkpoint body (a signed note's text).
    public init(body: String) throws(LedgerError) {
        guard body.hasSuffix("\n") else {
            throw LedgerError(.malformedCheckpoint, "checkpoint body does not end in a newline")
        }
        let lines = body.dropLast().split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count >= 3 else {
            throw LedgerError(.malformedCheckpoint, "a checkpoint has an origin, a size and a root hash, one per line")
        }
        guard !lines[0].isEmpty else { throw LedgerError(.malformedCheckpoint, "checkpoint origin is empty") }
        let sizeText = lines[1]
        guard !sizeText.isEmpty, sizeText.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            sizeText == "0" || !sizeText.hasPrefix("0"), let size = UInt64(sizeText)
        else {
            throw LedgerError(
                .malformedCheckpoint,
                "checkpoint size \"\(sizeText.prefix(30))\" is not a decimal number"
            )
        }
        guard let rootBytes = Data(base64Encoded: String(lines[2])), let root = MerkleHash(bytes: [UInt8](rootBytes))
        else {
            throw LedgerError(.malformedCheckpoint, "checkpoint root is not base64 of a 32-byte hash")
        }
        let extensions = lines.dropFirst(3).map(String.init)
        guard extensions.allSatisfy({ !$0.isEmpty }) else {
            throw LedgerError(.malformedCheckpoint, "checkpoint has an empty extension line")
        }
        self.init(origin: String(lines[0]), size: size, root: root, extensions: extensions)
    }
}

/// A checkpoint with its signed note; the body is parsed from the note's text, so the two cannot drift apart.
public struct SignedCheckpoint: Sendable, Equatable {
    public let checkpoint: Checkpoint
    public let note: SignedNote

    public init(note: SignedNote) throws(LedgerError) {
        self.note = note
        self.checkpoint = try Checkpoint(body: note.text)
    }

    /// Parses a signed-note text holding a checkpoint.
    public init(parsing text: String) throws(LedgerError) {
        try self.init(note: SignedNote(parsing: text))
    }

    /// Signs a checkpoint body with `signer`.
    public init(signing checkpoint: Checkpoint, with signer: NoteSigner) throws(LedgerError) {
        self.note = try signer.sign(checkpoint.body)
        self.checkpoint = checkpoint
    }

    public var size: UInt64 { checkpoint.size }
    public var root: MerkleHash { checkpoint.root }
    public var text: String { note.serialized }
}
