import Hummingbird
import TiakiAudit
import TiakiConsent
import TiakiHTTP
import TiakiModel

/// The breach register (Privacy Act 2020, Part 6), for privacy officers: record a breach and the children it
/// touched, assess it, record the Commissioner's notification and each whānau's notice, print the report.
struct BreachController: Sendable {
    let services: TiakiServices
    let input: RequestInput

    struct Created: Encodable {
        var breach: String
        var index: Int
        var children: Int
        var disclosures: Int
        var assessBy: String
        var notifyBy: String
    }

    struct Recorded: Encodable {
        var breach: String
        var index: Int
    }

    struct Register: Encodable {
        var breaches: [BreachSummary]
    }

    var routes: RouteCollection<TiakiRequestContext> {
        let routes = RouteCollection(context: TiakiRequestContext.self)
        routes.post("breaches") { request, context in
            let caller = try context.require(.handleBreaches)
            let body = try await input.decode(BreachInput.self, request, as: "a breach")
            let recorded = try await services.breaches.record(body, actor: caller.actor)
            guard let b = recorded.entry.body as? BreachRecorded else { throw Problem.unavailable() }
            let facts = try services.breaches.facts(b.breach)
            return try Reply.json(
                Created(
                    breach: b.breach,
                    index: recorded.index,
                    children: b.affected.count,
                    disclosures: b.affected.reduce(0) { $0 + $1.disclosures.count },
                    assessBy: facts.assessBy,
                    notifyBy: facts.notifyBy
                ),
                status: .created
            )
        }
        routes.get("breaches") { request, context in
            _ = try context.require(.handleBreaches)
            _ = try Query(request, allowed: [])
            return try Reply.json(Register(breaches: services.breaches.list()))
        }
        routes.get("breaches/:breach") { request, context in
            _ = try context.require(.handleBreaches)
            _ = try Query(request, allowed: [])
            return try Reply.json(try services.breaches.facts(try Self.breach(context)))
        }
        routes.get("breaches/:breach/report") { request, context in
            _ = try context.require(.handleBreaches)
            let query = try Query(request, allowed: ["format"])
            let format = try query.choice("format", from: ["html", "text"]) ?? "html"
            let report = BreachReport(try services.breaches.facts(try Self.breach(context)))
            return format == "text"
                ? Reply.text(report.text) : Reply.text(report.html, contentType: "text/html; charset=utf-8")
        }
        routes.post("breaches/:breach/assessment") { request, context in
            let caller = try context.require(.handleBreaches)
            let id = try Self.breach(context)
            let body = try await input.decode(BreachAssessmentInput.self, request, as: "an assessment")
            let recorded = try await services.breaches.assess(id, body, actor: caller.actor)
            return try Reply.json(Recorded(breach: id, index: recorded.index), status: .created)
        }
        routes.post("breaches/:breach/commissioner") { request, context in
            let caller = try context.require(.handleBreaches)
            let id = try Self.breach(context)
            let body = try await input.decode(
                CommissionerNotificationInput.self,
                request,
                as: "the Commissioner's notification"
            )
            let recorded = try await services.breaches.commissionerNotified(id, body, actor: caller.actor)
            return try Reply.json(Recorded(breach: id, index: recorded.index), status: .created)
        }
        routes.get("breaches/:breach/notices/:subject") { request, context in
            _ = try context.require(.handleBreaches)
            let query = try Query(request, allowed: ["lang", "format"])
            let (languages, format) = try NoticeController.documentOptions(query)
            let subject = try context.parameters.require("subject")
            let facts = try services.breaches.facts(try Self.breach(context))
            guard let document = NoticeDocument.breach(facts, subject: subject, languages: languages) else {
                throw Problem.notFound
            }
            return NoticeController.reply(document, format: format)
        }
        routes.post("breaches/:breach/notices/:subject") { request, context in
            let caller = try context.require(.handleBreaches)
            let id = try Self.breach(context)
            let subject = try context.parameters.require("subject")
            let body = try await input.decode(BreachNoticeInput.self, request, as: "a breach notice sent")
            let recorded = try await services.breaches.noticeSent(id, subject: subject, body, actor: caller.actor)
            return try Reply.json(Recorded(breach: id, index: recorded.index), status: .created)
        }
        return routes
    }

    /// The breach id in the path: `b-` and hex, else not found.
    static func breach(_ context: TiakiRequestContext) throws -> String {
        let id = try context.parameters.require("breach")
        guard id.hasPrefix("b-"), id.utf8.count <= 40,
            id.utf8.dropFirst(2).allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) })
        else { throw Problem.notFound }
        return id
    }
}
