import Foundation
import Testing
import TiakiLedger

@Suite("tiaki policy, simulate and decide")
struct PolicyCommandTests {
    let policies = repositoryRoot.appendingPathComponent("Policies").path

    @Test("policy check passes the default set and names the place of a problem")
    func policyCheck() throws {
        let ok = try TiakiProcess.run(["policy", "check", policies])
        #expect(ok.exitCode == 0)
        #expect(ok.stdout.contains("valid"))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-pol-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.copyItem(atPath: policies, toPath: dir)
        let rules = try String(contentsOfFile: dir + "/rules.yaml", encoding: .utf8)
        try rules.replacingOccurrences(of: "attribute: subject.erased", with: "attribute: subject.erasd").write(
            toFile: dir + "/rules.yaml",
            atomically: true,
            encoding: .utf8
        )
        let bad = try TiakiProcess.run(["policy", "check", dir])
        #expect(bad.exitCode == 1)
        #expect(bad.stdout.contains("rules.yaml:") && bad.stdout.contains("did you mean subject.erased?"))
        #expect(try TiakiProcess.run(["policy", "check", "/nonexistent"]).exitCode == 2)
    }

    @Test("policy test ends with N passed, N failed")
    func policyTest() throws {
        let result = try TiakiProcess.run(["policy", "test", policies])
        #expect(result.exitCode == 0)
        let last = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last.hasSuffix("passed, 0 failed"), "\(last)")
    }

    @Test("simulate writes a ledger that verifies; decide explains, and records only when asked")
    func simulateAndDecide() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-sim-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: work) }
        let data = work + "/data"
        let sim = try TiakiProcess.run([
            "simulate", "--data", data, "--policies", policies, "--subjects", "30", "--days", "40", "--seed", "3",
        ])
        #expect(sim.exitCode == 0, "\(sim.stderr)")
        #expect(sim.stdout.contains("30 subjects"))
        #expect(try TiakiProcess.run(["simulate", "--data", data, "--policies", policies]).exitCode == 2)
        #expect(try TiakiProcess.run(["verify", data]).exitCode == 0)

        let export = try TiakiProcess.run(["export", "--data", data, "--out", work + "/bundle"])
        #expect(export.exitCode == 0)
        let entries = try String(contentsOfFile: work + "/bundle/entries.jsonl", encoding: .utf8).split(separator: "\n")
        let consent = try #require(entries.first { $0.contains(#""kind":"consent.granted""#) })
        let subject = try #require(try JSONParser().parse(Array(consent.utf8))["subject"]?.stringValue)
        let request: JSONValue = [
            "subject": .string(subject), "purpose": "transition", "information": ["register-entry"],
            "recipient": "rtlb-cluster",
            "channel": "secure-email", "storageRegion": "other-overseas", "date": "2026-03-01",
            "requester": "school-kowhai", "requesterRole": "member",
        ]
        try Data(try CanonicalJSON.encode(request)).write(to: URL(fileURLWithPath: work + "/request.json"))
        let before = entries.count
        let denied = try TiakiProcess.run(["decide", "--data", data, "--policies", policies, work + "/request.json"])
        #expect(denied.exitCode == 1)
        #expect(denied.stdout.hasPrefix("DENY"))
        #expect(denied.stdout.contains("forbid-overseas-storage-without-consent"))
        #expect(denied.stdout.contains("Not recorded"))
        let recorded = try TiakiProcess.run([
            "decide", "--data", data, "--policies", policies, "--record", "--json", work + "/request.json",
        ])
        #expect(recorded.exitCode == 1)
        let decision = try JSONParser().parse(recorded.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(decision["effect"]?.stringValue == "deny")
        #expect(decision["index"]?.integerValue == before)
        let unknown = try TiakiProcess.run(["decide", "--data", data, "--policies", policies, "/nonexistent.json"])
        #expect(unknown.exitCode == 2)
        #expect(try TiakiProcess.run(["verify", data]).stdout.contains("VALID: \(before + 1) entries"))
    }
}
