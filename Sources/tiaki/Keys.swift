import ArgumentParser
import Foundation
import Logging
import TiakiAudit
import TiakiConsent
import TiakiLedger
import TiakiModel

struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the ledger's verifier key; rotate the key that wraps the children's keys.",
        subcommands: [Show.self, RotateSeal.self]
    )

    struct RotateSeal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-seal",
            abstract:
                "Re-wrap every child's key under a new key-encryption key (seal.key), without touching the ledger.",
            discussion: """
                Each child's sealing key is stored in the database wrapped under seal.key, which is kept in the data \
                directory and never in the database or its backups. This writes a new key to seal.key.next, \
                re-wraps every child's key under it in one transaction, and renames it over seal.key; a rotation \
                stopped half way is finished or undone at the next start. Stop the service first (it takes the data \
                directory's lock). With --database, stop every instance, run this on one, and copy the new seal.key \
                to each before they start again; keep a copy of it apart from the database's backups.
                """
        )

        @Option(help: ArgumentHelp("The data directory (with --database: one instance's).", valueName: "dir"))
        var data = "./tiaki-data"
        @Option(help: databaseHelp)
        var database: String?

        func run() async throws {
            var logger = Logger(label: "tiaki")
            logger.logLevel = .warning
            do {
                let (keys, id) = try await SealingKeyRotation.run(
                    directory: LedgerDirectory(path: data),
                    database: try databaseAddress(database, command: "keys rotate-seal"),
                    logger: logger
                )
                print(
                    "Re-wrapped \(Output.grouped(UInt64(keys))) children's keys under the key-encryption key \(id) (\(data)/seal.key)."
                )
                print(
                    "Keep a copy of the new seal.key apart from the database's backups; the old one no longer opens anything."
                )
            } catch let error as TiakiError {
                throw Output.fail("keys rotate-seal", error.message)
            } catch let error as LedgerError {
                throw Output.fail("keys rotate-seal", error.message)
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the verifier key (vkey) of a data directory's log.",
            discussion:
                "Give this key to auditors by a channel other than the bundle, so that they can pass it to `tiaki verify --vkey`, and to witnesses (`tiaki witness serve --log`). Its name is the log's origin."
        )

        @Option(help: ArgumentHelp("The data directory.", valueName: "dir"))
        var data = "./tiaki-data"

        @Flag(help: "Print only the log's origin (the key's name, fixed when the ledger was created).")
        var origin = false

        @Option(
            help: ArgumentHelp(
                "Also check that the newest checkpoint in this PostgreSQL database is signed by the key (default: TIAKI_DATABASE_URL).",
                valueName: "postgres://user@host/db"
            )
        )
        var database: String?

        func run() throws {
            let path = LedgerDirectory(path: data).verifierKeyPath
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw Output.fail("keys show", "cannot read \(path)")
            }
            let verifier: NoteVerifier
            do {
                verifier = try NoteVerifier(vkey: text)
            } catch {
                throw Output.fail("keys show", "\(path): \(error.message)")
            }
            if let address = try databaseAddress(database, command: "keys show") {
                do {
                    let storage = try PostgresLedgerStorage(address, logger: Logger(label: "tiaki"), migrate: false)
                    defer { storage.close() }
                    guard let head = try storage.read({ try $0.head() }) else {
                        throw LedgerError(.noLedger, "\(address.redacted) holds no checkpoint yet")
                    }
                    _ = try SignedNote(parsing: head.note).verify(with: [verifier])
                } catch let error as LedgerError {
                    throw Output.fail(
                        "keys show",
                        "\(path) does not sign the ledger in \(address.redacted): \(error.message)"
                    )
                }
            }
            print(origin ? verifier.name : verifier.vkey)
        }
    }
}
