import Foundation
import Hummingbird
import TiakiAudit
import TiakiConsent
import TiakiHTTP
import TiakiLedger
import TiakiModel

/// What an organisation must do after a share: IPP 3A notices it owes whānau for information it received,
/// withdrawals of consents it received information under (to acknowledge), and consents it recorded that come off
/// the register soon (to renew).
struct NoticeController: Sendable {
    let services: TiakiServices
    let input: RequestInput

    struct Acknowledged: Encodable {
        var consent: Int
        var acknowledged: String
        var index: Int
    }

    struct Sent: Encodable {
        var notice: Int
        var disclosures: [Int]
        var onBehalfOf: [String]?
    }

    struct Excepted: Encodable {
        var disclosure: Int
        var code: String
        var index: Int
    }

    var routes: RouteCollection<TiakiRequestContext> {
        let routes = RouteCollection(context: TiakiRequestContext.self)
        routes.get("notices") { request, context in
            let caller = try context.require(.readNotices)
            let query = try Query(request, allowed: ["status", "limit"])
            let status = try query.choice("status", from: NoticeFilter.allCases.map(\.rawValue)) ?? "due"
            let limit = try query.integer("limit", maximum: 1000).map { Int($0) } ?? NoticeList.defaultLimit
            guard limit >= 1 else {
                throw Problem.badRequest("limit must be a whole number from 1 to 1000", field: "limit")
            }
            return try Reply.json(
                try services.notices.list(
                    for: caller.org,
                    on: services.core.today,
                    filter: NoticeFilter(rawValue: status) ?? .due,
                    limit: limit
                )
            )
        }
        routes.post("notices/withdrawals/:consent/acknowledge") { request, context in
            let caller = try context.require(.acknowledgeWithdrawal)
            let id = try Path.consent(context)
            let body = try await input.decode(AcknowledgementInput.self, request, as: "an acknowledgement")
            let recorded = try await services.notices.acknowledgeWithdrawal(id, date: body.date, actor: caller.actor)
            let date = (recorded.entry.body as? WithdrawalAcknowledged)?.date ?? ""
            return try Reply.json(
                Acknowledged(consent: id, acknowledged: date, index: recorded.index),
                status: .created
            )
        }
        routes.post("notices/collections") { request, context in
            let caller = try context.require(.recordCollectionNotice)
            let body = try await input.decode(NoticeSentInput.self, request, as: "a notice sent")
            let recorded = try await services.notices.recordSent(body, actor: caller.actor)
            let sent = recorded.entry.body as? NoticeSent
            return try Reply.json(
                Sent(notice: recorded.index, disclosures: body.disclosures, onBehalfOf: sent?.onBehalfOf),
                status: .created
            )
        }
        routes.post("notices/collections/:disclosure/exception") { request, context in
            let caller = try context.require(.recordNoticeException)
            let disclosure = Int(clamping: try Path.index(context, "disclosure"))
            let body = try await input.decode(NoticeExceptionInput.self, request, as: "a notice exception")
            let recorded = try await services.notices.recordException(disclosure, body, actor: caller.actor)
            return try Reply.json(
                Excepted(disclosure: disclosure, code: body.code, index: recorded.index),
                status: .created
            )
        }
        routes.get("notices/collections/:disclosure/document") { request, context in
            let caller = try context.require(.readNoticeDocument)
            let disclosure = Int(clamping: try Path.index(context, "disclosure"))
            let query = try Query(request, allowed: ["lang", "format"])
            let (languages, format) = try Self.documentOptions(query)
            let facts = try services.notices.collectionNoticeFacts(disclosure, for: caller)
            return Self.reply(NoticeDocument.collection(facts, languages: languages), format: format)
        }
        return routes
    }

    /// `lang` (en, mi or both) and `format` (html or text) of a document.
    static func documentOptions(_ query: Query) throws -> ([DocumentLanguage], String) {
        let lang = try query.choice("lang", from: ["en", "mi", "both"])
        let format = try query.choice("format", from: ["html", "text"]) ?? "html"
        return (DocumentLanguage.choice(lang) ?? [.en], format)
    }

    static func reply(_ document: NoticeDocument, format: String) -> Response {
        format == "text"
            ? Reply.text(document.text) : Reply.text(document.html, contentType: "text/html; charset=utf-8")
    }
}
