import ArgumentParser
import TiakiConsent
import TiakiModel

struct Credential: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Issue and revoke credentials (before the service starts; while it runs, use /v1/credentials).",
        subcommands: [Add.self, Revoke.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a credential; its bearer token is printed once, alone on the last line.",
            discussion:
                "Only a hash of the token is stored, and the ledger records the credential's id, organisation and role, never the token."
        )

        @OptionGroup var location: DataLocation
        @Option(help: "The organisation it belongs to.")
        var org: String
        @Option(help: "member, facilitator, privacy-officer, auditor or admin.")
        var role: String
        @Option(
            help: ArgumentHelp(
                "Who holds it and what for, shown to admins beside it (e.g. \"KAMAR nightly sync\").",
                valueName: "words"
            )
        )
        var holder: String

        func run() async throws {
            guard let role = Role(rawValue: role) else {
                throw Output.fail("credential add", "role must be one of \(Role.list)")
            }
            let issued = try await withServices(location, command: "credential add") { services in
                try await services.credentials.issue(.init(org: org, role: role, holder: holder))
            }
            print("Issued credential \(issued.id) (\(role.rawValue) of \(org)). Its token, shown only now:")
            print(issued.token)
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a credential.")

        @OptionGroup var location: DataLocation
        @Argument(help: "The credential id (cred-…).")
        var id: String

        func run() async throws {
            let recorded = try await withServices(location, command: "credential revoke") { services in
                try await services.credentials.revoke(id: id)
            }
            print("Revoked \(id) (entry \(recorded.index)).")
        }
    }
}
