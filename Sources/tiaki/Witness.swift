import ArgumentParser
import Foundation
import Hummingbird
import Logging
import NIOCore
import TiakiLedger
import TiakiServer

struct WitnessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "witness",
        abstract: "Be a witness: cosign other logs' checkpoints after checking they only grow (C2SP tlog-witness).",
        discussion: """
            A witness keeps, for each log it is given the key of, the newest checkpoint it cosigned, and cosigns a \
            new one only with a consistency proof from that one. Logs (a Tiaki service given --witness URL=VKEY) \
            ask it after their commits; auditors and monitors then require cosignatures from witnesses they trust, \
            so a log cannot show one ledger to some and another to others.
            """,
        subcommands: [Keygen.self, Serve.self]
    )

    struct Keygen: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a witness key: the private key in a new file (0600), the verifier key printed."
        )

        @Option(
            help: ArgumentHelp(
                "The witness's name, a schema-less URL (e.g. witness.ministry.example/w1).",
                valueName: "name"
            )
        )
        var name: String

        @Option(help: ArgumentHelp("The file to write the private key to (it must not exist).", valueName: "file"))
        var out: String

        func run() throws {
            guard !FileManager.default.fileExists(atPath: out) else {
                throw Output.fail("witness keygen", "\(out) exists; give a new file")
            }
            do {
                let cosigner = try Cosigner(generatingWithName: name)
                let fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
                guard fd >= 0 else { throw Output.fail("witness keygen", "cannot create \(out)") }
                let bytes = Array((cosigner.privateKeyText + "\n").utf8)
                let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                let synced = fsync(fd) == 0
                close(fd)
                guard written == bytes.count, synced else { throw Output.fail("witness keygen", "cannot write \(out)") }
                print(cosigner.verifier.vkey)
            } catch let error as LedgerError {
                throw Output.fail("witness keygen", error.message)
            }
        }
    }

    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a witness: POST /add-checkpoint, as C2SP tlog-witness specifies.",
            discussion: """
                Answers 200 with its cosignature line, 404 for a log it does not know, 403 when the checkpoint is \
                not signed by the log's key, 409 (text/x.tlog.size: the size it last cosigned) when the request's \
                old size is not that size, 422 when the consistency proof does not verify, 400 for a malformed \
                request. Its state (the newest checkpoint cosigned per log) is written and synced in --state before \
                it answers; one witness process per state directory.
                """
        )

        @Option(help: ArgumentHelp("The witness's private key file (from tiaki witness keygen).", valueName: "file"))
        var key: String

        @Option(help: ArgumentHelp("The directory for the witness's state.", valueName: "dir"))
        var state: String

        @Option(
            name: .customLong("log"),
            help: ArgumentHelp(
                "A log to witness, as ORIGIN=VKEY or just its VKEY (whose name is the origin); repeatable.",
                valueName: "origin=vkey"
            )
        )
        var logs: [String] = []

        @Option(help: "The address to listen on.")
        var host = "127.0.0.1"

        @Option(help: "The port to listen on.")
        var port = 8090

        func validate() throws {
            guard !logs.isEmpty else { throw ValidationError("give at least one --log ORIGIN=VKEY to witness") }
        }

        func run() async throws {
            let fail = { (message: String) in Output.fail("witness serve", message) }
            guard let keyText = try? String(contentsOfFile: key, encoding: .utf8) else {
                throw fail("cannot read \(key)")
            }
            let cosigner: Cosigner
            var verifiers: [NoteVerifier] = []
            do {
                cosigner = try Cosigner(privateKeyText: keyText)
                for log in logs { verifiers.append(try Self.logKey(log)) }
            } catch {
                throw fail(error.message)
            }
            let count = verifiers.count
            let lock: DataDirectoryLock
            let witness: Witness
            do {
                try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
                lock = try DataDirectoryLock.acquire(LedgerDirectory(path: state), holder: "tiaki witness serve")
                witness = try Witness(cosigner: cosigner, logs: verifiers, stateDirectory: state)
            } catch let error as LedgerError {
                throw fail(error.message)
            }
            var logger = Logger(label: "tiaki-witness")
            logger.logLevel = .info
            let address = "http://\(host):\(port)"
            let application = buildWitnessApplication(witness: witness, host: host, port: port, logger: logger) {
                [logger] _ in
                logger.info(
                    "ready",
                    metadata: ["address": "\(address)", "witness": "\(cosigner.verifier.vkey)", "logs": "\(count)"]
                )
            }
            do {
                try await application.runService()
            } catch let error as IOError where error.errnoCode == EADDRINUSE {
                throw fail("\(host):\(port) is already in use; stop what uses it, or give --port")
            }
            withExtendedLifetime(lock) {}
        }

        /// `ORIGIN=VKEY` (the origin must be the key's name) or a bare vkey.
        static func logKey(_ text: String) throws(LedgerError) -> NoteVerifier {
            guard let equals = text.firstIndex(of: "="), !text[..<equals].contains("+") else {
                return try NoteVerifier(vkey: text)
            }
            let origin = String(text[..<equals])
            let verifier = try NoteVerifier(vkey: String(text[text.index(after: equals)...]))
            guard verifier.name == origin else {
                throw LedgerError(.malformedKey, "the key \(verifier.vkey) is named \(verifier.name), not \(origin)")
            }
            return verifier
        }
    }
}

/// `--witness-quorum` is from 1 to the number of `--witness` given.
func validateWitnessQuorum(_ quorum: Int?, witnesses: Int) throws {
    if let quorum, quorum < 1 || quorum > witnesses {
        throw ValidationError("--witness-quorum must be from 1 to the number of --witness (\(witnesses))")
    }
}
