import ArgumentParser
import Foundation
import Logging
import Synchronization
import TiakiConsent
import TiakiLedger
import TiakiModel
import TiakiPolicy

struct WithdrawalBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "withdrawals",
        abstract: "Withdraw on one instance, decide on another: count the decisions that missed the withdrawal.",
        discussion: """
            Two instances (each its own data directory, connections, consent state and findings) on one empty \
            PostgreSQL database. For each pair, 16 at a time: a child and their consent recorded through one \
            instance; a decision through the other, which must permit; the withdrawal through the first, \
            acknowledged; then at once a decision through the other, which must deny. A permit after an \
            acknowledged withdrawal is a stale decision. Instances alternate roles from pair to pair.
            """
    )

    @Option(help: ArgumentHelp("An empty PostgreSQL database.", valueName: "postgres://user@host/db"))
    var database: String

    @Option(help: "How many withdraw-then-decide pairs.")
    var pairs = 10_000

    @Option(help: ArgumentHelp("The policy directory.", valueName: "dir"))
    var policies = "./Policies"

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() async throws {
        let policy = try PolicySet.load(directory: policies)
        let address = try PostgresAddress(url: database)
        let work = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tiaki-bench-withdrawals-\(UUID().uuidString)"
        ).path
        defer { try? FileManager.default.removeItem(atPath: work) }
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let a = try await TiakiServices.open(
            LedgerDirectory(path: work + "/a"),
            database: address,
            policy: policy,
            logger: logger
        )
        guard a.ledger.checkpoint.size <= 1 else {
            await a.close()
            throw ValidationError("\(address.redacted) already holds a ledger; give an empty database")
        }
        try LedgerDirectory(path: work + "/a").copyKeys(to: LedgerDirectory(path: work + "/b"))
        let b = try await TiakiServices.open(
            LedgerDirectory(path: work + "/b"),
            database: address,
            policy: policy,
            logger: logger
        )
        for (id, kind) in [("school-a", "school"), ("rtlb", "rtlb")] {
            _ = try await a.organisations.register(.init(id: id, kind: kind, name: id))
        }
        let school = EntryActor(org: "school-a")
        let next = Counter(0)
        let total = UInt64(pairs)
        let tally = Tally()
        let started = ContinuousClock.now
        note("\(pairs) pairs over two instances …")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    while let i = next.take(below: total) {
                        let (writer, decider) = i % 2 == 0 ? (a, b) : (b, a)
                        let child = try await writer.subjects.register(
                            SubjectInput(birthMonth: "2015-04"),
                            actor: school
                        )
                        let subject = child.entry.subject ?? ""
                        let consent = try await writer.consents.grant(
                            subject: subject,
                            BenchData.consentInput(Int(i)),
                            actor: school
                        )
                        let request = ShareRequest(
                            subject: subject,
                            share: Share(
                                recipient: "rtlb",
                                purpose: "referral",
                                information: ["register-entry"],
                                channel: "secure-email",
                                storageRegion: "nz"
                            ),
                            date: "2026-06-01",
                            requester: "school-a",
                            requesterRole: "member"
                        )
                        let before = try await decider.decisions.decideAndRecord(request, actor: school)
                        if before.decision.effect == .permit { tally.permits.add(1, ordering: .relaxed) }
                        _ = try await writer.consents.withdraw(
                            consent.index,
                            WithdrawalInput(by: "parent"),
                            actor: school
                        )
                        let after = try await decider.decisions.decideAndRecord(request, actor: school)
                        if after.decision.effect != .deny { tally.stale.add(1, ordering: .relaxed) }
                        if (i + 1) % 1000 == 0 { note("  \(i + 1) pairs") }
                    }
                }
            }
            try await group.waitForAll()
        }
        let seconds = Bench.seconds(ContinuousClock.now - started)
        let entries = a.ledger.checkpoint.size
        await a.close()
        await b.close()
        let staleCount = tally.stale.load(ordering: .relaxed)
        let permits = tally.permits.load(ordering: .relaxed)
        if json {
            let object: [String: JSONValue] = [
                "pairs": .number(Double(pairs)), "staleDecisions": .number(Double(staleCount)),
                "permittedBeforeWithdrawal": .number(Double(permits)),
                "seconds": .number((seconds * 10).rounded() / 10),
            ]
            print(String(decoding: try CanonicalJSON.encode(.object(object)), as: UTF8.self))
        } else {
            print("withdraw-then-decide across two instances on PostgreSQL (\(pairs) pairs, 16 at a time)")
            print("  permitted before the withdrawal   \(permits) of \(pairs)")
            print("  stale decisions after it          \(staleCount)")
            print(String(format: "  time                             %.1f s (%llu entries)", seconds, entries))
        }
        if staleCount > 0 || permits != pairs { throw ExitCode(1) }
    }
}

/// What the pairs found, counted from many tasks.
final class Tally: Sendable {
    let stale = Atomic<Int>(0)
    let permits = Atomic<Int>(0)
}
