import Foundation
import HTTPTypes
import Hummingbird
import TiakiConsent
import TiakiHTTP
import TiakiModel

/// Organisations and credentials, for admins: registering an organisation, issuing a credential to a named holder
/// (its token shown once, on a page of its own), and revoking one behind a confirmation that names its holder.
extension WebPages {
    func addAdminRoutes(to routes: RouteCollection<Context>) {
        get(routes, "admin") { request, _, viewer in
            let (values, errors, token) = draft(request, viewer, AdminFields.self)
            return try admin(request, viewer, values ?? AdminFields(), errors: errors, token: token)
        }
        post(routes, "admin/orgs") { request, _, viewer, submission in
            try await registerOrganisation(request, viewer, submission)
        }
        post(routes, "admin/credentials") { request, _, viewer, submission in
            try await issue(request, viewer, submission)
        }
        get(routes, "admin/credentials/:id/issued") { request, context, viewer in
            try issued(request, viewer, try Self.parameter(context, "id"))
        }
        get(routes, "admin/credentials/:id/revoke") { _, context, viewer in
            try revokeForm(viewer, try Self.parameter(context, "id"), errors: [], token: SessionStore.random())
        }
        post(routes, "admin/credentials/:id/revoke") { _, context, viewer, submission in
            try await revoke(viewer, try Self.parameter(context, "id"), submission)
        }
    }

    /// What the admin page's two forms send.
    struct AdminFields: Codable {
        var id: String?
        var name: String?
        var kind: String?
        var contact: String?
        var law: String?
        var org: String?
        var role: String?
        var holder: String?
    }

    struct OrgRow: Encodable {
        let name: String
        let id: String
        let kind: String
    }

    struct CredentialRow: Encodable {
        let id: String
        let holder: String
        let org: String
        let role: String
        let issued: String
        let lastUsed: String
        let revoked: Bool
        let mayRevoke: Bool
    }

    struct AdminModel: Encodable {
        let banner: String?
        let once: String
        let errors: [ErrorLine]
        let orgs: [OrgRow]
        let credentials: [CredentialRow]
        let kinds: [Choice]
        let orgChoices: [Choice]
        let roles: [Choice]
        let v: AdminFields
        let idError: String?
        let nameError: String?
        let kindError: String?
        let contactError: String?
        let lawError: String?
        let orgError: String?
        let roleError: String?
        let holderError: String?
    }

    func admin(
        _ request: Request,
        _ viewer: Viewer,
        _ v: AdminFields,
        errors: [FieldError],
        token: String
    ) throws
        -> Response
    {
        let caller = try viewer.require(.manageCredentials)
        let w = viewer.w
        let vocabulary = services.core.vocabulary
        let orgs = services.core.read { s in s.organisations.values.sorted { $0.registered < $1.registered } }
        let kindLabel = { (code: String) in vocabulary.label(code, in: .organisationKind, language: viewer.language) }
        let credentials = try services.credentials.list().map { c in
            CredentialRow(
                id: c.id,
                holder: c.holder ?? (w["holderUnknown"] ?? ""),
                org: organisationName(c.org),
                role: w["role.\(c.role)"] ?? c.role,
                issued: c.issued.map { viewer.day(local.day($0)) } ?? "",
                lastUsed: c.lastUsed.map { local.plain($0) } ?? (w["neverUsed"] ?? ""),
                revoked: c.revoked,
                mayRevoke: !c.revoked && c.id != caller.credential
            )
        }
        return render(
            viewer,
            .admin,
            title: (errors.isEmpty ? "" : (w["errorPrefix"] ?? "")) + (w["adminTitle"] ?? ""),
            status: errors.isEmpty ? .ok : .badRequest,
            AdminModel(
                banner: banner(request, viewer),
                once: token,
                errors: errors.lines(w),
                orgs: orgs.map { OrgRow(name: $0.name, id: $0.id, kind: kindLabel($0.kind)) },
                credentials: credentials,
                kinds: vocabulary.codes(.organisationKind).map {
                    Choice(code: $0, label: kindLabel($0), checked: v.kind == $0)
                },
                orgChoices: [Choice(code: "", label: w["choose"] ?? "", checked: v.org == nil)]
                    + orgs.map { Choice(code: $0.id, label: $0.name, checked: v.org == $0.id) },
                roles: Role.allCases.map {
                    Choice(
                        code: $0.rawValue,
                        label: w["role.\($0.rawValue)"] ?? $0.rawValue,
                        checked: v.role == $0.rawValue
                    )
                },
                v: v,
                idError: errors.message(for: "id", words: w),
                nameError: errors.message(for: "name", words: w),
                kindError: errors.message(for: "kind", words: w),
                contactError: errors.message(for: "contact", words: w),
                lawError: errors.message(for: "law", words: w),
                orgError: errors.message(for: "org", words: w),
                roleError: errors.message(for: "role", words: w),
                holderError: errors.message(for: "holder", words: w)
            )
        )
    }

    func registerOrganisation(_ request: Request, _ viewer: Viewer, _ submission: Submission) async throws -> Outcome {
        let caller = try viewer.require(.manageOrganisations)
        let form: AdminFields = try submission.decode()
        let blank = { (s: String?) in s.map(FreeText.trimmed).flatMap { $0.isEmpty ? nil : $0 } }
        do {
            _ = try await services.organisations.register(
                OrganisationInput(
                    id: blank(form.id) ?? "",
                    kind: form.kind ?? "",
                    name: form.name ?? "",
                    contact: blank(form.contact),
                    law: blank(form.law)
                ),
                actor: caller.actor
            )
            return .recorded("/admin?recorded=organisation")
        } catch let error as TiakiError where error.isFieldProblem {
            let errors = [FieldError(error, fallback: "id")]
            return try problems(viewer, submission, errors, at: "/admin") {
                try admin(request, $0, form, errors: errors, token: submission.token)
            }
        }
    }

    func issue(_ request: Request, _ viewer: Viewer, _ submission: Submission) async throws -> Outcome {
        let caller = try viewer.require(.manageCredentials)
        let form: AdminFields = try submission.decode()
        do {
            var input = CredentialInput(org: form.org ?? "", role: .member, holder: form.holder ?? "")
            input.role = form.role ?? ""  // as given: the service refuses an unknown role in its own words
            let issued = try await services.credentials.issue(input, actor: caller.actor)
            // The token is shown once, on the page this leads to; kept in the session only until then.
            let show = SessionStore.random()
            if let session = viewer.session {
                sessions.keep(SessionStore.Draft(body: issued.token, errors: []), token: show, session: session.id)
            }
            return .recorded("/admin/credentials/\(issued.id)/issued?show=\(show)")
        } catch let error as TiakiError where error.isFieldProblem {
            let errors = [FieldError(error, fallback: "org")]
            return try problems(viewer, submission, errors, at: "/admin") {
                try admin(request, $0, form, errors: errors, token: submission.token)
            }
        }
    }

    struct IssuedModel: Encodable {
        let token: String?
        let holder: String
        let org: String
        let role: String
    }

    /// The new credential's token, once: a reload (or Back) finds it gone, and says so.
    func issued(_ request: Request, _ viewer: Viewer, _ id: String) throws -> Response {
        _ = try viewer.require(.manageCredentials)
        guard let c = try services.credentials.list().first(where: { $0.id == id }) else { throw PageError.notFound }
        let show = Form(request.uri.query ?? "")["show"].map(Self.token)
        let token = show.flatMap { key in viewer.session.flatMap { sessions.take(key, session: $0.id) } }?.body
        let w = viewer.w
        return render(
            viewer,
            .issued,
            title: w["newToken"] ?? "",
            IssuedModel(
                token: token,
                holder: c.holder ?? "",
                org: organisationName(c.org),
                role: w["role.\(c.role)"] ?? c.role
            )
        )
    }

    struct RevokeModel: Encodable {
        let id: String
        let once: String
        let holder: String
        let org: String
        let role: String
        let errors: [ErrorLine]
        let confirmError: String?
    }

    /// The confirmation: whose credential, what stops (every request and page session of it), and a box to tick.
    func revokeForm(_ viewer: Viewer, _ id: String, errors: [FieldError], token: String) throws -> Response {
        let caller = try viewer.require(.manageCredentials)
        guard let c = try services.credentials.list().first(where: { $0.id == id }) else { throw PageError.notFound }
        let w = viewer.w
        guard !c.revoked else { return Self.redirect("/admin?recorded=revocation&already=1") }
        guard c.id != caller.credential else {
            return message(
                viewer,
                heading: "thereIsAProblem",
                text: "revokeOwn",
                status: .conflict,
                link: ("/admin", "backToAdmin")
            )
        }
        return render(
            viewer,
            .revoke,
            title: (errors.isEmpty ? "" : (w["errorPrefix"] ?? "")) + (w["revokeTitle"] ?? ""),
            status: errors.isEmpty ? .ok : .badRequest,
            RevokeModel(
                id: c.id,
                once: token,
                holder: c.holder ?? (w["holderUnknown"] ?? ""),
                org: organisationName(c.org),
                role: w["role.\(c.role)"] ?? c.role,
                errors: errors.lines(w),
                confirmError: errors.message(for: "confirm", words: w)
            )
        )
    }

    struct RevokeFields: Decodable {
        var confirm: String?
    }

    func revoke(_ viewer: Viewer, _ id: String, _ submission: Submission) async throws -> Outcome {
        let caller = try viewer.require(.manageCredentials)
        let form: RevokeFields = try submission.decode()
        guard form.confirm == "yes" else {
            return .shown(
                try revokeForm(viewer, id, errors: [FieldError("confirm", "missing")], token: submission.token)
            )
        }
        guard id != caller.credential else {
            return .shown(
                message(
                    viewer,
                    heading: "thereIsAProblem",
                    text: "revokeOwn",
                    status: .conflict,
                    link: ("/admin", "backToAdmin")
                )
            )
        }
        do {
            _ = try await services.credentials.revoke(id: id, actor: caller.actor)
        } catch let error as TiakiError where error.code == .unknownCredential {
            throw PageError.notFound
        } catch let error as TiakiError where error.code == .conflict {
            return .recorded("/admin?recorded=revocation&already=1")
        }
        // Its page sessions end at their next request; here they end now.
        sessions.endAll(credential: id)
        return .recorded("/admin?recorded=revocation")
    }
}
