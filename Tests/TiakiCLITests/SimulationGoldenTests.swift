import Crypto
import Foundation
import Testing

@Suite("The simulation's bytes")
struct SimulationGoldenTests {
    /// SHA-256 of `entries.jsonl` exported from `tiaki simulate --subjects 300 --days 120` (seed 1, the default).
    /// Restructuring must leave it alone (the same seed, the same ledger, byte for byte); a change that means to
    /// change what the simulation writes updates it and says why in its commit.
    static let entries = "6fa88f5faaa86f4f06ddbdc4376908df7ef5d4a62362199682736a817e1e175d"

    @Test("a simulated 120 days of 300 children export the same entries, byte for byte, as when pinned")
    func sameBytes() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-golden-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = directory.appendingPathComponent("data").path
        let out = directory.appendingPathComponent("bundle").path
        let simulate = try TiakiProcess.run([
            "simulate", "--data", data, "--policies", repositoryRoot.appendingPathComponent("Policies").path,
            "--subjects", "300", "--days", "120",
        ])
        #expect(simulate.exitCode == 0, "\(simulate.stderr)")
        let export = try TiakiProcess.run(["export", "--data", data, "--out", out])
        #expect(export.exitCode == 0, "\(export.stderr)")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: out).appendingPathComponent("entries.jsonl"))
        let digest = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        #expect(digest == Self.entries)
    }
}
