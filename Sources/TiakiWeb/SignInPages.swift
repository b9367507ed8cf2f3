import Foundation
import HTTPTypes
import Hummingbird
import Logging
import TiakiConsent
import TiakiHTTP
import TiakiModel

/// Signing in and out, and the home page: what the reader's role may use.
extension WebPages {
    func addSignInRoutes(to routes: RouteCollection<Context>) {
        get(routes, "") { _, _, viewer in home(viewer) }
        get(routes, "sign-in", public: true) { request, _, viewer in
            let query = Form(request.uri.query ?? "")
            let next = Self.localPath(query["next"])
            if viewer.session != nil { return Self.redirect(next ?? "/") }
            return signInForm(viewer, next: next, message: query["expired"] != nil ? "expired" : nil)
        }
        routes.post("sign-in") { request, context in
            let (viewer, _) = viewer(request)
            return await run(viewer) { try await signIn(request, context, viewer) }
        }
        post(routes, "sign-out") { _, _, viewer, _ in
            if let session = viewer.session { sessions.end(session.id) }
            var out = viewer
            out.session = nil
            out.caller = nil
            var response = message(
                out,
                heading: "signedOutTitle",
                text: "signedOut",
                status: .ok,
                link: ("/sign-in", "signInAgain")
            )
            response.headers.append(HTTPField(name: .setCookie, value: clearSession))
            return .shown(response)
        }
    }

    struct SignInModel: Encodable {
        let message: String?
        let next: String?
    }

    func signInForm(
        _ viewer: Viewer,
        next: String?,
        message: String?,
        status: HTTPResponse.Status = .ok
    ) -> Response {
        let token = SessionStore.random()
        var out = viewer
        out.formToken = token
        var response = render(
            out,
            .signIn,
            title: viewer.w["signInTitle"] ?? "",
            status: status,
            SignInModel(message: message.flatMap { viewer.w[$0] }, next: next)
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

    struct SignInFields: Decodable {
        var csrf: String?
        var token: String?
        var next: String?
    }

    func signIn(_ request: Request, _ context: Context, _ viewer: Viewer) async throws -> Response {
        try Self.checkOrigin(request)
        let fields: SignInFields
        do {
            fields = try URLEncodedFormDecoder().decode(SignInFields.self, from: try await formBody(request))
        } catch let error as PageError {
            throw error
        } catch {
            throw PageError.unreadable
        }
        let next = Self.localPath(fields.next)
        guard let expected = Self.cookies(request)["tiaki_signin"], let given = fields.csrf,
            SessionStore.same(expected, given)
        else { return signInForm(viewer, next: next, message: "staleSignIn", status: .forbidden) }
        let from = source(context)
        let token = fields.token?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        // A valid credential is never kept waiting for what others failed; only failures wait, and longer each time.
        guard let credential = try services.credentials.authenticate(token: token) else {
            if let wait = guardian.retryAfter(from, token) {
                var response = signInForm(viewer, next: next, message: "tooMany", status: .tooManyRequests)
                response.headers[.retryAfter] = String(wait)
                return response
            }
            guardian.failed(from, token)
            logger.notice("failed sign-in", metadata: ["source": "\(from)", "path": "/sign-in"])
            return signInForm(viewer, next: next, message: "badToken", status: .unauthorized)
        }
        if let old = viewer.session { sessions.end(old.id) }
        let session = sessions.create(credential: credential.id)
        var response = Self.redirect(next ?? "/")
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

    struct HomeModel: Encodable {
        let who: String
        let nav: [NavItem]
    }

    func home(_ viewer: Viewer) -> Response {
        guard let caller = viewer.caller else { return Self.redirect("/sign-in") }
        let w = viewer.w
        return render(
            viewer,
            .home,
            title: w["homeTitle"] ?? "",
            HomeModel(
                who: "\(organisationName(caller.org)) · \(w["role.\(caller.role.rawValue)"] ?? caller.role.rawValue)",
                nav: navigation(caller, w)
            )
        )
    }
}
