import ArgumentParser
import Foundation
import TiakiAudit
import TiakiLedger

struct Receipt: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a consent receipt.",
        subcommands: [VerifyReceipt.self]
    )

    struct VerifyReceipt: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Check a consent receipt offline.",
            discussion: """
                FILE is the receipt (or the whole response of recording a consent, which holds it). Checks that \
                the entry is canonical JSON at its index and is a consent, that the checkpoint is signed by the \
                log's key, that the inclusion proof leads from the entry to the checkpoint's root, and that the \
                plain-language summary says what the entry says.

                Without --vkey the receipt's own key is used, which proves only that the receipt is internally \
                consistent; give the key the cluster publishes (GET /v1/ledger/vkey) to prove it came from that \
                ledger. To show the entry is still in the ledger later, give a newer checkpoint (GET \
                /v1/ledger/checkpoint) and the consistency proof to it (GET \
                /v1/ledger/proofs/consistency?from=SIZE, where SIZE is the receipt's checkpoint size).

                Exit codes: 0 the receipt checks out, 1 it does not (the reason is printed), 2 usage or I/O error.
                """
        )

        @Argument(help: "The receipt file (JSON).")
        var file: String

        @Option(help: ArgumentHelp("The verifier key you trust: vkey text or a file holding it.", valueName: "vkey"))
        var vkey: String?

        @Option(help: ArgumentHelp("A later signed checkpoint (its note text).", valueName: "file"))
        var checkpoint: String?

        @Option(help: ArgumentHelp("The consistency proof to the later checkpoint (JSON).", valueName: "file"))
        var consistency: String?

        func run() throws {
            func read(_ path: String) throws -> [UInt8] {
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw Output.fail("receipt verify", "cannot read \(path)")
                }
                return [UInt8](data)
            }
            let receipt: ConsentReceipt
            do {
                var value = try JSONParser().parse(try read(file))
                if let inner = value["receipt"] { value = inner }
                receipt = try JSONValueDecoder().decode(ConsentReceipt.self, from: value)
            } catch let exit as ExitCode {
                throw exit
            } catch {
                throw Output.fail("receipt verify", "\(file) is not a consent receipt: \(error)")
            }
            var trusted: NoteVerifier?
            if let vkey {
                do {
                    trusted = try readVerifierKey(vkey)
                } catch {
                    throw Output.fail("receipt verify", error.message)
                }
            }
            var later: SignedCheckpoint?
            var proof: [MerkleHash] = []
            if let checkpoint {
                guard let consistency else {
                    throw ValidationError("--checkpoint needs --consistency, the proof that it extends the receipt's")
                }
                do {
                    later = try SignedCheckpoint(parsing: String(decoding: try read(checkpoint), as: UTF8.self))
                    let value = try JSONParser().parse(try read(consistency))
                    let hashes = value["hashes"]?.arrayValue ?? []
                    proof = hashes.compactMap { $0.stringValue.flatMap(MerkleHash.init(hex:)) }
                    guard proof.count == hashes.count else {
                        throw LedgerError(.invalidArgument, "\(consistency) holds a hash that is not SHA-256 hex")
                    }
                } catch let exit as ExitCode {
                    throw exit
                } catch {
                    throw Output.fail("receipt verify", "\(error)")
                }
            }
            do {
                let check = try receipt.verify(trustedKey: trusted, later: later, consistency: proof)
                print("receipt valid: consent entry \(check.index) is in the ledger \(check.keyName)")
                print("  covered by its signed checkpoint of \(Output.grouped(check.checkpointSize)) entries")
                if let size = check.stillIncludedAt {
                    print("  and still in the ledger at \(Output.grouped(size)) entries (consistency proof checked)")
                }
                if !check.trustedKey {
                    print("  note: checked with the receipt's own key; pass --vkey with the published key")
                }
                print("What was agreed:")
                for line in check.summary { print("  \(line)") }
            } catch {
                Output.error("receipt invalid: \(error)")
                throw ExitCode(1)
            }
        }
    }
}
