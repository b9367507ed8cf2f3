import ArgumentParser
import Foundation
import Logging
import TiakiConsent
import TiakiLedger
import TiakiModel
import TiakiPolicy

struct PolicyBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Decision latency on a large consent state, and the time to rebuild the state from a ledger.",
        discussion: """
            Builds a consent state of 100,000 subjects and 300,000 consents in memory and decides requests against \
            the default policy set on one core (in-process, without the ledger write). Then writes a ledger of \
            1,000,000 consent entries (registrations, consents, withdrawals, decisions, disclosures) and times \
            rebuilding the state from it in a child process, reporting its peak memory.
            """
    )

    @Option(help: ArgumentHelp("The policy directory.", valueName: "dir"))
    var policies = "./Policies"

    @Option(help: "Subjects in the in-memory state.")
    var subjects = 100_000

    @Option(help: "Decisions to time.")
    var decisions = 200_000

    @Option(help: "Entries in the ledger the state is rebuilt from.")
    var rebuildEntries = 1_000_000

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() async throws {
        let policy = try PolicySet.load(directory: policies)
        note("building a state of \(subjects) subjects and \(subjects * 3) consents …")
        var state = ConsentState()
        state.intern(policy.vocabulary)
        var index: UInt64 = 0
        let orgs = BenchData.organisations
        for org in orgs {
            state.apply(
                ConsentEntry(
                    index: index,
                    time: "2026-02-01T00:00:00.000Z",
                    actor: .system,
                    body: org
                )
            )
            index += 1
        }
        var rng = BenchRandom(seed: 42)
        for s in 0..<subjects {
            for entry in BenchData.subjectEntries(s, &rng) {
                var e = entry
                e.index = index
                state.apply(e)
                index += 1
            }
        }
        let engine = try PolicyEngine(policy: policy, codes: state.codes)
        let requests = (0..<4096).map { _ in BenchData.request(subjects: subjects, &rng) }

        note("deciding \(decisions) requests on one core …")
        let clock = ContinuousClock()
        var latencies: [Double] = []
        latencies.reserveCapacity(decisions)
        var permits = 0
        for i in 0..<decisions {
            let t0 = clock.now
            let d = try engine.decide(requests[i & 4095], in: state)
            latencies.append(Bench.seconds(clock.now - t0) * 1e6)
            if d.effect == .permit { permits += 1 }
        }
        // Throughput without the per-call clock reads.
        let t0 = clock.now
        for i in 0..<decisions { _ = try engine.decide(requests[i & 4095], in: state) }
        let rate = Double(decisions) / Bench.seconds(clock.now - t0)

        let work = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tiaki-bench-policy-\(UUID().uuidString)"
        ).path
        defer { try? FileManager.default.removeItem(atPath: work) }
        note("writing a ledger of \(rebuildEntries) entries …")
        try await BenchData.writeLedger(at: work, entries: rebuildEntries, policy: policy)
        note("rebuilding the state in a child process …")
        let child = try runChild(["start-child", work, "--policies", policies, "--no-snapshot"])
        guard child.status == 0 else { throw ValidationError("the rebuild failed in the child process") }

        let p50 = percentile(latencies, 0.5)
        let p99 = percentile(latencies, 0.99)
        if json {
            let object: [String: JSONValue] = [
                "decisionP50Microseconds": .number((p50 * 100).rounded() / 100),
                "decisionP99Microseconds": .number((p99 * 100).rounded() / 100),
                "decisionsPerSecond": .number(rate.rounded()),
                "rebuildSeconds": .number((child.seconds * 100).rounded() / 100),
                "rebuildEntries": .number(Double(rebuildEntries)),
                "rebuildPeakMegabytes": .number((child.peakMegabytes * 10).rounded() / 10),
            ]
            print(String(decoding: try CanonicalJSON.encode(.object(object)), as: UTF8.self))
        } else {
            print(
                "policy benchmark (\(subjects) subjects, \(state.consents.count) consents, \(policy.rules.count) rules)"
            )
            print(
                String(
                    format: "  decision latency, one core        p50 %.2f µs   p99 %.2f µs   (%d%% permitted)",
                    p50,
                    p99,
                    permits * 100 / max(1, decisions)
                )
            )
            print(String(format: "  decisions per second, one core    %.0f", rate))
            print(
                String(
                    format: "  rebuild from %d entries      %.2f s   peak %.1f MB (child process)",
                    rebuildEntries,
                    child.seconds,
                    child.peakMegabytes
                )
            )
        }
    }
}

typealias BenchRandom = SeededGenerator

enum BenchData {
    static let organisations: [OrganisationRegistered] = [
        .init(id: "school-a", kind: "school", name: "School A"),
        .init(id: "school-b", kind: "school", name: "School B"),
        .init(id: "kura-a", kind: "kura", name: "Kura A"), .init(id: "els-a", kind: "early-learning", name: "ELS A"),
        .init(id: "rtlb", kind: "rtlb", name: "RTLB"),
        .init(id: "mol", kind: "ministry-learning-support", name: "Ministry"),
        .init(id: "health", kind: "health-agency", name: "Health"),
    ]
    static let purposes = [
        "learning-support-planning", "referral", "transition", "progress-review", "cluster-needs-analysis",
    ]
    static let information = [
        "register-entry", "attendance", "assessment-progress", "behaviour", "health-disability", "individual-plan",
        "specialist-report",
    ]

    static func subjectID(_ s: Int) -> String { "s-\(String(s, radix: 16))" }

    /// A registration and three consents of varied coverage.
    static func subjectEntries(_ s: Int, _ rng: inout BenchRandom) -> [ConsentEntry] {
        let id = subjectID(s)
        var out = [
            ConsentEntry(
                actor: EntryActor(org: "school-a"),
                subject: id,
                body: SubjectRegistered(org: "school-a", birthMonth: "20\(10 + s % 12)-0\(1 + s % 9)")
            )
        ]
        for c in 0..<3 {
            var purposes = ["learning-support-planning"]
            if rng.next() % 2 == 0 { purposes.append(rng.pick(Self.purposes)) }
            var info = ["register-entry", rng.pick(Self.information)]
            if rng.next() % 3 == 0 { info.append(rng.pick(Self.information)) }
            let terms = ConsentTerms(
                purposes: purposes,
                information: info,
                audience: .init(organisations: [], kinds: ["rtlb", "ministry-learning-support"]),
                sharing: .init(channels: ["secure-email", "in-person"], storageRegions: ["nz"], protection: "p"),
                retention: .init(until: c == 0 ? "2026-03-01" : "2027-12-31", event: nil),
                accuracy: .init(contact: "c", method: "m"),
                withdrawal: .init(effect: "e", how: "h"),
                consenters: consenters(s),
                informed: .init(date: "2026-02-0\(1 + c)", noticeVersion: "v1", language: "en", method: "meeting"),
                text: "t",
                evidence: nil,
                supersedes: nil
            )
            out.append(ConsentEntry(actor: EntryActor(org: "school-a"), subject: id, body: terms))
        }
        return out
    }

    /// Parents, with the young person too from 14 (born 2010–2012 here); now and then the young person alone.
    static func consenters(_ s: Int) -> [ConsentTerms.Consenter] {
        if s % 17 == 0 { return [.init(role: "young-person", nameSealed: nil)] }
        return s % 12 < 3
            ? [.init(role: "parent", nameSealed: nil), .init(role: "young-person", nameSealed: nil)]
            : [.init(role: "parent", nameSealed: nil)]
    }

    /// Three requests in four ask within what every consent here covers; the rest ask at random.
    static func request(subjects: Int, _ rng: inout BenchRandom) -> ShareRequest {
        if rng.next() % 4 != 0 {
            let subject = subjectID(Int(rng.next() % UInt64(subjects)))
            let recipient = rng.pick(["rtlb", "mol"])
            return ShareRequest(
                subject: subject,
                share: Share(
                    recipient: recipient,
                    purpose: "learning-support-planning",
                    information: ["register-entry"],
                    channel: rng.pick(["secure-email", "in-person"]),
                    storageRegion: "nz"
                ),
                date: "2026-06-01",
                requester: "school-a",
                requesterRole: "member"
            )
        }
        let subject = subjectID(Int(rng.next() % UInt64(subjects)))
        let purpose = rng.pick(["learning-support-planning", "learning-support-planning", "referral", "transition"])
        let info = rng.next() % 2 == 0 ? ["register-entry"] : ["register-entry", rng.pick(Self.information)]
        let recipient = rng.pick(["rtlb", "mol", "rtlb", "health"])
        return ShareRequest(
            subject: subject,
            share: Share(
                recipient: recipient,
                purpose: purpose,
                information: info,
                channel: rng.pick(["secure-email", "in-person", "phone"]),
                storageRegion: rng.next() % 20 == 0 ? "australia" : "nz"
            ),
            date: "2026-06-01",
            seriousThreat: rng.next() % 500 == 0 ? true : nil,
            requester: "school-a",
            requesterRole: "member"
        )
    }

    @discardableResult
    static func append(_ entry: ConsentEntry, to ledger: Ledger) async throws -> AppendReceipt {
        try await ledger.append(try EntryDraft(entry.members()))
    }

    /// Writes `entries` entries as the service would (policy, organisations, registrations, consents, a decision and
    /// a disclosure for most consents), from 64 concurrent writers.
    static func writeLedger(at path: String, entries: Int, policy: PolicySet) async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let ledger = try Ledger.open(LedgerDirectory(path: path), configuration: LedgerConfiguration(), logger: logger)
        _ = try await ledger.append(
            ConsentEntry(actor: .system, body: PolicyPublished(digest: policy.digest, files: policy.files))
                .members()
        )
        for org in organisations {
            _ = try await ledger.append(ConsentEntry(actor: .system, body: org).members())
        }
        // Each subject writes 10 entries: registration, 3 consents, 4 decisions, a disclosure, a withdrawal.
        let perSubject = 10
        let total = max(1, (entries - 1 - organisations.count) / perSubject)
        let next = Counter(0)
        let engineState = policy
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<64 {
                group.addTask {
                    while let s = next.take(below: UInt64(total)) {
                        var rng = BenchRandom(seed: s)
                        let subject = Int(s - 1)
                        var consentIndex: UInt64 = 0
                        for e in subjectEntries(subject, &rng) {
                            consentIndex = try await append(e, to: ledger).index
                        }
                        for _ in 0..<4 {
                            var r = request(subjects: 1, &rng)
                            r.subject = subjectID(subject)
                            let d = DecisionRecord(
                                request: r,
                                effect: .permit,
                                rules: ["permit-with-consent"],
                                consents: [Int(consentIndex)],
                                obligations: [
                                    Obligation(
                                        kind: "delete-by-retention",
                                        detail: "Delete it by 31 December 2027.",
                                        due: "2027-12-31"
                                    )
                                ],
                                reasons: [
                                    "Permitted by rule permit-with-consent: \(engineState.rules.first?.because ?? "")"
                                ],
                                policy: engineState.digest,
                                basis: consentIndex
                            )
                            try await append(
                                ConsentEntry(actor: EntryActor(org: "school-a"), subject: r.subject, body: d),
                                to: ledger
                            )
                        }
                        let disclosure = DisclosureRecord(
                            decision: Int(consentIndex),
                            share: Share(
                                recipient: "rtlb",
                                purpose: "referral",
                                information: ["register-entry"],
                                channel: "secure-email",
                                storageRegion: "nz"
                            ),
                            date: "2026-06-01"
                        )
                        _ = try await append(
                            ConsentEntry(
                                actor: EntryActor(org: "school-a"),
                                subject: subjectID(subject),
                                body: disclosure
                            ),
                            to: ledger
                        )
                        let withdrawal = ConsentWithdrawn(consent: Int(consentIndex), date: "2026-07-01", by: "parent")
                        _ = try await append(
                            ConsentEntry(
                                actor: EntryActor(org: "school-a"),
                                subject: subjectID(subject),
                                body: withdrawal
                            ),
                            to: ledger
                        )
                    }
                }
            }
            try await group.waitForAll()
        }
        await ledger.close()
    }
}
