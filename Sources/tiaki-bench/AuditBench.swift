import ArgumentParser
import Foundation
import Logging
import TiakiAudit
import TiakiConsent
import TiakiLedger
import TiakiModel
import TiakiPolicy

struct AuditBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Findings, replay and subject reports over a 1,000,000-entry ledger.",
        discussion: """
            Writes a ledger through the same registry and decision service as the server (children registered, \
            consents given, decisions made by the policy engine, disclosures, some withdrawals) from 64 concurrent \
            writers; then runs the findings pass and the replay pass, each in a child process whose peak memory is \
            reported, and times 1,000 subject reports read through the subject index, 2,000 notice lists (what \
            GET /v1/notices does, for the RTLB service, the Ministry and the school in turn) and 200 answers of the \
            findings projection (what GET /v1/findings does; the projection is fed every commit while the ledger is \
            written, as the server's is).
            """
    )

    @Option(help: "How many entries to write (about).")
    var entries = 1_000_000

    @Option(help: ArgumentHelp("The policy directory.", valueName: "dir"))
    var policies = "./Policies"

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() async throws {
        let policy = try PolicySet.load(directory: policies)
        let (tiaki, work) = try await benchServices("audit", policy: policy)
        defer { try? FileManager.default.removeItem(atPath: work) }
        // The findings projection the server keeps, fed every commit while the ledger is written.
        let core = tiaki.core
        let projection = FindingsProjection(earliestInFlight: { core.decisionsInFlight.earliest })
        core.observeApplied { projection.feed($0) }
        try projection.build(from: try EntryReader(path: work))
        let started = Date()
        // While the ledger is written, GET /v1/findings is asked once a second, covering every entry written so far.
        let asking = Task {
            var times: [Double] = []
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                var options = AuditOptions(asOf: Day("2027-01-01") ?? Day(Date()))
                options.now = Moment(Date())
                let t0 = Date()
                let size = tiaki.ledger.checkpoint.size
                guard await projection.result(options: options, covering: size, timeout: .seconds(60)) != nil else {
                    continue
                }
                times.append(Date().timeIntervalSince(t0) * 1000)
            }
            return times
        }
        let subjects = try await Self.write(entries: entries, into: tiaki)
        asking.cancel()
        let busyTimes = await asking.value
        let size = tiaki.ledger.checkpoint.size
        note(String(format: "wrote %d entries in %.1f s", size, Date().timeIntervalSince(started)))

        // Subject reports through the key index (what the report endpoint does).
        var reportTimes: [Double] = []
        let day = Day("2027-01-01") ?? Day(Date())
        for i in 0..<1000 {
            let subject = subjects[(i * 7919) % subjects.count]
            let t0 = Date()
            guard
                try SubjectReport.load(
                    subject: subject,
                    from: tiaki.ledger,
                    asOf: day,
                    unseal: { try? tiaki.core.unseal($0, subject: subject) }
                ) != nil
            else { throw ValidationError("no report for \(subject)") }
            reportTimes.append(Date().timeIntervalSince(t0) * 1000)
        }
        // What GET /v1/notices does for each organisation, server-side: its IPP 3A notices, the withdrawals it was
        // told of, its consents to renew; the first 100 of each, due ones, with totals.
        var noticeTimes: [Double] = []
        var noticeTimes100: [Double] = []
        let today = Day("2026-12-15") ?? Day(Date())
        var listed = 0
        for i in 0..<2000 {
            let org = ["rtlb", "mol", "school-a"][i % 3]
            // The default page (what GET /v1/notices gives unless asked for more), and pages of 100.
            let limit = i % 2 == 0 ? NoticeList.defaultLimit : 100
            let t0 = Date()
            let list = try tiaki.notices.list(for: org, on: today, filter: .due, limit: limit)
            let ms = Date().timeIntervalSince(t0) * 1000
            if limit == 100 { noticeTimes100.append(ms) } else { noticeTimes.append(ms) }
            listed = max(listed, list.collections.total + list.withdrawals.total + list.renewals.total)
        }
        // What GET /v1/findings does: the projection's answer covering every entry written, judged now.
        var findingsTimes: [Double] = []
        var projected = 0
        for _ in 0..<200 {
            var options = AuditOptions(asOf: Day("2027-01-01") ?? Day(Date()))
            options.now = Moment(Date())
            let t0 = Date()
            guard let result = await projection.result(options: options, covering: size, timeout: .seconds(120))
            else { throw ValidationError("the projection did not catch up: \(projection.unavailable)") }
            findingsTimes.append(Date().timeIntervalSince(t0) * 1000)
            projected = result.findings.count
        }
        await tiaki.close()

        note("finding (child process) …")
        let findings = try runChild(["audit-child", work, "--as-of", "2027-01-01"])
        note("replaying (child process) …")
        let replay = try runChild(["audit-child", work, "--as-of", "2027-01-01", "--replay-only"])
        guard findings.status == 0, replay.status == 0 else { throw ValidationError("an audit child failed") }
        let p50 = median(reportTimes)
        let p99 = percentile(reportTimes, 0.99)
        let noticesP50 = median(noticeTimes)
        let noticesP99 = percentile(noticeTimes, 0.99)
        if json {
            let object: [String: JSONValue] = [
                "entries": .number(Double(size)),
                "findingsSeconds": .number((findings.seconds * 100).rounded() / 100),
                "findingsPeakMegabytes": .number((findings.peakMegabytes * 10).rounded() / 10),
                "replaySeconds": .number((replay.seconds * 100).rounded() / 100),
                "replayPeakMegabytes": .number((replay.peakMegabytes * 10).rounded() / 10),
                "reportP50Milliseconds": .number((p50 * 1000).rounded() / 1000),
                "reportP99Milliseconds": .number((p99 * 1000).rounded() / 1000),
                "noticesP50Milliseconds": .number((noticesP50 * 1000).rounded() / 1000),
                "noticesP99Milliseconds": .number((noticesP99 * 1000).rounded() / 1000),
                "noticesLimit100P50Milliseconds": .number((median(noticeTimes100) * 1000).rounded() / 1000),
                "noticesLimit100P99Milliseconds": .number((percentile(noticeTimes100, 0.99) * 1000).rounded() / 1000),
                "noticesLargestTotal": .number(Double(listed)),
                "findingsP50Milliseconds": .number((median(findingsTimes) * 1000).rounded() / 1000),
                "findingsP99Milliseconds": .number((percentile(findingsTimes, 0.99) * 1000).rounded() / 1000),
                "findingsFirstMilliseconds": .number(((findingsTimes.first ?? 0) * 1000).rounded() / 1000),
                "findingsProjected": .number(Double(projected)),
                "findingsWhileWritingP50Milliseconds": .number((median(busyTimes) * 1000).rounded() / 1000),
                "findingsWhileWritingP99Milliseconds": .number((percentile(busyTimes, 0.99) * 1000).rounded() / 1000),
                "findingsWhileWritingAsked": .number(Double(busyTimes.count)),
            ]
            print(String(decoding: try CanonicalJSON.encode(.object(object)), as: UTF8.self))
        } else {
            print("audit benchmark (\(size) entries, \(subjects.count) children)")
            print(String(format: "  findings        %.2f s   peak %.1f MB", findings.seconds, findings.peakMegabytes))
            print(String(format: "  replay          %.2f s   peak %.1f MB", replay.seconds, replay.peakMegabytes))
            print(String(format: "  subject report  p50 %.2f ms   p99 %.2f ms", p50, p99))
            print(
                String(
                    format:
                        "  GET /v1/findings (projection)  p50 %.2f ms   p99 %.2f ms   first %.2f ms   (%d findings)",
                    median(findingsTimes),
                    percentile(findingsTimes, 0.99),
                    findingsTimes.first ?? 0,
                    projected
                )
            )
            print(
                String(
                    format: "  GET /v1/findings while writing  p50 %.2f ms   p99 %.2f ms   (%d asked, once a second)",
                    median(busyTimes),
                    percentile(busyTimes, 0.99),
                    busyTimes.count
                )
            )
            print(
                String(
                    format:
                        "  notices         p50 %.2f ms   p99 %.2f ms   (pages of %d; of 100: p99 %.2f ms; largest: %d due)",
                    noticesP50,
                    noticesP99,
                    NoticeList.defaultLimit,
                    percentile(noticeTimes100, 0.99),
                    listed
                )
            )
        }
    }

    /// Writes about `entries` entries through the services, from 64 concurrent writers, as a cluster would: 11 per
    /// child (registration, 2 consents, 5 decisions, 2 disclosures, and a withdrawal for 1 in 4, the others' 11th a
    /// third disclosure). Returns the children.
    static func write(entries: Int, into tiaki: TiakiServices) async throws -> [String] {
        for (id, kind) in [("school-a", "school"), ("rtlb", "rtlb"), ("mol", "ministry-learning-support")] {
            _ = try await tiaki.organisations.register(.init(id: id, kind: kind, name: id))
        }
        // 11 entries per child: registration, 2 consents, 5 decisions, 2 disclosures, and a withdrawal for 1 in 4
        // (the others' 11th entry is a third disclosure).
        let children = max(1, entries / 11)
        note("writing about \(entries) entries (\(children) children) through the registry from 64 writers …")
        let next = Counter(0)
        let subjects = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<64 {
                group.addTask {
                    var mine: [String] = []
                    while let n = next.take(below: UInt64(children)) {
                        mine.append(try await Self.child(Int(n), tiaki: tiaki))
                        if n % 20_000 == 0 { note("  \(n) children, \(tiaki.ledger.checkpoint.size) entries") }
                    }
                    return mine
                }
            }
            var all: [String] = []
            for try await part in group { all += part }
            return all
        }
        return subjects
    }

    static func consent(_ purposes: [String], _ information: [String], until: String) -> ConsentInput {
        ConsentInput(
            purposes: purposes,
            information: information,
            audience: .init(kinds: ["rtlb", "ministry-learning-support"]),
            sharing: .init(channels: ["secure-email"], storageRegions: ["nz"], protection: "encrypted email"),
            retention: .init(until: until),
            accuracy: .init(contact: "the SENCO", method: "ask to see it"),
            withdrawal: .init(effect: "support continues; sharing stops", how: "tell the school"),
            consenters: [.init(role: "parent", name: "A parent")],
            informed: .init(date: "2026-02-10", noticeVersion: "v1", language: "en", method: "meeting"),
            text: "We would like to share information about your child with the RTLB service."
        )
    }

    /// One child's entries; returns the subject id.
    static func child(_ n: Int, tiaki: TiakiServices) async throws -> String {
        let school = EntryActor(org: "school-a")
        let subject =
            try await tiaki.subjects.register(
                SubjectInput(birthMonth: "2016-0\(1 + n % 9)", localReference: "c\(n)"),
                actor: school
            ).entry.subject ?? ""
        let first = try await tiaki.consents.grant(
            subject: subject,
            consent(
                ["referral"],
                ["register-entry", "assessment-progress"],
                until: n % 10 == 0 ? "2026-12-01" : "2027-12-31"
            ),
            actor: school
        ).index
        _ = try await tiaki.consents.grant(
            subject: subject,
            consent(["learning-support-planning"], ["register-entry"], until: "2027-06-30"),
            actor: school
        )
        var permits: [(UInt64, ShareRequest)] = []
        for k in 0..<5 {
            let request = ShareRequest(
                subject: subject,
                share: Share(
                    recipient: k % 2 == 0 ? "rtlb" : "mol",
                    purpose: k == 4 ? "transition" : k % 2 == 0 ? "referral" : "learning-support-planning",
                    information: k == 3 ? ["health-disability"] : ["register-entry"],
                    channel: "secure-email",
                    storageRegion: "nz"
                ),
                date: "2026-0\(3 + k)-01",
                requester: "school-a",
                requesterRole: "member"
            )
            let (decision, recorded) = try await tiaki.decisions.decideAndRecord(request, actor: school)
            if decision.effect == .permit { permits.append((recorded.receipt.index, request)) }
        }
        let disclosures = n % 4 == 0 ? 2 : 3
        for d in 0..<disclosures {
            let (index, request) = permits.isEmpty ? (nil, nil) : permits[d % permits.count]
            let record =
                request.map { DisclosureInput(subject: subject, decision: index, share: $0.share, date: $0.date) }
                ?? DisclosureInput(
                    subject: subject,
                    share: Share(
                        recipient: "rtlb",
                        purpose: "referral",
                        information: ["register-entry"],
                        channel: "secure-email",
                        storageRegion: "nz"
                    ),
                    date: "2026-06-01"
                )
            _ = try await tiaki.disclosures.record(record, actor: school)
        }
        // One child in eight: a share to the Ministry made without asking, which owes the whānau an IPP 3A notice;
        // the Ministry sends most of them.
        if n % 8 == 1 {
            let shared = try await tiaki.disclosures.record(
                DisclosureInput(
                    subject: subject,
                    share: Share(
                        recipient: "mol",
                        purpose: "learning-support-planning",
                        information: ["assessment-progress"],
                        channel: "secure-email",
                        storageRegion: "nz"
                    ),
                    date: "2026-07-01"
                ),
                actor: school
            )
            if n % 5 != 1 {
                _ = try await tiaki.notices.recordSent(
                    NoticeSentInput(disclosures: [shared.index], date: "2026-07-03", method: .email),
                    actor: EntryActor(org: "mol")
                )
            }
        }
        if n % 4 == 0 {
            _ = try await tiaki.consents.withdraw(
                first,
                WithdrawalInput(by: "parent", date: "2026-09-01"),
                actor: school
            )
        }
        return subject
    }
}

struct AuditChild: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit-child",
        abstract: "Run the findings or replay pass (run by `audit`).",
        shouldDisplay: false
    )

    @Argument var path: String
    @Option var asOf: String
    @Flag var replayOnly = false
    @Option var peakFile: String?

    func run() throws {
        defer { writePeakMemory(to: peakFile) }
        let result = try LedgerAudit.run(
            EntryReader(path: path),
            options: AuditOptions(asOf: Day(asOf) ?? Day(Date())),
            findings: !replayOnly
        )
        note(
            "  \(result.entries) entries, \(result.findings.count) findings, \(result.decisionsReplayed) decisions replayed, \(result.mismatches.count) mismatches"
        )
    }
}
