import Foundation
import Testing

@testable import TiakiLedger

@Suite("C2SP signed notes and checkpoints")
struct SignedNoteTests {
    struct Example: Decodable {
        let vkey: String
        let note: String
    }

    static func example() throws -> Example {
        let url = try #require(
            Bundle.module.url(forResource: "c2sp-signed-note", withExtension: "json", subdirectory: "Vectors")
        )
        return try JSONDecoder().decode(Example.self, from: Data(contentsOf: url))
    }

    @Test("the spec's worked example verifies with its verifier key")
    func workedExample() throws {
        let ex = try Self.example()
        let verifier = try NoteVerifier(vkey: ex.vkey)
        #expect(verifier.name == "example.com/foo")
        #expect(verifier.keyIDHex == "530d903a")
        #expect(verifier.vkey == ex.vkey)
        let note = try SignedNote(parsing: ex.note)
        #expect(note.text == "This is an example message.\n")
        #expect(try note.verify(with: [verifier]) == [verifier])
        #expect(note.serialized == ex.note)
    }

    @Test("a note whose text was altered is rejected by the known key")
    func alteredText() throws {
        let ex = try Self.example()
        let verifier = try NoteVerifier(vkey: ex.vkey)
        let altered = try SignedNote(
            parsing: ex.note.replacingOccurrences(of: "example message", with: "exemplary message")
        )
        #expect(throws: LedgerError(.signatureInvalid, "")) { try altered.verify(with: [verifier]) }
    }

    @Test("signatures from unknown keys are ignored; at least one known key must verify")
    func unknownKeys() throws {
        let ex = try Self.example()
        let known = try NoteVerifier(vkey: ex.vkey)
        let other = try NoteSigner(generatingWithName: "someone.else/log")
        let note = try SignedNote(parsing: ex.note)
        // Add a signature by another key: still verifies with the known key, and ignores the unknown one.
        let extra = try other.sign(note.text).signatures[0]
        let both = SignedNote(text: note.text, signatures: [extra] + note.signatures)
        #expect(try both.verify(with: [known]) == [known])
        // Only unknown signatures: refused.
        #expect(throws: LedgerError(.noTrustedSignature, "")) { try note.verify(with: [other.verifier]) }
        // A bad signature under a known name and ID: refused even though another known key verifies.
        var badBytes = note.signatures[0].bytes
        badBytes[0] ^= 1
        let bad = SignedNote.Signature(name: known.name, keyID: known.keyID, bytes: badBytes)
        let mixed = SignedNote(text: note.text, signatures: [extra, bad])
        #expect(throws: LedgerError(.signatureInvalid, "")) { try mixed.verify(with: [known, other.verifier]) }
    }

    @Test("keys round-trip through their text forms, and mismatched key IDs are refused")
    func keyForms() throws {
        let signer = try NoteSigner(generatingWithName: "tiaki.test/ledger")
        let again = try NoteSigner(privateKeyText: signer.privateKeyText)
        #expect(again.verifier == signer.verifier)
        let vkey = try NoteVerifier(vkey: signer.verifier.vkey)
        #expect(vkey == signer.verifier)
        let parts = signer.verifier.vkey.split(separator: "+")
        let wrongID = "\(parts[0])+00000000+\(parts[2])"
        #expect(throws: LedgerError(.malformedKey, "")) { try NoteVerifier(vkey: wrongID) }
        for bad in [
            "", "name", "a+b+c", "name+1234567+AQ==", "na me+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        ] {
            #expect(throws: LedgerError.self) { try NoteVerifier(vkey: bad) }
        }
    }

    @Test(
        "malformed notes are refused with a clear error",
        arguments: [
            "", "no blank line\n— a AAAA\n", "text\n\n", "text\n\nnot a signature\n", "text\n\n— name !!!\n",
            "text\n\n— name AAAA\n", "text\n\n— name AAAAAAAA", "te\u{1}xt\n\n— name AAAAAAAA\n",
        ]
    )
    func malformedNotes(_ text: String) {
        #expect(throws: LedgerError.self) { try SignedNote(parsing: text) }
    }

    @Test("checkpoint bodies round-trip and malformed ones are refused")
    func checkpoints() throws {
        let root = Merkle.leafHash(Array("x".utf8))
        let cp = Checkpoint(origin: "tiaki.test/ledger", size: 42, root: root)
        #expect(try Checkpoint(body: cp.body) == cp)
        let signer = try NoteSigner(generatingWithName: "tiaki.test/ledger")
        let signed = try SignedCheckpoint(signing: cp, with: signer)
        let parsed = try SignedCheckpoint(parsing: signed.text)
        #expect(parsed.checkpoint == cp)
        #expect(try parsed.note.verify(with: [signer.verifier]) == [signer.verifier])
        for body in [
            "origin\n1\n", "origin\n01\n\(root)\n", "origin\n-1\nAAAA\n", "\n1\nAAAA\n", "o\n1\nAAAA\n",
            "o\n1\n\(cp.body.split(separator: "\n")[2])",
        ] {
            #expect(throws: LedgerError.self, "\(body)") { try Checkpoint(body: body) }
        }
    }
}

@Suite("Key text forms")
struct KeyFormTests {
    @Test("keys whose base64 holds '+' or '/' parse, many times over")
    func base64WithPlus() throws {
        var sawPlus = false
        for i in 0..<64 {
            let signer = try NoteSigner(name: "tiaki.test/log", seed: [UInt8](repeating: UInt8(i), count: 32))
            sawPlus = sawPlus || signer.verifier.vkey.split(separator: "+").count > 3
            #expect(try NoteVerifier(vkey: signer.verifier.vkey) == signer.verifier)
            #expect(try NoteSigner(privateKeyText: signer.privateKeyText).verifier == signer.verifier)
        }
        #expect(sawPlus, "no seed produced a key with '+' in its base64; pick others")
    }
}
