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
