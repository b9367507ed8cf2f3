import ArgumentParser
import TiakiConsent

struct Org: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "org",
        abstract: "Register organisations (before the service starts; while it runs, use POST /v1/orgs).",
        subcommands: [Add.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register an organisation in the ledger.")

        @OptionGroup var location: DataLocation
        @Option(help: "The organisation's id: lower-case letters, digits and '-'.")
        var id: String
        @Option(help: "Its kind, a code of the policy vocabulary (school, kura, early-learning, kohanga-reo, rtlb, …).")
        var kind: String
        @Option(help: "Its name.")
        var name: String
        @Option(help: "A postal or email address people can write to it at.")
        var contact: String?
        @Option(
            help:
                "The law under which it collects information, if any (e.g. \"Education and Training Act 2020, ss 34 and 165\")."
        )
        var law: String?

        func run() async throws {
            let recorded = try await withServices(location, command: "org add") { services in
                try await services.organisations.register(
                    .init(id: id, kind: kind, name: name, contact: contact, law: law)
                )
            }
            print("Registered \(id) (\(kind)) as entry \(recorded.index).")
        }
    }
}
