import Crypto
import Foundation

/// A C2SP signed note: UTF-8 text, a blank line, and one or more signature lines `— <name> <base64>`.
///
/// The text is what is signed. See https://c2sp.org/signed-note.
public struct SignedNote: Sendable, Equatable {
    public struct Signature: Sendable, Equatable {
        public var name: String
        public var keyID: UInt32
        /// The signature bytes, without the key ID.
        public var bytes: [UInt8]
    }

    /// The signed text, ending in a newline.
    public let text: String
    public let signatures: [Signature]

    /// The most signatures a note may carry; more is refused, as the reference implementation does.
    static let maximumSignatures = 100

    public init(text: String, signatures: [Signature]) {
        self.text = text
        self.signatures = signatures
    }

    /// Parses a note by the signed-note rules; signatures are not checked here (see ``verify(with:)``).
    public init(parsing note: String) throws(LedgerError) {
        let bytes = Array(note.utf8)
        // Find the last "\n\n": the text ends with the first of those newlines, signatures follow the blank line.
        var split: Int?
        var i = bytes.count - 2
        while i >= 0 {
            if bytes[i] == 0x0A && bytes[i + 1] == 0x0A {
                split = i
                break
            }
            i -= 1
        }
        guard let split else { throw LedgerError(.malformedNote, "note has no blank line before its signatures") }
        let textBytes = bytes[...split]
        for b in textBytes where b < 0x20 && b != 0x0A {
            throw LedgerError(.malformedNote, "note text holds a control character (0x\(String(b, radix: 16)))")
        }
        let text = String(decoding: textBytes, as: UTF8.self)
        let sigBytes = bytes[(split + 2)...]
        guard !sigBytes.isEmpty, sigBytes.last == 0x0A else {
            throw LedgerError(.malformedNote, "note has no signature lines, or its last line does not end in a newline")
        }
        var signatures: [Signature] = []
        for lineBytes in sigBytes.dropLast().split(separator: 0x0A, omittingEmptySubsequences: false) {
            let line = String(decoding: lineBytes, as: UTF8.self)
            guard line.hasPrefix("— ") else {
                throw LedgerError(.malformedNote, "signature line does not start with \"— \": \(line.prefix(40))")
            }
            let rest = line.dropFirst(2)
            let parts = rest.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, SignedNote.isValidName(String(parts[0])),
                let decoded = Data(base64Encoded: String(parts[1])), decoded.count >= 5
            else {
                throw LedgerError(.malformedNote, "malformed signature line: \(line.prefix(60))")
            }
            let raw = [UInt8](decoded)
            let keyID = UInt32(raw[0]) << 24 | UInt32(raw[1]) << 16 | UInt32(raw[2]) << 8 | UInt32(raw[3])
            signatures.append(Signature(name: String(parts[0]), keyID: keyID, bytes: Array(raw[4...])))
        }
        guard signatures.count <= SignedNote.maximumSignatures else {
            throw LedgerError(.malformedNote, "note has more than \(SignedNote.maximumSignatures) signatures")
        }
        self.text = text
        self.signatures = signatures
    }

    /// The note as text: the signed text, a blank line, and the signature lines.
    public var serialized: String {
        var s = text + "\n"
        for sig in signatures {
            var raw: [UInt8] = [
                UInt8(sig.keyID >> 24), UInt8(truncatingIfNeeded: sig.keyID >> 16),
                UInt8(truncatingIfNeeded: sig.keyID >> 8), UInt8(truncatingIfNeeded: sig.keyID),
            ]
            raw.append(contentsOf: sig.bytes)
            s += "— \(sig.name) \(Data(raw).base64EncodedString())\n"
        }
        return s
    }

    /// Verifies the note by the signed-note rules: signatures from keys not in `verifiers` are ignored; a
    /// signature from a known key that does not verify rejects the note; at least one known key must verify.
    ///
    /// - Returns: the verifiers whose signatures verified.
    @discardableResult
    public func verify(with verifiers: [NoteVerifier]) throws(LedgerError) -> [NoteVerifier] {
        var verified: [NoteVerifier] = []
        let message = Array(text.utf8)
        for sig in signatures {
            guard let key = verifiers.first(where: { $0.name == sig.name && $0.keyID == sig.keyID }) else { continue }
            guard key.isValidSignature(sig.bytes, for: message) else {
                throw LedgerError(.signatureInvalid, "the signature by \(key.name)+\(key.keyIDHex) does not verify")
            }
            if !verified.contains(key) { verified.append(key) }
        }
        guard !verified.isEmpty else {
            let names = verifiers.map { "\($0.name)+\($0.keyIDHex)" }.joined(separator: ", ")
            throw LedgerError(.noTrustedSignature, "no signature by a trusted key (\(names))")
        }
        return verified
    }

    /// A key name: non-empty, no Unicode spaces, no "+" (signed-note §"Signatures").
    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && !name.unicodeScalars.contains { $0 == "+" || $0.properties.isWhitespace || $0.value < 0x20 }
    }
}

/// What note keys of every type share: key IDs, vkey and private-key text, seeds. The type byte tells them apart
/// (0x01 a note signature, 0x04 a `cosignature/v1`).
enum NoteKey {
    /// The first four bytes of `SHA-256(name ‖ "\n" ‖ type ‖ key)`, big-endian.
    static func keyID(name: String, type: UInt8, publicKey: [UInt8]) -> UInt32 {
        var hasher = SHA256()
        hasher.update(data: Array(name.utf8) + [0x0A, type] + publicKey)
        let digest = Array(hasher.finalize())
        return UInt32(digest[0]) << 24 | UInt32(digest[1]) << 16 | UInt32(digest[2]) << 8 | UInt32(digest[3])
    }

    static func hex(_ keyID: UInt32) -> String {
        let hex = String(keyID, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }

    /// `name+keyid+base64(type ‖ key)`: the name, the key ID and the key, the type checked.
    static func parseVkey(
        _ vkey: String,
        type: UInt8,
        what: String
    ) throws(LedgerError) -> (name: String, keyID: UInt32, key: [UInt8]) {
        let text = vkey.trimmingCharacters(in: .whitespacesAndNewlines)
        // Names and key IDs hold no "+", but base64 may: only the first two separate fields.
        let parts = text.split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            throw LedgerError(.malformedKey, "\(what) has the form name+keyid+base64key; got \"\(text.prefix(80))\"")
        }
        guard parts[1].count == 8, let id = UInt32(parts[1], radix: 16) else {
            throw LedgerError(.malformedKey, "the key ID of \(what) is 8 hex digits; got \"\(parts[1])\"")
        }
        guard let raw = Data(base64Encoded: String(parts[2])).map({ [UInt8]($0) }), raw.count == 33, raw[0] == type
        else {
            throw LedgerError(
                .malformedKey,
                "the key of \(what) must be base64 of 0x\(String(format: "%02x", type)) and a 32-byte Ed25519 key"
            )
        }
        return (String(parts[0]), id, Array(raw[1...]))
    }

    /// `PRIVATE+KEY+name+keyid+base64(type ‖ seed)`: the name, the key ID text and the seed, the type checked.
    static func parsePrivate(
        _ privateKeyText: String,
        type: UInt8
    ) throws(LedgerError) -> (name: String, keyIDHex: String, seed: [UInt8]) {
        let text = privateKeyText.trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = text.split(separator: "+", maxSplits: 4, omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "PRIVATE", parts[1] == "KEY",
            let raw = Data(base64Encoded: String(parts[4])).map({ [UInt8]($0) }), raw.count == 33, raw[0] == type
        else {
            throw LedgerError(
                .malformedKey,
                "a private key has the form PRIVATE+KEY+name+keyid+base64(0x\(String(format: "%02x", type)) and the seed)"
            )
        }
        return (String(parts[2]), String(parts[3]), Array(raw[1...]))
    }

    static func privateText(name: String, keyID: UInt32, type: UInt8, key: Curve25519.Signing.PrivateKey) -> String {
        "PRIVATE+KEY+\(name)+\(hex(keyID))+\(Data([type] + Array(key.rawRepresentation)).base64EncodedString())"
    }

    static func privateKey(seed: [UInt8]) throws(LedgerError) -> Curve25519.Signing.PrivateKey {
        guard seed.count == 32, let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed) else {
            throw LedgerError(.malformedKey, "an Ed25519 seed is 32 bytes")
        }
        return key
    }
}

/// The public half of a note key, read from or written as a C2SP vkey: `<name>+<hex key ID>+<base64(0x01 ‖ key)>`.
public struct NoteVerifier: Sendable, Hashable {
    public let name: String
    public let keyID: UInt32
    public let publicKey: [UInt8]

    /// The algorithm byte for Ed25519 in signed-note keys.
    static let ed25519: UInt8 = 0x01

    public init(name: String, publicKey: [UInt8]) throws(LedgerError) {
        guard SignedNote.isValidName(name) else {
            throw LedgerError(.malformedKey, "key name \"\(name)\" is empty or holds a space or '+'")
        }
        guard publicKey.count == 32 else { throw LedgerError(.malformedKey, "an Ed25519 public key is 32 bytes") }
        self.name = name
        self.publicKey = publicKey
        self.keyID = NoteVerifier.keyID(name: name, publicKey: publicKey)
    }

    /// Parses a vkey, checking that its key ID matches its name and key.
    public init(vkey: String) throws(LedgerError) {
        let (name, id, key) = try NoteKey.parseVkey(vkey, type: NoteVerifier.ed25519, what: "a verifier key")
        try self.init(name: name, publicKey: key)
        guard keyID == id else {
            throw LedgerError(
                .malformedKey,
                "the key ID \(NoteKey.hex(id)) does not match the key (expected \(keyIDHex))"
            )
        }
    }

    /// The first four bytes of `SHA-256(name ‖ "\n" ‖ 0x01 ‖ key)`, big-endian.
    static func keyID(name: String, publicKey: [UInt8]) -> UInt32 {
        NoteKey.keyID(name: name, type: NoteVerifier.ed25519, publicKey: publicKey)
    }

    public var keyIDHex: String { NoteKey.hex(keyID) }

    /// The vkey text.
    public var vkey: String {
        "\(name)+\(keyIDHex)+\(Data([NoteVerifier.ed25519] + publicKey).base64EncodedString())"
    }

    func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
        return key.isValidSignature(signature, for: message)
    }
}

/// The public half of an Ed25519 note key of one signature type: a log's key (``NoteVerifier``, type 0x01) or a
/// witness's (``CosignatureVerifier``, `cosignature/v1`, type 0x04).
public protocol Ed25519KeyVerifier: Sendable, Hashable {
    /// The signature type byte in the key's text and its key ID.
    static var keyType: UInt8 { get }
    var name: String { get }
    var keyID: UInt32 { get }
    var keyIDHex: String { get }
    init(name: String, publicKey: [UInt8]) throws(LedgerError)
}

extension NoteVerifier: Ed25519KeyVerifier {
    public static var keyType: UInt8 { ed25519 }
}

/// The private half of an Ed25519 note key: ``NoteSigner`` signs a log's checkpoints, ``Cosigner`` cosigns them as
/// a witness. One type, so that generating, reading and writing a key is written once.
public struct Ed25519KeySigner<Verifier: Ed25519KeyVerifier>: Sendable {
    public let verifier: Verifier
    private let privateKey: Curve25519.Signing.PrivateKey

    public var name: String { verifier.name }

    /// A new random key.
    public init(generatingWithName name: String) throws(LedgerError) {
        try self.init(name: name, privateKey: Curve25519.Signing.PrivateKey())
    }

    /// A key from its 32-byte Ed25519 seed (for deterministic samples and tests).
    public init(name: String, seed: [UInt8]) throws(LedgerError) {
        try self.init(name: name, privateKey: NoteKey.privateKey(seed: seed))
    }

    private init(name: String, privateKey: Curve25519.Signing.PrivateKey) throws(LedgerError) {
        self.privateKey = privateKey
        self.verifier = try Verifier(name: name, publicKey: Array(privateKey.publicKey.rawRepresentation))
    }

    /// Parses the private key text `PRIVATE+KEY+<name>+<hex key ID>+<base64(type ‖ seed)>`, the form the
    /// reference implementation writes.
    public init(privateKeyText: String) throws(LedgerError) {
        let (name, keyIDHex, seed) = try NoteKey.parsePrivate(privateKeyText, type: Verifier.keyType)
        try self.init(name: name, seed: seed)
        guard verifier.keyIDHex == keyIDHex else {
            throw LedgerError(.malformedKey, "the key ID in the private key does not match the key")
        }
    }

    /// The private key text (see ``init(privateKeyText:)``).
    public var privateKeyText: String {
        NoteKey.privateText(name: name, keyID: verifier.keyID, type: Verifier.keyType, key: privateKey)
    }

    func signature(for message: [UInt8]) throws(LedgerError) -> Data {
        guard let signature = try? privateKey.signature(for: message) else {
            throw LedgerError(.signatureInvalid, "signing failed")
        }
        return signature
    }
}

/// The private half of a log's note key.
public typealias NoteSigner = Ed25519KeySigner<NoteVerifier>

extension Ed25519KeySigner where Verifier == NoteVerifier {
    /// Signs `text` (which must end in a newline) into a one-signature note.
    public func sign(_ text: String) throws(LedgerError) -> SignedNote {
        guard text.hasSuffix("\n") else { throw LedgerError(.malformedNote, "note text must end in a newline") }
        let signature = try signature(for: Array(text.utf8))
        return SignedNote(
            text: text,
            signatures: [.init(name: name, keyID: verifier.keyID, bytes: Array(signature))]
        )
    }
}
