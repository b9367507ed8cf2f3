import ArgumentParser
import Foundation
import Logging
import TiakiLedger

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prove a ledger complete and unaltered.",
        discussion: """
            PATH is an export bundle (entries.jsonl, checkpoints.jsonl, log.vkey) or a data directory. Every leaf \
            is recomputed from the stored bytes; each entry must be canonical JSON (RFC 8785) with its "index" at \
            its position; every checkpoint's signature and root are checked; sizes must never shrink; no two \
            checkpoints of one size may differ; the newest checkpoint must cover every entry.

            Without --vkey the ledger's own log.vkey is used, which proves internal consistency only: someone who \
            rewrote the ledger could have re-signed it with a new key. Pass the key you recorded earlier with \
            --vkey, and a checkpoint you kept with --trusted-checkpoint to prove the ledger was not truncated or \
            rewritten since.

            Exit codes: 0 valid, 1 integrity failure (the first bad entry index or checkpoint size is named), \
            2 usage or I/O error.
            """
    )

    @Argument(help: "An export bundle or a data directory (with --database: the directory holding log.vkey).")
    var path: String

    @Option(
        help: ArgumentHelp(
            "Verify the ledger in this PostgreSQL database: it is read into a temporary bundle from one snapshot, and that is verified.",
            valueName: "postgres://user@host/db"
        )
    )
    var database: String?

    @Option(
        help: ArgumentHelp(
            "The verifier key you trust: the vkey text (name+keyid+base64) or a file holding it.",
            valueName: "vkey"
        )
    )
    var vkey: String?

    @Option(help: ArgumentHelp("A signed checkpoint you kept earlier; the ledger must extend it.", valueName: "file"))
    var trustedCheckpoint: String?

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @Option(
        name: .customLong("witness"),
        help: ArgumentHelp(
            "A witness's verifier key (cosignature/v1); the newest (or trusted) checkpoint must carry the cosignatures of --witness-quorum of them. Repeatable.",
            valueName: "vkey"
        )
    )
    var witnesses: [String] = []

    @Option(help: ArgumentHelp("How many of the --witness keys must have cosigned (default: all).", valueName: "n"))
    var witnessQuorum: Int?

    func validate() throws {
        try validateWitnessQuorum(witnessQuorum, witnesses: witnesses.count)
    }

    func run() throws {
        var verifier = LedgerVerifier()
        do {
            if let vkey { verifier.trustedKey = try readVerifierKey(vkey) }
            for witness in witnesses {
                do {
                    verifier.witnesses.append(try CosignatureVerifier(vkey: witness))
                } catch {
                    throw LedgerError(.malformedKey, "--witness: \(error.message)")
                }
            }
            verifier.witnessQuorum = witnessQuorum ?? witnesses.count
            if let trustedCheckpoint {
                guard let text = try? String(contentsOfFile: trustedCheckpoint, encoding: .utf8) else {
                    throw LedgerError(.io, "cannot read the trusted checkpoint \(trustedCheckpoint)")
                }
                do {
                    verifier.trustedCheckpoint = try SignedCheckpoint(parsing: text)
                } catch {
                    throw LedgerError(.malformedCheckpoint, "\(trustedCheckpoint): \(error.message)")
                }
            }
            var source = path
            var snapshot: String?
            if let database {
                let address = try PostgresAddress(url: database)
                let temporary = FileManager.default.temporaryDirectory.appendingPathComponent(
                    "tiaki-verify-\(UUID().uuidString)"
                ).path
                snapshot = temporary
                let reading = ProgressLine("reading the database")
                _ = try LedgerExport.write(
                    database: address,
                    directory: LedgerDirectory(path: path),
                    to: temporary,
                    logger: Logger(label: "tiaki"),
                    progress: { done, total in
                        reading.update(done, fraction: total > 0 ? Double(done) / Double(total) : nil)
                    }
                )
                reading.finish()
                source = temporary
                if !json { print("Read the ledger in \(address.redacted) into a snapshot bundle.") }
            }
            defer { if let snapshot { try? FileManager.default.removeItem(atPath: snapshot) } }
            let progress = ProgressLine("verifying")
            verifier.progress = { done, fraction in progress.update(done, fraction: fraction) }
            let report = try verifier.verify(path: source)
            progress.finish()
            if json {
                print(VerifyOutput.json(report))
            } else {
                print(VerifyOutput.text(report), terminator: "")
            }
            if !report.isValid { throw ExitCode(1) }
        } catch let error as LedgerError {
            if json {
                print(VerifyOutput.jsonError(error, path: path))
                throw ExitCode(2)
            }
            throw Output.fail("verify", error.message)
        }
    }
}

/// Reads `--vkey`: the key text itself, or a file holding it.
func readVerifierKey(_ argument: String) throws(LedgerError) -> NoteVerifier {
    if argument.contains("+") && !FileManager.default.fileExists(atPath: argument) {
        do {
            return try NoteVerifier(vkey: argument)
        } catch {
            throw LedgerError(.malformedKey, "--vkey: \(error.message)")
        }
    }
    guard let text = try? String(contentsOfFile: argument, encoding: .utf8) else {
        throw LedgerError(.io, "--vkey: \(argument) is neither a verifier key (name+keyid+base64) nor a readable file")
    }
    do {
        return try NoteVerifier(vkey: text)
    } catch {
        throw LedgerError(.malformedKey, "\(argument): \(error.message)")
    }
}

enum VerifyOutput {
    static let descriptions: [VerificationReport.Check: String] = [
        .entries: "each entry canonical JSON at its own index; every leaf hash recomputed from the bytes",
        .signatures: "every checkpoint signed by the key",
        .roots: "every checkpoint's root equals the tree of the entries it covers",
        .sizes: "checkpoint sizes never shrink; no two checkpoints of one size differ",
        .coverage: "the newest checkpoint covers every entry",
        .trusted: "the ledger extends the trusted checkpoint",
        .witnesses: "the newest (or trusted) checkpoint carries a quorum of the witnesses' cosignatures",
    ]

    static func text(_ r: VerificationReport) -> String {
        var out = "Verifying the \(r.source.rawValue) \(r.path)\n"
        let keySource =
            r.keyFromLedger
            ? "the ledger's own log.vkey (not independently trusted: pass --vkey with the key you recorded)"
            : "the key you gave with --vkey"
        out += "key   \(r.verifier.name)+\(r.verifier.keyIDHex), \(keySource)\n"
        if let f = r.failure {
            let label = f.check.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)
            out += "FAIL  \(label)\(f.message)"
            if let location = f.location, !f.message.contains(location) { out += " (\(location))" }
            out += "\n"
            var first = ""
            if let index = f.index { first = "first bad entry index \(index)" }
            if let size = f.checkpointSize { first = "first bad checkpoint size \(size)" }
            out +=
                "INVALID: \(first.isEmpty ? f.check.rawValue : first); checked \(Output.grouped(r.entries)) entries and \(r.checkpoints) checkpoints before it.\n"
            return out
        }
        for check in VerificationReport.Check.allCases {
            let label = check.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)
            switch check {
            case .entries: out += "ok    \(label)\(Output.grouped(r.entries)) entries: \(descriptions[check] ?? "")\n"
            case .signatures:
                out +=
                    "ok    \(label)\(r.checkpoints) checkpoints signed by \(r.verifier.name)+\(r.verifier.keyIDHex)\n"
            case .coverage:
                out += "ok    \(label)the newest checkpoint (size \(r.newestCheckpointSize ?? 0)) covers every entry\n"
            case .trusted:
                if let size = r.trustedCheckpointSize {
                    out += "ok    \(label)the ledger extends the trusted checkpoint of size \(size)\n"
                } else {
                    out += "--    \(label)not checked: no --trusted-checkpoint given\n"
                }
            case .witnesses:
                if let size = r.cosignedSize {
                    out +=
                        "ok    \(label)the checkpoint of size \(size) is cosigned by \(r.cosigners.joined(separator: ", "))\n"
                } else {
                    out += "--    \(label)not checked: no --witness given\n"
                }
            default: out += "ok    \(label)\(descriptions[check] ?? "")\n"
            }
        }
        out += "VALID: \(Output.grouped(r.entries)) entries, \(r.checkpoints) checkpoints.\n"
        return out
    }

    static func json(_ r: VerificationReport) -> String {
        var object: [String: JSONValue] = [
            "valid": .bool(r.isValid),
            "exit": .number(r.isValid ? 0 : 1),
            "path": .string(r.path),
            "source": .string(r.source == .bundle ? "bundle" : "data-directory"),
            "vkey": .string(r.verifier.vkey),
            "keyFromLedger": .bool(r.keyFromLedger),
            "entries": .number(Double(r.entries)),
            "checkpoints": .number(Double(r.checkpoints)),
        ]
        if let n = r.newestCheckpointSize { object["newestCheckpointSize"] = .number(Double(n)) }
        if let t = r.trustedCheckpointSize { object["trustedCheckpointSize"] = .number(Double(t)) }
        if let c = r.cosignedSize {
            object["cosignedCheckpointSize"] = .number(Double(c))
            object["cosigners"] = .array(r.cosigners.map(JSONValue.string))
        }
        if let f = r.failure {
            var failure: [String: JSONValue] = ["check": .string(f.check.rawValue), "message": .string(f.message)]
            if let i = f.index {
                failure["index"] = .number(Double(i))
                object["firstBadIndex"] = .number(Double(i))
            }
            if let s = f.checkpointSize {
                failure["checkpointSize"] = .number(Double(s))
                object["checkpointSize"] = .number(Double(s))
            }
            if let l = f.location { failure["location"] = .string(l) }
            object["failure"] = .object(failure)
        }
        return render(.object(object))
    }

    static func jsonError(_ error: LedgerError, path: String) -> String {
        render(["valid": false, "exit": 2, "path": .string(path), "error": .string(error.message)])
    }

    static func render(_ value: JSONValue) -> String {
        // Values built here hold only finite numbers, so encoding cannot fail.
        String(decoding: (try? CanonicalJSON.encode(value)) ?? [], as: UTF8.self)
    }
}
