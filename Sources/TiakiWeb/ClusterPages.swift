import Foundation
import Hummingbird
import TiakiAudit
import TiakiConsent
import TiakiHTTP
import TiakiLedger
import TiakiModel

/// What facilitators and auditors read: consent coverage across the cluster (counts, never a child), and the
/// ledger with its export bundle.
extension WebPages {
    func addClusterRoutes(to routes: RouteCollection<Context>) {
        get(routes, "coverage") { _, _, viewer in try coverage(viewer) }
        get(routes, "ledger") { _, _, viewer in try ledger(viewer) }
        get(routes, "ledger/export.tar") { _, context, viewer in
            _ = try viewer.require(.readLedger)
            return try services.ledger.archive().response(logger: context.logger)
        }
    }

    struct CoverageRow: Encodable {
        let name: String
        let cells: [CoverageCell]
    }

    struct CoverageCell: Encodable {
        let label: String
        let count: Int
    }

    struct CoverageModel: Encodable {
        let purposes: [String]
        let rows: [CoverageRow]
        let asOf: String
    }

    /// For each organisation and purpose, how many children have a consent in force that covers it. Never a name.
    func coverage(_ viewer: Viewer) throws -> Response {
        _ = try viewer.require(.readCoverage)
        let v = services.core.vocabulary
        let purposes = v.codes(.purpose)
        let labels = purposes.map { v.label($0, in: .purpose, language: viewer.language) }
        let today = services.core.today
        let rows = services.core.read { state -> [CoverageRow] in
            var counts: [String: [String: Set<String>]] = [:]
            for c in state.consents.values where c.isCurrent(on: today) {
                for p in purposes {
                    guard let bit = state.codes.bit(p, .purpose), c.purposes.contains(bit) else { continue }
                    counts[c.recordedBy, default: [:]][p, default: []].insert(c.subject)
                }
            }
            return counts.keys.sorted().map { org in
                CoverageRow(
                    name: state.organisations[org]?.name ?? org,
                    cells: zip(purposes, labels).map {
                        CoverageCell(label: $0.1, count: counts[org]?[$0.0]?.count ?? 0)
                    }
                )
            }
        }
        return render(
            viewer,
            .coverage,
            title: viewer.w["coverageTitle"] ?? "",
            CoverageModel(purposes: labels, rows: rows, asOf: viewer.day(today))
        )
    }

    struct LedgerModel: Encodable {
        let size: UInt64
        let checkpoint: String
        let vkey: String
        let folder: String
    }

    func ledger(_ viewer: Viewer) throws -> Response {
        _ = try viewer.require(.readLedger)
        let checkpoint = services.ledger.checkpoint
        return render(
            viewer,
            .ledger,
            title: viewer.w["ledgerTitle"] ?? "",
            LedgerModel(
                size: checkpoint.size,
                checkpoint: checkpoint.text,
                vkey: services.ledger.verifier.vkey,
                folder: "tiaki-export-\(checkpoint.size)"
            )
        )
    }
}
