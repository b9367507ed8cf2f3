import Foundation
import HTTPTypes
public import Hummingbird
public import Logging
import Synchronization
public import TiakiAudit
public import TiakiConsent
public import TiakiHTTP
import TiakiLedger
import TiakiModel

/// How the pages limit failed sign-ins: the same limiter as the API's bearer tokens.
public struct SignInGuard: Sendable {
    /// Seconds to wait before a failed sign-in from this source with this token may be tried again, if it must.
    public var retryAfter: @Sendable (_ source: String, _ token: String) -> Int?
    public var failed: @Sendable (_ source: String, _ token: String) -> Void

    public init(
        retryAfter: @escaping @Sendable (String, String) -> Int?,
        failed: @escaping @Sendable (String, String) -> Void
    ) {
        self.retryAfter = retryAfter
        self.failed = failed
    }
}

/// A page that cannot be shown: the reader sees a page saying why, never a stack of JSON.
enum PageError: Error {
    case notFound, tooLarge, unreadable
    case crossSite(origin: String?, site: String?, host: String?)
    case signIn(expired: Bool, next: String?)
}

/// The pages people use, at `/` beside the API: signing in, finding and registering a child, recording consents
/// through the seven checklist items with the whānau's information sheet and receipt, asking whether a share may be
/// made and recording it, withdrawing; findings and the child's report for privacy officers; coverage for
/// facilitators; the ledger for auditors; organisations and credentials for admins.
///
/// Server-rendered from the templates in `Resources/Templates`, no scripts, every value escaped. Who may do what
/// is ``Action/roles``, asked exactly as the API asks it; a page's caller is looked up again on every request, so a
/// revoked credential's sessions end at once. Every write is POST, then a redirect to a page that shows what was
/// recorded; a form's one-time token makes a second submit (a double click, Back, a reload) show that page again and
/// record nothing.
public struct WebPages<Context: RequestContext>: Sendable {
    let services: TiakiServices
    let sessions: SessionStore
    let guardian: SignInGuard
    let writes: WriteLimiter?
    let findingsProjection: FindingsProjection
    let secureCookies: Bool
    let source: @Sendable (Context) -> String
    let library: PageLibrary
    let logger: Logger
    let bodyLimit = 64 * 1024

    /// - Throws: ``PageSetupError`` when a template or a word is missing.
    public init(
        services: TiakiServices,
        sessions: SessionStore,
        guardian: SignInGuard,
        writes: WriteLimiter? = nil,
        findings: FindingsProjection,
        secureCookies: Bool,
        logger: Logger = Logger(label: "tiaki.pages"),
        source: @escaping @Sendable (Context) -> String
    ) throws {
        self.services = services
        self.sessions = sessions
        self.guardian = guardian
        self.writes = writes
        self.findingsProjection = findings
        self.secureCookies = secureCookies
        self.source = source
        self.logger = logger
        self.library = try PageLibrary.load()
    }

    /// The wall clock of the people the pages serve.
    var local: LocalTime { services.core.localTime }

    public var routes: RouteCollection<Context> {
        let routes = RouteCollection(context: Context.self)
        routes.get("assets/tiaki.css") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=3600"],
                body: .init(byteBuffer: ByteBuffer(string: Assets.css))
            )
        }
        routes.get("language") { request, _ in language(request) }
        addSignInRoutes(to: routes)
        addChildRoutes(to: routes)
        addConsentRoutes(to: routes)
        addShareRoutes(to: routes)
        addPrivacyRoutes(to: routes)
        addDutyRoutes(to: routes)
        addClusterRoutes(to: routes)
        addAdminRoutes(to: routes)
        return routes
    }

    // MARK: Who is reading

    /// Who is reading, in which language, on which page.
    struct Viewer: Sendable {
        var session: SessionStore.Session?
        var caller: Caller?
        var language: String
        /// This page's own address (path and query): where the language link and a new sign-in come back to.
        var here: String
        /// The form token of a page drawn before a session exists (the sign-in form's).
        var formToken: String? = nil

        var w: [String: String] { PageWords.words(language) }
        var documentWords: NoticeWords { NoticeWords.words(language == "mi" ? .mi : .en) }
        var csrf: String { formToken ?? session?.csrf ?? "" }

        /// The caller, if their role may do `action`; a reader not signed in is sent to sign in.
        func require(_ action: Action) throws -> Caller {
            guard let caller else { throw PageError.signIn(expired: false, next: here) }
            try caller.require(action)
            return caller
        }

        /// A day in the reader's language.
        func day(_ day: Day) -> String { day.plain(in: language) }
        func day(_ text: String) -> String { Day(text).map { day($0) } ?? text }
    }

    /// The reader of this request: their session, if it is live and its credential still stands (a session of a
    /// revoked credential ends here, with every other session of that credential), and their language.
    func viewer(_ request: Request) -> (Viewer, ended: Bool) {
        let cookies = Self.cookies(request)
        var here = request.uri.path
        if let query = request.uri.query, !query.isEmpty { here += "?" + query }
        var viewer = Viewer(
            session: nil,
            caller: nil,
            language: cookies["tiaki_lang"] == "mi" ? "mi" : "en",
            here: here
        )
        guard let id = cookies["tiaki_session"] else { return (viewer, false) }
        guard let session = sessions.find(id) else { return (viewer, true) }
        guard let caller = services.credentials.caller(credential: session.credential) else {
            sessions.endAll(credential: session.credential)
            logger.notice(
                "session ended: its credential was revoked",
                metadata: ["credential": "\(session.credential)"]
            )
            return (viewer, true)
        }
        viewer.session = session
        viewer.caller = caller
        return (viewer, false)
    }

    // MARK: Running a page

    /// Registers a page that only shows something.
    func get(
        _ routes: RouteCollection<Context>,
        _ path: RouterPath,
        public isPublic: Bool = false,
        _ body: @escaping @Sendable (Request, Context, Viewer) async throws -> Response
    ) {
        routes.get(path) { request, context in
            let (viewer, ended) = viewer(request)
            return await run(viewer) {
                if !isPublic, viewer.session == nil { throw PageError.signIn(expired: ended, next: viewer.here) }
                return try await body(request, context, viewer)
            }
        }
    }

    /// What a form post did: recorded something (shown at this address), or only showed a page (a form again with
    /// its problems, an information sheet).
    enum Outcome {
        case recorded(String)
        case shown(Response)
    }

    /// A form as it was sent: its fields, its raw body (kept to draw it again), and its one-time token.
    struct Submission: Sendable {
        let body: String
        let token: String

        /// The form's fields, decoded into `T`; a body that is not a form is refused.
        func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
            do {
                return try URLEncodedFormDecoder().decode(T.self, from: body)
            } catch {
                throw PageError.unreadable
            }
        }
    }

    /// Registers a form post. Before `submit` runs: the reader must be signed in with a credential that stands,
    /// the request must come from this site's own pages, the session's form token must match, and the reader's
    /// writes must be within their limit. A form whose token is stale is drawn again by `redraw` with what was
    /// typed, a fresh token and a line saying why. A second post of the same one-time token waits for the first and
    /// shows what it recorded.
    func post(
        _ routes: RouteCollection<Context>,
        _ path: RouterPath,
        redraw: (@Sendable (Viewer, Submission, [FieldError]) throws -> Response)? = nil,
        submit: @escaping @Sendable (Request, Context, Viewer, Submission) async throws -> Outcome
    ) {
        routes.post(path) { request, context in
            var (viewer, ended) = viewer(request)
            return await run(viewer) {
                try Self.checkOrigin(request)
                let body = try await formBody(request)
                let fields = Form(body)
                let submission = Submission(body: body, token: Self.token(fields["once"]))
                guard let session = viewer.session else {
                    // Nothing is recorded; signing in again comes back to the page the form was on.
                    throw PageError.signIn(
                        expired: ended,
                        next: Self.localPath(request.headers[.referer], fromReferer: true)
                    )
                }
                guard let given = fields["csrf"], SessionStore.same(given, session.csrf) else {
                    guard let redraw else {
                        return message(viewer, heading: "thereIsAProblem", text: "staleForm", status: .forbidden)
                    }
                    var response = try redraw(viewer, submission, [FieldError("form", "stale")])
                    response.status = .forbidden
                    return response
                }
                if let writes, let caller = viewer.caller { try writes.admit(caller.credential) }
                switch await claim(submission.token, session: session.id, body: body) {
                case .recorded(let result): return Self.redirect(Self.adding("already=1", to: result))
                case .busy, .claimed: break
                }
                do {
                    viewer.here = Self.localPath(request.headers[.referer], fromReferer: true) ?? viewer.here
                    switch try await submit(request, context, viewer, submission) {
                    case .recorded(let location):
                        sessions.finish(submission.token, session: session.id, result: location)
                        return Self.redirect(location)
                    case .shown(let response):
                        sessions.release(submission.token, session: session.id)
                        return response
                    }
                } catch {
                    sessions.release(submission.token, session: session.id)
                    throw error
                }
            }
        }
    }

    /// Claims a form's one-time token for a write; a write with it already running is waited for (a double click
    /// shows what the first click recorded).
    func claim(_ token: String, session: String, body: String) async -> SessionStore.Claim {
        for _ in 0..<300 {
            let claim = sessions.claim(token, session: session, body: body)
            guard case .busy = claim else { return claim }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return .busy
    }

    /// Runs a page and turns every refusal into a page, with the status the API gives the same refusal.
    func run(_ viewer: Viewer, _ body: () async throws -> Response) async -> Response {
        do {
            return try await body()
        } catch let error as PageError {
            switch error {
            case .signIn(let expired, let next):
                var query: [String] = []
                if expired { query.append("expired=1") }
                if let next, next != "/" { query.append("next=" + Form.encode(next)) }
                var response = Self.redirect("/sign-in" + (query.isEmpty ? "" : "?" + query.joined(separator: "&")))
                if expired { response.headers.append(HTTPField(name: .setCookie, value: clearSession)) }
                return response
            case .notFound: return message(viewer, heading: "notFoundTitle", text: "notFound", status: .notFound)
            case .tooLarge:
                return message(viewer, heading: "tooLargeTitle", text: "tooLarge", status: .contentTooLarge)
            case .unreadable:
                return message(viewer, heading: "thereIsAProblem", text: "unreadableForm", status: .badRequest)
            case .crossSite(let origin, let site, let host):
                logger.notice(
                    "refused a post from another site",
                    metadata: ["origin": "\(origin ?? "-")", "site": "\(site ?? "-")", "host": "\(host ?? "-")"]
                )
                return message(viewer, heading: "forbiddenTitle", text: "crossSite", status: .forbidden)
            }
        } catch let error as TiakiError {
            // A refusal no form caught in its own words: a page saying why, with the status the API would give.
            let status = error.code.status
            switch error.code.backing {
            case .unknownSubject, .unknownConsent, .unknownDisclosure, .unknownBreach, .unknownCredential:
                return message(viewer, heading: "notFoundTitle", text: "notFound", status: .notFound)
            case .forbidden:
                return message(viewer, heading: "forbiddenTitle", text: "forbidden", status: status)
            case .rateLimited:
                var response = message(viewer, heading: "tooFastTitle", text: "tooFast", status: status)
                if let wait = error.retryAfter { response.headers[.retryAfter] = String(wait) }
                return response
            case .unavailable, .internal:
                logger.error("page failed", metadata: ["code": "\(error.code)", "at": "\(error.file):\(error.line)"])
                return message(viewer, heading: "thereIsAProblem", text: "notRecorded", status: status)
            case .erased: return message(viewer, heading: "erasedTitle", text: "erasedAlready", status: status)
            case .invalid, .unknownField, .notInVocabulary, .unknownOrganisation, .conflict, .tooMany:
                let line = FieldError(error, fallback: "form").message(viewer.w)
                return message(viewer, heading: "thereIsAProblem", literal: line, status: status)
            }
        } catch let error as LedgerError {
            logger.error("page failed", metadata: ["code": "\(error.code)", "at": "\(error.file):\(error.line)"])
            let problem = Problem(error)
            return message(viewer, heading: "thereIsAProblem", text: "notRecorded", status: problem.status)
        } catch {
            logger.error("page failed", metadata: ["type": "\(type(of: error))"])
            return message(viewer, heading: "thereIsAProblem", text: "notRecorded", status: .internalServerError)
        }
    }

    /// A state-changing request from another site is refused. A browser that sends `Sec-Fetch-Site` (which no page
    /// can set) is believed: it must say the same origin, or none (typed or bookmarked). Otherwise `Origin`, when
    /// sent, must be this site. (With `Referrer-Policy: no-referrer` browsers send `Origin: null` on a form's post,
    /// so `null` is only refused when `Sec-Fetch-Site` does not vouch for the request.)
    static func checkOrigin(_ request: Request) throws {
        let site = HTTPField.Name("Sec-Fetch-Site").flatMap { request.headers[$0] }
        let origin = HTTPField.Name("Origin").flatMap { request.headers[$0] }
        let host = request.head.authority
        let refused = PageError.crossSite(origin: origin, site: site, host: host)
        if let site {
            guard site == "same-origin" || site == "none" else { throw refused }
            return
        }
        if let origin {
            guard origin != "null", let host, let given = URLComponents(string: origin), let givenHost = given.host
            else { throw refused }
            let port = given.port.map { ":\($0)" } ?? ""
            guard (givenHost + port).lowercased() == host.lowercased() else { throw refused }
        }
    }

    /// The form's body, at most ``bodyLimit`` bytes.
    func formBody(_ request: Request) async throws -> String {
        do {
            return String(buffer: try await request.body.collect(upTo: bodyLimit))
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw PageError.tooLarge
        }
    }

    /// A form's one-time token as sent, if it is one this service could have made; else a new one (the post then
    /// records at most once, but a repeat cannot be recognised).
    static func token(_ given: String?) -> String {
        guard let given, given.utf8.count == 64,
            given.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) })
        else { return SessionStore.random() }
        return given
    }

    // MARK: Drawing

    /// A page: `template` drawn with `model`, in the frame every page shares.
    func render(
        _ viewer: Viewer,
        _ template: Template,
        title: String,
        status: HTTPResponse.Status = .ok,
        here: String? = nil,
        _ model: some Encodable
    ) -> Response {
        let w = viewer.w
        let body = library.render(PageContext(model: model, w: w, csrf: viewer.csrf), template)
        let back = here ?? viewer.here
        let frame = Frame(
            lang: viewer.language == "mi" ? "mi" : "en-NZ",
            title: title,
            body: body,
            otherLang: viewer.language == "mi" ? "en" : "mi",
            otherLangName: viewer.language == "mi" ? "English" : "Te reo Māori",
            back: Form.encode(back),
            unreviewed: viewer.language == "mi",
            nav: viewer.caller.map { navigation($0, w) } ?? [],
            who: viewer.caller.map {
                "\(organisationName($0.org)) · \(w["role.\($0.role.rawValue)"] ?? $0.role.rawValue)"
            },
            signedIn: viewer.caller != nil
        )
        let html = library.render(PageContext(model: frame, w: w, csrf: viewer.csrf), .layout)
        return Response(
            status: status,
            headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: html))
        )
    }

    /// The frame: the page's language, its title, the menu for the reader's role, the language link.
    struct Frame: Encodable {
        let lang: String
        let title: String
        let body: String
        let otherLang: String
        let otherLangName: String
        let back: String
        let unreviewed: Bool
        let nav: [NavItem]
        let who: String?
        let signedIn: Bool
    }

    struct NavItem: Encodable {
        let href: String
        let label: String
        let hint: String
    }

    /// The menu: what the reader's role may use, each once.
    func navigation(_ caller: Caller, _ w: [String: String]) -> [NavItem] {
        let items: [(Action, String, String)] = [
            (.findChild, "/children", "find"), (.readNotices, "/notices", "notices"),
            (.readFindings, "/findings", "findings"), (.handleBreaches, "/breaches", "breaches"),
            (.readCoverage, "/coverage", "coverage"), (.readLedger, "/ledger", "ledger"),
            (.manageCredentials, "/admin", "admin"),
        ]
        return items.filter { caller.may($0.0) }.map {
            NavItem(href: $0.1, label: w["nav.\($0.2)"] ?? $0.2, hint: w["nav.\($0.2).hint"] ?? "")
        }
    }

    /// A page that only says something: a heading, a sentence, and a link.
    func message(
        _ viewer: Viewer,
        heading: String,
        text: String? = nil,
        literal: String? = nil,
        status: HTTPResponse.Status,
        link: (href: String, label: String) = ("/", "home")
    ) -> Response {
        let w = viewer.w
        return render(
            viewer,
            .message,
            title: w[heading] ?? "",
            status: status,
            MessageModel(
                heading: w[heading] ?? "",
                text: literal ?? text.flatMap { w[$0] } ?? "",
                link: link.href,
                linkLabel: w[link.label] ?? link.label
            )
        )
    }

    struct MessageModel: Encodable {
        let heading: String
        let text: String
        let link: String
        let linkLabel: String
    }

    func organisationName(_ id: String) -> String { services.core.read { $0.organisations[id]?.name } ?? id }

    // MARK: Addresses and cookies

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    /// `url` with `query` added (`?` or `&`).
    static func adding(_ query: String, to url: String) -> String {
        let (path, fragment) = url.split(separator: "#", maxSplits: 1).map(String.init).splitFirst
        return path + (path.contains("?") ? "&" : "?") + query + (fragment.map { "#" + $0 } ?? "")
    }

    /// A path of this site (from a `back`, `next` or `Referer`), or nil: a path and query of the characters they
    /// use here, never another site.
    /// A `Referer` is cut to its path (it names this site: a cross-site post never gets this far).
    static func localPath(_ text: String?, fromReferer: Bool = false) -> String? {
        guard var path = text else { return nil }
        if fromReferer, let url = URLComponents(string: path), url.host != nil {
            path = url.percentEncodedPath + (url.percentEncodedQuery.map { "?" + $0 } ?? "")
        }
        let allowed = path.utf8.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A)
                || "/?=&-_.%".utf8.contains($0)
        }
        return allowed && path.hasPrefix("/") && !path.hasPrefix("//") && path.utf8.count <= 512 ? path : nil
    }

    func language(_ request: Request) -> Response {
        let query = Form(request.uri.query ?? "")
        let to = query["to"] == "mi" ? "mi" : "en"
        var response = Self.redirect(Self.localPath(query["back"]) ?? "/")
        response.headers.append(
            HTTPField(
                name: .setCookie,
                value: "tiaki_lang=\(to); Path=/; SameSite=Strict; Max-Age=31536000\(secureCookies ? "; Secure" : "")"
            )
        )
        return response
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
}

extension Array where Element == String {
    /// The first element and the second, if there is one.
    fileprivate var splitFirst: (String, String?) { (first ?? "", count > 1 ? self[1] : nil) }
}
