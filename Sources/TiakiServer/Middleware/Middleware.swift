import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import TiakiConsent
import TiakiHTTP
import TiakiLedger
import TiakiModel

/// The headers every response carries, errors and transport failures included.
enum SecurityHeaders {
    static let fields: [(HTTPField.Name, String)] = [
        ("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"), ("Referrer-Policy", "no-referrer"),
        (
            "Content-Security-Policy",
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        ), ("Cache-Control", "no-store"),
    ].compactMap { name, value in HTTPField.Name(name).map { ($0, value) } }

    static func apply(to headers: inout HTTPFields, tls: Bool) {
        for (name, value) in fields { headers[name] = value }
        if tls { headers[.strictTransportSecurity] = "max-age=31536000" }
    }
}

/// On a ledger that several instances share: before a request is handled, what other instances announced they
/// committed is applied here, so that what one acknowledged is seen through any (a child registered through one
/// is found through another). Costs nothing when nothing new was announced; decisions and check-then-append steps
/// are also checked inside their own commit, so they never rely on an announcement's timing.
struct SynchronizeMiddleware: RouterMiddleware {
    typealias Context = TiakiRequestContext
    let ledger: Ledger

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            try await ledger.catchUpWithAnnounced()
        } catch {
            context.logger.error("cannot catch up with the shared ledger", metadata: ["error": "\(error)"])
            throw HTTPError(.serviceUnavailable, message: "The shared ledger cannot be reached; nothing was done.")
        }
        return try await next(request, context)
    }
}

/// Security headers on every response; HSTS too when the service itself speaks TLS.
struct ResponseHeadersMiddleware: RouterMiddleware {
    typealias Context = TiakiRequestContext
    let tls: Bool

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var response = try await next(request, context)
        SecurityHeaders.apply(to: &response.headers, tls: tls)
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
            return problem.response()
        } catch let error as TiakiError {
            if error.code == .internal || error.code == .unavailable {
                logger.error(
                    "request failed",
                    metadata: [
                        "code": "\(error.code)", "at": "\(error.file):\(error.line)", "path": "\(request.uri.path)",
                    ]
                )
            }
            return Problem(error).response()
        } catch let error as LedgerError {
            logger.error(
                "ledger error",
                metadata: ["code": "\(error.code)", "at": "\(error.file):\(error.line)", "path": "\(request.uri.path)"]
            )
            return Problem(error).response()
        } catch let error as HTTPError {
            return httpProblem(error, request).response()
        } catch let error as ResponseEncodingError {
            logger.error("response not encoded", metadata: ["type": "\(error.type)", "path": "\(request.uri.path)"])
            return Problem.internalError.response()
        } catch {
            logger.error("unexpected error", metadata: ["path": "\(request.uri.path)", "type": "\(type(of: error))"])
            return Problem.internalError.response()
        }
    }

    func httpProblem(_ error: HTTPError, _ request: Request) -> Problem {
        switch error.status {
        case .notFound, .methodNotAllowed:
            let allowed = routes.methods(for: request.uri.path)
            guard !allowed.isEmpty else { return .notFound }
            var problem = Problem(
                .methodNotAllowed,
                code: "method-not-allowed",
                title: "Method not allowed",
                detail: "\(request.method) is not allowed here; use \(allowed.joined(separator: " or "))."
            )
            problem.allow = allowed.joined(separator: ", ")
            return problem
        case .contentTooLarge:
            return .tooLarge("The request body is larger than the limit.")
        default:
            return Problem(
                error.status,
                code: "http",
                title: error.status.reasonPhrase,
                detail: error.body ?? error.status.reasonPhrase
            )
        }
    }
}

/// Where the request came from: the peer, or the client a trusted proxy names (`--trusted-proxy`). Everything that
/// counts by address (failed sign-ins) counts this.
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = TiakiRequestContext
    let addresses: ClientAddress

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard !addresses.trusted.isEmpty else { return try await next(request, context) }
        var context = context
        context.clientAddress = addresses.resolve(peer: context.remoteAddress?.ipAddress, headers: request.headers)
        return try await next(request, context)
    }
}

/// Reads `Authorization: Bearer …` and sets the caller; routes decide what each role may do. A valid token is
/// always accepted, whatever failed before it from the same address; a token that is not valid counts against its
/// source address and against itself, and once either has failed a few times each further failure must wait
/// (growing delays, answered 429 with `Retry-After`). The token is never logged, nor compared other than by its
/// hash in constant time. A caller's writes (every POST) are held to the credential's write rate.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = TiakiRequestContext
    let credentials: CredentialService
    let failures: FailedAttemptLimiter
    let writes: WriteLimiter
    let logger: Logger

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        if let header = request.headers[.authorization] {
            let token = header.hasPrefix("Bearer ") ? Self.token(header) : ""
            guard let found = try credentials.authenticate(token: token) else {
                let keys = FailedAttemptLimiter.keys(source: context.source, token: token)
                if let wait = failures.retryAfter(keys) { throw Problem.tooManyFailures(retryAfter: wait) }
                failures.recordFailure(keys)
                logger.notice(
                    "failed sign-in",
                    metadata: ["source": "\(context.source)", "path": "\(request.uri.path)"]
                )
                throw Problem.unauthorized
            }
            context.caller = Caller(found)
            if request.method == .post { try writes.admit(found.id) }
        }
        return try await next(request, context)
    }
}

extension AuthenticationMiddleware {
    /// The token of `Bearer <token>`, without the spaces around it (trimmed by hand: Foundation's trimming goes
    /// through NSString, and this runs on every request).
    static func token(_ header: String) -> String {
        let rest = header.utf8.dropFirst(7)
        let start = rest.firstIndex { $0 != 0x20 && $0 != 0x09 } ?? rest.endIndex
        let end = rest[start...].lastIndex { $0 != 0x20 && $0 != 0x09 }.map { rest.index(after: $0) } ?? start
        return String(Substring(rest[start..<end]))
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
