import Foundation
import GRDB
import Logging
import Synchronization
import Testing

@testable import TiakiLedger

/// A fresh data directory under the temporary directory, removed by the caller.
func temporaryDirectory(_ label: String = "ledger") -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-test-\(label)-\(UUID().uuidString)").path
}

func openLedger(_ path: String, interval: UInt64 = 1024) throws -> Ledger {
    var configuration = LedgerConfiguration()
    configuration.origin = "tiaki.test/ledger"
    configuration.checkpointInterval = interval
    return try Ledger.open(LedgerDirectory(path: path), configuration: configuration, logger: Logger(label: "test"))
}

func sampleMembers(_ i: Int) -> [String: JSONValue] {
    ["kind": "test.entry", "subject": .string("s-\(i)"), "body": ["n": .number(Double(i)), "text": "é \"quoted\" \n"]]
}

@Suite("Ledger store")
struct LedgerTests {
    @Test("concurrent appends get one total order, each covered by a checkpoint whose proof verifies")
    func concurrentAppends() async throws {
        let path = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let ledger = try openLedger(path, interval: 50)
        let receipts = try await withThrowingTaskGroup(of: [AppendReceipt].self) { group in
            for writer in 0..<32 {
                group.addTask {
                    var mine: [AppendReceipt] = []
                    for i in 0..<20 { mine.append(try await ledger.append(sampleMembers(writer * 100 + i))) }
                    return mine
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(receipts.count == 640)
        #expect(Set(receipts.map(\.index)) == Set(0..<640))
        #expect(ledger.checkpoint.size == 640)
        for receipt in receipts {
            #expect(receipt.checkpoint.size > receipt.index)
            #expect(CanonicalJSON.isCanonical(receipt.entry))
            let proof = try ledger.inclusionProof(index: receipt.index, size: receipt.checkpoint.size)
            #expect(proof.verify(leafHash: Merkle.leafHash(receipt.entry), root: receipt.checkpoint.root))
        }
        // Checkpoints seen by writers only ever grow, and each later one extends each earlier one.
        let sizes = Set(receipts.map(\.checkpoint.size)).sorted()
        let bySize = Dictionary(receipts.map { ($0.checkpoint.size, $0.checkpoint) }, uniquingKeysWith: { a, _ in a })
        for (a, b) in zip(sizes, sizes.dropFirst()) {
            let proof = try ledger.consistencyProof(from: a, to: b)
            #expect(
                Merkle.verifyConsistency(
                    first: a,
                    second: b,
                    firstRoot: bySize[a]!.root,
                    secondRoot: bySize[b]!.root,
                    proof: proof
                )
            )
        }
        await ledger.close()
        let report = try LedgerVerifier(trustedKey: ledger.verifier).verify(path: path)
        #expect(report.isValid, "\(String(describing: report.failure))")
        #expect(report.entries == 640)
    }

    @Test("the commit observer is called at the same stack depth after hundreds of commits")
    func observerDepthIsFlat() async throws {
        // A closure kept in a Mutex and read through inout was once wrapped in two more thunks per commit: a
        // long-running server's stack grew with every batch until it would overflow.
        let path = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let ledger = try openLedger(path)
        let depths = Mutex<[Int]>([])
        ledger.observeCommits { _ in
            let depth = Thread.callStackReturnAddresses.count
            depths.withLock { $0.append(depth) }
        }
        for i in 0..<400 { _ = try await ledger.append(sampleMembers(i)) }
        await ledger.close()
        let seen = depths.withLock { $0 }
        #expect(seen.count == 400)
        #expect(Set(seen).count == 1, "depths from \(seen.min() ?? 0) to \(seen.max() ?? 0)")
    }

    @Test("stored proofs and roots equal the RFC 9162 definition at every size up to 300")
    func storedProofsMatchDefinition() async throws {
        let path = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let ledger = try openLedger(path)
        var leaves: [MerkleHash] = []
        for i in 0..<300 { leaves.append(try await ledger.append(sampleMembers(i)).leafHash) }
        for n in 1...300 {
            let d = leaves[0..<n]
            #expect(try ledger.root(size: UInt64(n)) == NaiveMerkle.mth(d))
            for m in Set([0, n / 2, n - 1]) {
                #expect(try ledger.inclusionProof(index: UInt64(m), size: UInt64(n)).hashes == NaiveMerkle.path(m, d))
            }
            for m in Set([1, n / 3, n - 1]) where m > 0 && m < n {
                #expect(try ledger.consistencyProof(from: UInt64(m), to: UInt64(n)) == NaiveMerkle.proof(m, d))
            }
        }
        #expect(throws: LedgerError.self) { try ledger.inclusionProof(index: 300, size: 300) }
        #expect(throws: LedgerError.self) { try ledger.inclusionProof(index: 0, size: 301) }
        #expect(throws: LedgerError.self) { try ledger.consistencyProof(from: 10, to: 5) }
        await ledger.close()
    }

    @Test("entries carry v, index and time in canonical order, and the ledger refuses to set them from outside")
    func entryFormat() async throws {
        let path = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let ledger = try openLedger(path)
        let receipt = try await ledger.append(["kind": "x", "actor": ["org": "a"], "zeta": 1, "u": "after time"])
        let value = try JSONParser().parse(receipt.entry)
        #expect(value["index"]?.integerValue == 0)
        #expect(value["v"]?.integerValue == 1)
        #expect(value["time"]?.stringValue?.hasSuffix("Z") == true)
        #expect(try CanonicalJSON.encode(value) == receipt.entry)
        for reserved in ["index", "time", "v"] {
            #expect(throws: LedgerError(.invalidEntry, "")) { try EntryDraft([reserved: 1]) }
        }
        #expect(throws: LedgerError(.invalidEntry, "")) { try EntryDraft(["n": .number(.nan)]) }
        await #expect(throws: LedgerError(.entryTooLarge, "")) {
            try await ledger.append(["big": .string(String(repeating: "a", count: 70_000))])
        }
        await ledger.close()
    }

    @Test("a reopened ledger continues where it stopped, and its new checkpoints extend the old")
    func reopen() async throws {
        let path = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        var ledger = try openLedger(path)
        for i in 0..<37 { _ = try await ledger.append(sampleMembers(i)) }
        let before = ledger.checkpoint
        await ledger.close()
        ledger = try openLedger(path)
        #expect(ledger.checkpoint == before)
        let receipt = try await ledger.append(sampleMembers(37))
        #expect(receipt.index == 37)
        let proof = try ledger.consistencyProof(from: 37, to: 38)
        #expect(
            Merkle.verifyConsistency(
                first: 37,
                second: 38,
                firstRoot: before.root,
                secondRoot: receipt.checkpoint.root,
                proof: proof
            )
        )
        await ledger.close()
    }

    @Test("the schema refuses updates, deletes and out-of-order inserts")
    func appendOnlySchema() async throws {
        let path = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let ledger = try openLedger(path, interval: 2)
        for i in 0..<5 { _ = try await ledger.append(sampleMembers(i)) }
        await ledger.close()
        let db = try DatabaseQueue(path: LedgerDirectory(path: path).databasePath)
        for sql in [
            "UPDATE entries SET entry = x'00' WHERE idx = 1", "DELETE FROM entries WHERE idx = 4",
            "INSERT INTO entries (idx, entry, leaf) VALUES (7, x'00', zeroblob(32))",
            "INSERT INTO entries (idx, entry, leaf) VALUES (3, x'00', zeroblob(32))",
            "UPDATE checkpoints SET note = 'x'", "DELETE FROM checkpoints",
            "INSERT INTO checkpoints (size, note, time) VALUES (1, 'x', 't')",
            "UPDATE head SET size = 1", "DELETE FROM head",
        ] {
            #expect(throws: DatabaseError.self, "\(sql)") { try db.write { try $0.execute(sql: sql) } }
        }
        try db.close()
    }

    @Test("a ledger another writer moved on is reported, not retried forever: appends fail as diverged")
    func divergence() async throws {
        let path = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let ledger = try openLedger(path)
        for i in 0..<3 { _ = try await ledger.append(sampleMembers(i)) }
        #expect(ledger.divergedReason == nil)
        // Something that ignores the lock appends the next entry behind the ledger's back.
        let db = try DatabaseQueue(path: LedgerDirectory(path: path).databasePath)
        try await db.write {
            try $0.execute(sql: "INSERT INTO entries (idx, entry, leaf) VALUES (3, x'7b7d', zeroblob(32))")
        }
        try db.close()
        await #expect(throws: LedgerError(.diverged, "")) { try await ledger.append(sampleMembers(3)) }
        #expect(ledger.divergedReason?.contains("holds 4 entries but this service wrote 3") == true)
        await #expect(throws: LedgerError(.diverged, "")) { try await ledger.append(sampleMembers(4)) }
        await ledger.close()
    }

    @Test("a second writer is refused at once, naming the first; reopening after close works")
    func oneWriter() async throws {
        let path = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        var configuration = LedgerConfiguration()
        configuration.lockHolder = "tiaki serve"
        configuration.origin = "tiaki.test/ledger"
        let first = try Ledger.open(
            LedgerDirectory(path: path),
            configuration: configuration,
            logger: Logger(label: "t")
        )
        #expect(throws: LedgerError(.locked, "")) { try openLedger(path) }
        do {
            _ = try openLedger(path)
        } catch let error as LedgerError {
            #expect(error.message.contains("tiaki serve (pid \(getpid())) is using \(path)"))
        }
        await first.close()
        let second = try openLedger(path)
        await second.close()
    }

    @Test("keeps a checkpoint every interval besides the newest")
    func checkpointRetention() async throws {
        let path = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let ledger = try openLedger(path, interval: 10)
        for i in 0..<35 { _ = try await ledger.append(sampleMembers(i)) }
        let kept = try ledger.storage.read { try $0.checkpoints().map(\.size) }
        #expect(kept == [0, 10, 20, 30])
        #expect(ledger.checkpoint.size == 35)
        await ledger.close()
    }

    @Test("a key file others can read is refused")
    func insecureKeyFile() async throws {
        let path = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await openLedger(path).close()
        let attributes = try FileManager.default.attributesOfItem(atPath: LedgerDirectory(path: path).privateKeyPath)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(
            ((try FileManager.default.attributesOfItem(atPath: LedgerDirectory(path: path).databasePath))[
                .posixPermissions
            ] as? Int) == 0o600
        )
        try FileManager.default.setAttributes(
            [.posixPermissions: 0o644],
            ofItemAtPath: LedgerDirectory(path: path).privateKeyPath
        )
        #expect(throws: LedgerError(.insecureKeyFile, "")) { try openLedger(path) }
    }

    @Test("a store whose entries no longer match the newest checkpoint is refused on open")
    func tamperedStoreRefused() async throws {
        let path = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let ledger = try openLedger(path)
        for i in 0..<8 { _ = try await ledger.append(sampleMembers(i)) }
        await ledger.close()
        let db = try DatabaseQueue(path: LedgerDirectory(path: path).databasePath)
        try await db.write { db in
            try db.execute(sql: "DROP TRIGGER entries_no_update")
            try db.execute(sql: "UPDATE entries SET leaf = zeroblob(32), nodes = NULL WHERE idx = 7")
        }
        try db.close()
        #expect(throws: LedgerError(.corrupt, "")) { try openLedger(path) }
        // verify recomputes from the bytes, so the stored hashes do not fool it: the entry bytes are intact.
        #expect(try LedgerVerifier().verify(path: path).isValid)
    }

    @Test("a database that is not a ledger is refused with a clear error")
    func notALedger() throws {
        let path = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let db = try DatabaseQueue(path: path + "/ledger.sqlite")
        try db.write { try $0.execute(sql: "CREATE TABLE people (name TEXT)") }
        try db.close()
        try "x+00000000+AA==\n".write(toFile: path + "/log.vkey", atomically: true, encoding: .utf8)
        let signer = try NoteSigner(generatingWithName: "x")
        #expect(throws: LedgerError(.notALedger, "")) {
            try LedgerVerifier(trustedKey: signer.verifier).verify(path: path)
        }
    }
}

@Suite("Ledger start-up checks")
struct LedgerStartupTests {
    @Test("an entry altered in the tail is found when the ledger is opened")
    func alteredTail() async throws {
        let path = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let ledger = try openLedger(path)
        for i in 0..<20 { _ = try await ledger.append(sampleMembers(i)) }
        await ledger.close()
        let db = try DatabaseQueue(path: LedgerDirectory(path: path).databasePath)
        try await db.write { db in
            try db.execute(sql: "DROP TRIGGER entries_no_update")
            try db.execute(sql: "UPDATE entries SET entry = replace(entry, 's-17', 's-99') WHERE idx = 17")
        }
        try db.close()
        #expect(throws: LedgerError(.corrupt, "")) { try openLedger(path) }
    }
}
