public import Hummingbird
import NIOCore
import TiakiConsent
import TiakiLedger

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

    public init(_ status: HTTPResponse.Status, code: String, title: String, detail: String, field: String? = nil) {
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.field = field
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var body: [String: JSONValue] = [
            "type": .string("urn:tiaki:problem:\(code)"),
            "title": .string(title),
            "status": .number(Double(status.code)),
            "detail": .string(detail),
        ]
        if let field { body["field"] = .string(field) }
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        let bytes = (try? CanonicalJSON.encode(.object(body))) ?? []
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static let unauthorized = Problem(
        .unauthorized,
        code: "unauthorized",
        title: "Not signed in",
        detail: "Send a valid bearer token: Authorization: Bearer <token>."
    )
    static let forbidden = Problem(
        .forbidden,
        code: "forbidden",
        title: "Not allowed",
        detail: "Your credential's role may not do this."
    )
    static let notFound = Problem(
        .notFound,
        code: "not-found",
        title: "Not found",
        detail: "There is nothing here, or it is not yours to see."
    )

    static func badRequest(_ detail: String, field: String? = nil, code: String = "invalid") -> Problem {
        Problem(.badRequest, code: code, title: "The request is not valid", detail: detail, field: field)
    }

    /// The problem for a consent-layer refusal.
    init(_ error: ConsentError) {
        switch error.code {
        case .invalid: self = .badRequest(error.message, field: error.field)
        case .notInVocabulary: self = .badRequest(error.message, field: error.field, code: "not-in-vocabulary")
        case .unknownOrganisation: self = .badRequest(error.message, field: error.field, code: "unknown-organisation")
        case .unknownCredential:
            self = Problem(
                .notFound,
                code: "unknown-credential",
                title: "No such credential",
                detail: error.message,
                field: error.field
            )
        case .unknownSubject, .unknownConsent: self = .notFound
        case .conflict:
            self = Problem(
                .conflict,
                code: "conflict",
                title: "Conflicts with what is recorded",
                detail: error.message,
                field: error.field
            )
        case .erased:
            self = Problem(
                .gone,
                code: "erased",
                title: "Personal details erased",
                detail: error.message,
                field: error.field
            )
        case .tooMany:
            self = Problem(
                .conflict,
                code: "too-many",
                title: "Too many",
                detail: error.message,
                field: error.field
            )
        default:
            self = Problem(
                .serviceUnavailable,
                code: "unavailable",
                title: "Not recorded",
                detail: "Nothing was recorded: \(error.message)"
            )
        }
    }
}
