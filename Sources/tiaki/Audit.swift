import ArgumentParser
import Foundation
import Logging
import TiakiAudit
import TiakiConsent
import TiakiLedger
import TiakiModel

struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Audit access: findings, decision replay, and a child's report (IPP 6).",
        discussion: """
            PATH is a data directory (read-only: the service may keep running) or an export bundle; without PATH, \
            the ledger is read from the PostgreSQL database of --database (or TIAKI_DATABASE_URL), read-only too. \
            These commands trust the entries they read; run `tiaki verify` first to prove the ledger whole.
            """,
        subcommands: [Findings.self, Replay.self, SubjectCommand.self]
    )

    struct Common: ParsableArguments {
        @Argument(help: "A data directory or an export bundle (none with --database).")
        var path: String?

        @Option(
            help: ArgumentHelp(
                "Read the ledger from this PostgreSQL database instead of PATH (default without PATH: TIAKI_DATABASE_URL).",
                valueName: "postgres://user@host/db"
            )
        )
        var database: String?

        @Option(
            help: ArgumentHelp(
                "With --database: a data directory of one of its instances, whose seal.key opens the children's sealed details.",
                valueName: "dir"
            )
        )
        var keys: String?

        func validate() throws {
            if path != nil, database != nil { throw ValidationError("give PATH or --database, not both") }
            let environment = ProcessInfo.processInfo.environment["TIAKI_DATABASE_URL"] ?? ""
            if path == nil, database == nil, environment.isEmpty {
                throw ValidationError("give PATH (a data directory or an export bundle) or --database URL")
            }
        }

        @Option(
            name: .customLong("as-of"),
            help: ArgumentHelp("The day to judge retention and expiry on (default: today).", valueName: "YYYY-MM-DD")
        )
        var asOf: String?

        func day() throws -> Day {
            guard let asOf else { return LocalTime.newZealand.day(Date()) }
            guard let day = Day(asOf) else { throw ValidationError("--as-of must be a date, YYYY-MM-DD") }
            return day
        }

        func reader(_ command: String) throws -> EntryReader {
            do {
                if let path { return try EntryReader(path: path) }
                guard let address = try databaseAddress(database, command: command) else {
                    throw Output.fail(command, "give PATH or --database URL")
                }
                return try EntryReader(database: address, logger: Logger(label: "tiaki"))
            } catch let error as LedgerError {
                throw Output.fail(command, error.message)
            }
        }

        /// Opens the children's sealed fields where the ledger's vault is (never for a bundle: it holds no keys).
        func sealedFields(_ reader: EntryReader) -> SealedFieldReader? {
            switch reader.source {
            case .bundle: nil
            case .dataDirectory: path.flatMap { try? SealedFieldReader(dataDirectory: $0) }
            case .database:
                (try? databaseAddress(database, command: "audit subject")).flatMap { address in
                    address.flatMap { a in
                        keys.flatMap { try? SealedFieldReader(database: a, keys: $0, logger: Logger(label: "tiaki")) }
                    }
                }
            }
        }
    }

    struct Findings: ParsableCommand {
        /// Every finding kind with its meaning, one per line, from the kinds themselves.
        static let kinds = FindingKind.allCases.map {
            "  " + $0.rawValue.padding(toLength: 33, withPad: " ", startingAt: 0) + $0.meaning
        }.joined(separator: "\n")

        static let configuration = CommandConfiguration(
            abstract: "List what a privacy officer must act on.",
            discussion: """
                Findings, each with a stable kind, a severity (high, medium, info), the ledger indexes that prove \
                it, and a sentence saying what to do:
                \(kinds)

                Exit codes: 0 done (whatever was found, unless --fail-on), 1 a finding at or above --fail-on, \
                2 usage or I/O error.
                """
        )

        @OptionGroup var common: Common

        @Option(help: ArgumentHelp("Only findings raised since this time.", valueName: "YYYY-MM-DD"))
        var since: String?

        @Option(help: ArgumentHelp("List consents ending within this many days.", valueName: "days"))
        var within = 30

        @Option(
            name: .customLong("fail-on"),
            help: ArgumentHelp(
                "Exit 1 when a finding of this severity or higher is found.",
                valueName: "high|medium|info"
            )
        )
        var failOn: String?

        func validate() throws {
            if let failOn, Severity(rawValue: failOn) == nil {
                throw ValidationError("--fail-on must be high, medium or info")
            }
        }

        @Flag(help: "Print one JSON object instead of text.")
        var json = false

        func run() throws {
            var options = AuditOptions(asOf: try common.day())
            options.expiringWithinDays = within
            if let since {
                guard Day(String(since.prefix(10))) != nil else {
                    throw ValidationError("--since must be a date (YYYY-MM-DD) or an RFC 3339 time")
                }
                options.since = since
            }
            let reader = try common.reader("audit findings")
            let progress = ProgressLine("auditing")
            let result: AuditResult
            do {
                result = try LedgerAudit.run(reader, options: options) { n, f in progress.update(n, fraction: f) }
            } catch {
                progress.finish()
                throw Output.fail("audit findings", "\(error)")
            }
            progress.finish()
            if json {
                print(try AuditOutput.findingsJSON(result, options: options))
            } else {
                print(AuditOutput.findingsText(result, options: options))
            }
            if let failOn = failOn.flatMap(Severity.init(rawValue:)) {
                let order = Severity.allCases
                let limit = order.firstIndex(of: failOn) ?? 0
                if result.findings.contains(where: { (order.firstIndex(of: $0.severity) ?? 0) <= limit }) {
                    throw ExitCode(1)
                }
            }
        }
    }

    struct Replay: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-evaluate every recorded decision under the policy set it names.",
            discussion: """
                Policy sets are recorded in the ledger (policy.published) and found by digest. Each decision is \
                replayed on the consent state it was made on (the first "basis" entries). Exit codes: 0 every \
                decision replays to its recorded effect, 1 mismatches (listed), 2 usage or I/O error.
                """
        )

        @OptionGroup var common: Common

        @Flag(help: "Print one JSON object instead of text.")
        var json = false

        func run() throws {
            let reader = try common.reader("audit replay")
            let progress = ProgressLine("replaying")
            let result: AuditResult
            do {
                result = try LedgerAudit.run(reader, options: AuditOptions(asOf: try common.day()), findings: false) {
                    n,
                    f in progress.update(n, fraction: f)
                }
            } catch {
                progress.finish()
                throw Output.fail("audit replay", "\(error)")
            }
            progress.finish()
            if json {
                print(try AuditOutput.replayJSON(result))
            } else {
                print(AuditOutput.replayText(result))
            }
            if !result.mismatches.isEmpty { throw ExitCode(1) }
        }
    }

    struct SubjectCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "subject",
            abstract: "Everything recorded about one child, for a whānau's request (Privacy Act 2020, IPP 6).",
            discussion: """
                Each consent with its seven items, each request to share and its answer with the reasons, each \
                disclosure, withdrawals, refusals and erasure. From a data directory, names and notes are unsealed \
                while the child's key exists; a bundle never holds keys, so they stay sealed. Exit code 1 when the \
                ledger holds nothing about the child.
                """
        )

        enum Format: String, ExpressibleByArgument, CaseIterable { case text, json, html }

        @OptionGroup var common: Common

        @Option(help: "The child's subject id (find it by NSN with GET /v1/subjects?nsn=…).")
        var subject: String

        @Option(help: "text, json, or html (a self-contained printable page).")
        var format: Format = .text

        @Option(help: ArgumentHelp("Write the report to this file instead of standard output.", valueName: "file"))
        var output: String?

        func run() throws {
            let reader = try common.reader("audit subject")
            let opener = common.sealedFields(reader)
            let report: SubjectReport?
            do {
                report = try SubjectReport.load(
                    subject: subject,
                    from: reader,
                    scan: { visit in
                        try reader.read { index, bytes in
                            guard var entry = try? ConsentEntry(bytes: bytes) else { return }
                            entry.index = index
                            visit(entry)
                        }
                    },
                    asOf: try common.day(),
                    unseal: { sealed in opener?.open(sealed, subject: subject) }
                )
            } catch {
                throw Output.fail("audit subject", "\(error)")
            }
            guard let report else {
                Output.error("tiaki audit subject: the ledger holds nothing about \(subject)")
                throw ExitCode(1)
            }
            let text: String
            switch format {
            case .text: text = report.text
            case .json: text = String(decoding: try report.json(), as: UTF8.self)
            case .html: text = report.html
            }
            if let output {
                do {
                    try text.write(toFile: output, atomically: true, encoding: .utf8)
                } catch {
                    throw Output.fail("audit subject", "cannot write \(output): \(error.localizedDescription)")
                }
            } else {
                print(text, terminator: text.hasSuffix("\n") ? "" : "\n")
            }
        }
    }
}

/// How audit results are printed.
enum AuditOutput {
    static func findingsJSON(_ r: AuditResult, options: AuditOptions) throws -> String {
        String(decoding: try r.findingsJSON(options: options), as: UTF8.self)
    }

    static func findingsText(_ r: AuditResult, options: AuditOptions) -> String {
        var counts: [Severity: Int] = [:]
        for f in r.findings { counts[f.severity, default: 0] += 1 }
        var out = "\(Output.grouped(r.entries)) entries audited as of \(options.asOf): \(r.findings.count) findings"
        out += " (\(Severity.allCases.map { "\(counts[$0] ?? 0) \($0.rawValue)" }.joined(separator: ", ")))\n"
        for f in r.findings {
            out +=
                "\n\(f.severity.rawValue.uppercased())  \(f.kind.rawValue)  entries \(f.indexes.map(String.init).joined(separator: ", "))\n"
            out += "  \(f.summary)\n"
        }
        return out
    }

    static func replayJSON(_ r: AuditResult) throws -> String {
        let o: JSONValue = [
            "entries": .number(Double(r.entries)),
            "decisions": .number(Double(r.decisionsReplayed)),
            "mismatches": try JSONValueEncoder().encode(r.mismatches),
        ]
        return String(decoding: try CanonicalJSON.encode(o), as: UTF8.self)
    }

    static func replayText(_ r: AuditResult) -> String {
        var out = "\(Output.grouped(UInt64(r.decisionsReplayed))) decisions replayed: "
        out += r.mismatches.isEmpty ? "every one gives its recorded effect\n" : "\(r.mismatches.count) mismatches\n"
        for m in r.mismatches {
            out +=
                "\n  decision \(m.index) (child \(m.subject), policy \(m.policy.prefix(19))…): recorded \(m.recorded), replayed \(m.replayed)\n"
            for reason in m.reasons.prefix(3) { out += "    \(reason)\n" }
        }
        return out
    }
}
