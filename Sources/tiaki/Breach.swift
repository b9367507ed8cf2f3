import ArgumentParser
import Foundation
import TiakiAudit
import TiakiConsent
import TiakiModel

struct BreachCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "breach",
        abstract: "The breach register (Privacy Act 2020, Part 6): record, assess, notify, report.",
        discussion: """
            A breach likely to cause serious harm is notified to the Privacy Commissioner and to the people \
            affected as soon as practicable (the Commissioner asks for 72 hours; Policies/duties.yaml sets the \
            hours). Tiaki finds the children a breach touched from the ledger. The service offers the same at \
            /v1/breaches.
            """,
        subcommands: [Record.self, List.self, Show.self, Report.self, Assess.self, Commissioner.self, Notice.self]
    )

    struct Record: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a breach: when it was found, what happened, and what it touched.",
            discussion: """
                Name either --recipient or --channel (with --from and --to to bound the dates), or the disclosures \
                with --disclosure (repeat). Example: tiaki breach record --org office \
                --found 2026-12-01T09:30:00+13:00 --description "A referral was emailed to the wrong school." \
                --recipient school-b --from 2026-11-30 --to 2026-11-30
                """
        )
        @OptionGroup var location: DataLocation
        @Option(help: "The privacy officer's organisation.")
        var org: String
        @Option(help: "When it was found (RFC 3339, e.g. 2026-12-01T09:30:00+13:00).")
        var found: String
        @Option(help: "What happened (sealed in the ledger).")
        var description: String
        @Option(help: "The organisation that received what it should not have, or that lost it.")
        var recipient: String?
        @Option(help: "The channel it went by (a vocabulary code).")
        var channel: String?
        @Option(help: "The first day of the range (YYYY-MM-DD).")
        var from: String?
        @Option(help: "The last day of the range (YYYY-MM-DD).")
        var to: String?
        @Option(name: .customLong("disclosure"), help: "A disclosure it touched (repeat).")
        var disclosures: [Int] = []

        func run() async throws {
            try await withServices(location, command: "breach record") { services in
                let actor = try requireOrganisation(services, org, command: "breach record")
                let recorded = try await services.breaches.record(
                    BreachInput(
                        found: found,
                        description: description,
                        recipient: recipient,
                        channel: channel,
                        from: from,
                        to: to,
                        disclosures: disclosures.isEmpty ? nil : disclosures
                    ),
                    actor: actor
                )
                guard let b = recorded.entry.body as? BreachRecorded else { return }
                let facts = try services.breaches.facts(b.breach)
                print(
                    "Recorded breach \(b.breach) as entry \(recorded.index): \(b.affected.count) \(b.affected.count == 1 ? "child" : "children"), \(b.affected.reduce(0) { $0 + $1.disclosures.count }) disclosures. Assess it by \(Moment(facts.assessBy)?.plainNZ ?? facts.assessBy)."
                )
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The register, newest first, with the clocks.")
        @OptionGroup var location: DataLocation
        @Flag(help: "Print JSON, as GET /v1/breaches returns it.")
        var json = false

        func run() async throws {
            try await withServices(location, command: "breach list") { services in
                let list = services.breaches.list()
                if json {
                    struct Out: Encodable { var breaches: [BreachSummary] }
                    print(try jsonText(Out(breaches: list)))
                    return
                }
                if list.isEmpty { print("No breaches recorded.") }
                for b in list {
                    print(
                        "\(b.breach)  found \(Moment(b.found)?.plainNZ ?? b.found)  \(b.children) \(b.children == 1 ? "child" : "children")  \(b.status)\(b.overdue ? " (overdue)" : "")"
                    )
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One breach, as JSON (GET /v1/breaches/ID).")
        @OptionGroup var location: DataLocation
        @Argument(help: "The breach id (b-…).")
        var breach: String

        func run() async throws {
            try await withServices(location, command: "breach show") { services in
                print(try jsonText(try services.breaches.facts(breach)))
            }
        }
    }

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The printable breach report, carrying what the Privacy Commissioner's online form asks for."
        )
        @OptionGroup var location: DataLocation
        @Argument(help: "The breach id (b-…).")
        var breach: String
        @Option(help: "text or html.")
        var format = "text"
        @Option(help: ArgumentHelp("Write it to this file instead of standard output.", valueName: "file"))
        var out: String?

        func run() async throws {
            guard ["text", "html"].contains(format) else {
                throw Output.fail("breach report", "--format is text or html")
            }
            let report = try await withServices(location, command: "breach report") { services in
                BreachReport(try services.breaches.facts(breach))
            }
            try write(format == "html" ? report.html : report.text, to: out)
        }
    }

    struct Assess: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record the assessment: likely to cause serious harm or not, the factors, the reasons.",
            discussion:
                "Factors (section 113): mitigation, sensitive-information, nature-of-harm, who-obtained, security-measures, other."
        )
        @OptionGroup var location: DataLocation
        @Argument(help: "The breach id (b-…).")
        var breach: String
        @Option(help: "The privacy officer's organisation.")
        var org: String
        @Option(help: "yes if it is likely to cause serious harm (notifiable), no if not.")
        var seriousHarm: String
        @Option(name: .customLong("factor"), help: "A factor that weighed (repeat).")
        var factors: [String]
        @Option(help: "Why (sealed in the ledger).")
        var reasons: String
        @Option(help: "When (RFC 3339; default now).")
        var assessed: String?

        func run() async throws {
            guard ["yes", "no"].contains(seriousHarm) else {
                throw Output.fail("breach assess", "--serious-harm is yes or no")
            }
            try await withServices(location, command: "breach assess") { services in
                let actor = try requireOrganisation(services, org, command: "breach assess")
                var input = BreachAssessmentInput(seriousHarm: seriousHarm == "yes", factors: [], reasons: reasons)
                input.factors = factors
                input.assessed = assessed
                let recorded = try await services.breaches.assess(breach, input, actor: actor)
                let facts = try services.breaches.facts(breach)
                print(
                    "Recorded the assessment of \(breach) as entry \(recorded.index): \(seriousHarm == "yes" ? "notifiable; notify the Commissioner and each whānau by \(Moment(facts.notifyBy)?.plainNZ ?? facts.notifyBy)" : "not notifiable")."
                )
            }
        }
    }

    struct Commissioner: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record that the Privacy Commissioner was notified, with its reference."
        )
        @OptionGroup var location: DataLocation
        @Argument(help: "The breach id (b-…).")
        var breach: String
        @Option(help: "The privacy officer's organisation.")
        var org: String
        @Option(help: "The reference the Commissioner's office gave.")
        var reference: String
        @Option(help: "When (RFC 3339; default now).")
        var notified: String?

        func run() async throws {
            try await withServices(location, command: "breach commissioner") { services in
                let actor = try requireOrganisation(services, org, command: "breach commissioner")
                let recorded = try await services.breaches.commissionerNotified(
                    breach,
                    CommissionerNotificationInput(reference: reference, notified: notified),
                    actor: actor
                )
                print("Recorded the Commissioner's notification of \(breach) as entry \(recorded.index).")
            }
        }
    }

    struct Notice: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The notice to one affected child's whānau: print it, or record it sent (--sent).",
            discussion: """
                Without --sent, prints the notice (--lang en, mi or both; --format text or html). With --sent, records \
                that it was sent (--method email, post, in-person or phone; --language, repeat for both).
                """
        )
        @OptionGroup var location: DataLocation
        @Argument(help: "The breach id (b-…).")
        var breach: String
        @Option(help: "The child (s-…).")
        var subject: String
        @Option(help: "en, mi or both.")
        var lang = "en"
        @Option(help: "text or html.")
        var format = "text"
        @Option(help: ArgumentHelp("Write it to this file instead of standard output.", valueName: "file"))
        var out: String?
        @Flag(help: "Record the notice as sent instead of printing it.")
        var sent = false
        @Option(help: "With --sent: the privacy officer's organisation.")
        var org: String?
        @Option(help: "With --sent: email, post, in-person or phone.")
        var method: String?
        @Option(name: .customLong("language"), help: "With --sent: en or mi (repeat for both; default en).")
        var languages: [String] = []
        @Option(help: "With --sent: the day (YYYY-MM-DD; default today).")
        var date: String?

        func run() async throws {
            if sent {
                guard let org, let method else {
                    throw Output.fail("breach notice", "--sent needs --org and --method")
                }
                try await withServices(location, command: "breach notice") { services in
                    let actor = try requireOrganisation(services, org, command: "breach notice")
                    var input = BreachNoticeInput(
                        date: date,
                        method: .email,
                        languages: languages.isEmpty ? nil : languages
                    )
                    input.method = method
                    let recorded = try await services.breaches.noticeSent(breach, subject: subject, input, actor: actor)
                    print("Recorded the notice to the whānau of \(subject) as entry \(recorded.index).")
                }
                return
            }
            guard let languages = DocumentLanguage.choice(lang) else {
                throw Output.fail("breach notice", "--lang is en, mi or both")
            }
            guard ["text", "html"].contains(format) else {
                throw Output.fail("breach notice", "--format is text or html")
            }
            let document = try await withServices(location, command: "breach notice") { services in
                NoticeDocument.breach(try services.breaches.facts(breach), subject: subject, languages: languages)
            }
            guard let document else {
                throw Output.fail("breach notice", "child \(subject) is not among those breach \(breach) affected")
            }
            try write(format == "html" ? document.html : document.text, to: out)
        }
    }
}
