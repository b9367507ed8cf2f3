import Crypto
import Foundation

/// A witness's public key for C2SP tlog-cosignature `cosignature/v1` (Ed25519), read from or written as a vkey
/// with signature type 0x04: `<name>+<hex key ID>+<base64(0x04 ‖ key)>`.
///
/// A cosignature is a note signature line over a checkpoint whose bytes are `key ID ‖ timestamp ‖ signature`, the
/// signature over `cosignature/v1\ntime <timestamp>\n` followed by the checkpoint's text. Its key ID uses the
/// algorithm byte 0x04, so a verifier that knows only the log's key ignores it. See
/// https://c2sp.org/tlog-cosignature.
public struct CosignatureVerifier: Sendable, Hashable {
    public let name: String
    public let keyID: UInt32
    public let publicKey: [UInt8]

    static let algorithm: UInt8 = 0x04

    public init(name: String, publicKey: [UInt8]) throws(LedgerError) {
        guard SignedNote.isValidName(name) else {
            throw LedgerError(.malformedKey, "key name \"\(name)\" is empty or holds a space or '+'")
        }
        guard publicKey.count == 32 else { throw LedgerError(.malformedKey, "an Ed25519 public key is 32 bytes") }
        self.name = name
        self.publicKey = publicKey
        keyID = NoteKey.keyID(name: name, type: Self.algorithm, publicKey: publicKey)
    }

    /// Parses a witness vkey, checking that its key ID matches its name and key.
    public init(vkey: String) throws(LedgerError) {
        let (name, id, key) = try NoteKey.parseVkey(vkey, type: Self.algorithm, what: "a witness key (cosignature/v1)")
        try self.init(name: name, publicKey: key)
        guard keyID == id else {
            throw LedgerError(
                .malformedKey,
                "the key ID \(NoteKey.hex(id)) does not match the key (expected \(keyIDHex))"
            )
        }
    }

    public var keyIDHex: String { NoteKey.hex(keyID) }

    public var vkey: String {
        "\(name)+\(keyIDHex)+\(Data([Self.algorithm] + publicKey).base64EncodedString())"
    }

    /// The message a cosignature signs: the header line, the time line, the checkpoint text.
    static func message(_ text: String, time: UInt64) -> [UInt8] {
        Array("cosignature/v1\ntime \(time)\n".utf8) + Array(text.utf8)
    }

    /// The timestamp of `signature` when it is this witness's valid cosignature of the checkpoint text `text`;
    /// `nil` when it is another key's or does not verify.
    public func timestamp(of signature: SignedNote.Signature, over text: String) -> UInt64? {
        guard signature.name == name, signature.keyID == keyID, signature.bytes.count == 72 else { return nil }
        let time = signature.bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard time < 1 << 63, let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey),
            key.isValidSignature(signature.bytes[8...], for: Self.message(text, time: time))
        else { return nil }
        return time
    }

    /// The witnesses among `witnesses` with a valid cosignature on `note`.
    public static func cosigners(of note: SignedNote, among witnesses: [CosignatureVerifier]) -> [CosignatureVerifier] {
        witnesses.filter { w in note.signatures.contains { w.timestamp(of: $0, over: note.text) != nil } }
    }
}

extension CosignatureVerifier: Ed25519KeyVerifier {
    public static var keyType: UInt8 { algorithm }
}

/// A witness's private key: cosigns checkpoints (C2SP tlog-cosignature, `cosignature/v1`).
public typealias Cosigner = Ed25519KeySigner<CosignatureVerifier>

extension Ed25519KeySigner where Verifier == CosignatureVerifier {
    /// The cosignature of the checkpoint text `text` at `time` (seconds since the epoch).
    public func cosign(_ text: String, time: UInt64) throws(LedgerError) -> SignedNote.Signature {
        let signature = try signature(for: CosignatureVerifier.message(text, time: time))
        var bytes = (0..<8).map { UInt8(truncatingIfNeeded: time >> (56 - 8 * UInt64($0))) }
        bytes.append(contentsOf: signature)
        return .init(name: name, keyID: verifier.keyID, bytes: bytes)
    }
}

extension SignedNote {
    /// The note with `extra` signature lines added after its own (those already there are not repeated).
    public func adding(_ extra: [Signature]) -> SignedNote {
        SignedNote(text: text, signatures: signatures + extra.filter { !signatures.contains($0) })
    }

    /// A signature line as the witness protocol sends it: `— <name> <base64(key ID ‖ bytes)>\n`.
    public static func line(_ signature: Signature) -> String {
        let note = SignedNote(text: "", signatures: [signature]).serialized
        return String(note.dropFirst())
    }
}
