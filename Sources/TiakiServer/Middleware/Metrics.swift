import Hummingbird
import NIOCore
import Synchronization
import TiakiConsent
import TiakiModel

/// Counters and a latency histogram in the Prometheus text format: requests by route and status, their latency,
/// decisions by effect, and the ledger's size.
final class ServiceMetrics: Sendable {
    static let buckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]

    private struct State {
        var requests: [String: Int] = [:]
        var latencyCounts = [Int](repeating: 0, count: ServiceMetrics.buckets.count + 1)
        var latencySum = 0.0
        var latencyCount = 0
        var decisions: [String: Int] = [:]
    }

    private let state = Mutex(State())

    func record(route: String, method: String, status: Int, seconds: Double) {
        state.withLock { s in
            s.requests["method=\"\(method)\",route=\"\(route)\",status=\"\(status)\"", default: 0] += 1
            let bucket = ServiceMetrics.buckets.firstIndex { seconds <= $0 } ?? ServiceMetrics.buckets.count
            s.latencyCounts[bucket] += 1
            s.latencySum += seconds
            s.latencyCount += 1
        }
    }

    func decided(_ effect: DecisionRecord.Effect) {
        state.withLock { $0.decisions[effect.rawValue, default: 0] += 1 }
    }

    func exposition(ledgerSize: UInt64, ledgerCommits: Int) -> String {
        let s = state.withLock { $0 }
        var out =
            "# HELP tiaki_http_requests_total HTTP requests by route, method and status.\n# TYPE tiaki_http_requests_total counter\n"
        for (labels, n) in s.requests.sorted(by: { $0.key < $1.key }) {
            out += "tiaki_http_requests_total{\(labels)} \(n)\n"
        }
        out +=
            "# HELP tiaki_http_request_duration_seconds Time to answer a request.\n# TYPE tiaki_http_request_duration_seconds histogram\n"
        var cumulative = 0
        for (i, bound) in ServiceMetrics.buckets.enumerated() {
            cumulative += s.latencyCounts[i]
            out += "tiaki_http_request_duration_seconds_bucket{le=\"\(bound)\"} \(cumulative)\n"
        }
        out += "tiaki_http_request_duration_seconds_bucket{le=\"+Inf\"} \(s.latencyCount)\n"
        out +=
            "tiaki_http_request_duration_seconds_sum \(s.latencySum)\ntiaki_http_request_duration_seconds_count \(s.latencyCount)\n"
        out += "# HELP tiaki_decisions_total Decisions recorded, by effect.\n# TYPE tiaki_decisions_total counter\n"
        for effect in ["permit", "deny"] {
            out += "tiaki_decisions_total{effect=\"\(effect)\"} \(s.decisions[effect] ?? 0)\n"
        }
        out +=
            "# HELP tiaki_ledger_entries The number of entries in the ledger.\n# TYPE tiaki_ledger_entries gauge\ntiaki_ledger_entries \(ledgerSize)\n"
        out +=
            "# HELP tiaki_ledger_commits_total Ledger transactions since the service started, each a batch of entries under one signed checkpoint.\n# TYPE tiaki_ledger_commits_total counter\ntiaki_ledger_commits_total \(ledgerCommits)\n"
        return out
    }
}

/// Times every request and counts it by its route pattern (never by its concrete path, which may hold an id).
struct MetricsMiddleware: RouterMiddleware {
    typealias Context = TiakiRequestContext
    let metrics: ServiceMetrics

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let route = context.endpointPath ?? "unmatched"
        metrics.record(
            route: route,
            method: request.method.rawValue,
            status: Int(response.status.code),
            seconds: seconds
        )
        return response
    }
}
