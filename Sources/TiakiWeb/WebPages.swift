import Foundation
import HTTPTypes
public import Hummingbird
import Logging
import Mustache
import Synchronization
public import TiakiAudit
public import TiakiConsent
import TiakiLedger
import TiakiModel

/// How the pages limit failed sign-ins: the same limiter as the API's bearer tokens, by source address.
public struct SignInGuard: Sendable {
    /// Seconds to wait before the source may try again, if it must.
    public var retryAfter: @Sendable (String) -> Int?
    public var failed: @Sendable (String) -> Void

    public init(retryAfter: @escaping @Sendable (String) -> Int?, failed: @escaping @Sendable (String) -> Void) {
        self.retryAfter = retryAfter
        self.failed = failed
    }
}

/// Fragments rendered once and kept, by a key that names everything they depend on.
final class FragmentCache: Sendable {
    private let cache = Mutex<[String: String]>([:])

    func value(_ key: String, _ make: () -> String) -> String {
        if let hit = cache.withLock({ $0[key] }) { return hit }
        let made = make()
        cache.withLock { $0[key] = made }
        return made
    }
}

/// A page that cannot be shown: the reader sees a page saying why, never a stack of JSON.
enum PageError: Error {
    case notFound, forbidden, tooLarge
    case signIn(expired: Bool)
    case staleForm
}

/// The pages people use, at `/` beside the API: signing in, finding and registering a child, recording consents
/// through the seven checklist items with the whānau's information sheet and receipt, asking whether a share may be
/// made and recording it, withdrawing; findings and the child's report for privacy officers; coverage for
/// facilitators; the ledger for auditors; organisations and credentials for admins. Server-rendered, no scripts;
/// every value escaped; roles and organisation scope exactly the API's (the services decide).
public struct WebPages<Context: RequestContext>: Sendable {
    let services: TiakiServices
    let sessions: SessionStore
    let guardian: SignInGuard
    let findingsProjection: FindingsProjection
    let secureCookies: Bool
    let source: @Sendable (Context) -> String
    let library: MustacheLibrary
    let bodyLimit = 64 * 1024
    /// Rendered fragments that are the same for every reader of a language (a blank form's choices).
    let fragments = FragmentCache()

    public init(
        services: TiakiServices,
        sessions: SessionStore,
        guardian: SignInGuard,
        findings: FindingsProjection,
        secureCookies: Bool,
        source: @escaping @Sendable (Context) -> String
    ) {
        self.services = services
        self.sessions = sessions
        self.guardian = guardian
        self.findingsProjection = findings
        self.secureCookies = secureCookies
        self.source = source
        var library = MustacheLibrary()
        for (name, text) in Templates.all {
            // The templates are this file's own: one that does not parse is a programming error caught by tests.
            try? library.register(text, named: name)
        }
        self.library = library
    }

    /// Every page's path, for the API's route table and its OpenAPI test to leave alone.
    public static var paths: [String] { ["/", "/sign-in", "/sign-out", "/language", "/children", "/findings"] }

    public var routes: RouteCollection<Context> {
        let routes = RouteCollection(context: Context.self)
        routes.get("assets/tiaki.css") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=3600"],
                body: .init(byteBuffer: ByteBuffer(string: Assets.css))
            )
        }
        routes.get("language") { request, _ in
            let query = Form(request.uri.query ?? "")
            let to = query["to"] == "mi" ? "mi" : "en"
            // Back to a page of this site only: a path, of the characters a path and query use here.
            let back =
                query["back"].flatMap { path -> String? in
                    let allowed = path.utf8.allSatisfy {
                        ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A)
                            || "/?=&-_.%".utf8.contains($0)
                    }
                    return allowed && path.hasPrefix("/") && !path.hasPrefix("//") && path.utf8.count <= 512
                        ? path : nil
                } ?? "/"
            var response = Self.redirect(back)
            response.headers.append(
                HTTPField(name: .setCookie, value: "tiaki_lang=\(to); Path=/; SameSite=Strict; Max-Age=31536000")
            )
            return response
        }
        routes.get("") { request, context in try await page(request, context) { try home($0, $1) } }
        routes.get("sign-in") { request, context in
            try await page(request, context, public: true) { try signInPage($0, $1) }
        }
        routes.post("sign-in") { request, context in
            try await page(request, context, public: true) { try await signIn($0, $1, context) }
        }
        routes.post("sign-out") { request, context in try await page(request, context) { try await signOut($0, $1) } }
        routes.get("children") { request, context in try await page(request, context) { try find($0, $1) } }
        routes.get("children/new") { request, context in
            try await page(request, context) { r, v in try registerForm(v, values: Form(""), errors: []) }
        }
        routes.post("children") { request, context in try await page(request, context) { try await register($0, $1) } }
        routes.get("children/:subject") { request, context in
            try await page(request, context) { try childPage($1, try Self.parameter(context, "subject")) }
        }
        routes.get("children/:subject/consents/new") { request, context in
            try await page(request, context) { r, v in
                try consentForm(v, subject: try Self.parameter(context, "subject"), values: Form(""), errors: [])
            }
        }
        routes.post("children/:subject/consents") { request, context in
            try await page(request, context) { try await recordConsent($0, $1, try Self.parameter(context, "subject")) }
        }
        routes.get("consents/:consent/receipt") { request, context in
            try await page(request, context) { try receipt($1, try Self.index(context, "consent")) }
        }
        routes.get("consents/:consent/receipt.json") { request, context in
            try await page(request, context) { try receiptJSON($1, try Self.index(context, "consent")) }
        }
        routes.post("consents/:consent/withdraw") { request, context in
            try await page(request, context) { try await withdraw($0, $1, try Self.index(context, "consent")) }
        }
        routes.get("children/:subject/refusals/new") { request, context in
            try await page(request, context) { _, v in
                try refusalForm(v, subject: try Self.parameter(context, "subject"), values: Form(""), errors: [])
            }
        }
        routes.post("children/:subject/refusals") { request, context in
            try await page(request, context) { try await recordRefusal($0, $1, try Self.parameter(context, "subject")) }
        }
        routes.get("children/:subject/erase") { request, context in
            try await page(request, context) { _, v in
                try erasure(v, try Self.parameter(context, "subject"), values: Form(""), errors: [])
            }
        }
        routes.post("children/:subject/erase") { request, context in
            try await page(request, context) { try await erase($0, $1, try Self.parameter(context, "subject")) }
        }
        routes.post("disclosures/:disclosure/review") { request, context in
            try await page(request, context) { try await review($0, $1, try Self.index(context, "disclosure")) }
        }
        routes.get("children/:subject/share") { request, context in
            try await page(request, context) { r, v in
                try shareForm(v, subject: try Self.parameter(context, "subject"), values: Form(""), errors: [])
            }
        }
        routes.post("children/:subject/share") { request, context in
            try await page(request, context) { try await ask($0, $1, try Self.parameter(context, "subject")) }
        }
        routes.post("children/:subject/disclosures") { request, context in
            try await page(request, context) { try await recordShare($0, $1, try Self.parameter(context, "subject")) }
        }
        routes.get("children/:subject/report") { request, context in
            try await page(request, context) {
                try reportPage($1, try Self.parameter(context, "subject"), download: false)
            }
        }
        routes.get("children/:subject/report.html") { request, context in
            try await page(request, context) {
                try reportPage($1, try Self.parameter(context, "subject"), download: true)
            }
        }
        routes.get("findings") { request, context in try await page(request, context) { try await findings($1) } }
        routes.get("notices") { request, context in try await page(request, context) { try notices($1) } }
        routes.get("notices/collections/:disclosure") { request, context in
            try await page(request, context) { try noticeDocument($0, $1, try Self.index(context, "disclosure")) }
        }
        routes.post("notices/collections/:disclosure/sent") { request, context in
            try await page(request, context) { try await noticeSent($0, $1, try Self.index(context, "disclosure")) }
        }
        routes.post("notices/withdrawals/:consent/acknowledge") { request, context in
            try await page(request, context) { try await acknowledge($0, $1, try Self.index(context, "consent")) }
        }
        routes.get("breaches") { request, context in
            try await page(request, context) { _, v in try breaches(v, values: Form(""), errors: []) }
        }
        routes.post("breaches") { request, context in
            try await page(request, context) { try await recordBreach($0, $1) }
        }
        routes.get("breaches/:breach") { request, context in
            try await page(request, context) { _, v in try breach(v, try Self.parameter(context, "breach"), errors: [])
            }
        }
        routes.get("breaches/:breach/report") { request, context in
            try await page(request, context) { _, v in try breachReport(v, try Self.parameter(context, "breach")) }
        }
        routes.post("breaches/:breach/:step") { request, context in
            try await page(request, context) {
                try await breachStep($0, $1, try Self.parameter(context, "breach"), try Self.parameter(context, "step"))
            }
        }
        routes.get("breaches/:breach/notices/:subject") { request, context in
            try await page(request, context) { r, v in
                try breachNotice(r, v, try Self.parameter(context, "breach"), try Self.parameter(context, "subject"))
            }
        }
        routes.get("coverage") { request, context in try await page(request, context) { try coverage($1) } }
        routes.get("ledger") { request, context in try await page(request, context) { try ledger($1) } }
        routes.get("ledger/export.tar") { request, context in
            try await page(request, context) { _, v in
                _ = try v.require(.auditor)
                return try services.ledger.archive().response(logger: context.logger)
            }
        }
        routes.post("admin/orgs") { request, context in
            try await page(request, context) { try await registerOrganisation($0, $1) }
        }
        routes.get("admin") { request, context in
            try await page(request, context) { try admin($1, token: nil, errors: []) }
        }
        routes.post("admin/credentials") { request, context in
            try await page(request, context) { try await issue($0, $1) }
        }
        routes.post("admin/credentials/:id/revoke") { request, context in
            try await page(request, context) { try await revoke($0, $1, try Self.parameter(context, "id")) }
        }
        return routes
    }

    // MARK: The frame every page is drawn in

    /// Who is reading, in which language, with which form token.
    struct Viewer {
        var session: SessionStore.Session?
        var language: String
        var path: String
        var caller: Caller? { session?.caller }
        var w: [String: String] { PageWords.words(language) }
        /// The words of documents for whānau (the seven items in plain words) in the reader's language.
        var documentWords: NoticeWords { NoticeWords.words(language == "mi" ? .mi : .en) }

        func require(_ roles: Role...) throws -> Caller {
            guard let caller else { throw PageError.signIn(expired: false) }
            guard roles.contains(caller.role) else { throw PageError.forbidden }
            return caller
        }
    }

    /// Runs a page: finds the session (or sends the reader to sign in), checks a POST's form token, and turns
    /// every refusal into a page.
    func page(
        _ request: Request,
        _ context: Context,
        public isPublic: Bool = false,
        _ body: (Request, Viewer) async throws -> Response
    ) async throws -> Response {
        let cookies = Self.cookies(request)
        let viewer = Viewer(
            session: cookies["tiaki_session"].flatMap(sessions.find),
            language: cookies["tiaki_lang"] == "mi" ? "mi" : "en",
            path: request.uri.path
        )
        do {
            if !isPublic, viewer.session == nil { throw PageError.signIn(expired: cookies["tiaki_session"] != nil) }
            return try await body(request, viewer)
        } catch let error as PageError {
            switch error {
            case .signIn(let expired):
                var response = Self.redirect("/sign-in" + (expired ? "?expired=1" : ""))
                if expired { response.headers.append(HTTPField(name: .setCookie, value: clearSession)) }
                return response
            case .notFound:
                return message(viewer, headingKey: "notFoundTitle", textKey: "notFound", status: .notFound)
            case .forbidden:
                return message(viewer, headingKey: "forbiddenTitle", textKey: "forbidden", status: .forbidden)
            case .staleForm:
                return message(viewer, headingKey: "thereIsAProblem", textKey: "staleForm", status: .forbidden)
            case .tooLarge:
                return message(viewer, headingKey: "tooLargeTitle", textKey: "tooLarge", status: .contentTooLarge)
            }
        } catch let error as TiakiError where error.code != .internal {
            // A refusal no form caught in its own words: a page saying why, with the status the API would give.
            let status: HTTPResponse.Status =
                switch error.code {
                case .unknownSubject, .unknownConsent, .unknownDisclosure, .unknownBreach, .unknownCredential:
                    .notFound
                case .conflict: .conflict
                case .erased: .gone
                case .tooMany: .tooManyRequests
                case .unavailable: .serviceUnavailable
                default: .badRequest
                }
            if status == .notFound {
                return try await page(request, context, public: true) { _, _ in throw PageError.notFound }
            }
            let text = status == .serviceUnavailable ? "Nothing was recorded: \(error.message)" : error.message
            return message(viewer, headingKey: "thereIsAProblem", text: text, status: status)
        }
    }

    /// The form of a POST, after checking its token against the session's.
    func form(_ request: Request, _ viewer: Viewer) async throws -> Form {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: bodyLimit)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw PageError.tooLarge
        }
        let form = Form(String(buffer: buffer))
        guard let session = viewer.session, let token = form["csrf"], SessionStore.same(token, session.csrf) else {
            throw PageError.staleForm
        }
        return form
    }

    /// A fragment template rendered with the reader's words.
    func fragment(_ template: String, _ viewer: Viewer, _ values: [String: Any]) -> String {
        var values = values
        values["w"] = viewer.w
        return library.render(values, withTemplate: template) ?? ""
    }

    func render(
        _ viewer: Viewer,
        _ template: String,
        title: String,
        status: HTTPResponse.Status = .ok,
        _ values: [String: Any]
    ) -> Response {
        var values = values
        let w = viewer.w
        values["w"] = w
        values["csrf"] = viewer.session?.csrf ?? values["csrf"] ?? ""
        let body = library.render(values, withTemplate: template) ?? ""
        var frame: [String: Any] = [
            "lang": viewer.language, "title": title, "w": w, "body": body, "csrf": values["csrf"] ?? "",
            "otherLang": viewer.language == "mi" ? "en" : "mi",
            "otherLangName": viewer.language == "mi" ? "English" : "Te reo Māori",
            "back": Form.encode(viewer.path), "unreviewed": viewer.language == "mi",
        ]
        if let caller = viewer.caller {
            frame["signedIn"] = true
            frame["nav"] = navigation(caller, w)
            frame["who"] = "\(organisationName(caller.org)) · \(caller.role.rawValue)"
        }
        let html = library.render(frame, withTemplate: "layout") ?? ""
        return Response(
            status: status,
            headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: html))
        )
    }

    /// A page that only says something: a heading, a sentence (`text`, or the words under `textKey`), and a link.
    func message(
        _ viewer: Viewer,
        headingKey: String,
        textKey: String? = nil,
        text: String? = nil,
        status: HTTPResponse.Status,
        link: (href: String, labelKey: String) = ("/", "home")
    ) -> Response {
        let w = viewer.w
        return render(
            viewer,
            "message",
            title: w[headingKey] ?? "",
            status: status,
            [
                "heading": w[headingKey] ?? "", "text": text ?? textKey.flatMap { w[$0] } ?? "",
                "link": ["href": link.href, "label": w[link.labelKey] ?? ""],
            ]
        )
    }

    func navigation(_ caller: Caller, _ w: [String: String]) -> [[String: String]] {
        let items: [(String, String)] =
            switch caller.role {
            case .member: [("/children", "find"), ("/notices", "notices")]
            case .facilitator: [("/coverage", "coverage")]
            case .privacyOfficer: [("/findings", "findings"), ("/breaches", "breaches")]
            case .auditor: [("/ledger", "ledger")]
            case .admin: [("/admin", "admin")]
            }
        return items.map { ["href": $0.0, "label": w["nav.\($0.1)"] ?? $0.1, "hint": w["nav.\($0.1).hint"] ?? ""] }
    }

    func organisationName(_ id: String) -> String { services.core.read { $0.organisations[id]?.name } ?? id }

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    static func cookies(_ request: Request) -> [String: String] {
        var out: [String: String] = [:]
        for header in request.headers[values: .cookie] {
            for part in header.split(separator: ";") {
                let kv = part.split(separator: "=", maxSplits: 1)
                guard kv.count == 2 else { continue }
                out[kv[0].trimmingCharacters(in: .whitespaces)] = kv[1].trimmingCharacters(in: .whitespaces)
            }
        }
        return out
    }

    var clearSession: String {
        "tiaki_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0\(secureCookies ? "; Secure" : "")"
    }

    static func parameter(_ context: Context, _ name: String) throws -> String {
        guard let value = context.parameters.get(name), !value.isEmpty, value.utf8.count <= 64 else {
            throw PageError.notFound
        }
        return value
    }

    static func index(_ context: Context, _ name: String) throws -> Int {
        guard let text = context.parameters.get(name), text.utf8.count <= 16,
            text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(text)
        else { throw PageError.notFound }
        return n
    }

    // MARK: Signing in and out

    func signInPage(_ request: Request, _ viewer: Viewer) throws -> Response {
        if viewer.session != nil { return Self.redirect("/") }
        let query = Form(request.uri.query ?? "")
        return signInForm(viewer, message: query["expired"] != nil ? viewer.w["expired"] : nil)
    }

    func signInForm(_ viewer: Viewer, message: String?, status: HTTPResponse.Status = .ok) -> Response {
        let token = SessionStore.random()
        var response = render(
            viewer,
            "signin",
            title: viewer.w["signInTitle"] ?? "",
            status: status,
            ["csrf": token, "message": maybe(message)]
        )
        response.headers.append(
            HTTPField(
                name: .setCookie,
                value:
                    "tiaki_signin=\(token); Path=/sign-in; HttpOnly; SameSite=Strict; Max-Age=1800\(secureCookies ? "; Secure" : "")"
            )
        )
        return response
    }

    func signIn(_ request: Request, _ viewer: Viewer, _ context: Context) async throws -> Response {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: bodyLimit)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw PageError.tooLarge
        }
        let form = Form(String(buffer: buffer))
        guard let expected = Self.cookies(request)["tiaki_signin"], let given = form["csrf"],
            SessionStore.same(expected, given)
        else { return signInForm(viewer, message: viewer.w["staleForm"], status: .forbidden) }
        let from = source(context)
        if guardian.retryAfter(from) != nil {
            return signInForm(viewer, message: viewer.w["tooMany"], status: .tooManyRequests)
        }
        guard let token = form["token"], let credential = try services.credentials.authenticate(token: token) else {
            guardian.failed(from)
            return signInForm(viewer, message: viewer.w["badToken"], status: .unauthorized)
        }
        if let old = viewer.session { sessions.end(old.id) }
        let session = sessions.create(for: Caller(credential))
        var response = Self.redirect("/")
        response.headers.append(
            HTTPField(
                name: .setCookie,
                value:
                    "tiaki_session=\(session.id); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(Int(sessions.absolute))\(secureCookies ? "; Secure" : "")"
            )
        )
        response.headers.append(HTTPField(name: .setCookie, value: "tiaki_signin=; Path=/sign-in; Max-Age=0"))
        return response
    }

    func signOut(_ request: Request, _ viewer: Viewer) async throws -> Response {
        _ = try await form(request, viewer)
        if let session = viewer.session { sessions.end(session.id) }
        var out = viewer
        out.session = nil
        var response = message(
            out,
            headingKey: "signedOutTitle",
            textKey: "signedOut",
            status: .ok,
            link: ("/sign-in", "signInAgain")
        )
        response.headers.append(HTTPField(name: .setCookie, value: clearSession))
        return response
    }

    func home(_ request: Request, _ viewer: Viewer) throws -> Response {
        guard let caller = viewer.caller else { throw PageError.signIn(expired: false) }
        return render(
            viewer,
            "home",
            title: viewer.w["homeTitle"] ?? "",
            [
                "nav": navigation(caller, viewer.w), "who": "\(organisationName(caller.org)) · \(caller.role.rawValue)",
            ]
        )
    }
}
