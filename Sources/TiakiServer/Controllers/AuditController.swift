import Foundation
import Hummingbird
import TiakiAudit
import TiakiConsent
import TiakiHTTP
import TiakiLedger
import TiakiModel

/// What privacy officers act on: findings over the ledger, and a child's full report (IPP 6).
struct AuditController: Sendable {
    let services: TiakiServices
    let findings: FindingsProjection

    var routes: RouteCollection<TiakiRequestContext> {
        let routes = RouteCollection(context: TiakiRequestContext.self)
        routes.get("subjects/:subject/report") { request, context in try report(request, context) }
        routes.get("findings") { request, context in try await findings(request, context) }
        return routes
    }

    /// Everything recorded about one child (IPP 6), as JSON, HTML or text; read through the subject index.
    func report(_ request: Request, _ context: TiakiRequestContext) throws -> Response {
        let caller = try context.require(.readReport)
        let query = try Query(request, allowed: ["format"])
        let format = try query.choice("format", from: ["json", "html", "text"]) ?? "json"
        let subject = try services.subject(try context.parameters.require("subject"), visibleTo: caller)
        let core = services.core
        let breaches = services.subjects.breachEntries(of: subject.id)
        guard
            let report = try SubjectReport.load(
                subject: subject.id,
                from: services.ledger,
                also: breaches,
                asOf: services.core.today,
                unseal: { [open = try? core.unsealer(subject: subject.id)] in (try? open?($0)) ?? nil }
            )
        else { throw Problem.notFound }
        switch format {
        case "html":
            return Reply.text(
                report.html(stylesheetURL: "/v1/assets/report.css"),
                contentType: "text/html; charset=utf-8"
            )
        case "text": return Reply.text(report.text)
        default: return Reply.json(bytes: try report.json())
        }
    }

    /// The findings over the whole ledger (read through its own read-only connection, off the event loop).
    func findings(_ request: Request, _ context: TiakiRequestContext) async throws -> Response {
        _ = try context.require(.readFindings)
        let query = try Query(request, allowed: ["asOf", "since", "within"])
        let asOf = try query.day("asOf")
        var options = AuditOptions(asOf: asOf ?? services.core.today)
        // Breach clocks run in hours: judged now, unless the audit is for another day.
        if asOf == nil { options.now = services.core.now }
        if let since = try query.string("since", maximumLength: 32) {
            guard Self.isDateOrTime(since) else {
                throw Problem.badRequest(
                    "since must be a date (YYYY-MM-DD) or a UTC time (YYYY-MM-DDTHH:MM:SSZ, or with .sss)",
                    field: "since"
                )
            }
            options.since = since
        }
        if let days = try query.integer("within", maximum: 3660) { options.expiringWithinDays = Int(days) }
        // Every write acknowledged before this request is counted.
        guard
            let result = await findings.result(
                options: options,
                covering: services.ledger.checkpoint.size,
                timeout: .seconds(20)
            )
        else {
            var problem = Problem(
                .serviceUnavailable,
                code: "not-ready",
                title: "Not ready",
                detail: "Not yet: \(findings.unavailable)."
            )
            problem.retryAfter = 10
            throw problem
        }
        var bytes = try result.findingsJSON(options: options)
        bytes.append(0x0A)
        return Reply.json(bytes: bytes)
    }

    /// A whole date, or a whole UTC time as the ledger writes times (with or without milliseconds).
    static func isDateOrTime(_ text: String) -> Bool {
        let b = Array(text.utf8)
        guard b.count >= 10, Day(String(decoding: b[0..<10], as: UTF8.self)) != nil else { return false }
        if b.count == 10 { return true }
        func digits(_ r: Range<Int>, max: Int) -> Bool {
            b[r].allSatisfy { $0 >= 0x30 && $0 <= 0x39 } && (Int(String(decoding: b[r], as: UTF8.self)) ?? 99) <= max
        }
        guard b.count == 20 || b.count == 24, b[10] == 0x54, b[13] == 0x3A, b[16] == 0x3A, b[b.count - 1] == 0x5A,
            digits(11..<13, max: 23), digits(14..<16, max: 59), digits(17..<19, max: 60)
        else { return false }
        return b.count == 20 || (b[19] == 0x2E && digits(20..<23, max: 999))
    }
}
