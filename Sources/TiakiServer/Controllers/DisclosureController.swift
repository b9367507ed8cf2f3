import Hummingbird
import TiakiConsent
import TiakiHTTP
import TiakiModel

/// Recording shares that were made, and privacy officers' reviews of them.
struct DisclosureController: Sendable {
    let services: TiakiServices
    let input: RequestInput

    struct Created: Encodable {
        var disclosure: Int
        var flags: [DisclosureRecord.Flag]
    }

    struct Reviewed: Encodable {
        var disclosure: UInt64
        var outcome: String
        var index: Int
    }

    var routes: RouteCollection<TiakiRequestContext> {
        let routes = RouteCollection(context: TiakiRequestContext.self)
        routes.post("disclosures") { request, context in
            let caller = try context.require(.recordDisclosure)
            let body = try await input.decode(DisclosureInput.self, request, as: "a disclosure")
            _ = try services.subject(body.subject, visibleTo: caller)
            let recorded = try await services.disclosures.record(body, actor: caller.actor)
            let flags = (recorded.entry.body as? DisclosureRecord)?.flags ?? []
            return try Reply.json(Created(disclosure: recorded.index, flags: flags), status: .created)
        }
        routes.post("disclosures/:disclosure/review") { request, context in
            let caller = try context.require(.reviewDisclosure)
            let index = try Path.index(context, "disclosure")
            let body = try await input.decode(ReviewInput.self, request, as: "a review")
            let recorded = try await services.disclosures.review(index, body, actor: caller.actor)
            return try Reply.json(
                Reviewed(disclosure: index, outcome: body.outcome, index: recorded.index),
                status: .created
            )
        }
        return routes
    }
}
