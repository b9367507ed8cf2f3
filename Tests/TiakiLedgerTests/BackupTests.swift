import Foundation
import Synchronization
import Testing

@testable import TiakiLedger

@Suite("Backups and export archives")
struct BackupTests {
    /// Unpacks `archive` into a new directory with the system's tar; returns the directory.
    func untar(_ archive: String) throws -> String {
        let out = temporaryDirectory("untar")
        // As the restore instructions say: a directory only its owner can read.
        try FileManager.default.createDirectory(
            atPath: out,
            withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700]
        )
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        tar.arguments = ["tar", "-xf", archive, "-C", out]
        try tar.run()
        tar.waitUntilExit()
        #expect(tar.terminationStatus == 0, "tar -xf \(archive)")
        return out
    }

    @Test("a backup taken while writers append is one moment of the ledger: it verifies, restores and goes on")
    func onlineBackup() async throws {
        let path = temporaryDirectory()
        let archive = temporaryDirectory("backup") + ".tar"
        defer {
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.removeItem(atPath: archive)
        }
        let ledger = try openLedger(path, interval: 64)
        for i in 0..<200 { _ = try await ledger.append(sampleMembers(i)) }
        let stop = Atomic<Bool>(false)
        // Writers go on appending while the backup is taken.
        let writers = Task {
            var n = 1000
            while !stop.load(ordering: .relaxed) {
                _ = try await ledger.append(sampleMembers(n))
                n += 1
            }
        }
        let summary = try LedgerBackup.write(from: LedgerDirectory(path: path), to: archive)
        stop.store(true, ordering: .relaxed)
        try await writers.value
        #expect(summary.entries >= 200 && summary.checkpoint.size == summary.entries)
        #expect(summary.files == ["ledger.sqlite", "log.key", "log.vkey"])
        let attributes = try FileManager.default.attributesOfItem(atPath: archive)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600, "the archive holds the private key")
        #expect(!FileManager.default.fileExists(atPath: archive + ".partial"))
        // The copy's root at its size is the live ledger's root at that size: the same entries, one moment.
        #expect(try ledger.root(size: summary.checkpoint.size) == summary.checkpoint.root)
        await ledger.close()

        let restored = try untar(archive)
        defer { try? FileManager.default.removeItem(atPath: restored) }
        let report = try LedgerVerifier(trustedKey: ledger.verifier).verify(path: restored)
        #expect(report.isValid && report.entries == summary.entries, "\(String(describing: report.failure))")
        // The restored directory is a working ledger: it opens with its key and appends.
        let reopened = try openLedger(restored)
        let next = try await reopened.append(sampleMembers(99_999))
        #expect(next.index == summary.entries)
        await reopened.close()

        // A second backup to the same name is refused; nothing is overwritten.
        #expect(throws: LedgerError.self) { try LedgerBackup.write(from: LedgerDirectory(path: path), to: archive) }
        #expect(throws: LedgerError.self) {
            try LedgerBackup.write(from: LedgerDirectory(path: path + "-missing"), to: archive + "2")
        }
    }

    @Test("the export archive holds exactly the snapshot's entries and checkpoints, and verifies once unpacked")
    func exportArchive() async throws {
        let path = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let ledger = try openLedger(path, interval: 16)
        for i in 0..<100 { _ = try await ledger.append(sampleMembers(i)) }
        let snapshot = try ledger.archive()
        // Entries appended after the snapshot are not in it.
        for i in 100..<120 { _ = try await ledger.append(sampleMembers(i)) }
        var bytes: [UInt8] = []
        try await snapshot.write { bytes += $0 }
        #expect(UInt64(bytes.count) == snapshot.byteCount && snapshot.size == 100)
        let file = temporaryDirectory("export") + ".tar"
        defer { try? FileManager.default.removeItem(atPath: file) }
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        let out = try untar(file)
        defer { try? FileManager.default.removeItem(atPath: out) }
        let report = try LedgerVerifier(trustedKey: ledger.verifier).verify(path: out + "/tiaki-export-100")
        #expect(report.isValid && report.entries == 100 && report.checkpoints == UInt64(snapshot.checkpoints))
        await ledger.close()
    }
}
