import Hummingbird
import TiakiConsent
import TiakiLedger
import TiakiModel

/// Asking whether a share is permitted: decided, recorded, and only then answered.
struct DecisionController: Sendable {
    let services: TiakiServices
    let input: RequestInput
    let metrics: ServiceMetrics

    var routes: RouteCollection<TiakiRequestContext> {
        let routes = RouteCollection(context: TiakiRequestContext.self)
        routes.post("decisions") { request, context in
            let caller = try context.require(.member, .facilitator)
            let body = try await input.decode(DecisionInput.self, request, as: "a request to share")
            let subject = try services.subject(body.subject, visibleTo: caller)
            let share = try services.decisions.request(body, caller: caller)
            let (decision, recorded) = try await services.decisions.decideAndRecord(share, actor: caller.actor)
            metrics.decided(decision.effect)
            _ = subject
            // The body as it was written to the ledger, with the entry's index and the checkpoint that covers it.
            guard case .object(var o) = recorded.body else { throw Problem.internalError }
            o["decision"] = .number(Double(recorded.receipt.index))
            o["checkpoint"] = .string(recorded.receipt.checkpoint.text)
            return try Reply.json(JSONValue.object(o), status: .created)
        }
        return routes
    }
}
