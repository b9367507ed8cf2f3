import Foundation
import HTTPTypes
public import Hummingbird
public import Logging
import NIOCore
import ServiceLifecycle
import TiakiConsent
public import TiakiLedger
public import TiakiPolicy

/// How the service runs: where its data and policies are, where it listens, and its limits.
public struct ServerConfiguration: Sendable {
    public var dataDirectory = "./tiaki-data"
    public var policiesDirectory = "./Policies"
    public var host = "127.0.0.1"
    public var port = 8080
    /// The largest request body accepted.
    public var bodyLimit = 64 * 1024
    public var ledger = LedgerConfiguration()
    /// A PEM certificate chain and private key: when both are set the service speaks HTTPS only.
    public var tlsCertificate: String?
    public var tlsKey: String?
    /// Failed sign-ins a source may make within `failedAuthenticationWindow` before it is refused with 429.
    public var failedAuthenticationLimit = 20
    public var failedAuthenticationWindow: Duration = .seconds(60)

    public init() {}
}

/// The wiring `tiaki serve` and the tests share: policies loaded and validated, the ledger opened (created on
/// first start) and the consent state rebuilt, the policy set recorded if it changed, and the routes.
///
/// - Throws: ``PolicyError`` when the policies are invalid (the service refuses to start), ``LedgerError`` when the
///   ledger cannot be opened or its newest checkpoint does not match its entries.
public func buildApplication(
    configuration: ServerConfiguration,
    logger: Logger
) async throws -> (application: some ApplicationProtocol, service: DecisionService) {
    let policy = try PolicySet.load(directory: configuration.policiesDirectory)
    let registry = try ConsentRegistry.open(
        LedgerDirectory(path: configuration.dataDirectory),
        configuration: configuration.ledger,
        vocabulary: policy.vocabulary,
        logger: logger
    )
    let service = try await DecisionService(registry: registry, policy: policy)
    logger.info("policy set loaded", metadata: ["digest": "\(policy.digest)", "rules": "\(policy.rules.count)"])

    let router = buildRouter(service: service, configuration: configuration, logger: logger)
    let server = try ServerTLS.builder(certificate: configuration.tlsCertificate, key: configuration.tlsKey)
    var application = Application(
        router: router,
        server: server,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "tiaki"),
        logger: logger
    )
    application.addServices(RegistryCloser(registry: registry, logger: logger))
    return (application, service)
}

/// The routes and middleware of the service.
func buildRouter(
    service: DecisionService,
    configuration: ServerConfiguration,
    logger: Logger
) -> Router<TiakiRequestContext> {
    let router = Router(context: TiakiRequestContext.self)
    let metrics = ServiceMetrics()
    let api = API(
        service: service,
        dataDirectory: configuration.dataDirectory,
        bodyLimit: configuration.bodyLimit,
        metrics: metrics
    )
    // The same routes on a router that never serves, to tell 405 from 404.
    let table = Router(context: TiakiRequestContext.self)
    api.addRoutes(to: table)
    router.add(middleware: ResponseHeadersMiddleware(tls: configuration.tlsCertificate != nil))
    router.add(middleware: MetricsMiddleware(metrics: metrics))
    router.add(
        middleware: ProblemMiddleware(
            logger: logger,
            routes: RouteTable(table.routes.map { ($0.method, $0.path.description) })
        )
    )
    router.add(
        middleware: AuthenticationMiddleware(
            registry: service.registry,
            limiter: FailedAuthenticationLimiter(
                limit: configuration.failedAuthenticationLimit,
                window: configuration.failedAuthenticationWindow
            ),
            logger: logger
        )
    )
    api.addRoutes(to: router)
    return router
}

/// Closes the ledger when the service shuts down, after the server stops taking requests.
struct RegistryCloser: Service {
    let registry: ConsentRegistry
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        await registry.close()
        logger.info("ledger closed")
    }
}

/// Security headers on every response; HSTS too when the service itself speaks TLS.
struct ResponseHeadersMiddleware: RouterMiddleware {
    typealias Context = TiakiRequestContext
    let tls: Bool

    static let headers: [(HTTPField.Name, String)] = [
        ("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"), ("Referrer-Policy", "no-referrer"),
        ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"), ("Cache-Control", "no-store"),
    ].compactMap { name, value in HTTPField.Name(name).map { ($0, value) } }

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var response = try await next(request, context)
        for (name, value) in Self.headers { response.headers[name] = value }
        if tls { response.headers[.strictTransportSecurity] = "max-age=31536000" }
        return response
    }
}

/// Every error as an RFC 9457 problem; anything unexpected as a 500 that reveals nothing, logged without personal
/// information.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = TiakiRequestContext
    let logger: Logger
    let routes: RouteTable

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            return try problem.response(from: request, context: context)
        } catch let error as ConsentError {
            return try Problem(error).response(from: request, context: context)
        } catch let error as HTTPError {
            let problem: Problem
            switch error.status {
            case .notFound, .methodNotAllowed:
                let allowed = routes.methods(for: request.uri.path)
                guard !allowed.isEmpty else {
                    problem = .notFound
                    break
                }
                var response = try Problem(
                    .methodNotAllowed,
                    code: "method-not-allowed",
                    title: "Method not allowed",
                    detail: "\(request.method) is not allowed here; use \(allowed.joined(separator: " or "))."
                )
                .response(from: request, context: context)
                response.headers[.allow] = allowed.joined(separator: ", ")
                return response
            case .contentTooLarge:
                problem = Problem(
                    .contentTooLarge,
                    code: "too-large",
                    title: "Too large",
                    detail: "The request body is larger than the limit."
                )
            default:
                problem = Problem(
                    error.status,
                    code: "http",
                    title: error.status.reasonPhrase,
                    detail: error.body ?? error.status.reasonPhrase
                )
            }
            return try problem.response(from: request, context: context)
        } catch let error as LedgerError {
            logger.error("ledger error", metadata: ["code": "\(error.code)", "path": "\(request.uri.path)"])
            let problem: Problem =
                error.code == .entryTooLarge
                ? Problem(.contentTooLarge, code: "too-large", title: "Too large", detail: error.message)
                : error.code == .invalidArgument
                    ? .badRequest(error.message)
                    : Problem(
                        .serviceUnavailable,
                        code: "unavailable",
                        title: "Not recorded",
                        detail: "Nothing was recorded; try again."
                    )
            return try problem.response(from: request, context: context)
        } catch {
            logger.error("unexpected error", metadata: ["path": "\(request.uri.path)", "type": "\(type(of: error))"])
            return try Problem(
                .internalServerError,
                code: "internal",
                title: "Internal error",
                detail: "Something went wrong; nothing you sent was recorded unless a response said so."
            )
            .response(from: request, context: context)
        }
    }
}

/// Reads `Authorization: Bearer …` and sets the caller; routes decide what each role may do. A source that has sent
/// too many tokens that are not valid is refused (429) before its next token is even looked at. The token is never
/// logged, nor is it compared other than by its hash in constant time.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = TiakiRequestContext
    let registry: ConsentRegistry
    let limiter: FailedAuthenticationLimiter
    let logger: Logger

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        if let header = request.headers[.authorization] {
            if let wait = limiter.retryAfter(context.source) { throw Problem.tooManyFailures(retryAfter: wait) }
            guard header.hasPrefix("Bearer "),
                let found = try registry.authenticate(
                    token: String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
                )
            else {
                limiter.recordFailure(context.source)
                logger.notice(
                    "failed sign-in",
                    metadata: ["source": "\(context.source)", "path": "\(request.uri.path)"]
                )
                throw Problem.unauthorized
            }
            context.caller = Caller(credential: found.credential, org: found.org, role: found.role)
        }
        return try await next(request, context)
    }
}

/// The paths the service answers and the methods each allows, so that a known path asked with the wrong method is
/// answered 405 with `Allow`, not 404.
struct RouteTable: Sendable {
    let routes: [(method: String, segments: [Substring])]

    init(_ routes: [(HTTPRequest.Method, String)]) {
        self.routes = routes.map { ($0.0.rawValue, $0.1.split(separator: "/")) }
    }

    /// The methods allowed on `path`, sorted; empty when no route has that shape.
    func methods(for path: String) -> [String] {
        let parts = path.split(separator: "/")
        var methods: Set<String> = []
        for route in routes where route.segments.count == parts.count {
            if zip(route.segments, parts).allSatisfy({ $0.hasPrefix(":") || $0 == $1 }) {
                methods.insert(route.method)
            }
        }
        return methods.sorted()
    }
}
