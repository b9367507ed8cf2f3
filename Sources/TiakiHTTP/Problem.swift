public import Hummingbird
import NIOCore
package import TiakiLedger
public import TiakiModel

extension TiakiError.Code {
    /// The HTTP status of a refusal with this code: the one mapping the API's problems and the pages both use. The
    /// switch is exhaustive over the closed set of codes, so a new code does not compile until it has a status.
    public var status: HTTPResponse.Status {
        switch backing {
        case .invalid, .unknownField, .notInVocabulary, .unknownOrganisation: .badRequest
        case .unknownSubject, .unknownConsent, .unknownCredential, .unknownDisclosure, .unknownBreach: .notFound
        case .conflict, .tooMany: .conflict
        case .erased: .gone
        case .forbidden: .forbidden
        case .rateLimited: .tooManyRequests
        case .unavailable: .serviceUnavailable
        case .internal: .internalServerError
        }
    }
}

/// An RFC 9457 problem: every error the API returns, as `application/problem+json` with a stable `type`, a plain
/// `detail`, and the field at fault.
public struct Problem: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    /// The stable part of `type` (`urn:tiaki:problem:<code>`).
    public var code: String
    public var title: String
    public var detail: String
    public var field: String?
    /// Seconds the client should wait, sent as `Retry-After` (429).
    public var retryAfter: Int?
    /// Methods the resource allows, sent as `Allow` (405).
    public var allow: String?

    public init(_ status: HTTPResponse.Status, code: String, title: String, detail: String, field: String? = nil) {
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.field = field
    }

    /// The body, canonical JSON with a final newline as every JSON body has.
    package var body: [UInt8] {
        var members: [String: JSONValue] = [
            "type": .string("urn:tiaki:problem:\(code)"),
            "title": .string(title),
            "status": .number(Double(status.code)),
            "detail": .string(detail),
        ]
        if let field { members["field"] = .string(field) }
        // Strings and small integers only: canonical encoding cannot fail.
        var bytes =
            (try? CanonicalJSON.encode(.object(members))) ?? Array(#"{"type":"urn:tiaki:problem:internal"}"#.utf8)
        bytes.append(0x0A)
        return bytes
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response { response() }

    package func response() -> Response {
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        if let allow { headers[.allow] = allow }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    package static let unauthorized = Problem(
        .unauthorized,
        code: "unauthorized",
        title: "Not signed in",
        detail: "Send a valid bearer token: Authorization: Bearer <token>."
    )

    package static func forbidden(needs roles: [Role], has role: Role) -> Problem {
        let needed = roles.map(\.rawValue)
        let list =
            needed.count > 1
            ? needed.dropLast().joined(separator: ", ") + " or " + (needed.last ?? "") : needed.first ?? ""
        return Problem(
            .forbidden,
            code: "forbidden",
            title: "Not allowed",
            detail: "This needs a credential with the role \(list); yours is \(role.rawValue)."
        )
    }

    package static let notFound = Problem(
        .notFound,
        code: "not-found",
        title: "Not found",
        detail: "There is nothing here, or it is not yours to see."
    )

    /// Not found, saying what is there instead (for public names, never for records).
    package static func notFound(_ detail: String) -> Problem {
        Problem(.notFound, code: "not-found", title: "Not found", detail: detail)
    }

    package static func badRequest(_ detail: String, field: String? = nil, code: String = "invalid") -> Problem {
        Problem(.badRequest, code: code, title: "The request is not valid", detail: detail, field: field)
    }

    package static func tooLarge(_ detail: String, field: String? = nil) -> Problem {
        Problem(.contentTooLarge, code: "too-large", title: "Too large", detail: detail, field: field)
    }

    package static let internalError = Problem(
        .internalServerError,
        code: "internal",
        title: "Internal error",
        detail: "Something went wrong; nothing you sent was recorded unless a response said so."
    )

    package static func unavailable(_ detail: String = "Nothing was recorded; try again.") -> Problem {
        Problem(.serviceUnavailable, code: "unavailable", title: "Not recorded", detail: detail)
    }

    /// The problem for a domain refusal. The switch is exhaustive over the closed set of codes: a new code does not
    /// compile until it has a status.
    package init(_ error: TiakiError) {
        let status = error.code.status
        switch error.code.backing {
        case .invalid: self = .badRequest(error.message, field: error.field)
        case .unknownField: self = .badRequest(error.message, field: error.field, code: "unknown-field")
        case .notInVocabulary: self = .badRequest(error.message, field: error.field, code: "not-in-vocabulary")
        case .unknownOrganisation: self = .badRequest(error.message, field: error.field, code: "unknown-organisation")
        case .unknownCredential:
            self = Problem(
                status,
                code: "unknown-credential",
                title: "No such credential",
                detail: error.message,
                field: error.field
            )
        case .unknownSubject, .unknownConsent: self = .notFound
        case .unknownDisclosure, .unknownBreach:
            // The same words whether the entry does not exist or is another organisation's; the field says which
            // value of the request it was.
            self = Problem(
                status,
                code: "not-found",
                title: "Not found",
                detail: error.message,
                field: error.field
            )
        case .conflict:
            self = Problem(
                status,
                code: "conflict",
                title: "Conflicts with what is recorded",
                detail: error.message,
                field: error.field
            )
        case .erased:
            self = Problem(
                status,
                code: "erased",
                title: "Personal details erased",
                detail: error.message,
                field: error.field
            )
        case .tooMany:
            self = Problem(status, code: "too-many", title: "Too many", detail: error.message, field: error.field)
        case .forbidden:
            self = Problem(status, code: "forbidden", title: "Not allowed", detail: error.message, field: error.field)
        case .rateLimited:
            self = Problem(status, code: "rate-limited", title: "Too fast", detail: error.message, field: error.field)
            retryAfter = error.retryAfter
        case .unavailable: self = .unavailable("Nothing was recorded: \(error.message)")
        case .internal: self = .internalError
        }
    }

    /// The problem for a ledger error met while serving a request; exhaustive as ``init(_:)-(TiakiError)`` is.
    package init(_ error: LedgerError) {
        switch error.code.backing {
        case .entryTooLarge: self = .tooLarge(error.message)
        case .invalidArgument: self = .badRequest(error.message)
        case .io, .closed, .locked: self = .unavailable()
        case .diverged: self = .unavailable("Nothing was recorded: \(error.message).")
        case .conflict:
            // Another instance wrote about the same child while this one checked, more often than retries allow.
            self = Problem(
                .conflict,
                code: "conflict",
                title: "Conflicts with what is recorded",
                detail: "Nothing was recorded: \(error.message)."
            )
        case .malformedNote, .malformedCheckpoint, .malformedKey, .signatureInvalid, .noTrustedSignature,
            .insecureKeyFile, .notALedger, .corrupt, .invalidEntry, .noLedger:
            // A running service meets these only through a fault of its own or of its storage.
            self = .internalError
        }
    }
}
