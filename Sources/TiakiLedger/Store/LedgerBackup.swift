import Foundation
import GRDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A consistent online copy of a SQLite data directory, as one archive: the database copied by SQLite's online
/// backup (one read transaction, so a running `tiaki serve` goes on writing and the copy is one moment of it), the
/// log's keys, and the witnesses' newest cosignature if there is one. The vault's keys (`seal.key`, which wraps the
/// children's keys, and `lookup.key`, which keys the NSN lookup) are not in it: kept apart from the backups, they
/// leave a stolen archive unable to open a name or to test an NSN. The copy is
/// verified (every entry, root and signature, against the key of the directory it came from) before the archive
/// is written; the archive is created new, with mode 0600 (it holds the private keys and the vault), written to a
/// temporary name, synced and renamed, so a partial backup never has the name asked for.
///
/// Restore: `mkdir -m 700 DIR && tar -xf FILE -C DIR && tiaki verify DIR`, then `tiaki serve --data DIR`.
public enum LedgerBackup {
    public struct Summary: Sendable {
        /// The entries and the newest checkpoint the copy holds.
        public var entries: UInt64
        public var checkpoint: SignedCheckpoint
        /// The archive's length.
        public var bytes: UInt64
        /// The files it holds, in order.
        public var files: [String]
    }

    /// What a backup is doing, for a progress line: copying database pages, then verifying entries.
    public enum Stage: Sendable { case copying, verifying }

    /// The files of a data directory a backup carries besides the database, with their modes; those that are
    /// missing are left out (a ledger without witnesses has no cosigned checkpoint).
    static let companions: [(name: String, mode: UInt64)] = [
        ("log.key", 0o600), ("log.vkey", 0o644), ("checkpoint.cosigned", 0o644),
    ]

    public static func write(
        from directory: LedgerDirectory,
        to out: String,
        progress: ((Stage, _ done: UInt64, _ fraction: Double?) -> Void)? = nil
    ) throws(LedgerError) -> Summary {
        guard directory.exists else { throw LedgerError(.io, "no ledger in \(directory.path)") }
        guard !FileManager.default.fileExists(atPath: out) else {
            throw LedgerError(.io, "\(out) exists; give a new file")
        }
        let verifier = try directory.loadVerifier()
        let parent = (out as NSString).deletingLastPathComponent
        let work = (parent.isEmpty ? "." : parent) + "/.tiaki-backup-\(UUID().uuidString)"
        do {
            try FileManager.default.createDirectory(
                atPath: work,
                withIntermediateDirectories: false,
                attributes: [.posixPermissions: 0o700]
            )
        } catch {
            throw LedgerError(.io, "cannot create \(work): \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(atPath: work) }

        // 1. The database, in one read transaction of the source.
        do {
            var readOnly = Configuration()
            readOnly.readonly = true
            let source = try DatabaseQueue(path: directory.databasePath, configuration: readOnly)
            let copy = try DatabaseQueue(path: work + "/ledger.sqlite")
            try source.backup(to: copy) { step in
                let total = Double(max(1, step.totalPageCount))
                progress?(.copying, UInt64(max(0, step.completedPageCount)), Double(step.completedPageCount) / total)
            }
            try copy.close()
            try source.close()
        } catch {
            throw LedgerError(.io, "cannot copy \(directory.databasePath): \(error)")
        }
        var files = ["ledger.sqlite"]
        for (name, _) in companions where FileManager.default.fileExists(atPath: directory.path + "/" + name) {
            do {
                try FileManager.default.copyItem(atPath: directory.path + "/" + name, toPath: work + "/" + name)
            } catch {
                throw LedgerError(.io, "cannot copy \(directory.path)/\(name): \(error.localizedDescription)")
            }
            files.append(name)
        }

        // 2. The copy verified against the key of the directory it came from.
        var checker = LedgerVerifier(trustedKey: verifier)
        checker.progress = { done, fraction in progress?(.verifying, done, fraction) }
        let report = try checker.verify(path: work)
        if let failure = report.failure {
            throw LedgerError(.corrupt, "the copy does not verify (\(failure.check.rawValue)): \(failure.message)")
        }
        let store = try LedgerStore.openReadOnly(path: work + "/ledger.sqlite")
        let head: LedgerStore.StoredCheckpoint?
        do {
            head = try store.writer.read { db in try store.head(db) }
        } catch {
            throw LedgerError(.io, "cannot read the copy's newest checkpoint: \(error)")
        }
        guard let head else { throw LedgerError(.corrupt, "the copy has no newest checkpoint") }
        let checkpoint = try SignedCheckpoint(parsing: head.note)

        // 3. The archive, under a temporary name until it is whole and synced.
        let partial = out + ".partial"
        let fd = open(partial, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw LedgerError(.io, "cannot create \(partial): \(String(cString: strerror(errno)))") }
        var written: UInt64 = 0
        func put(_ bytes: [UInt8]) throws(LedgerError) {
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeBytes { raw -> Int in
                    guard let base = raw.baseAddress else { return 0 }
                    return Glibc.write(fd, base + offset, raw.count - offset)
                }
                guard n > 0 else {
                    throw LedgerError(.io, "cannot write \(partial): \(String(cString: strerror(errno)))")
                }
                offset += n
            }
            written += UInt64(bytes.count)
        }
        do {
            let modified = UInt64(max(0, Date().timeIntervalSince1970))
            for name in files {
                let path = work + "/" + name
                let size =
                    ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? NSNumber)?.uint64Value ?? 0
                let mode = name == "ledger.sqlite" ? 0o600 : companions.first { $0.name == name }?.mode ?? 0o600
                try put(Tar.header(name: name, size: size, modified: modified, mode: mode))
                guard let handle = FileHandle(forReadingAtPath: path) else {
                    throw LedgerError(.io, "cannot read \(path)")
                }
                var copied: UInt64 = 0
                while true {
                    let chunk = handle.readData(ofLength: 1 << 20)
                    if chunk.isEmpty { break }
                    try put(Array(chunk))
                    copied += UInt64(chunk.count)
                }
                try? handle.close()
                guard copied == size else { throw LedgerError(.io, "\(path) changed while it was archived") }
                try put(Tar.padding(after: size))
            }
            try put(Tar.end)
            guard fsync(fd) == 0 else {
                throw LedgerError(.io, "cannot sync \(partial): \(String(cString: strerror(errno)))")
            }
            close(fd)
            guard rename(partial, out) == 0 else {
                throw LedgerError(.io, "cannot rename \(partial) to \(out): \(String(cString: strerror(errno)))")
            }
        } catch let error as LedgerError {
            close(fd)
            unlink(partial)
            throw error
        } catch {
            close(fd)
            unlink(partial)
            throw LedgerError(.io, "cannot write \(partial): \(error)")
        }
        return Summary(entries: report.entries, checkpoint: checkpoint, bytes: written, files: files)
    }
}
