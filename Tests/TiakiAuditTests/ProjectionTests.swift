import Foundation
import Testing
import TiakiAudit
import TiakiConsent
import TiakiLedger
import TiakiModel
import TiakiPolicy
import TiakiSimulation

/// The findings projection the service keeps must say exactly what the full pass says (`tiaki audit findings`),
/// however the entries arrive: read at start, or fed commit by commit while decisions and withdrawals race.
@Suite("The findings projection agrees with the full pass")
struct ProjectionTests {
    /// Builds a projection from the first `split` entries, then feeds the rest in commit-sized batches of varying
    /// size, catching up now and then as the server does; returns its answer.
    func projected(
        _ all: [(UInt64, [UInt8])],
        split: Int,
        options: AuditOptions,
        seed: UInt64
    ) async throws -> AuditResult {
        let projection = FindingsProjection(earliestInFlight: { nil })
        let start = try bundleDirectory(all[..<split])
        defer { try? FileManager.default.removeItem(atPath: start) }
        try projection.build(from: try EntryReader(path: start))
        var rng = seed
        var i = split
        while i < all.count {
            rng = rng &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let n = min(all.count - i, 1 + Int(rng >> 33) % 40)
            projection.feed(
                all[i..<(i + n)].map { index, bytes in
                    (
                        index,
                        Result {
                            var entry = try ConsentEntry(bytes: bytes)
                            entry.index = index
                            return entry
                        }
                    )
                }
            )
            if rng & 3 == 0 { projection.catchUp() }
            // Now and then an answer in between, as requests would ask: what it keeps between answers (each
            // child's findings, the ordered list) must come out the same as a fresh pass's at the end.
            if rng & 15 == 1 {
                _ = await projection.result(options: options, covering: UInt64(i + n), timeout: .seconds(5))
            }
            i += n
        }
        return try #require(
            await projection.result(options: options, covering: UInt64(all.count), timeout: .seconds(5))
        )
    }

    @Test("on every AuditSamples scenario, built at start and fed as commits, byte for byte the golden findings")
    func samples() async throws {
        let scenarios = repositoryRoot.appendingPathComponent("AuditSamples/scenarios")
        for name in try FileManager.default.contentsOfDirectory(atPath: scenarios.path).sorted() {
            let dir = scenarios.appendingPathComponent(name)
            let golden = try Data(contentsOf: dir.appendingPathComponent("findings.json"))
            let asOf = try #require(try JSONParser().parse(Array(golden))["asOf"]?.stringValue.flatMap(Day.init))
            let all = try ledgerEntries(dir.appendingPathComponent("bundle").path)
            for split in [0, all.count / 3, all.count] {
                let result = try await projected(all, split: split, options: AuditOptions(asOf: asOf), seed: 7)
                var bytes = try result.findingsJSON(options: AuditOptions(asOf: asOf))
                bytes.append(0x0A)
                #expect(bytes == Array(golden), "\(name), split at \(split): \(String(decoding: bytes, as: UTF8.self))")
            }
        }
    }

    @Test("on a simulated term, the same findings, replays and mismatches as the full pass, at any split")
    func simulatedYear() async throws {
        let (path, all) = try await simulatedLedger(subjects: 120, days: 200, seed: 11)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(all.count > 1000)
        for asOf in ["2026-06-30", "2026-08-20"] {
            var options = AuditOptions(asOf: try #require(Day(asOf)))
            options.expiringWithinDays = 60
            let full = try LedgerAudit.run(EntryReader(path: path), options: options)
            #expect(!full.findings.isEmpty && full.decisionsReplayed > 100)
            for split in [0, all.count / 2] {
                let live = try await projected(all, split: split, options: options, seed: UInt64(split))
                #expect(try live.findingsJSON(options: options) == (try full.findingsJSON(options: options)))
                #expect(live.decisionsReplayed == full.decisionsReplayed && live.mismatches == full.mismatches)
                #expect(live.replayedLate == full.replayedLate)
            }
        }
    }

    @Test(
        "fed by a running service while decisions and withdrawals for the same children race: every decision replayed at its basis"
    )
    func racing() async throws {
        try await AuditFixture.run { f in
            let core = f.services.core
            let projection = FindingsProjection(earliestInFlight: { core.decisionsInFlight.earliest })
            core.observeApplied { projection.feed($0) }
            try projection.build(from: try EntryReader(path: f.path))
            var children: [(String, Int)] = []
            for i in 0..<12 {
                let child = try await f.child(name: "Child \(i)")
                children.append((child, try await f.consent(child)))
            }
            // Many decisions for each child while its consent is withdrawn: some land after the withdrawal was
            // applied but were decided before it (their basis is earlier).
            // Meanwhile the projection catches up as often as it can, as requests for findings would make it.
            let racing = Task {
                while !Task.isCancelled {
                    projection.catchUp()
                    await Task.yield()
                }
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (child, consent) in children {
                    for _ in 0..<15 {
                        group.addTask {
                            _ = try await f.decisions.decideAndRecord(
                                f.request(child, date: "2026-03-01"),
                                actor: f.school
                            )
                        }
                    }
                    group.addTask {
                        try await Task.sleep(for: .milliseconds(Int.random(in: 0..<5)))
                        _ = try await f.services.consents.withdraw(
                            consent,
                            WithdrawalInput(by: "parent"),
                            actor: f.school
                        )
                    }
                }
                try await group.waitForAll()
            }
            racing.cancel()
            let size = f.services.ledger.checkpoint.size
            let options = AuditOptions(asOf: try #require(Day("2026-03-02")))
            let live = try #require(await projection.result(options: options, covering: size, timeout: .seconds(10)))
            let full = try LedgerAudit.run(EntryReader(path: f.path), options: options)
            #expect(live.decisionsReplayed == 12 * 15 && full.decisionsReplayed == 12 * 15)
            #expect(live.mismatches.isEmpty && full.mismatches.isEmpty, "\(live.mismatches)")
            #expect(live.replayedLate == 0, "every decision was replayed on the state of its basis")
            #expect(try live.findingsJSON(options: options) == (try full.findingsJSON(options: options)))
        }
    }

    @Test(
        "a withdrawal written while a decision made before it is still being written: the decision is replayed on the state it saw, not the later one"
    )
    func decisionInFlight() async throws {
        try await AuditFixture.run { f in
            let core = f.services.core
            let guarded = FindingsProjection(earliestInFlight: { core.decisionsInFlight.earliest })
            // The same projection without the guard, to show what it prevents.
            let unguarded = FindingsProjection(earliestInFlight: { nil })
            core.observeApplied {
                guarded.feed($0)
                unguarded.feed($0)
            }
            try guarded.build(from: try EntryReader(path: f.path))
            try unguarded.build(from: try EntryReader(path: f.path))
            let child = try await f.child()
            let consent = try await f.consent(child)
            let gate = Gate()
            let decision = Task {
                try await f.decisions.decideAndRecord(f.request(child), actor: f.school) { await gate.wait() }
            }
            while core.decisionsInFlight.earliest == nil { await Task.yield() }
            let basis = try #require(core.decisionsInFlight.earliest)
            let withdrawal = try await f.services.consents.withdraw(
                consent,
                WithdrawalInput(by: "parent"),
                actor: f.school
            )
            #expect(UInt64(withdrawal.index) == basis, "the withdrawal is the entry right after the decision's basis")
            #expect(guarded.catchUp() == basis, "the guarded projection holds the withdrawal back")
            #expect(unguarded.catchUp() == basis + 1)
            await gate.open()
            let (made, recorded) = try await decision.value
            #expect(made.effect == .permit && made.basis == basis && UInt64(recorded.index) == basis + 1)

            let size = f.services.ledger.checkpoint.size
            let options = AuditOptions(asOf: try #require(Day("2026-03-02")))
            let live = try #require(await guarded.result(options: options, covering: size, timeout: .seconds(5)))
            let full = try LedgerAudit.run(EntryReader(path: f.path), options: options)
            #expect(live.mismatches.isEmpty && full.mismatches.isEmpty && live.replayedLate == 0)
            #expect(try live.findingsJSON(options: options) == (try full.findingsJSON(options: options)))
            let wrong = try #require(await unguarded.result(options: options, covering: size, timeout: .seconds(5)))
            #expect(wrong.replayedLate == 1 && wrong.mismatches.count == 1, "without the guard the replay is wrong")
        }
    }
}

/// Holds a task until opened.
actor Gate {
    private var isOpen = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func wait() async {
        if isOpen { return }
        await withCheckedContinuation { waiting.append($0) }
    }

    func open() {
        isOpen = true
        for continuation in waiting { continuation.resume() }
        waiting = []
    }
}
