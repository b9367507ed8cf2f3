import ArgumentParser
import Foundation
import TiakiLedger

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write an export bundle an auditor can take away.",
        discussion: """
            Writes OUT/entries.jsonl (each entry's canonical bytes, one per line), OUT/checkpoints.jsonl \
            ({"note": signed checkpoint, "size": N} per line, sizes growing) and OUT/log.vkey, from one consistent \
            snapshot of the ledger. OUT must be new or empty. Check the result with `tiaki verify OUT --vkey KEY`.
            """
    )

    @Option(help: ArgumentHelp("The data directory.", valueName: "dir"))
    var data = "./tiaki-data"

    @Option(help: ArgumentHelp("The directory to write the bundle to.", valueName: "dir"))
    var out: String

    func run() throws {
        let directory = LedgerDirectory(path: data)
        guard directory.exists else {
            throw Output.fail("export", "no ledger in \(data) (expected \(directory.databasePath))")
        }
        let progress = ProgressLine("exporting")
        do {
            let summary = try LedgerExport.write(from: directory, to: out) { done, total in
                progress.update(done, fraction: total > 0 ? Double(done) / Double(total) : nil)
            }
            progress.finish()
            let vkey =
                (try? String(contentsOfFile: out + "/log.vkey", encoding: .utf8))?.trimmingCharacters(
                    in: .whitespacesAndNewlines
                ) ?? ""
            print(
                "Exported \(Output.grouped(summary.entries)) entries and \(summary.checkpoints) checkpoints to \(out)."
            )
            print("Verifier key: \(vkey)")
            print("Check it with: tiaki verify \(out) --vkey '\(vkey)'")
        } catch {
            throw Output.fail("export", error.message)
        }
    }
}

struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the ledger's verifier key.",
        subcommands: [Show.self]
    )

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the verifier key (vkey) of a data directory's log.",
            discussion:
                "Give this key to auditors by a channel other than the bundle, so that they can pass it to `tiaki verify --vkey`."
        )

        @Option(help: ArgumentHelp("The data directory.", valueName: "dir"))
        var data = "./tiaki-data"

        func run() throws {
            let path = LedgerDirectory(path: data).verifierKeyPath
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw Output.fail("keys show", "cannot read \(path)")
            }
            do {
                print(try NoteVerifier(vkey: text).vkey)
            } catch {
                throw Output.fail("keys show", "\(path): \(error.message)")
            }
        }
    }
}
