import ArgumentParser
import Foundation
import Hummingbird
import Logging
import NIOCore
import TiakiConsent
import TiakiHTTP
import TiakiLedger
import TiakiModel
import TiakiPolicy
import TiakiServer

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the HTTP service.",
        discussion: """
            With no flags it runs on the embedded default: the ledger in ./tiaki-data (created, with its key, on \
            first start) and the policies in ./Policies, on http://127.0.0.1:8080. It refuses to start when the \
            policies are invalid, and checks that the newest checkpoint matches the stored entries before serving. \
            SIGTERM or SIGINT stop it gracefully: requests in flight finish, then the ledger is closed.

            With --database postgres://USER@HOST/DB (or TIAKI_DATABASE_URL), the ledger and the vault are in that \
            PostgreSQL database instead, and any number of instances may serve it together: one log, one order. Each \
            instance keeps the same log.key, log.vkey, seal.key and lookup.key in its own --data directory (the first start \
            creates them; copy them to the others). A database that cannot be reached, holds another's tables, was \
            written under another log key or by a newer tiaki is refused before anything is written.

            To set up before the first start: `tiaki init` creates the data directory, then `tiaki org add` and \
            `tiaki credential add` give the first organisation its admin credential. While the service runs, the \
            data directory is its alone: use the admin endpoints, which it sees at once.

            Give --tls-certificate and --tls-key to serve HTTPS directly; otherwise keep it on 127.0.0.1 behind a \
            TLS-terminating proxy (see the README), and name the proxy with --trusted-proxy so that failed sign-ins \
            are counted by the client's address, not the proxy's. A valid credential is never refused for what \
            others failed; after 20 tokens that are not valid from one address, or one token tried 20 times \
            (--failed-sign-in-limit), each further failure waits, longer each time (429 with Retry-After).

            Limits: each credential may write --write-rate times a second (with a burst of --write-burst) and hold \
            --sessions-per-credential page sessions; a request's head must arrive within --header-timeout \
            seconds, an idle kept-alive connection is closed after --idle-timeout seconds, and connections beyond \
            --max-connections (default: the open-file limit less 64) are closed at once. Days and times are New \
            Zealand's (--time-zone).
            """
    )

    @Option(
        help: ArgumentHelp(
            "The data directory (with --database: the keys and this instance's snapshots).",
            valueName: "dir"
        )
    )
    var data = "./tiaki-data"

    @Option(help: databaseHelp)
    var database: String?

    @Option(help: ArgumentHelp("The policy directory.", valueName: "dir"))
    var policies = "./Policies"

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "The port to listen on.")
    var port = 8080

    @Option(
        help: ArgumentHelp(
            "A PEM certificate chain: with --tls-key, the service speaks HTTPS only (TLS 1.2 or later).",
            valueName: "file"
        )
    )
    var tlsCertificate: String?

    @Option(help: ArgumentHelp("The PEM private key of --tls-certificate.", valueName: "file"))
    var tlsKey: String?

    @Option(
        help: ArgumentHelp(
            "Tokens that are not valid one address may send, or times one token may be tried, before each further failure waits, longer each time (429).",
            valueName: "n"
        )
    )
    var failedSignInLimit = 20

    @Option(
        name: .customLong("trusted-proxy"),
        help: ArgumentHelp(
            "A proxy (an address or CIDR block, e.g. 10.0.0.0/8) whose X-Forwarded-For and Forwarded headers name the client; repeatable.",
            valueName: "cidr"
        )
    )
    var trustedProxies: [String] = []

    @Option(help: ArgumentHelp("Writes (POSTs) a credential may make each second, sustained.", valueName: "n"))
    var writeRate: Double = 20

    @Option(help: ArgumentHelp("Writes a credential may make at once beyond --write-rate.", valueName: "n"))
    var writeBurst: Double = 200

    @Option(help: ArgumentHelp("Page sessions one credential may hold; a new sign-in ends the oldest.", valueName: "n"))
    var sessionsPerCredential = 10

    @Option(help: ArgumentHelp("Seconds a request's head (its line and headers) may take to arrive.", valueName: "s"))
    var headerTimeout = 10

    @Option(help: ArgumentHelp("Seconds a kept-alive connection may wait idle for its next request.", valueName: "s"))
    var idleTimeout = 60

    @Option(help: ArgumentHelp("Connections open at once (default: the open-file limit less 64).", valueName: "n"))
    var maxConnections: Int?

    @Option(
        help: ArgumentHelp(
            "The time zone whose days are today, due days and the dates written for people (an IANA name).",
            valueName: "zone"
        )
    )
    var timeZone = "Pacific/Auckland"

    @Option(
        help: ArgumentHelp(
            "The log's origin on first start, a schema-less URL naming this ledger (e.g. tiaki.cluster12.example.nz/ledger); fixed thereafter.",
            valueName: "origin"
        )
    )
    var origin: String?

    @Option(
        name: .customLong("witness"),
        help: ArgumentHelp(
            "A witness to ask for cosignatures after commits, as URL=VKEY (the URL its add-checkpoint is under); repeatable.",
            valueName: "url=vkey"
        )
    )
    var witnesses: [String] = []

    @Option(
        help: ArgumentHelp(
            "How many witnesses must cosign a checkpoint before GET /v1/ledger/checkpoint serves it (default: all).",
            valueName: "n"
        )
    )
    var witnessQuorum: Int?

    func validate() throws {
        try validateWitnessQuorum(witnessQuorum, witnesses: witnesses.count)
        guard failedSignInLimit > 0 else { throw ValidationError("--failed-sign-in-limit must be at least 1") }
        for proxy in trustedProxies where AddressBlock(proxy) == nil {
            throw ValidationError("--trusted-proxy \(proxy) is not an address or a CIDR block (e.g. 10.0.0.0/8)")
        }
        guard writeRate > 0, writeBurst >= 1 else {
            throw ValidationError("--write-rate must be above 0 and --write-burst at least 1")
        }
        guard sessionsPerCredential >= 1 else { throw ValidationError("--sessions-per-credential must be at least 1") }
        guard headerTimeout >= 1, idleTimeout >= 1 else {
            throw ValidationError("--header-timeout and --idle-timeout must be at least 1 second")
        }
        if let maxConnections, maxConnections < 1 { throw ValidationError("--max-connections must be at least 1") }
        guard LocalTime(identifier: timeZone) != nil else {
            throw ValidationError(
                "--time-zone \(timeZone) is not a time zone this system knows (e.g. Pacific/Auckland)"
            )
        }
        if (tlsCertificate == nil) != (tlsKey == nil) {
            throw ValidationError("--tls-certificate and --tls-key go together")
        }
    }

    func run() async throws {
        var logger = Logger(label: "tiaki")
        logger.logLevel = .info
        var configuration = ServerConfiguration()
        configuration.dataDirectory = data
        configuration.database = try databaseAddress(database, command: "serve")
        configuration.policiesDirectory = policies
        configuration.host = host
        configuration.port = port
        configuration.tlsCertificate = tlsCertificate
        configuration.tlsKey = tlsKey
        configuration.failedAuthenticationLimit = failedSignInLimit
        configuration.trustedProxies = trustedProxies.compactMap(AddressBlock.init)
        configuration.writesPerSecond = writeRate
        configuration.writeBurst = writeBurst
        configuration.sessionsPerCredential = sessionsPerCredential
        configuration.connections.requestHeadTimeout = .seconds(headerTimeout)
        configuration.connections.bodyReadTimeout = .seconds(headerTimeout)
        configuration.connections.idleTimeout = .seconds(idleTimeout)
        configuration.connections.maximumConnections = maxConnections
        configuration.ledger.timeZone = LocalTime(identifier: timeZone)?.zone ?? LocalTime.newZealand.zone
        configuration.ledger.origin = origin
        do {
            configuration.witnesses = try witnesses.map(WitnessEndpoint.init(argument:))
        } catch {
            throw Output.fail("serve", error.message)
        }
        configuration.witnessQuorum = witnessQuorum ?? witnesses.count
        if let fault = ProcessInfo.processInfo.environment["TIAKI_FAULT"] {
            guard let point = LedgerFault(fault) else {
                throw Output.fail("serve", "TIAKI_FAULT must be mid-batch:N or mid-archive:N, not \(fault)")
            }
            configuration.ledger.fault = point
            logger.warning("crash testing: the process will kill itself inside a commit", metadata: ["at": "\(fault)"])
        }
        let started = Date()
        let address = "\(tlsCertificate == nil ? "http" : "https")://\(host):\(port)"
        configuration.onReady = { [logger] in
            logger.info(
                "ready",
                metadata: [
                    "address": "\(address)",
                    "startMilliseconds": "\(Int(Date().timeIntervalSince(started) * 1000))",
                ]
            )
        }
        do {
            let (application, _) = try await buildApplication(configuration: configuration, logger: logger)
            do {
                try await application.runService()
            } catch let error as IOError where error.errnoCode == EADDRINUSE {
                Output.error("tiaki serve: error: \(host):\(port) is already in use; stop what uses it, or give --port")
                throw ExitCode(1)
            } catch let error as IOError where error.errnoCode == EACCES {
                Output.error("tiaki serve: error: not allowed to listen on \(host):\(port); give a port above 1023")
                throw ExitCode(1)
            }
        } catch let error as PolicyError {
            Output.error(error.description)
            throw Output.fail("serve", "the policies in \(policies) are not valid (see above); not starting")
        } catch let error as LedgerError {
            throw Output.fail("serve", error.message)
        } catch let error as TiakiError {
            throw Output.fail("serve", error.message)
        } catch let error as ServerSetupError {
            throw Output.fail("serve", error.description)
        }
    }
}

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

struct Org: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "org",
        abstract: "Register organisations (before the service starts; while it runs, use POST /v1/orgs).",
        subcommands: [Add.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register an organisation in the ledger.")

        @Option(help: ArgumentHelp("The data directory (tiaki init or tiaki serve creates it).", valueName: "dir"))
        var data = "./tiaki-data"
        @Option(help: databaseHelp)
        var database: String?
        @Option(help: ArgumentHelp("The policy directory.", valueName: "dir"))
        var policies = "./Policies"
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
            let services = try await openServices(
                data: data,
                database: database,
                policies: policies,
                command: "org add"
            )
            do {
                let recorded = try await services.organisations.register(
                    .init(id: id, kind: kind, name: name, contact: contact, law: law)
                )
                await services.close()
                print("Registered \(id) (\(kind)) as entry \(recorded.index).")
            } catch let error as TiakiError {
                await services.close()
                throw Output.fail("org add", error.message)
            }
        }
    }
}

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

        @Option(help: ArgumentHelp("The data directory.", valueName: "dir"))
        var data = "./tiaki-data"
        @Option(help: databaseHelp)
        var database: String?
        @Option(help: ArgumentHelp("The policy directory.", valueName: "dir"))
        var policies = "./Policies"
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
            let services = try await openServices(
                data: data,
                database: database,
                policies: policies,
                command: "credential add"
            )
            do {
                let issued = try await services.credentials.issue(.init(org: org, role: role, holder: holder))
                await services.close()
                print("Issued credential \(issued.id) (\(role.rawValue) of \(org)). Its token, shown only now:")
                print(issued.token)
            } catch let error as TiakiError {
                await services.close()
                throw Output.fail("credential add", error.message)
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a credential.")

        @Option(help: ArgumentHelp("The data directory.", valueName: "dir"))
        var data = "./tiaki-data"
        @Option(help: databaseHelp)
        var database: String?
        @Option(help: ArgumentHelp("The policy directory.", valueName: "dir"))
        var policies = "./Policies"
        @Argument(help: "The credential id (cred-…).")
        var id: String

        func run() async throws {
            let services = try await openServices(
                data: data,
                database: database,
                policies: policies,
                command: "credential revoke"
            )
            do {
                let recorded = try await services.credentials.revoke(id: id)
                await services.close()
                print("Revoked \(id) (entry \(recorded.index)).")
            } catch let error as TiakiError {
                await services.close()
                throw Output.fail("credential revoke", error.message)
            }
        }
    }
}
