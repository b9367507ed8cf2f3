import Dispatch
import Foundation
import HTTPTypes
public import Hummingbird
public import Logging
import NIOCore
import ServiceLifecycle
import TiakiAudit
public import TiakiConsent
public import TiakiHTTP
public import TiakiLedger
import TiakiModel
import TiakiPolicy
import TiakiWeb

/// How the service runs: where its data and policies are, where it listens, and its limits.
public struct ServerConfiguration: Sendable {
    public var dataDirectory = "./tiaki-data"
    /// A PostgreSQL database that holds the ledger and the vault, shared with other instances; `nil` for the SQLite
    /// database in the data directory (which then holds only the keys and this instance's snapshots).
    public var database: PostgresAddress?
    public var policiesDirectory = "./Policies"
    public var host = "127.0.0.1"
    public var port = 8080
    /// The largest request body accepted.
    public var bodyLimit = 64 * 1024
    public var ledger = LedgerConfiguration()
    /// A PEM certificate chain and private key: when both are set the service speaks HTTPS only.
    public var tlsCertificate: String?
    public var tlsKey: String?
    /// Failed sign-ins a source address (or one presented token) may make within `failedAuthenticationWindow`
    /// before each further failure must wait, longer each time (1 s, 2 s, 4 s, … up to a minute). A valid credential
    /// is never kept waiting.
    public var failedAuthenticationLimit = 20
    public var failedAuthenticationWindow: Duration = .seconds(900)
    /// The first wait after the limit; each further failure waits twice as long, up to a minute.
    public var failedAuthenticationFirstWait: Duration = .seconds(1)
    /// Proxies whose `X-Forwarded-For` and `Forwarded` headers name the client (`--trusted-proxy`); from anyone
    /// else they are ignored.
    public var trustedProxies: [AddressBlock] = []
    /// Writes (POSTs) per second a credential may make, sustained, and how many at once beyond that.
    public var writesPerSecond: Double = 20
    public var writeBurst: Double = 200
    /// Page sessions one credential may hold; a new sign-in ends the oldest.
    public var sessionsPerCredential = 10
    /// Timeouts and the cap on connections.
    public var connections = ConnectionLimits()
    /// Called once the server listens (not before: a port in use is an error, never a "ready").
    public var onReady: (@Sendable () -> Void)?
    /// Witnesses to ask for cosignatures, and how many must cosign a checkpoint before it is served as cosigned.
    public var witnesses: [WitnessEndpoint] = []
    public var witnessQuorum = 0
    /// How often each witness task looks for a new checkpoint.
    public var witnessInterval: Duration = .milliseconds(200)

    public init() {
        ledger.lockHolder = "tiaki serve"
    }
}

/// The wiring `tiaki serve` and the tests share: policies loaded and validated, the ledger opened (created on
/// first start) and the consent state rebuilt, the policy set recorded if it changed, and the routes.
///
/// - Throws: ``PolicyError`` when the policies are invalid (the service refuses to start), ``LedgerError`` when the
///   ledger cannot be opened, is in use by another process, or its newest checkpoint does not match its entries.
public func buildApplication(
    configuration: ServerConfiguration,
    logger: Logger
) async throws -> (application: some ApplicationProtocol, services: TiakiServices) {
    let policy = try PolicySet.load(directory: configuration.policiesDirectory)
    let services = try await TiakiServices.open(
        LedgerDirectory(path: configuration.dataDirectory),
        database: configuration.database,
        configuration: configuration.ledger,
        policy: policy,
        logger: logger
    )
    logger.info("policy set loaded", metadata: ["digest": "\(policy.digest)", "rules": "\(policy.rules.count)"])
    do {
        let cosigning =
            configuration.witnesses.isEmpty
            ? nil
            : WitnessCosigning(
                witnesses: configuration.witnesses,
                quorum: configuration.witnessQuorum == 0 ? configuration.witnesses.count : configuration.witnessQuorum,
                ledger: services.ledger,
                dataDirectory: configuration.dataDirectory,
                logger: logger,
                interval: configuration.witnessInterval
            )
        let findings = startFindings(services: services, logger: logger)
        let router = try buildRouter(
            services: services,
            configuration: configuration,
            logger: logger,
            cosigning: cosigning,
            findings: findings
        )
        let server = try ServerTLS.builder(
            certificate: configuration.tlsCertificate,
            key: configuration.tlsKey,
            limits: configuration.connections
        )
        let onReady = configuration.onReady
        var application = Application(
            router: router,
            server: server,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "tiaki"),
            onServerRunning: { _ in onReady?() },
            logger: logger
        )
        if let cosigning { application.addServices(cosigning) }
        application.addServices(LedgerCloser(services: services, logger: logger))
        return (application, services)
    } catch {
        await services.close()
        throw error
    }
}

/// The findings projection, fed every commit from now on and built from the ledger in the background: a start
/// does not wait for it; `GET /v1/findings` waits for it (or says how far it has read).
func startFindings(services: TiakiServices, logger: Logger) -> FindingsProjection {
    let core = services.core
    let ledger = services.ledger
    let findings = FindingsProjection(
        earliestInFlight: { core.decisionsInFlight.earliest },
        snapshotsOf: core.snapshotsEnabled ? ledger : nil,
        logger: logger
    )
    // Fed before the ledger is read, so that no commit falls between the two.
    core.observeApplied { findings.feed($0) }
    // A snapshot at shutdown, as the state's (not for a few entries more than the last one).
    core.observeClosing { findings.writeSnapshot(reason: "closing", minimum: LedgerCore.snapshotAtCloseMinimum) }
    // A thread of its own: the build is a long synchronous pass that must not hold one of the task pool's.
    DispatchQueue.global(qos: .utility).async {
        let started = ContinuousClock.now
        do {
            try findings.build(from: EntryReader(ledger: ledger))
            logger.info(
                "findings projection built",
                metadata: [
                    "entries": "\(findings.progress.read)",
                    "fromSnapshot": "\(findings.builtFromSnapshot > 0 ? String(findings.builtFromSnapshot) : "none")",
                    "milliseconds": "\((ContinuousClock.now - started).components.seconds * 1000)",
                ]
            )
        } catch {
            logger.error("findings projection not built: findings are unavailable", metadata: ["error": "\(error)"])
        }
    }
    return findings
}

/// The routes of the API, one controller per resource, under the middleware every request passes.
func buildRouter(
    services: TiakiServices,
    configuration: ServerConfiguration,
    logger: Logger,
    cosigning: WitnessCosigning? = nil,
    findings: FindingsProjection? = nil
) throws -> Router<TiakiRequestContext> {
    // A router built only to list its routes has no findings to serve.
    let findings = findings ?? FindingsProjection(earliestInFlight: { nil })
    let metrics = ServiceMetrics()
    let input = RequestInput(bodyLimit: configuration.bodyLimit)
    let failures = FailedAttemptLimiter(
        free: configuration.failedAuthenticationLimit,
        window: configuration.failedAuthenticationWindow,
        firstDelay: configuration.failedAuthenticationFirstWait
    )
    let writes = WriteLimiter(rate: configuration.writesPerSecond, burst: configuration.writeBurst)
    // The documents' templates (the IPP 6 report, notices, the breach report) are checked here, as the pages'
    // are below: a missing one stops the start instead of printing an empty document later.
    do {
        try DocumentTemplates.check()
    } catch {
        throw ServerSetupError(String(describing: error))
    }
    // The pages share the API's limiters: a wrong credential counts the same wherever it is typed, and a
    // credential's writes are one budget.
    let pages = try WebPages<TiakiRequestContext>(
        services: services,
        sessions: SessionStore(perCredential: configuration.sessionsPerCredential),
        guardian: SignInGuard(
            retryAfter: { failures.retryAfter(FailedAttemptLimiter.keys(source: $0, token: $1)) },
            failed: { failures.recordFailure(FailedAttemptLimiter.keys(source: $0, token: $1)) }
        ),
        writes: writes,
        findings: findings,
        secureCookies: configuration.tlsCertificate != nil,
        logger: logger,
        source: { $0.source }
    )
    func addRoutes(to router: Router<TiakiRequestContext>) {
        router.addRoutes(pages.routes)
        router.addRoutes(SystemController(services: services, metrics: metrics).routes)
        router.addRoutes(LedgerController(services: services, cosigning: cosigning).routes, atPath: "/v1/ledger")
        router.addRoutes(AdminController(services: services, input: input).routes, atPath: "/v1")
        router.addRoutes(SubjectController(services: services, input: input).routes, atPath: "/v1")
        router.addRoutes(ConsentController(services: services, input: input).routes, atPath: "/v1")
        router.addRoutes(VocabularyController(services: services).routes, atPath: "/v1")
        router.addRoutes(NoticeController(services: services, input: input).routes, atPath: "/v1")
        router.addRoutes(DecisionController(services: services, input: input, metrics: metrics).routes, atPath: "/v1")
        router.addRoutes(DisclosureController(services: services, input: input).routes, atPath: "/v1")
        router.addRoutes(BreachController(services: services, input: input).routes, atPath: "/v1")
        router.addRoutes(
            AuditController(services: services, findings: findings).routes,
            atPath: "/v1"
        )
    }
    // The same routes on a router that never serves, to tell 405 from 404.
    let table = Router(context: TiakiRequestContext.self)
    addRoutes(to: table)
    let router = Router(context: TiakiRequestContext.self)
    router.add(middleware: ResponseHeadersMiddleware(tls: configuration.tlsCertificate != nil))
    router.add(middleware: MetricsMiddleware(metrics: metrics))
    router.add(
        middleware: ProblemMiddleware(
            logger: logger,
            routes: RouteTable(table.routes.map { ($0.method, $0.path.description) })
        )
    )
    if services.ledger.isShared { router.add(middleware: SynchronizeMiddleware(ledger: services.ledger)) }
    router.add(middleware: ClientAddressMiddleware(addresses: ClientAddress(trusted: configuration.trustedProxies)))
    router.add(
        middleware: AuthenticationMiddleware(
            credentials: services.credentials,
            failures: failures,
            writes: writes,
            logger: logger
        )
    )
    router.add(middleware: IdempotencyMiddleware(store: IdempotencyStore(), bodyLimit: configuration.bodyLimit))
    addRoutes(to: router)
    return router
}

/// Closes the ledger when the service shuts down, after the server stops taking requests.
struct LedgerCloser: Service {
    let services: TiakiServices
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        await services.close()
        logger.info("ledger closed")
    }
}
