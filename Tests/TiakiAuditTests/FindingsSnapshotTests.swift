import Foundation
import Synchronization
import Testing
import TiakiLedger
import TiakiModel

@testable import TiakiAudit

/// A findings snapshot must give back the pass it was taken of: a projection started from it, reading only the
/// entries after it, says exactly what the full pass says; one that is damaged, of another layout or of another
/// ledger is refused and the findings built from the whole ledger.
@Suite("Findings snapshots")
struct FindingsSnapshotTests {
    /// Entries by index, for reading the policy sets again.
    struct Entries: KeyedEntries {
        let all: [(UInt64, [UInt8])]
        func keyedIndexes(_ key: String) throws -> [UInt64]? { nil }
        func entries(at indexes: [UInt64]) throws -> [[UInt8]] { indexes.map { all[Int($0)].1 } }
    }

    func parsed(_ entries: ArraySlice<(UInt64, [UInt8])>) -> [(UInt64, Result<ConsentEntry, any Error>)] {
        LedgerAudit.parallelParse(Array(entries))
    }

    @Test("on every AuditSamples scenario, a pass saved, read back and run on gives the golden findings")
    func samples() throws {
        let scenarios = repositoryRoot.appendingPathComponent("AuditSamples/scenarios")
        for name in try FileManager.default.contentsOfDirectory(atPath: scenarios.path).sorted() {
            let dir = scenarios.appendingPathComponent(name)
            let golden = try Data(contentsOf: dir.appendingPathComponent("findings.json"))
            let asOf = try #require(try JSONParser().parse(Array(golden))["asOf"]?.stringValue.flatMap(Day.init))
            let options = AuditOptions(asOf: asOf)
            let all = try ledgerEntries(dir.appendingPathComponent("bundle").path)
            for split in Set([0, 1, all.count / 3, all.count * 2 / 3, all.count]).sorted() {
                let first = LedgerAudit(options: options)
                first.consume(parsed(all[..<split]))
                first.drain(before: .max)
                let saved = try #require(first.saved(), "\(name), split at \(split): nothing held back")
                let payload = try FindingsSnapshot.payload(saved)
                let read = try payload.withUnsafeBytes { try FindingsSnapshot.saved($0) }
                #expect(read.state == saved.state, "\(name), split at \(split)")
                #expect(
                    read.result.findings == saved.result.findings && read.result.mismatches == saved.result.mismatches
                )
                #expect(read.result.entries == UInt64(split) && read.decisions.count == saved.decisions.count)
                let restored = LedgerAudit(
                    restoring: read,
                    options: options,
                    policies: try FindingsSnapshot.policies(read.state, from: Entries(all: all))
                )
                #expect(restored.consumed == UInt64(split))
                restored.consume(parsed(all[split...]))
                var bytes = try restored.finish().findingsJSON(options: options)
                bytes.append(0x0A)
                #expect(bytes == Array(golden), "\(name), split at \(split): \(String(decoding: bytes, as: UTF8.self))")
            }
        }
    }

    @Test("a pass holding entries back for a decision's basis is not saved")
    func heldBack() throws {
        let dir = repositoryRoot.appendingPathComponent("AuditSamples/scenarios").path
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: dir).sorted().first)
        let all = try ledgerEntries(dir + "/" + name + "/bundle")
        let pass = LedgerAudit(options: AuditOptions(asOf: Day(number: 0)))
        pass.consume(parsed(all[...]))
        pass.drain(before: UInt64(all.count / 2))
        #expect(pass.saved() == nil)
        pass.drain(before: .max)
        #expect(pass.saved() != nil)
    }

    @Test(
        "on a simulated term: started from a snapshot, the projection reads only what follows and agrees with the full pass"
    )
    func simulatedTerm() async throws {
        let (path, all) = try await simulatedLedger(subjects: 100, days: 160, seed: 5)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var options = AuditOptions(asOf: try #require(Day("2026-08-20")))
        options.expiringWithinDays = 60
        let full = try LedgerAudit.run(EntryReader(path: path), options: options)
        #expect(!full.findings.isEmpty && full.decisionsReplayed > 100)

        let ledger = try Ledger.open(LedgerDirectory(path: path), logger: quietLogger())
        defer { Task { await ledger.close() } }
        let target = FindingsSnapshot.path(ledger.directory)
        func started() async throws -> (from: UInt64, result: AuditResult) {
            let projection = FindingsProjection(earliestInFlight: { nil }, snapshotsOf: ledger, logger: quietLogger())
            try projection.build(from: EntryReader(ledger: ledger))
            let result = try #require(
                await projection.result(options: options, covering: UInt64(all.count), timeout: .seconds(10))
            )
            return (projection.builtFromSnapshot, result)
        }
        func agrees(_ result: AuditResult, _ why: String) throws {
            #expect(try result.findingsJSON(options: options) == (try full.findingsJSON(options: options)), "\(why)")
            #expect(result.decisionsReplayed == full.decisionsReplayed && result.mismatches == full.mismatches)
            #expect(result.replayedLate == full.replayedLate, "\(why)")
        }

        for split in [all.count / 3, all.count] {
            // A snapshot taken when the ledger had `split` entries (a projection that had read only those).
            let parts = try bundleDirectory(all[..<split])
            defer { try? FileManager.default.removeItem(atPath: parts) }
            try? FileManager.default.removeItem(atPath: target)
            let early = FindingsProjection(earliestInFlight: { nil }, snapshotsOf: ledger, logger: quietLogger())
            try early.build(from: EntryReader(path: parts))
            #expect(early.writeSnapshot(reason: "test"))
            #expect(FileManager.default.fileExists(atPath: target))

            let (from, result) = try await started()
            #expect(from == UInt64(split), "the start read the snapshot of \(split) entries")
            try agrees(result, "from a snapshot of \(split) entries")
        }

        // Refused, and the findings built from the whole ledger all the same.
        let own = try Data(contentsOf: URL(fileURLWithPath: target))
        func refused(_ bytes: Data, _ why: String) async throws {
            try bytes.write(to: URL(fileURLWithPath: target))
            let (from, result) = try await started()
            #expect(from == 0, "\(why): not used")
            try agrees(result, why)
        }
        var flipped = own
        flipped[flipped.startIndex + own.count / 2] ^= 0x01
        try await refused(flipped, "one bit changed")
        try await refused(own.prefix(own.count / 2), "cut short")
        var relaid = own
        relaid[relaid.startIndex + FindingsSnapshot.file.magic.count] = FindingsSnapshot.format + 1
        try await refused(relaid, "another layout")
        let header = FindingsSnapshot.file.magic.count + 1 + 8 + 32
        let foreign = FindingsSnapshot.file.encode(
            size: UInt64(all.count),
            root: [UInt8](repeating: 7, count: 32),
            payload: Array(own[(own.startIndex + header)..<(own.endIndex - 32)])
        )
        try await refused(Data(foreign), "stamped with another ledger's root")
        // A state snapshot is not a findings snapshot.
        try await refused(Data("TIAKI-STATE".utf8) + own.dropFirst(11), "a state snapshot's magic")
    }

    @Test("periodic snapshots: put off while a decision in flight holds entries back, written once none does")
    func periodic() async throws {
        let (path, all) = try await simulatedLedger(subjects: 60, days: 120, seed: 9)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let split = all.count / 2
        #expect(all.count - split > 300)
        let parts = try bundleDirectory(all[..<split])
        defer { try? FileManager.default.removeItem(atPath: parts) }

        let ledger = try Ledger.open(LedgerDirectory(path: path), logger: quietLogger())
        defer { Task { await ledger.close() } }
        let target = FindingsSnapshot.path(ledger.directory)
        // The basis of a decision being made, as the service's DecisionsInFlight would give it.
        let inFlight = Mutex<UInt64?>(nil)
        let projection = FindingsProjection(
            earliestInFlight: { inFlight.withLock { $0 } },
            snapshotsOf: ledger,
            snapshotEvery: 100,
            logger: quietLogger()
        )
        try projection.build(from: EntryReader(path: parts))
        func feed(_ range: Range<Int>) {
            projection.feed(
                all[range].map { index, bytes in
                    (
                        index,
                        Result { () throws -> ConsentEntry in
                            var entry = try ConsentEntry(bytes: bytes)
                            entry.index = index
                            return entry
                        }
                    )
                }
            )
            // What feeding scheduled has run.
            FindingsProjection.queue.sync {}
        }
        inFlight.withLock { $0 = UInt64(split + 10) }
        feed(split..<(split + 150))
        #expect(!FileManager.default.fileExists(atPath: target), "put off while entries are held back")
        inFlight.withLock { $0 = nil }
        feed((split + 150)..<(split + 210))
        #expect(FileManager.default.fileExists(atPath: target), "written once nothing is held back")

        let again = FindingsProjection(earliestInFlight: { nil }, snapshotsOf: ledger, logger: quietLogger())
        try again.build(from: EntryReader(ledger: ledger))
        #expect(again.builtFromSnapshot == UInt64(split + 210))
        var options = AuditOptions(asOf: try #require(Day("2026-07-01")))
        options.expiringWithinDays = 60
        let full = try LedgerAudit.run(EntryReader(path: path), options: options)
        let result = try #require(
            await again.result(options: options, covering: UInt64(all.count), timeout: .seconds(10))
        )
        #expect(try result.findingsJSON(options: options) == (try full.findingsJSON(options: options)))
        #expect(result.mismatches == full.mismatches && result.decisionsReplayed == full.decisionsReplayed)
    }
}
