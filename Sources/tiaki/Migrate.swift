import ArgumentParser
import Foundation
import Logging
import TiakiConsent
import TiakiLedger
import TiakiModel

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Move a SQLite data directory's ledger and vault into an empty PostgreSQL database, and prove it.",
        discussion: """
            Copies every entry (its bytes, leaf and subtree hashes, keys), every checkpoint and the vault (sealing \
            keys, the NSN lookup, credentials) in one PostgreSQL transaction: a move that fails leaves nothing. Then \
            reads both again: the entries must hash to the same SHA-256, and at every checkpoint the root computed \
            from PostgreSQL's stored hashes must be the one that checkpoint signed. The service must be stopped. \
            The data directory is left as it was; afterwards run `tiaki serve --data DIR --database URL`, and copy \
            log.key, log.vkey, seal.key and lookup.key to each other instance's data directory.
            """
    )

    @Option(help: ArgumentHelp("The data directory to move (its ledger.sqlite; the keys stay).", valueName: "dir"))
    var data = "./tiaki-data"

    @Option(
        help: ArgumentHelp(
            "The empty PostgreSQL database to move into (default: TIAKI_DATABASE_URL).",
            valueName: "postgres://user@host/db"
        )
    )
    var database: String?

    func run() throws {
        guard let address = try databaseAddress(database, command: "migrate") else {
            throw Output.fail("migrate", "give --database postgres://USER@HOST/DB (or set TIAKI_DATABASE_URL)")
        }
        var logger = Logger(label: "tiaki")
        logger.logLevel = .warning
        let copying = ProgressLine("copying")
        let checking = ProgressLine("checking")
        do {
            let (summary, vault) = try DataMigration.run(
                from: LedgerDirectory(path: data),
                to: address,
                logger: logger
            ) { stage, done, total in
                let line = stage == "copying" ? copying : checking
                if stage != "copying" { copying.finish() }
                line.update(done, fraction: total > 0 ? Double(done) / Double(total) : nil)
            }
            copying.finish()
            checking.finish()
            print(
                "Moved \(Output.grouped(summary.entries)) entries and \(summary.checkpoints) checkpoints into \(address.redacted);"
                    + " the vault's \(vault["subject_keys"] ?? 0) sealing keys, \(vault["subject_lookup"] ?? 0) lookup rows"
                    + " and \(vault["credentials"] ?? 0) credentials with them."
            )
            print("The same entries arrived (SHA-256 \(summary.digest)), and every checkpoint's root matches;")
            print("the newest: \(Output.grouped(summary.entries)) entries, root \(summary.root.hex).")
            print("Serve it with: tiaki serve --data \(data) --database \(address.redacted)")
        } catch {
            copying.finish()
            checking.finish()
            let message = (error as? LedgerError)?.message ?? (error as? TiakiError)?.message ?? "\(error)"
            throw Output.fail("migrate", message)
        }
    }
}
