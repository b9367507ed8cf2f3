import Foundation
import Logging
import Synchronization
import Testing
import TiakiTestSupport

@testable import TiakiLedger

/// Data directories for instances of one ledger: the first creates the keys, the others get copies of them.
struct InstanceDirectories: ~Copyable {
    let root: String

    init() {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-pg-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    func directory(_ n: Int) -> LedgerDirectory { LedgerDirectory(path: root + "/instance-\(n)") }

    /// Copies the first instance's keys into instance `n`'s directory (mode kept).
    func copyKeys(to n: Int) throws { try directory(0).copyKeys(to: directory(n)) }

    deinit { try? FileManager.default.removeItem(atPath: root) }
}

@Suite("Ledger on PostgreSQL", .enabled(if: ScratchPostgres.available, "set TIAKI_TEST_DATABASE_URL (.ci/run does)"))
struct PostgresLedgerTests {
    let logger = Logger(label: "test")

    /// Opens `count` instances of one ledger on `database`, each in its own data directory with the same keys.
    func instances(_ count: Int, on database: PostgresAddress, _ dirs: borrowing InstanceDirectories) throws -> [Ledger]
    {
        var ledgers = [try Ledger.open(dirs.directory(0), database: database, logger: logger)]
        for n in 1..<count {
            try dirs.copyKeys(to: n)
            ledgers.append(try Ledger.open(dirs.directory(n), database: database, logger: logger))
        }
        return ledgers
    }

    @Test("three instances with concurrent writers form one log: one order, no gaps, every acknowledged entry once")
    func threeInstancesOneOrder() async throws {
        try await ScratchPostgres.withDatabase { database in
            let dirs = InstanceDirectories()
            let ledgers = try instances(3, on: database, dirs)
            let writers = 8
            let perWriter = 40
            let receipts = try await withThrowingTaskGroup(of: [(String, AppendReceipt)].self) { group in
                for (n, ledger) in ledgers.enumerated() {
                    for w in 0..<writers {
                        group.addTask {
                            var out: [(String, AppendReceipt)] = []
                            for i in 0..<perWriter {
                                let id = "i\(n)-w\(w)-\(i)"
                                out.append((id, try await ledger.append(["id": .string(id)])))
                            }
                            return out
                        }
                    }
                }
                var all: [(String, AppendReceipt)] = []
                for try await part in group { all += part }
                return all
            }
            let total = 3 * writers * perWriter
            #expect(receipts.count == total)
            // No index used twice, none skipped.
            #expect(Set(receipts.map(\.1.index)) == Set(0..<UInt64(total)))
            // Each acknowledged entry is in the ledger once, at the index its receipt gave.
            let export = dirs.root + "/export"
            let summary = try LedgerExport.write(
                database: database,
                directory: dirs.directory(0),
                to: export,
                logger: logger
            )
            #expect(summary.entries == UInt64(total))
            let lines = try String(contentsOfFile: export + "/entries.jsonl", encoding: .utf8).split(separator: "\n")
            #expect(lines.count == total)
            for (id, receipt) in receipts {
                #expect(Array(lines[Int(receipt.index)].utf8) == receipt.entry, "entry \(id)")
            }
            // Every commit carried a checkpoint signed with the log's one key, and the bundle verifies.
            let report = try LedgerVerifier(trustedKey: ledgers[0].verifier).verify(path: export)
            #expect(report.isValid, "\(report.failure?.message ?? "")")
            #expect(report.entries == UInt64(total))
            // Any instance proves any entry once it has caught up.
            try await ledgers[1].synchronize()
            #expect(ledgers[1].checkpoint.size == UInt64(total))
            for receipt in receipts.map(\.1) where receipt.index % 16 == 0 {
                let proof = try ledgers[1].inclusionProof(index: receipt.index, size: receipt.checkpoint.size)
                #expect(proof.verify(leafHash: receipt.leafHash, root: receipt.checkpoint.root))
            }
            for ledger in ledgers { await ledger.close() }
        }
    }

    @Test("an instance catches up with what others committed, and hands it to its commit observer in order")
    func catchUp() async throws {
        try await ScratchPostgres.withDatabase { database in
            let dirs = InstanceDirectories()
            let ledgers = try instances(2, on: database, dirs)
            let seen = Mutex<[UInt64]>([])
            ledgers[1].observeCommits { batch in seen.withLock { $0 += batch.map(\.index) } }
            for i in 0..<5 { _ = try await ledgers[0].append(["n": .number(Double(i))]) }
            #expect(ledgers[1].checkpoint.size == 0)
            try await ledgers[1].synchronize()
            #expect(ledgers[1].checkpoint.size == 5)
            #expect(ledgers[1].checkpoint.root == ledgers[0].checkpoint.root)
            #expect(seen.withLock { $0 } == [0, 1, 2, 3, 4])
            // Its own next append comes after them, and the observer sees them all in order.
            _ = try await ledgers[0].append(["n": 5])
            let receipt = try await ledgers[1].append(["n": 6])
            #expect(receipt.index == 6)
            #expect(seen.withLock { $0 } == [0, 1, 2, 3, 4, 5, 6])
            for ledger in ledgers { await ledger.close() }
        }
    }

    @Test("appends that come while another instance holds the head lock join the waiting commit")
    func appendsJoinWhileLockIsAwaited() async throws {
        try await ScratchPostgres.withDatabase { database in
            let dirs = InstanceDirectories()
            let ledger = try Ledger.open(dirs.directory(0), database: database, logger: logger)
            let pool = try PostgresPool(database, logger: logger)
            defer { pool.close() }
            // Another instance's commit, as far as the lock goes: the head row locked until told to go on.
            let holder = try await HeadLockHolder.lock(pool)
            let before = ledger.commits
            let receipts = try await withThrowingTaskGroup(of: AppendReceipt.self) { group in
                // On any exit: a lock still held would keep the appends, and so this group, waiting for ever.
                defer { holder.release() }
                group.addTask { try await ledger.append(["n": 0]) }
                // The first append's commit is now waiting for the lock; nine more come meanwhile.
                try await Task.sleep(for: .milliseconds(300))
                for n in 1..<10 { group.addTask { try await ledger.append(["n": .number(Double(n))]) } }
                try await Task.sleep(for: .milliseconds(700))
                holder.release()
                var all: [AppendReceipt] = []
                for try await receipt in group { all.append(receipt) }
                return all
            }
            try await holder.finished()
            #expect(receipts.count == 10)
            #expect(ledger.commits - before == 1, "one transaction took all ten")
            #expect(Set(receipts.map(\.checkpoint.size)) == [10])
            #expect(Set(receipts.map(\.index)) == Set(0..<10))
            await ledger.close()
        }
    }

    @Test("a check made before another instance wrote under the same key is refused as a conflict")
    func conflictOnKey() async throws {
        try await ScratchPostgres.withDatabase { database in
            let dirs = InstanceDirectories()
            let ledgers = try instances(2, on: database, dirs)
            var first = try EntryDraft(["subject": "s-1", "n": 0])
            first.key = "s-1"
            _ = try await ledgers[0].append(first)
            try await ledgers[1].synchronize()
            let checked = ledgers[1].checkpoint.size
            // Instance 0 writes about s-1 after instance 1 checked.
            _ = try await ledgers[0].append(first)
            var late = try EntryDraft(["subject": "s-1", "n": 1])
            late.key = "s-1"
            late.checkedAt = checked
            await #expect(throws: LedgerError(.conflict, "")) { try await ledgers[1].append(late) }
            // Another key is not held up; and a fresh check goes through.
            var other = try EntryDraft(["subject": "s-2"])
            other.key = "s-2"
            other.checkedAt = checked
            _ = try await ledgers[1].append(other)
            late.checkedAt = ledgers[1].checkpoint.size
            _ = try await ledgers[1].append(late)
            for ledger in ledgers { await ledger.close() }
        }
    }

    @Test("instances with another log key, a database that is not Tiaki's, a newer schema: refused, nothing written")
    func refusals() async throws {
        try await ScratchPostgres.withDatabase { database in
            let dirs = InstanceDirectories()
            let ledger = try Ledger.open(dirs.directory(0), database: database, logger: logger)
            _ = try await ledger.append(["n": 1])
            await ledger.close()
            // Another key.
            let stranger = LedgerDirectory(path: dirs.root + "/stranger")
            _ = try Ledger.open(LedgerDirectory(path: dirs.root + "/elsewhere"), logger: logger)
            try FileManager.default.createDirectory(
                atPath: stranger.path,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
            try FileManager.default.copyItem(atPath: dirs.root + "/elsewhere/log.key", toPath: stranger.privateKeyPath)
            let wrongKey = #expect(throws: LedgerError.self) {
                try Ledger.open(stranger, database: database, logger: logger)
            }
            #expect(wrongKey?.code == .noTrustedSignature)
            #expect(wrongKey?.message.contains("every instance must use the one log's key") == true)
            // No key at all: told to copy the keys.
            let keyless = #expect(throws: LedgerError.self) {
                try Ledger.open(LedgerDirectory(path: dirs.root + "/keyless"), database: database, logger: logger)
            }
            #expect(keyless?.message.contains("copy log.key") == true)
            // A newer schema.
            let pool = try PostgresPool(database, logger: logger)
            defer { pool.close() }
            _ = try pool.withSession { try $0.query("UPDATE tiaki_schema SET version = 99 WHERE component = 'ledger'") }
            let newer = #expect(throws: LedgerError.self) {
                try Ledger.open(dirs.directory(0), database: database, logger: logger)
            }
            #expect(newer?.message.contains("newer than this tiaki knows") == true)
            _ = try pool.withSession { try $0.query("UPDATE tiaki_schema SET version = 1 WHERE component = 'ledger'") }
            // The ledger is as it was.
            let reopened = try Ledger.open(dirs.directory(0), database: database, logger: logger)
            #expect(reopened.checkpoint.size == 1)
            await reopened.close()
        }
        // A database holding tables of something else.
        try await ScratchPostgres.withDatabase { database in
            let pool = try PostgresPool(database, logger: logger)
            defer { pool.close() }
            _ = try pool.withSession { try $0.query("CREATE TABLE invoices (id INTEGER)") }
            let dirs = InstanceDirectories()
            let error = #expect(throws: LedgerError.self) {
                try Ledger.open(dirs.directory(0), database: database, logger: logger)
            }
            #expect(error?.code == .notALedger)
            #expect(!FileManager.default.fileExists(atPath: dirs.directory(0).privateKeyPath))
        }
        // A server that is not there, and URLs that are not PostgreSQL's.
        let nowhere = try PostgresAddress(url: "postgres://tiaki@127.0.0.1:1/tiaki")
        let unreachable = #expect(throws: LedgerError.self) {
            try Ledger.open(LedgerDirectory(path: "/nonexistent/tiaki"), database: nowhere, logger: logger)
        }
        #expect(unreachable?.message.hasPrefix("cannot connect to postgres://tiaki@127.0.0.1:1/tiaki") == true)
        for bad in [
            "mysql://u@h/d", "postgres://h/d", "postgres://u@h", "postgres://u@h/d?sslmode=allow",
            "postgres://u@h/d?sslmode=require&sslrootcert=/ca.pem", "postgres://u@h/d?sslrootcert=",
            "postgres://u@h/d?connect_timeout=3",
        ] {
            #expect(throws: LedgerError.self, "\(bad)") { try PostgresAddress(url: bad) }
        }
        let full = try PostgresAddress(url: "postgres://u:p%40ss@h:6543/d?sslmode=verify-full&sslrootcert=/etc/ca.pem")
        #expect(full.tls == .verifyFull && full.rootCertificate == "/etc/ca.pem" && full.password == "p@ss")
        #expect(try PostgresAddress(url: full.url) == full)
        #expect(full.redacted == "postgres://u@h:6543/d?sslmode=verify-full")
    }

    @Test(
        "over TLS: require, verify-ca and verify-full connect encrypted and keep the ledger; an untrusted certificate is one clear error",
        .enabled(if: ScratchPostgres.certificateAuthority != nil, "set TIAKI_TEST_DATABASE_CA")
    )
    func tls() async throws {
        let authority = try #require(ScratchPostgres.certificateAuthority)
        try await ScratchPostgres.withDatabase { database in
            let plain = try PostgresPool(database, logger: logger)
            #expect(try plain.encryption() == nil)
            plain.close()
            let dirs = InstanceDirectories()
            var written = 0
            for (mode, root) in [
                (PostgresAddress.TLSMode.require, nil), (.verifyCA, authority), (.verifyFull, authority),
            ] {
                var address = database
                address.tls = mode
                address.rootCertificate = root
                let ledger = try Ledger.open(dirs.directory(0), database: address, logger: logger)
                var draft = try EntryDraft(["subject": .string("s-\(written)")])
                draft.key = "s-\(written)"
                _ = try await ledger.append(draft)
                written += 1
                #expect(ledger.checkpoint.size == UInt64(written), "\(mode)")
                await ledger.close()
                let pool = try PostgresPool(address, logger: logger)
                defer { pool.close() }
                let encrypted = try pool.encryption()
                #expect(encrypted?.hasPrefix("TLSv1.") == true, "\(mode)")
            }
            // Checked against the system's authorities, the test server's own certificate is not trusted.
            var untrusted = database
            untrusted.tls = .verifyFull
            let refused = #expect(throws: LedgerError.self) {
                try Ledger.open(dirs.directory(0), database: untrusted, logger: logger)
            }
            #expect(
                refused?.message.contains("its TLS certificate is not trusted") == true,
                "\(String(describing: refused))"
            )
        }
    }

    @Test("a database at schema version 1 is brought to version 2 when a ledger opens on it, and keeps its rules")
    func migratesFromVersionOne() async throws {
        try await ScratchPostgres.withDatabase { database in
            let pool = try PostgresPool(database, logger: logger)
            defer { pool.close() }
            try PostgresMigrations.migrate(pool, component: "ledger", steps: [PostgresLedgerStorage.schema[0]])
            let dirs = InstanceDirectories()
            let ledger = try Ledger.open(dirs.directory(0), database: database, logger: logger)
            let version = try pool.withSession { try PostgresMigrations.version(of: "ledger", in: $0) }
            #expect(version == PostgresLedgerStorage.schema.count)
            for n in 0..<3 { _ = try await ledger.append(["n": .number(Double(n))]) }
            #expect(ledger.checkpoint.size == 3)
            await ledger.close()
            let gap =
                "INSERT INTO entries (idx, entry, leaf, nodes) VALUES (4, 'x', decode(repeat('00', 32), 'hex'), '')"
            let refused = #expect(throws: PostgresFailure.self) { try pool.withSession { try $0.query(gap) } }
            #expect(refused?.message.contains("appended at the next index only") == true)
            // The per-row function is gone with its trigger.
            #expect(throws: PostgresFailure.self) {
                try pool.withSession { try $0.query("SELECT 'tiaki_entries_next()'::regprocedure") }
            }
        }
    }

    @Test("entries, checkpoints and keys are append-only in the database itself")
    func appendOnlyTriggers() async throws {
        try await ScratchPostgres.withDatabase { database in
            let dirs = InstanceDirectories()
            let ledger = try Ledger.open(dirs.directory(0), database: database, logger: logger)
            var draft = try EntryDraft(["subject": "s-1"])
            draft.key = "s-1"
            _ = try await ledger.append(draft)
            await ledger.close()
            let pool = try PostgresPool(database, logger: logger)
            defer { pool.close() }
            let leaf = "decode(repeat('00', 32), 'hex')"
            for sql in [
                "UPDATE entries SET entry = 'x'", "DELETE FROM entries", "TRUNCATE entries",
                "INSERT INTO entries (idx, entry, leaf, nodes) VALUES (5, 'x', \(leaf), '')",
                "INSERT INTO entries (idx, entry, leaf, nodes) VALUES (1, 'x', \(leaf), ''), (3, 'x', \(leaf), '')",
                "INSERT INTO entries (idx, entry, leaf, nodes) VALUES (0, 'x', \(leaf), '')",
                "DELETE FROM checkpoints", "UPDATE head SET size = 0", "DELETE FROM head", "DELETE FROM entry_keys",
            ] {
                #expect(throws: PostgresFailure.self, "\(sql)") { try pool.withSession { try $0.query(sql) } }
            }
        }
    }
}

/// Another instance's commit, as far as the head's lock goes: the row locked in a transaction on a thread of its own
/// (not one of the few the tasks run on, which a blocked wait would take from them) until released.
final class HeadLockHolder: Sendable {
    private let released = DispatchSemaphore(value: 0)
    private let releasedOnce = Atomic<Bool>(false)
    private let outcome = Mutex<Result<Void, any Error>?>(nil)
    private let ended = DispatchSemaphore(value: 0)

    static func lock(_ pool: PostgresPool) async throws -> HeadLockHolder {
        let holder = HeadLockHolder()
        let locked = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let result = Result<Void, any Error> {
                try pool.transaction { session in
                    try session.query("SELECT size FROM head WHERE id = 1 FOR UPDATE")
                    locked.signal()
                    holder.released.wait()
                }
            }
            holder.outcome.withLock { $0 = result }
            locked.signal()
            holder.ended.signal()
        }
        await HeadLockHolder.wait(for: locked)
        if case .failure(let error)? = holder.outcome.withLock({ $0 }) { throw error }
        return holder
    }

    /// Lets the transaction end; once only, however often it is called.
    func release() {
        guard !releasedOnce.exchange(true, ordering: .acquiringAndReleasing) else { return }
        released.signal()
    }

    /// Waits for the transaction to end; throws if it failed.
    func finished() async throws {
        await HeadLockHolder.wait(for: ended)
        try outcome.withLock { $0 }?.get()
    }

    /// Waits for `semaphore` on a thread of its own.
    private static func wait(for semaphore: DispatchSemaphore) async {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                semaphore.wait()
                continuation.resume()
            }
        }
    }
}
