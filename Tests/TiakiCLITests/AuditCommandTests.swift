import Foundation
import Testing
import TiakiLedger

let scenarios = auditSamples.appendingPathComponent("scenarios")

/// Each scenario and the finding planted in it.
let plantedFindings = [
    "disclosure-after-withdrawal": "disclosure-after-withdrawal",
    "disclosure-without-decision": "disclosure-without-permit",
    "disclosure-beyond-scope": "disclosure-beyond-decision",
    "retention-overdue": "retention-overdue",
    "decision-replay-mismatch": "decision-replay-mismatch",
    "collection-notice-overdue": "indirect-collection-notice-overdue",
    "withdrawal-not-acknowledged": "withdrawal-not-acknowledged",
    "breach-not-notified": "breach-notification-overdue",
]

/// The planted findings a privacy officer must act on but that are not high severity (nothing was shared wrongly).
let mediumFindings: Set<String> = ["indirect-collection-notice-overdue", "withdrawal-not-acknowledged"]

@Suite("tiaki audit on the AuditSamples scenarios")
struct AuditScenarioTests {
    @Test("every scenario is here, and only those")
    func present() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: scenarios.path).sorted()
        #expect(names == plantedFindings.keys.sorted())
    }

    @Test(
        "the bundle verifies, findings print exactly the golden file, and the planted problem is found",
        arguments: plantedFindings.keys.sorted()
    )
    func scenario(_ name: String) throws {
        let dir = scenarios.appendingPathComponent(name)
        let bundle = dir.appendingPathComponent("bundle").path
        #expect(try TiakiProcess.run(["verify", bundle]).exitCode == 0)
        let golden = try String(contentsOf: dir.appendingPathComponent("findings.json"), encoding: .utf8)
        let value = try JSONParser().parse(Array(golden.utf8))
        let asOf = try #require(value["asOf"]?.stringValue)
        let run = try TiakiProcess.run(["audit", "findings", bundle, "--as-of", asOf, "--json"])
        #expect(run.exitCode == 0, "\(run.stderr)")
        #expect(Array(run.stdout.utf8) == Array(golden.utf8), "\(run.stdout)")
        let kinds = (value["findings"]?.arrayValue ?? []).compactMap { $0["kind"]?.stringValue }
        #expect(kinds.contains(try #require(plantedFindings[name])))
        let planted = try #require(plantedFindings[name])
        let severity = mediumFindings.contains(planted) ? "medium" : "high"
        let failing = try TiakiProcess.run(["audit", "findings", bundle, "--as-of", asOf, "--fail-on", severity])
        #expect(failing.exitCode == 1, "the planted problem is \(severity) severity")
        #expect(failing.stdout.contains("\(severity.uppercased())  \(planted)"))
        if severity == "medium" {
            let quiet = try TiakiProcess.run(["audit", "findings", bundle, "--as-of", asOf, "--fail-on", "high"])
            #expect(quiet.exitCode == 0, "\(quiet.stdout)")
        }

        let replay = try TiakiProcess.run(["audit", "replay", bundle])
        #expect(replay.exitCode == (name == "decision-replay-mismatch" ? 1 : 0), "\(replay.stdout)")
    }

    @Test("a child's report from a bundle, as text, JSON and HTML; an unknown child is an error")
    func subjectReport() throws {
        let dir = scenarios.appendingPathComponent("retention-overdue")
        let bundle = dir.appendingPathComponent("bundle").path
        let golden = try JSONParser().parse(Array(try Data(contentsOf: dir.appendingPathComponent("findings.json"))))
        let overdue = try #require(
            (golden["findings"]?.arrayValue ?? []).first { $0["kind"]?.stringValue == "retention-overdue" }
        )
        let subject = try #require(overdue["subject"]?.stringValue)
        let text = try TiakiProcess.run(["audit", "subject", bundle, "--subject", subject, "--as-of", "2026-05-05"])
        #expect(text.exitCode == 0, "\(text.stderr)")
        #expect(text.stdout.contains("Ngā whakaaetanga · Consents"))
        #expect(text.stdout.contains("ended on 1 May 2026"))
        #expect(!text.stdout.contains("Tama"), "a bundle holds no keys: names stay sealed")
        let json = try TiakiProcess.run(["audit", "subject", bundle, "--subject", subject, "--format", "json"])
        #expect(try JSONParser().parse(Array(json.stdout.utf8))["subject"]?.stringValue == subject)
        let html = try TiakiProcess.run(["audit", "subject", bundle, "--subject", subject, "--format", "html"])
        #expect(html.stdout.hasPrefix("<!doctype html>"))
        #expect(
            !html.stdout.contains("http://") && !html.stdout.contains("https://") && !html.stdout.contains("<script")
        )
        let unknown = try TiakiProcess.run(["audit", "subject", bundle, "--subject", "s-0000000000000000"])
        #expect(unknown.exitCode == 1)
        #expect(try TiakiProcess.run(["audit", "findings", "/nonexistent"]).exitCode == 2)
    }

    @Test("a consent receipt verifies offline with the published key; an altered one does not")
    func receipt() throws {
        let dir = scenarios.appendingPathComponent("retention-overdue")
        let vkey = dir.appendingPathComponent("bundle/log.vkey").path
        let ok = try TiakiProcess.run([
            "receipt", "verify", dir.appendingPathComponent("receipt.json").path, "--vkey", vkey,
        ])
        #expect(ok.exitCode == 0, "\(ok.stderr)")
        #expect(ok.stdout.contains("5. When it comes off the register: 1 May 2026."))
        // The newest checkpoint of the bundle, and the (empty) consistency proof to it from the receipt's.
        let checkpoints = try String(
            contentsOf: dir.appendingPathComponent("bundle/checkpoints.jsonl"),
            encoding: .utf8
        )
        let last = try JSONParser().parse(Array((checkpoints.split(separator: "\n").last ?? "").utf8))
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-receipt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        try (last["note"]?.stringValue ?? "").write(
            to: work.appendingPathComponent("later.note"),
            atomically: true,
            encoding: .utf8
        )
        try #"{"hashes":[]}"#.write(to: work.appendingPathComponent("proof.json"), atomically: true, encoding: .utf8)
        let later = try TiakiProcess.run([
            "receipt", "verify", dir.appendingPathComponent("receipt.json").path, "--vkey", vkey, "--checkpoint",
            work.appendingPathComponent("later.note").path, "--consistency",
            work.appendingPathComponent("proof.json").path,
        ])
        #expect(later.exitCode == 0, "\(later.stderr)")
        #expect(later.stdout.contains("still in the ledger"))
        let altered = try TiakiProcess.run([
            "receipt", "verify", dir.appendingPathComponent("receipt-altered.json").path, "--vkey", vkey,
        ])
        #expect(altered.exitCode == 1)
        #expect(altered.stderr.contains("receipt invalid"))
        #expect(try TiakiProcess.run(["receipt", "verify", vkey]).exitCode == 2, "not a receipt")
    }
}
