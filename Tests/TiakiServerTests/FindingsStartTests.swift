import Foundation
import Logging
import Testing
import TiakiAudit
import TiakiConsent
import TiakiLedger
import TiakiModel
import TiakiPolicy
import TiakiSimulation

@testable import TiakiServer

/// The findings a service keeps are snapshotted when it closes, and the next start builds them from that snapshot
/// and the entries after it, not from the whole ledger.
@Suite("The service's findings across a restart")
struct FindingsStartTests {
    @Test("closing writes a findings snapshot; the next start reads it and only the entries after it")
    func restart() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-fstart-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var configuration = SimulationConfiguration()
        configuration.subjects = 130
        configuration.days = 160
        configuration.seed = 3
        let policy = try PolicySet.load(directory: repositoryRoot.appendingPathComponent("Policies").path)
        _ = try await ClusterSimulation.run(
            directory: LedgerDirectory(path: path),
            policy: policy,
            configuration: configuration,
            logger: Logger(label: "test")
        )
        let snapshot = FindingsSnapshot.path(LedgerDirectory(path: path))
        let options = AuditOptions(asOf: try #require(Day("2026-06-01")))

        func serve(_ body: (TiakiServices, FindingsProjection) async throws -> Void) async throws {
            let services = try await TiakiServices.open(
                LedgerDirectory(path: path),
                policy: policy,
                publish: false,
                logger: Logger(label: "test")
            )
            do {
                let findings = startFindings(services: services, logger: Logger(label: "test"))
                try await body(services, findings)
                await services.close()
            } catch {
                await services.close()
                throw error
            }
        }
        func answer(_ services: TiakiServices, _ findings: FindingsProjection) async throws -> [UInt8] {
            let size = services.ledger.checkpoint.size
            let result = try #require(await findings.result(options: options, covering: size, timeout: .seconds(30)))
            return try result.findingsJSON(options: options)
        }

        var first: [UInt8] = []
        var size: UInt64 = 0
        try await serve { services, findings in
            #expect(!FileManager.default.fileExists(atPath: snapshot))
            first = try await answer(services, findings)
            size = services.ledger.checkpoint.size
            #expect(size > LedgerCore.snapshotAtCloseMinimum, "a ledger large enough for closing to write")
        }
        #expect(FileManager.default.fileExists(atPath: snapshot), "written at close")
        try await serve { services, findings in
            let again = try await answer(services, findings)
            #expect(findings.builtFromSnapshot == size, "built from the snapshot written at close")
            #expect(again == first)
            #expect(findings.progress.read == size)
        }
    }
}
