import ArgumentParser
import Foundation
import Logging
import TiakiAudit
import TiakiConsent
import TiakiLedger
import TiakiModel

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write an export bundle an auditor can take away, or every consent in a standard format.",
        discussion: """
            Without --consents: writes OUT/entries.jsonl (each entry's canonical bytes, one per line), \
            OUT/checkpoints.jsonl ({"note": signed checkpoint, "size": N} per line, sizes growing) and OUT/log.vkey, \
            from one consistent snapshot of the ledger. OUT must be new or empty. Check the result with \
            `tiaki verify OUT --vkey KEY`. With --database (or TIAKI_DATABASE_URL), the ledger is read from that \
            PostgreSQL database, and --data needs only log.vkey.

            With --consents: every consent and refusal of the ledger (a data directory, or a bundle given as --data) \
            as one JSON document, written to the file OUT (new) or to standard output: --format fhir-r4 gives a \
            FHIR R4 Bundle (the vocabulary's CodeSystems, then one Consent each; refusals are status rejected), \
            --format iso27560 gives {"records": [...]} of ISO/IEC TS 27560 consent records in JSON-LD. The child \
            is named by their subject id only: no names, NSNs or reasons leave the ledger this way.
            """
    )

    @Option(help: ArgumentHelp("The data directory (with --consents, an export bundle too).", valueName: "dir"))
    var data = "./tiaki-data"

    @Option(help: databaseHelp)
    var database: String?

    @Option(
        help: ArgumentHelp(
            "The directory to write the bundle to; with --consents, the file to write (standard output if left out).",
            valueName: "path"
        )
    )
    var out: String?

    @Flag(help: "Export every consent and refusal in a standard format instead of the ledger bundle.")
    var consents = false

    @Option(help: ArgumentHelp("With --consents: fhir-r4 or iso27560.", valueName: "format"))
    var format: String?

    @Option(
        name: .customLong("as-of"),
        help: ArgumentHelp("With --consents: the day statuses are judged on (default today).", valueName: "YYYY-MM-DD")
    )
    var asOf: String?

    func validate() throws {
        if consents {
            guard let format else {
                throw ValidationError("--consents needs --format fhir-r4 or --format iso27560")
            }
            guard ConsentExport.Format(rawValue: format) != nil else {
                throw ValidationError("--format must be fhir-r4 or iso27560, not \(format)")
            }
            if let asOf, Day(asOf) == nil { throw ValidationError("--as-of must be a date, YYYY-MM-DD") }
        } else {
            guard out != nil else { throw ValidationError("give --out DIR, the directory to write the bundle to") }
            guard format == nil, asOf == nil else {
                throw ValidationError("--format and --as-of go with --consents")
            }
        }
    }

    func run() throws {
        if consents { return try exportConsents() }
        let out = out ?? ""
        let directory = LedgerDirectory(path: data)
        let address = try databaseAddress(database, command: "export")
        guard address != nil || directory.exists else {
            throw Output.fail("export", "no ledger in \(data) (expected \(directory.databasePath))")
        }
        let progress = ProgressLine("exporting")
        do {
            let report = { (done: UInt64, total: UInt64) in
                progress.update(done, fraction: total > 0 ? Double(done) / Double(total) : nil)
            }
            let summary =
                if let address {
                    try LedgerExport.write(
                        database: address,
                        directory: directory,
                        to: out,
                        logger: Logger(label: "tiaki"),
                        progress: report
                    )
                } else {
                    try LedgerExport.write(from: directory, to: out, progress: report)
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

    func exportConsents() throws {
        guard let format = format.flatMap(ConsentExport.Format.init(rawValue:)) else { return }
        if let out, out != "-", FileManager.default.fileExists(atPath: out) {
            throw Output.fail("export", "\(out) exists; give a new file")
        }
        let progress = ProgressLine("reading")
        do {
            let result = try ConsentExport.run(path: data, format: format, asOf: asOf.flatMap(Day.init)) {
                done,
                fraction in progress.update(done, fraction: fraction)
            }
            progress.finish()
            var bytes = try CanonicalJSON.encode(result.document)
            bytes.append(0x0A)
            if let out, out != "-" {
                guard FileManager.default.createFile(atPath: out, contents: Data(bytes)) else {
                    throw Output.fail("export", "cannot write \(out)")
                }
                func count(_ n: Int, _ noun: String) -> String {
                    "\(Output.grouped(UInt64(n))) \(noun)\(n == 1 ? "" : "s")"
                }
                Output.error(
                    "Exported \(count(result.consents, "consent")) and \(count(result.refusals, "refusal")) "
                        + "as \(format.rawValue) to \(out)."
                )
            } else {
                FileHandle.standardOutput.write(Data(bytes))
            }
        } catch let exit as ExitCode {
            throw exit
        } catch let error as LedgerError {
            throw Output.fail("export", error.message)
        } catch {
            throw Output.fail("export", "\(error)")
        }
    }
}
