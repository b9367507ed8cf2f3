import Hummingbird
import NIOCore
import TiakiAudit
import TiakiConsent
import TiakiHTTP
import TiakiLedger

/// Health, metrics and the API's own description: public.
struct SystemController: Sendable {
    let services: TiakiServices
    let metrics: ServiceMetrics

    struct Health: Encodable {
        var status: String
        var entries: UInt64
        var reason: String?
    }

    var routes: RouteCollection<TiakiRequestContext> {
        let routes = RouteCollection(context: TiakiRequestContext.self)
        routes.get("healthz") { _, _ in
            let ledger = services.ledger
            if let reason = ledger.divergedReason {
                return try Reply.json(
                    Health(status: "not ok", entries: ledger.checkpoint.size, reason: reason),
                    status: .serviceUnavailable
                )
            }
            return try Reply.json(Health(status: "ok", entries: ledger.checkpoint.size))
        }
        routes.get("metrics") { _, _ in
            Reply.text(
                metrics.exposition(ledgerSize: services.ledger.checkpoint.size, ledgerCommits: services.ledger.commits),
                contentType: "text/plain; version=0.0.4"
            )
        }
        routes.get("v1/openapi.yaml") { _, _ in Reply.text(OpenAPIDocument.text, contentType: "application/yaml") }
        // The report's styles, from Tiaki itself: the CSP allows no inline styles and nothing from elsewhere.
        routes.get("v1/assets/report.css") { _, _ in
            Reply.text(SubjectReport.stylesheet, contentType: "text/css; charset=utf-8")
        }
        return routes
    }
}
