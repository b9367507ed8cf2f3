import Foundation
import Testing
import TiakiLedger
import TiakiTestSupport

@Suite(
    "tiaki audit and keys on a PostgreSQL ledger",
    .enabled(if: ScratchPostgres.available, "set TIAKI_TEST_DATABASE_URL")
)
struct DatabaseCommandTests {
    @Test(
        "a ledger moved into PostgreSQL audits as its data directory did: findings, replay, a child's report, its key"
    )
    func auditFromDatabase() async throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-dbcli-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: work) }
        let data = work + "/data"
        let policies = repositoryRoot.appendingPathComponent("Policies").path
        let sim = try TiakiProcess.run([
            "simulate", "--data", data, "--policies", policies, "--subjects", "30", "--days", "120", "--seed", "5",
        ])
        try #require(sim.exitCode == 0, "\(sim.stderr)")
        let asOf = "2027-06-01"
        let fromDirectory = try TiakiProcess.run(["audit", "findings", data, "--as-of", asOf, "--json"])
        try #require(fromDirectory.exitCode <= 1, "\(fromDirectory.stderr)")
        try #require(try TiakiProcess.run(["export", "--data", data, "--out", work + "/bundle"]).exitCode == 0)
        let entries = try String(contentsOfFile: work + "/bundle/entries.jsonl", encoding: .utf8).split(separator: "\n")
        let withdrawal = try #require(entries.first { $0.contains(#""kind":"consent.withdrawn""#) })
        let subject = try #require(try JSONParser().parse(Array(withdrawal.utf8))["subject"]?.stringValue)
        let reportFromDirectory = try TiakiProcess.run([
            "audit", "subject", data, "--subject", subject, "--as-of", asOf, "--format", "json",
        ])
        try #require(reportFromDirectory.exitCode == 0, "\(reportFromDirectory.stderr)")

        try await ScratchPostgres.withDatabase { address in
            let url = address.url
            let moved = try TiakiProcess.run(["migrate", "--data", data, "--database", url])
            try #require(moved.exitCode == 0, "\(moved.stderr)")

            let findings = try TiakiProcess.run(["audit", "findings", "--database", url, "--as-of", asOf, "--json"])
            #expect(findings.exitCode == fromDirectory.exitCode, "\(findings.stderr)")
            #expect(findings.stdout == fromDirectory.stdout)
            let replay = try TiakiProcess.run(["audit", "replay", "--database", url, "--json"])
            #expect(replay.exitCode == 0, "\(replay.stderr)")
            let report = try TiakiProcess.run([
                "audit", "subject", "--database", url, "--keys", data, "--subject", subject, "--as-of", asOf,
                "--format", "json",
            ])
            #expect(report.exitCode == 0, "\(report.stderr)")
            #expect(report.stdout == reportFromDirectory.stdout)

            // The key in --data signs the database's checkpoints; another ledger's key does not.
            let key = try TiakiProcess.run(["keys", "show", "--data", data, "--database", url])
            #expect(key.exitCode == 0, "\(key.stderr)")
            #expect(key.stdout.hasPrefix(try TiakiProcess.run(["keys", "show", "--data", data]).stdout))
            let other = work + "/other"
            try #require(try TiakiProcess.run(["init", "--data", other, "--policies", policies]).exitCode == 0)
            let wrong = try TiakiProcess.run(["keys", "show", "--data", other, "--database", url])
            #expect(wrong.exitCode == 2)
            #expect(wrong.stderr.contains("does not sign the ledger in"))

            // PATH and --database together are a usage error, as is neither.
            #expect(try TiakiProcess.run(["audit", "findings", data, "--database", url]).exitCode == 2)
        }
        let neither = try TiakiProcess.run(["audit", "findings"])
        #expect(neither.exitCode == 2)
        #expect(neither.stderr.contains("give PATH"))
    }
}
