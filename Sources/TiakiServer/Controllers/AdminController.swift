import Hummingbird
import TiakiConsent
import TiakiHTTP
import TiakiModel

/// Organisations and credentials (admins).
struct AdminController: Sendable {
    let services: TiakiServices
    let input: RequestInput

    struct OrganisationCreated: Encodable {
        var id: String
        var index: Int
    }

    struct CredentialCreated: Encodable {
        var id: String
        var org: String
        var role: String
        var token: String
        var index: Int
    }

    struct CredentialRevoked: Encodable {
        var id: String
        var revoked: Bool
        var index: Int
    }

    var routes: RouteCollection<TiakiRequestContext> {
        let routes = RouteCollection(context: TiakiRequestContext.self)
        routes.post("orgs") { request, context in
            let caller = try context.require(.manageOrganisations)
            let body = try await input.decode(OrganisationInput.self, request, as: "an organisation")
            let recorded = try await services.organisations.register(body, actor: caller.actor)
            return try Reply.json(OrganisationCreated(id: body.id, index: recorded.index), status: .created)
        }
        routes.post("credentials") { request, context in
            let caller = try context.require(.manageCredentials)
            let body = try await input.decode(CredentialInput.self, request, as: "a credential")
            let issued = try await services.credentials.issue(body, actor: caller.actor)
            return try Reply.json(
                CredentialCreated(
                    id: issued.id,
                    org: issued.org,
                    role: issued.role.rawValue,
                    token: issued.token,
                    index: issued.recorded.index
                ),
                status: .created
            )
        }
        routes.post("credentials/:id/revoke") { request, context in
            let caller = try context.require(.manageCredentials)
            let id = try context.parameters.require("id")
            try await input.none(request)
            let recorded = try await services.credentials.revoke(id: id, actor: caller.actor)
            return try Reply.json(CredentialRevoked(id: id, revoked: true, index: recorded.index))
        }
        return routes
    }
}
