import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import TiakiConsent
import TiakiLedger

@testable import TiakiServer

/// The service and a witness talking C2SP tlog-witness over HTTP on loopback.
@Suite struct WitnessServiceTests {
    static var quiet: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    /// The API's routes with `cosigning` behind the checkpoint route.
    static func api(_ cluster: Cluster, _ cosigning: WitnessCosigning) throws -> some ApplicationProtocol {
        Application(
            router: try buildRouter(
                services: cluster.services,
                configuration: ServerConfiguration(),
                logger: quiet,
                cosigning: cosigning
            )
        )
    }

    /// Waits up to ten seconds for `condition`.
    func eventually(_ what: String, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out waiting: \(what)")
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// A witness for `ledger`'s log on an ephemeral loopback port, for `body`; its state directory removed after.
    func withWitness(
        for ledger: Ledger,
        cosigner: Cosigner,
        _ body: @Sendable (Witness, Int, any TestClientProtocol) async throws -> Void
    ) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-w-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let witness = try Witness(cosigner: cosigner, logs: [ledger.verifier], stateDirectory: directory)
        let application = buildWitnessApplication(witness: witness, host: "127.0.0.1", port: 0, logger: Self.quiet)
        try await application.test(.live) { client in
            try await body(witness, try #require(client.port), client)
        }
    }

    @Test(
        "first contact, growth, a restarted service resyncing from the witness's 409; the route serves the cosigned checkpoint"
    )
    func conversation() async throws {
        let cosigner = try Cosigner(generatingWithName: "witness.test/w1")
        try await Cluster.run { cluster, _ in
            let ledger = cluster.services.ledger
            try await withWitness(for: ledger, cosigner: cosigner) { witness, port, client in
                let endpoint = WitnessEndpoint(url: "http://127.0.0.1:\(port)", key: cosigner.verifier)
                func cosigning() -> WitnessCosigning {
                    WitnessCosigning(
                        witnesses: [endpoint],
                        quorum: 1,
                        ledger: ledger,
                        dataDirectory: cluster.path,
                        logger: Self.quiet,
                        interval: .milliseconds(20)
                    )
                }
                let first = cosigning()
                var service = first
                var task = Task { try await first.run() }
                try await eventually("first contact") { service.cosigned?.size == ledger.checkpoint.size }
                _ = try await cluster.child()
                _ = try await cluster.child()
                try await eventually("growth") { service.cosigned?.size == ledger.checkpoint.size }
                let cosigned = try #require(service.cosigned)
                #expect(
                    CosignatureVerifier.cosigners(of: cosigned.note, among: [cosigner.verifier]) == [cosigner.verifier]
                )
                #expect(try cosigned.note.verify(with: [ledger.verifier]) == [ledger.verifier])
                #expect(witness.state(of: ledger.origin)?.size == cosigned.size)
                task.cancel()
                _ = await task.result

                // A restarted service does not know what the witness cosigned: it asks from 0, is told the size
                // (409), and goes on from there.
                _ = try await cluster.child()
                let second = cosigning()
                service = second
                #expect(service.cosigned?.size == cosigned.size)  // kept in checkpoint.cosigned
                task = Task { try await second.run() }
                try await eventually("resync") { service.cosigned?.size == ledger.checkpoint.size }
                task.cancel()
                _ = await task.result

                try await Self.api(cluster, service).test(.router) { api in
                    var response = try await api.execute(uri: "/v1/ledger/checkpoint", method: .get)
                    #expect(response.status == .ok)
                    #expect(String(buffer: response.body).contains("— witness.test/w1 "))
                    _ = try await cluster.child()
                    response = try await api.execute(uri: "/v1/ledger/checkpoint?latest=true", method: .get)
                    let latest = try SignedCheckpoint(parsing: String(buffer: response.body))
                    #expect(latest.size == ledger.checkpoint.size && latest.note.signatures.count == 1)
                }

                // A checkpoint signed by another key is refused by the witness over HTTP.
                let forger = try NoteSigner(generatingWithName: ledger.origin)
                let forged = try SignedCheckpoint(
                    signing: Checkpoint(origin: ledger.origin, size: 99, root: Merkle.emptyRoot),
                    with: forger
                )
                let response = try await client.execute(
                    uri: "/add-checkpoint",
                    method: .post,
                    body: ByteBuffer(string: "old 0\n\n" + forged.text)
                )
                #expect(response.status == .forbidden)
            }
        }
    }

    @Test(
        "a witness that is down, and one that cosigns with another key: nothing served as cosigned, the service answers"
    )
    func badWitnesses() async throws {
        let actual = try Cosigner(generatingWithName: "witness.test/w1")
        let expected = try Cosigner(generatingWithName: "witness.test/w1")
        try await Cluster.run { cluster, _ in
            let ledger = cluster.services.ledger
            try await withWitness(for: ledger, cosigner: actual) { _, port, _ in
                let service = WitnessCosigning(
                    witnesses: [
                        WitnessEndpoint(url: "http://127.0.0.1:\(port)", key: expected.verifier),
                        WitnessEndpoint(url: "http://127.0.0.1:1", key: actual.verifier),
                    ],
                    quorum: 1,
                    ledger: ledger,
                    dataDirectory: cluster.path,
                    logger: Self.quiet,
                    interval: .milliseconds(20)
                )
                let task = Task { try await service.run() }
                _ = try await cluster.child()
                try await Task.sleep(for: .milliseconds(500))
                #expect(service.cosigned == nil)
                try await Self.api(cluster, service).test(.router) { api in
                    var response = try await api.execute(uri: "/v1/ledger/checkpoint", method: .get)
                    #expect(response.status == .serviceUnavailable)
                    #expect(response.json["detail"]?.stringValue?.contains("?latest=true") == true)
                    response = try await api.execute(uri: "/v1/ledger/checkpoint?latest=true", method: .get)
                    #expect(response.status == .ok)
                }
                _ = try await cluster.child()
                task.cancel()
                _ = await task.result
            }
        }
    }
}
