import Foundation
import GRDB
import Synchronization
import Testing

@testable import TiakiLedger

@Suite("Concurrency")
struct ConcurrencyTests {
    @Test("crash points read from TIAKI_FAULT: mid-batch:N and mid-archive:N, nothing else")
    func faultPoints() {
        #expect(LedgerFault("mid-batch:12") == .midBatch(afterCommits: 12))
        #expect(LedgerFault("mid-archive:0") == .midArchive(afterArchives: 0))
        for bad in ["", "mid-batch", "mid-batch:-1", "mid-batch:x", "mid-commit:3", "mid-archive:1:2"] {
            #expect(LedgerFault(bad) == nil, "\(bad)")
        }
    }

    @Test(
        "64 writers and 8 readers at once: one total order, no index twice or missing, checkpoints only grow, and every checkpoint a reader sees is already on disk"
    )
    func writersAndReaders() async throws {
        let path = temporaryDirectory("concurrency")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let ledger = try openLedger(path, interval: 100)
        // A second, independent connection: what it sees is what a crash would leave.
        var readOnly = Configuration()
        readOnly.readonly = true
        let disk = try DatabasePool(path: path + "/ledger.sqlite", configuration: readOnly)
        let writers = 64
        let perWriter = 40
        let state = SharedState()

        let readers = Task { () async throws -> [String] in
            try await withThrowingTaskGroup(of: [String].self) { group in
                for reader in 0..<8 {
                    group.addTask {
                        var problems: [String] = []
                        var last: UInt64 = 0
                        var lastRoot = Merkle.emptyRoot
                        while !state.done.withLock({ $0 }) {
                            let seen = ledger.checkpoint
                            if seen.size < last {
                                problems.append("reader \(reader): size went from \(last) to \(seen.size)")
                            }
                            if seen.size == last, seen.size > 0, seen.root != lastRoot {
                                problems.append("reader \(reader): two roots for size \(last)")
                            }
                            let stored = try await disk.read { db in
                                try Int.fetchOne(db, sql: "SELECT count(*) FROM entries") ?? 0
                            }
                            if UInt64(stored) < seen.size {
                                problems.append(
                                    "reader \(reader): checkpoint \(seen.size) seen with \(stored) entries on disk"
                                )
                            }
                            if seen.size > 0 {
                                let index = UInt64.random(in: 0..<seen.size)
                                let entry = try ledger.entries(in: index..<(index + 1))[0]
                                let proof = try ledger.inclusionProof(index: index, size: seen.size)
                                if !proof.verify(leafHash: Merkle.leafHash(entry), root: seen.root) {
                                    problems.append(
                                        "reader \(reader): entry \(index) not under checkpoint \(seen.size)"
                                    )
                                }
                            }
                            last = seen.size
                            lastRoot = seen.root
                            state.observed.withLock { $0 += 1 }
                            await Task.yield()
                        }
                        return problems
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
        }

        let byWriter = try await withThrowingTaskGroup(of: [AppendReceipt].self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var mine: [AppendReceipt] = []
                    for i in 0..<perWriter { mine.append(try await ledger.append(sampleMembers(writer * 1000 + i))) }
                    return mine
                }
            }
            return try await group.reduce(into: [[AppendReceipt]]()) { $0.append($1) }
        }
        let receipts = byWriter.flatMap { $0 }
        state.done.withLock { $0 = true }
        let problems = try await readers.value

        #expect(problems.isEmpty, "\(problems.prefix(5))")
        #expect(state.observed.withLock { $0 } > 8)
        let total = UInt64(writers * perWriter)
        #expect(receipts.count == Int(total))
        #expect(Set(receipts.map(\.index)) == Set(0..<total))
        // The stored entry at each index is the one its writer was told about, each writer's own appends are in
        // the order it made them, and each receipt's checkpoint covers its entry.
        let stored = try ledger.entries(in: 0..<total)
        for receipt in receipts { #expect(stored[Int(receipt.index)] == receipt.entry) }
        for mine in byWriter {
            #expect(zip(mine, mine.dropFirst()).allSatisfy { $0.index < $1.index })
        }
        let sizes = receipts.map(\.checkpoint.size)
        #expect(zip(receipts, sizes).allSatisfy { $0.index < $1 })
        await ledger.close()
        let report = try LedgerVerifier(trustedKey: ledger.verifier).verify(path: path)
        #expect(report.isValid)
        #expect(report.entries == total)
    }
}

final class SharedState: Sendable {
    let done = Mutex(false)
    let observed = Mutex(0)
}
