import ArgumentParser
import Foundation
import TiakiConsent
import TiakiLedger

/// Creates a data directory: the log key, the ledger, and the policy set recorded.
struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Create a data directory with a new ledger and log key (tiaki serve also does this on its first start).",
        discussion: """
            Other commands that write (org, credential, decide) use an existing data directory and refuse a path \
            that holds no ledger, so that a mistyped --data never starts a second ledger by accident.
            """
    )

    @Option(help: ArgumentHelp("The data directory to create.", valueName: "dir"))
    var data = "./tiaki-data"
    @Option(help: databaseHelp)
    var database: String?
    @Option(help: ArgumentHelp("The policy directory.", valueName: "dir"))
    var policies = "./Policies"
    @Option(
        help: ArgumentHelp(
            "The log's origin, a schema-less URL naming this ledger (e.g. tiaki.cluster12.example.nz/ledger); fixed for ever.",
            valueName: "origin"
        )
    )
    var origin: String?

    func run() async throws {
        let directory = LedgerDirectory(path: data)
        guard !directory.exists else {
            throw Output.fail("init", "\(data) already holds a ledger")
        }
        if try databaseAddress(database, command: "init") != nil,
            FileManager.default.fileExists(atPath: directory.privateKeyPath)
        {
            throw Output.fail(
                "init",
                "\(data) already holds a log key: this instance is set up; start it with tiaki serve"
            )
        }
        let services = try await openServices(
            data: data,
            database: database,
            policies: policies,
            command: "init",
            create: true,
            origin: origin
        )
        let size = services.ledger.checkpoint.size
        let vkey = services.ledger.verifier.vkey
        await services.close()
        print("Created a ledger in \(data) (\(size) entries: the policy set). Its verifier key:")
        print(vkey)
    }
}
