import Hummingbird
import TiakiConsent
import TiakiLedger
import TiakiModel

/// What an organisation must act on after a share: today, the withdrawals of consents it received information
/// under, which it acknowledges.
struct NoticeController: Sendable {
    let services: TiakiServices
    let input: RequestInput

    struct List: Encodable {
        var org: String
        var notices: [WithdrawalNotice]
    }

    struct Acknowledged: Encodable {
        var consent: Int
        var acknowledged: String
        var index: Int
    }

    var routes: RouteCollection<TiakiRequestContext> {
        let routes = RouteCollection(context: TiakiRequestContext.self)
        routes.get("notices") { request, context in
            let caller = try context.require(.member)
            let query = try Query(request, allowed: ["status"])
            let status = try query.choice("status", from: ["due", "acknowledged", "all"]) ?? "due"
            let notices = try services.consents.withdrawalNotices(for: caller.org).filter {
                status == "all" || $0.status.rawValue == status
            }
            return try Reply.json(List(org: caller.org, notices: notices))
        }
        routes.post("notices/withdrawals/:consent/acknowledge") { request, context in
            let caller = try context.require(.member)
            let id = try Path.consent(context)
            let body = try await input.decode(AcknowledgementInput.self, request, as: "an acknowledgement")
            let recorded = try await services.consents.acknowledgeWithdrawal(id, date: body.date, actor: caller.actor)
            let date = (recorded.entry.body as? WithdrawalAcknowledged)?.date ?? ""
            return try Reply.json(
                Acknowledged(consent: id, acknowledged: date, index: recorded.index),
                status: .created
            )
        }
        return routes
    }
}
