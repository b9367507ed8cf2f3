import Foundation
import Testing
import TiakiLedger

@Suite("tiaki notices and tiaki breach")
struct DutiesCommandTests {
    @Test("on a simulated term: the register, a breach from bad input to the report, the notices and their document")
    func commands() throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-duties-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: data) }
        let policies = repositoryRoot.appendingPathComponent("Policies").path
        let made = try TiakiProcess.run([
            "simulate", "--data", data, "--policies", policies, "--subjects", "60", "--days", "90", "--seed", "7",
        ])
        #expect(made.exitCode == 0, "\(made.stderr)")
        let common = ["--data", data, "--policies", policies]

        // Bad input names the field; nothing recorded.
        let size = try TiakiProcess.run(["breach", "list", "--json"] + common)
        for (arguments, message) in [
            (["--found", "2026-03-01T09:00:00Z", "--description", "x"], "recipient: say what the breach touched"),
            (
                [
                    "--found", "2026-03-01T09:00:00Z", "--description", "x", "--recipient", "rtlb-cluster", "--from",
                    "2026-03-05", "--to", "2026-03-01",
                ], "to: to (1 March 2026) is before from (5 March 2026)"
            ),
            (["--found", "yesterday", "--description", "x", "--recipient", "rtlb-cluster"], "found: found must be"),
            (["--found", "2026-03-01T09:00:00Z", "--description", "x", "--disclosure", "0"], "disclosures[0]"),
        ] {
            let run = try TiakiProcess.run(["breach", "record", "--org", "mol-ls"] + arguments + common)
            #expect(run.exitCode == 2, "\(arguments)")
            #expect(run.stderr.contains(message), "\(run.stderr)")
        }
        #expect(try TiakiProcess.run(["breach", "list", "--json"] + common).stdout == size.stdout)

        // Everything sent to the RTLB service in March went to a stale address.
        let recorded = try TiakiProcess.run(
            [
                "breach", "record", "--org", "mol-ls", "--found", "2026-04-02T10:00:00+13:00", "--description",
                "The RTLB service's old address forwarded March's referrals to a former staff member.",
                "--recipient", "rtlb-cluster", "--from", "2026-03-01", "--to", "2026-03-31",
            ] + common
        )
        #expect(recorded.exitCode == 0, "\(recorded.stderr)")
        let id = try #require(recorded.stdout.split(separator: " ").dropFirst(2).first.map(String.init))
        #expect(id.hasPrefix("b-"))
        // 72 hours later, in New Zealand time: daylight saving ended at 3 am on Sunday 5 April.
        #expect(recorded.stdout.contains("Assess it by 5 April 2026, 9:00 am"), "\(recorded.stdout)")
        let assessed = try TiakiProcess.run(
            [
                "breach", "assess", id, "--org", "mol-ls", "--serious-harm", "yes", "--factor", "who-obtained",
                "--factor", "sensitive-information", "--reasons", "A former staff member holds referrals.",
            ] + common
        )
        #expect(assessed.exitCode == 0, "\(assessed.stderr)")
        let report = try TiakiProcess.run(["breach", "report", id] + common)
        #expect(report.stdout.contains("Privacy breach report"))
        #expect(report.stdout.contains("Likely to cause serious harm: notifiable."))
        #expect(report.stdout.contains("in what was shared with RTLB Cluster 12"))
        let show = try JSONParser().parse(Array(try TiakiProcess.run(["breach", "show", id] + common).stdout.utf8))
        let child = try #require(show["children"]?.arrayValue?.first?["subject"]?.stringValue)
        let notice = try TiakiProcess.run(["breach", "notice", id, "--subject", child, "--lang", "both"] + common)
        #expect(notice.stdout.contains("A privacy breach involving your child's information"))
        #expect(notice.stdout.contains("He whati matatapu"))
        let sent = try TiakiProcess.run(
            ["breach", "notice", id, "--subject", child, "--sent", "--org", "mol-ls", "--method", "phone"] + common
        )
        #expect(sent.exitCode == 0, "\(sent.stderr)")
        let again = try TiakiProcess.run(
            ["breach", "notice", id, "--subject", child, "--sent", "--org", "mol-ls", "--method", "phone"] + common
        )
        #expect(again.exitCode == 2 && again.stderr.contains("already told"))
        let list = try TiakiProcess.run(["breach", "list"] + common)
        #expect(list.stdout.contains("\(id)  found 2 April 2026, 10:00 am"))
        #expect(list.stdout.contains("notification-due"))

        // Notices: what an organisation owes, and the document for one.
        let notices = try TiakiProcess.run(
            ["notices", "list", "--org", "health-child", "--status", "all", "--json"] + common
        )
        #expect(notices.exitCode == 0, "\(notices.stderr)")
        let value = try JSONParser().parse(Array(notices.stdout.utf8))
        #expect(value["org"] == "health-child")
        // Seed 7 leaves the child development service one notice (a share made without asking).
        let first = try #require(value["collections"]?["items"]?.arrayValue?.first?["disclosure"]?.integerValue)
        let document = try TiakiProcess.run(
            ["notices", "document", "--disclosure", String(first), "--lang", "mi"] + common
        )
        #expect(document.stdout.contains("Kei a mātou he pārongo mō tō tamaiti"))
        #expect(document.stdout.contains("Child Development Service, privacy@health-child.example.nz"))
        let unknown = try TiakiProcess.run(["notices", "list", "--org", "nobody"] + common)
        #expect(unknown.exitCode == 2 && unknown.stderr.contains("nobody is not a registered organisation"))
    }
}
