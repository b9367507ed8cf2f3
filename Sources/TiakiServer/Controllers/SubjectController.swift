import Hummingbird
import TiakiConsent
import TiakiHTTP
import TiakiModel

/// Children: registering (or enrolling) them, finding them, what was shared about them, and erasing their details.
struct SubjectController: Sendable {
    let services: TiakiServices
    let input: RequestInput

    struct Registered: Encodable {
        var subject: String
        var index: Int
    }

    struct Found: Encodable {
        var subject: String
    }

    struct Erased: Encodable {
        var subject: String
        var erased: Bool
        var index: Int
    }

    struct Disclosures: Encodable {
        var subject: String
        var disclosures: [DisclosureView]
    }

    var routes: RouteCollection<TiakiRequestContext> {
        let routes = RouteCollection(context: TiakiRequestContext.self)
        // The same answer whether the child is new or another organisation knew them: nobody learns which.
        routes.post("subjects") { request, context in
            let caller = try context.require(.registerChild)
            let body = try await input.decode(SubjectInput.self, request, as: "a child's registration")
            let recorded = try await services.subjects.register(body, actor: caller.actor)
            return try Reply.json(
                Registered(subject: recorded.entry.subject ?? "", index: recorded.index),
                status: .created
            )
        }
        routes.get("subjects") { request, context in
            let caller = try context.require(.findChild)
            let query = try Query(request, allowed: ["nsn", "localReference", "org"])
            let nsn = try query.string("nsn", maximumLength: 20)
            let reference = try query.string("localReference", maximumLength: 64)
            let org = try query.string("org", maximumLength: 64)
            guard nsn != nil || reference != nil else {
                throw Problem.badRequest("give nsn or localReference", field: "nsn")
            }
            let found = try services.subjects.find(nsn: nsn, localReference: reference, org: org, for: caller)
            guard let found else { throw Problem.notFound }
            return try Reply.json(Found(subject: found))
        }
        routes.get("subjects/:subject/disclosures") { request, context in
            let caller = try context.require(.viewChild)
            _ = try Query(request, allowed: [])
            let subject = try services.subject(try context.parameters.require("subject"), visibleTo: caller)
            let views = try services.disclosures.list(subject: subject.id, for: caller)
            return try Reply.json(Disclosures(subject: subject.id, disclosures: views))
        }
        routes.post("subjects/:subject/erase") { request, context in
            let caller = try context.require(.eraseChild)
            let subject = try services.subject(try context.parameters.require("subject"), visibleTo: caller)
            let body = try await input.decode(ErasureInput.self, request, as: "an erasure")
            let recorded = try await services.subjects.erase(subject.id, body, actor: caller.actor)
            return try Reply.json(Erased(subject: subject.id, erased: true, index: recorded.index))
        }
        return routes
    }
}
