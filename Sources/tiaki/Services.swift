import ArgumentParser
import Foundation
import Logging
import TiakiAudit
import TiakiConsent
import TiakiLedger
import TiakiModel
import TiakiPolicy

let databaseHelp = ArgumentHelp(
    "A PostgreSQL database holding the ledger, shared by instances (default: TIAKI_DATABASE_URL, else SQLite in --data).",
    valueName: "postgres://user@host/db"
)

/// The PostgreSQL database named by `--database` or `TIAKI_DATABASE_URL`; `nil` for the data directory's SQLite.
func databaseAddress(_ option: String?, command: String) throws -> PostgresAddress? {
    guard let text = option ?? ProcessInfo.processInfo.environment["TIAKI_DATABASE_URL"], !text.isEmpty else {
        return nil
    }
    do {
        return try PostgresAddress(url: text)
    } catch {
        throw Output.fail(command, error.message)
    }
}

/// Opens the services of an existing data directory for the administration commands (they never create one: a
/// mistyped `--data` is refused, not started afresh).
func openServices(
    data: String,
    database: String? = nil,
    policies: String,
    command: String,
    create: Bool = false,
    publish: Bool = true,
    origin: String? = nil
) async throws -> TiakiServices {
    let policy: PolicySet
    do {
        policy = try PolicySet.load(directory: policies)
    } catch let error as PolicyError {
        Output.error(error.description)
        throw Output.fail(command, "the policies in \(policies) are not valid (see above)")
    }
    var logger = Logger(label: "tiaki")
    logger.logLevel = .warning
    var configuration = LedgerConfiguration()
    configuration.create = create
    configuration.origin = origin
    configuration.lockHolder = "tiaki \(command)"
    let address = try databaseAddress(database, command: command)
    do {
        return try await TiakiServices.open(
            LedgerDirectory(path: data),
            database: address,
            configuration: configuration,
            policy: policy,
            publish: publish,
            logger: logger
        )
    } catch let error as LedgerError {
        throw Output.fail(command, error.message)
    } catch let error as TiakiError {
        throw Output.fail(command, error.message)
    }
}

/// Runs `body` on the data directory's services, closing them however it ends; a refusal is one line, exit 2.
func withServices<R>(
    _ location: DataLocation,
    command: String,
    _ body: (TiakiServices) async throws -> R
) async throws -> R {
    let services = try await openServices(
        data: location.data,
        database: location.database,
        policies: location.policies,
        command: command
    )
    do {
        let result = try await body(services)
        await services.close()
        return result
    } catch let error as TiakiError {
        await services.close()
        throw Output.fail(command, error.field.map { "\($0): \(error.message)" } ?? error.message)
    } catch {
        await services.close()
        throw error
    }
}

/// Where the ledger and the policies are.
struct DataLocation: ParsableArguments {
    @Option(help: ArgumentHelp("The data directory (the service must be stopped to write).", valueName: "dir"))
    var data = "./tiaki-data"
    @Option(help: databaseHelp)
    var database: String?
    @Option(help: ArgumentHelp("The policy directory.", valueName: "dir"))
    var policies = "./Policies"
}

/// The organisation on whose behalf a command records something.
func requireOrganisation(_ services: TiakiServices, _ org: String, command: String) throws -> EntryActor {
    guard services.core.read({ $0.organisations[org] != nil }) else {
        throw Output.fail(command, "\(org) is not a registered organisation (tiaki org add registers one)")
    }
    return EntryActor(org: org)
}

func write(_ text: String, to out: String?) throws {
    if let out {
        try Data(text.utf8).write(to: URL(fileURLWithPath: out))
    } else {
        print(text, terminator: text.hasSuffix("\n") ? "" : "\n")
    }
}

func jsonText<T: Encodable>(_ value: T) throws -> String {
    String(decoding: try CanonicalJSON.encode(try JSONValueEncoder().encode(value)), as: UTF8.self)
}
