import Hummingbird
import TiakiConsent
import TiakiHTTP
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
            let caller = try context.require(.decide)
            let body = try await input.read(request, as: "a request to share", DecisionInput.init(strict:noun:))
            _ = try services.subject(body.subject, visibleTo: caller)
            let share = try services.decisions.request(body, caller: caller)
            let (decision, recorded) = try await services.decisions.decideAndRecord(share, actor: caller.actor)
            metrics.decided(decision.effect)
            // The body as it was written to the ledger, with the entry's index and the checkpoint that covers it:
            // the recorded bytes themselves where the ledger kept them, else the record written again.
            let index = recorded.receipt.index
            let checkpoint = recorded.receipt.checkpoint.text
            var bytes =
                recorded.body.flatMap { DecisionRecord.response(recorded: $0, decision: index, checkpoint: checkpoint) }
                ?? {
                    var writer = CanonicalWriter(capacity: 2048)
                    decision.write(to: &writer, decision: index, checkpoint: checkpoint)
                    return writer.bytes
                }()
            bytes.append(0x0A)
            return Reply.json(bytes: bytes, status: .created)
        }
        return routes
    }
}
