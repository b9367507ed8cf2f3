import Foundation
import Logging
import Synchronization
import Testing
import TiakiLedger
import TiakiModel
import TiakiPolicy
import TiakiTestSupport

@testable import TiakiConsent

/// Two Tiaki instances on one PostgreSQL database, each with its own data directory holding the same keys; closed
/// and removed however `body` ends.
func withTwoInstances(
    _ body: (_ a: TiakiServices, _ b: TiakiServices) async throws -> Void
) async throws {
    try await ScratchPostgres.withDatabase { database in
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-shared-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let logger = Logger(label: "test")
        let a = try await TiakiServices.open(
            LedgerDirectory(path: root + "/a"),
            database: database,
            policy: testPolicy,
            logger: logger
        )
        let b: TiakiServices
        do {
            try LedgerDirectory(path: root + "/a").copyKeys(to: LedgerDirectory(path: root + "/b"))
            b = try await TiakiServices.open(
                LedgerDirectory(path: root + "/b"),
                database: database,
                policy: testPolicy,
                logger: logger
            )
        } catch {
            await a.close()
            throw error
        }
        do {
            _ = try await a.organisations.register(.init(id: "school-a", kind: "school", name: "School A"))
            _ = try await b.organisations.register(.init(id: "rtlb-a", kind: "rtlb", name: "RTLB A"))
            try await body(a, b)
        } catch {
            await a.close()
            await b.close()
            throw error
        }
        await a.close()
        await b.close()
    }
}

@Suite(
    "Several instances on one PostgreSQL ledger",
    .enabled(if: ScratchPostgres.available, "set TIAKI_TEST_DATABASE_URL")
)
struct SharedLedgerTests {
    let school = EntryActor(org: "school-a", credential: "cred-1")

    func request(_ subject: String) -> ShareRequest {
        ShareRequest(
            subject: subject,
            share: Share(
                recipient: "rtlb-a",
                purpose: "referral",
                information: ["register-entry"],
                channel: "secure-email",
                storageRegion: "nz"
            ),
            date: "2026-06-01",
            requester: "school-a",
            requesterRole: "member"
        )
    }

    @Test("a withdrawal acknowledged by one instance is respected by every decision the other makes after it")
    func withdrawThenDecide() async throws {
        try await withTwoInstances { a, b in
            let input = try consentInput()
            var stale = 0
            for pair in 0..<60 {
                // Alternate which instance withdraws and which decides.
                let (writer, decider) = pair % 2 == 0 ? (a, b) : (b, a)
                let subject = try #require(
                    try await writer.subjects.register(SubjectInput(birthMonth: "2015-04"), actor: school).entry.subject
                )
                let consent = try await writer.consents.grant(subject: subject, input, actor: school)
                let before = try await decider.decisions.decideAndRecord(request(subject), actor: school)
                #expect(before.decision.effect == .permit, "pair \(pair): the consent recorded elsewhere is seen")
                _ = try await writer.consents.withdraw(consent.index, WithdrawalInput(by: "parent"), actor: school)
                let after = try await decider.decisions.decideAndRecord(request(subject), actor: school)
                if after.decision.effect != .deny { stale += 1 }
            }
            #expect(stale == 0)
            // Both instances hold the same state as a replay of the one ledger.
            try await a.ledger.synchronize()
            try await b.ledger.synchronize()
            let replayed = try ConsentState.replay(a.ledger)
            #expect(a.core.read { $0 == replayed })
            #expect(b.core.read { $0 == replayed })
        }
    }

    @Test("withdrawals of one consent racing on two instances record one; the other is told it is already withdrawn")
    func racingWithdrawals() async throws {
        try await withTwoInstances { a, b in
            let input = try consentInput()
            var consents: [Int] = []
            for _ in 0..<12 {
                let subject = try #require(
                    try await a.subjects.register(SubjectInput(birthMonth: "2015-04"), actor: school).entry.subject
                )
                consents.append(try await a.consents.grant(subject: subject, input, actor: school).index)
            }
            let school = school
            for consent in consents {
                let outcomes = await withTaskGroup(of: Result<Recorded, any Error>.self) { group in
                    for services in [a, b] {
                        group.addTask {
                            do {
                                return .success(
                                    try await services.consents.withdraw(
                                        consent,
                                        WithdrawalInput(by: "parent"),
                                        actor: school
                                    )
                                )
                            } catch {
                                return .failure(error)
                            }
                        }
                    }
                    var all: [Result<Recorded, any Error>] = []
                    for await outcome in group { all.append(outcome) }
                    return all
                }
                let recorded = outcomes.filter { if case .success = $0 { true } else { false } }
                #expect(recorded.count == 1, "consent \(consent)")
                for case .failure(let error) in outcomes {
                    #expect((error as? TiakiError)?.code == .conflict, "\(error)")
                }
            }
            try await a.ledger.synchronize()
            #expect(a.core.read { $0.counts[.consentWithdrawn] } == consents.count)
        }
    }

    @Test("a child registered through one instance is found by NSN, and their name opened, through the other")
    func registeredElsewhere() async throws {
        try await withTwoInstances { a, b in
            let recorded = try await a.subjects.register(
                SubjectInput(birthMonth: "2014-09", nsn: "123456789", name: "Aroha Smith"),
                actor: school
            )
            let subject = try #require(recorded.entry.subject)
            try await b.ledger.synchronize()
            #expect(try b.subjects.find(nsn: "123456789", for: .member("school-a")) == subject)
            let body = try #require(recorded.entry.body as? SubjectRegistered)
            #expect(try b.core.unseal(try #require(body.nameSealed), subject: subject) == "Aroha Smith")
            // The same NSN registered again through the other instance is the same child, not a second one.
            await #expect(throws: TiakiError(.conflict, "")) {
                try await b.subjects.register(SubjectInput(birthMonth: "2014-09", nsn: "123456789"), actor: school)
            }
        }
    }
}

@Suite("Moving a SQLite ledger into PostgreSQL", .enabled(if: ScratchPostgres.available, "set TIAKI_TEST_DATABASE_URL"))
struct MigrationTests {
    @Test("the same entries, checkpoints and vault arrive; the moved ledger serves as before; a second move is refused")
    func moveAndServe() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-move-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let logger = Logger(label: "test")
        var configuration = LedgerConfiguration()
        configuration.checkpointInterval = 8
        let before = try await TiakiServices.open(
            LedgerDirectory(path: path),
            configuration: configuration,
            policy: testPolicy,
            logger: logger
        )
        let school = EntryActor(org: "school-a")
        _ = try await before.organisations.register(.init(id: "school-a", kind: "school", name: "School A"))
        _ = try await before.organisations.register(.init(id: "rtlb-a", kind: "rtlb", name: "RTLB A"))
        let token = try await before.credentials.issue(.init(org: "school-a", role: .member, holder: "a test")).token
        var children: [String] = []
        for i in 0..<20 {
            let r = try await before.subjects.register(
                SubjectInput(birthMonth: "2015-04", nsn: String(100_000_000 + i), name: "Child \(i)"),
                actor: school
            )
            let subject = try #require(r.entry.subject)
            children.append(subject)
            let c = try await before.consents.grant(subject: subject, try consentInput(), actor: school)
            if i % 4 == 0 {
                _ = try await before.consents.withdraw(c.index, WithdrawalInput(by: "parent"), actor: school)
            }
        }
        let state = before.core.snapshot
        let checkpoint = before.ledger.checkpoint
        await before.close()

        try await ScratchPostgres.withDatabase { database in
            let (summary, vault) = try DataMigration.run(
                from: LedgerDirectory(path: path),
                to: database,
                logger: logger
            )
            #expect(summary.entries == checkpoint.size)
            #expect(summary.root == checkpoint.root)
            #expect(summary.checkpoints > 2)
            #expect(vault["subject_keys"] == 20 && vault["subject_lookup"] == 20 && vault["credentials"] == 1)
            // Served from PostgreSQL: the same state, names open, NSNs find, the token signs in.
            let after = try await TiakiServices.open(
                LedgerDirectory(path: path),
                database: database,
                policy: testPolicy,
                publish: false,
                logger: logger
            )
            #expect(after.core.read { $0 == state })
            #expect(try after.subjects.find(nsn: "100000007", for: .member("school-a")) == children[7])
            let registered = try #require(try after.core.entries(of: children[3], kinds: [.subjectRegistered]).first)
            let body = try #require(registered.body as? SubjectRegistered)
            #expect(try after.core.unseal(try #require(body.nameSealed), subject: children[3]) == "Child 3")
            #expect(try after.credentials.authenticate(token: token)?.org == "school-a")
            await after.close()
            // Nothing is moved into a database that already holds a ledger.
            #expect(throws: LedgerError(.invalidArgument, "")) {
                try DataMigration.run(from: LedgerDirectory(path: path), to: database, logger: logger)
            }
        }
    }
}
