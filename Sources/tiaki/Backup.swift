import ArgumentParser
import Foundation
import TiakiLedger

struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Take a consistent online copy of a SQLite data directory, verified, as one archive.",
        discussion: """
            Copies the database with SQLite's online backup in one read transaction (a running `tiaki serve` goes \
            on writing; the copy is one moment of it), with the log's keys, verifies the \
            copy (every entry, root and signature, against the directory's own key), and only then writes FILE: a \
            tar archive, mode 0600 (it holds the private keys and the sealed vault), written under a temporary name \
            and renamed when whole. FILE must not exist.

            The vault's keys are NOT in the archive: seal.key wraps the children's keys in the database, and \
            lookup.key keys the NSN lookup, so the archive alone opens no name and tests no NSN. Keep both apart \
            from the backups (another place, another custodian) and put them back beside the restored database.

            Restore: mkdir -m 700 DIR && tar -xf FILE -C DIR && cp seal.key lookup.key DIR/ && tiaki verify DIR \
            --vkey KEY, then tiaki serve --data DIR.
            """
    )

    @Option(help: ArgumentHelp("The data directory to copy.", valueName: "dir"))
    var data = "./tiaki-data"

    @Option(help: ArgumentHelp("The archive to write (new).", valueName: "file"))
    var out: String

    func run() throws {
        let copying = ProgressLine("copying", unit: "database pages")
        let verifying = ProgressLine("verifying the copy")
        let progress = [copying, verifying]
        do {
            let summary = try LedgerBackup.write(from: LedgerDirectory(path: data), to: out) { stage, done, fraction in
                switch stage {
                case .copying: copying.update(done, fraction: fraction)
                case .verifying:
                    copying.finish()
                    verifying.update(done, fraction: fraction)
                }
            }
            for line in progress { line.finish() }
            print(
                "Backed up \(Output.grouped(summary.entries)) entries (checkpoint \(Output.grouped(summary.checkpoint.size)), "
                    + "root \(summary.checkpoint.root.hex)) to \(out): \(Output.grouped(summary.bytes)) bytes, "
                    + summary.files.joined(separator: ", ") + "; the copy verified."
            )
            print(
                "seal.key and lookup.key are not in it: keep them apart, and put them back beside the restored database."
            )
            print(
                "Restore with: mkdir -m 700 DIR && tar -xf \(out) -C DIR && cp seal.key lookup.key DIR/ && tiaki verify DIR"
            )
        } catch {
            for line in progress { line.finish() }
            throw Output.fail("backup", error.message)
        }
    }
}
