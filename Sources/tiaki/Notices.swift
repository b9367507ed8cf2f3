import ArgumentParser
import Foundation
import TiakiAudit
import TiakiConsent
import TiakiLedger
import TiakiModel

struct Notices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notices",
        abstract: "The duties after a share: IPP 3A notices, withdrawals to acknowledge, consents to renew.",
        discussion: """
            An organisation that receives information about a child from someone else owes the whānau a notice \
            (Privacy Act 2020, IPP 3A), unless the consent relied on named it, the purpose and the information, \
            or a privacy officer records an exception. The service offers the same at /v1/notices.
            """,
        subcommands: [List.self, Document.self, Sent.self, Exception.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "What an organisation must act on: notices it owes, withdrawals told to it, consents to renew."
        )
        @OptionGroup var location: DataLocation
        @Option(help: "The organisation.")
        var org: String
        @Option(help: "due (what is still to do), done, or all.")
        var status = "due"
        @Option(help: "At most this many of each list, the oldest first.")
        var limit = NoticeList.defaultLimit
        @Flag(help: "Print JSON, as GET /v1/notices returns it.")
        var json = false

        func run() async throws {
            guard let filter = NoticeFilter(rawValue: status) else {
                throw Output.fail("notices list", "--status is due, done or all")
            }
            // Not written inline in the closure: Swift 6.3.1 crashes splitting that async closure in a release build.
            try await withServices(location, command: "notices list") { services in try show(services, filter) }
        }

        func show(_ services: TiakiServices, _ filter: NoticeFilter) throws {
            _ = try requireOrganisation(services, org, command: "notices list")
            let list = try services.notices.list(for: org, on: services.core.today, filter: filter, limit: limit)
            if json {
                print(try jsonText(list))
                return
            }
            func count(_ n: Int, _ what: String) -> String { "\(n) \(what)\(n == 1 ? "" : "s")" }
            print(
                "\(org), \(services.core.today.plain): \(count(list.collections.total, "IPP 3A notice")), \(count(list.withdrawals.total, "withdrawal")), \(count(list.renewals.total, "renewal"))."
            )
            for n in list.collections.items {
                print(
                    "  notice for disclosure \(n.disclosure) [\(n.status.rawValue)\(n.overdue ? ", overdue" : "")]: \(n.action)"
                )
            }
            for w in list.withdrawals.items {
                print("  withdrawal of consent \(w.consent) [\(w.status.rawValue)]: \(w.action)")
            }
            for r in list.renewals.items { print("  renewal of consent \(r.consent): \(r.action)") }
            let shown = list.collections.items.count + list.withdrawals.items.count + list.renewals.items.count
            let total = list.collections.total + list.withdrawals.total + list.renewals.total
            if shown < total { print("  (\(shown) of \(total) shown, the oldest first; --limit shows more)") }
        }
    }

    struct Document: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The IPP 3A notice for a disclosure, ready to send, in English, te reo Māori or both."
        )
        @OptionGroup var location: DataLocation
        @Option(help: "The disclosure (its ledger index).")
        var disclosure: Int
        @Option(help: "en, mi or both.")
        var lang = "en"
        @Option(help: "text or html.")
        var format = "text"
        @Option(help: ArgumentHelp("Write it to this file instead of standard output.", valueName: "file"))
        var out: String?

        func run() async throws {
            guard let languages = DocumentLanguage.choice(lang) else {
                throw Output.fail("notices document", "--lang is en, mi or both")
            }
            guard ["text", "html"].contains(format) else {
                throw Output.fail("notices document", "--format is text or html")
            }
            let document = try await withServices(location, command: "notices document") { services in
                NoticeDocument.collection(
                    try services.notices.collectionNoticeFacts(
                        disclosure,
                        for: Caller(credential: "cli", org: "tiaki", role: .privacyOfficer)
                    ),
                    languages: languages
                )
            }
            try write(format == "html" ? document.html : document.text, to: out)
        }
    }

    struct Sent: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Record an IPP 3A notice sent to a whānau (notice.sent), for one or more disclosures about a child."
        )
        @OptionGroup var location: DataLocation
        @Option(
            help: "The organisation that sent it: the recipient, or the one that shared (on the recipient's behalf)."
        )
        var org: String
        @Option(name: .customLong("disclosure"), help: "A disclosure the notice covers (repeat for several).")
        var disclosures: [Int]
        @Option(help: "email, post, in-person or phone.")
        var method: String
        @Option(help: "The day it was sent (YYYY-MM-DD; default today).")
        var date: String?
        @Option(name: .customLong("language"), help: "en or mi (repeat for both; default en).")
        var languages: [String] = []

        func run() async throws {
            try await withServices(location, command: "notices sent") { services in
                let actor = try requireOrganisation(services, org, command: "notices sent")
                var input = NoticeSentInput(
                    disclosures: disclosures,
                    date: date,
                    method: .email,
                    languages: languages.isEmpty ? nil : languages
                )
                // As given: the service refuses an unknown method in its own words.
                input.method = method
                let recorded = try await services.notices.recordSent(input, actor: actor)
                print(
                    "Recorded the notice for disclosure \(disclosures.map(String.init).joined(separator: ", ")) as entry \(recorded.index)."
                )
            }
        }
    }

    struct Exception: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record that an IPP 3A notice will not be sent (notice.exception), with the exception and why.",
            discussion: "Codes: prejudice-to-safety, already-aware, not-reasonably-practicable."
        )
        @OptionGroup var location: DataLocation
        @Option(help: "The privacy officer's organisation.")
        var org: String
        @Option(help: "The disclosure (its ledger index).")
        var disclosure: Int
        @Option(help: "prejudice-to-safety, already-aware or not-reasonably-practicable.")
        var code: String
        @Option(help: "Why it applies (sealed to the child).")
        var reason: String

        func run() async throws {
            try await withServices(location, command: "notices exception") { services in
                let actor = try requireOrganisation(services, org, command: "notices exception")
                var input = NoticeExceptionInput(code: .alreadyAware, reason: reason)
                input.code = code
                let recorded = try await services.notices.recordException(disclosure, input, actor: actor)
                print("Recorded the exception for disclosure \(disclosure) as entry \(recorded.index).")
            }
        }
    }
}
