import Foundation
import GRDB
public import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes the export bundle of a data directory: `entries.jsonl` (the canonical bytes exactly, one per line),
/// `checkpoints.jsonl` (`{"note":…,"size":N}` per line, growing sizes) and `log.vkey`.
public enum LedgerExport {
    public struct Summary: Sendable {
        public var entries: UInt64
        public var checkpoints: Int
    }

    /// Exports from one consistent snapshot of the database.
    ///
    /// - Parameter progress: called now and then with the entries written and the total.
    public static func write(
        from directory: LedgerDirectory,
        to out: String,
        progress: ((UInt64, UInt64) -> Void)? = nil
    ) throws(LedgerError) -> Summary {
        let store = try LedgerStore.openReadOnly(path: directory.databasePath)
        let verifier = try directory.loadVerifier()
        try prepare(out)
        let entriesFile = try OutputFile(path: out + "/entries.jsonl")
        let checkpointsFile = try OutputFile(path: out + "/checkpoints.jsonl")
        do {
            let summary = try store.writer.read { db -> Summary in
                guard let head = try store.head(db) else {
                    throw LedgerError(.corrupt, "the ledger has no newest checkpoint")
                }
                let total = head.size
                var count: UInt64 = 0
                let cursor = try Row.fetchCursor(
                    db,
                    sql: "SELECT entry FROM entries WHERE idx < ? ORDER BY idx",
                    arguments: [Int64(total)]
                )
                while let row = try cursor.next() {
                    let data: Data = row[0]
                    try entriesFile.writeLine(data)
                    count += 1
                    if count & 0xFFFF == 0 { progress?(count, total) }
                }
                let notes = try checkpointNotes(db, store: store, head: head, directory: directory)
                try checkpointsFile.write(try checkpointLines(notes))
                return Summary(entries: count, checkpoints: notes.count)
            }
            try entriesFile.finish()
            try checkpointsFile.finish()
            let vkeyFile = try OutputFile(path: out + "/log.vkey")
            try vkeyFile.writeLine(Array(verifier.vkey.utf8))
            try vkeyFile.finish()
            return summary
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError(.io, "export failed: \(error)")
        }
    }

    /// Exports the ledger in a PostgreSQL database from one snapshot: its newest checkpoint when asked, the
    /// checkpoints up to it, and exactly the entries it covers, read in pages (entries never change once written).
    /// `directory` gives the verifier key (`log.vkey`); nothing is written to the database.
    public static func write(
        database: PostgresAddress,
        directory: LedgerDirectory,
        to out: String,
        logger: Logger,
        progress: ((UInt64, UInt64) -> Void)? = nil
    ) throws(LedgerError) -> Summary {
        let verifier = try directory.loadVerifier()
        try prepare(out)
        let storage = try PostgresLedgerStorage(database, logger: logger, migrate: false)
        defer { storage.close() }
        do {
            let archive = try LedgerArchive.snapshot(of: storage, verifier: verifier, directory: directory)
            let entriesFile = try OutputFile(path: out + "/entries.jsonl")
            var next: UInt64 = 0
            while next < archive.size {
                let upper = min(archive.size, next + LedgerArchive.page)
                for entry in try storage.read({ try $0.entries(in: next..<upper) }) { try entriesFile.writeLine(entry) }
                next = upper
                progress?(next, archive.size)
            }
            try entriesFile.finish()
            let checkpointsFile = try OutputFile(path: out + "/checkpoints.jsonl")
            try checkpointsFile.write(archive.checkpointLines)
            try checkpointsFile.finish()
            let vkeyFile = try OutputFile(path: out + "/log.vkey")
            try vkeyFile.write(archive.vkey)
            try vkeyFile.finish()
            return Summary(entries: archive.size, checkpoints: archive.checkpoints)
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError(.io, "export failed: \(PostgresPool.describe(error))")
        }
    }

    /// The checkpoints a bundle carries, smallest first, ending with `head`; the newest checkpoint witnesses
    /// cosigned keeps its cosignature lines (verifiers that do not know the witnesses' keys ignore them).
    static func checkpointNotes(
        _ db: Database,
        store: LedgerStore,
        head: LedgerStore.StoredCheckpoint,
        directory: LedgerDirectory
    ) throws -> [(size: UInt64, note: String)] {
        let archived = try Row.fetchAll(
            db,
            sql: "SELECT size, note, time FROM checkpoints WHERE size <= ? ORDER BY size",
            arguments: [Int64(head.size)]
        ).map { StoredCheckpoint(size: UInt64($0["size"] as Int64), note: $0["note"], time: $0["time"]) }
        return checkpointNotes(archived: archived, head: head, directory: directory)
    }

    /// The checkpoints a bundle carries from those archived (see above).
    static func checkpointNotes(
        archived: [StoredCheckpoint],
        head: StoredCheckpoint,
        directory: LedgerDirectory
    ) -> [(size: UInt64, note: String)] {
        var notes = archived.filter { $0.size <= head.size }.map { (size: $0.size, note: $0.note) }
        if notes.last?.size != head.size { notes.append((head.size, head.note)) }
        if let text = try? String(contentsOfFile: directory.path + "/checkpoint.cosigned", encoding: .utf8),
            let cosigned = try? SignedNote(parsing: text),
            let i = notes.firstIndex(where: { (try? SignedNote(parsing: $0.note))?.text == cosigned.text }),
            let archived = try? SignedNote(parsing: notes[i].note),
            archived.signatures.allSatisfy(cosigned.signatures.contains)
        {
            notes[i].note = cosigned.serialized
        }
        return notes
    }

    /// `checkpoints.jsonl`'s lines.
    static func checkpointLines(_ notes: [(size: UInt64, note: String)]) throws -> [UInt8] {
        var out: [UInt8] = []
        for (size, note) in notes {
            out += try CanonicalJSON.encode(["note": .string(note), "size": .number(Double(size))])
            out.append(0x0A)
        }
        return out
    }

    private static func prepare(_ out: String) throws(LedgerError) {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: out, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw LedgerError(.io, "\(out) exists and is not a directory") }
            for name in ["entries.jsonl", "checkpoints.jsonl", "log.vkey"] where fm.fileExists(atPath: out + "/" + name)
            {
                throw LedgerError(.io, "\(out) already holds \(name); export into a new or empty directory")
            }
        } else {
            do {
                try fm.createDirectory(atPath: out, withIntermediateDirectories: true)
            } catch {
                throw LedgerError(.io, "cannot create \(out): \(error.localizedDescription)")
            }
        }
    }
}

/// A file written through a buffer, created exclusively and synced on finish.
final class OutputFile {
    let path: String
    private let fd: Int32
    private var buffer: [UInt8] = []

    init(path: String) throws(LedgerError) {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { throw LedgerError(.io, "cannot create \(path): \(String(cString: strerror(errno)))") }
        buffer.reserveCapacity(1 << 20)
    }

    deinit { close(fd) }

    /// Writes `bytes` and a newline.
    func writeLine(_ bytes: some Collection<UInt8>) throws(LedgerError) {
        buffer.append(contentsOf: bytes)
        buffer.append(0x0A)
        if buffer.count >= 1 << 20 { try flush() }
    }

    /// Writes `bytes` as they are.
    func write(_ bytes: [UInt8]) throws(LedgerError) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 20 { try flush() }
    }

    func flush() throws(LedgerError) {
        var offset = 0
        while offset < buffer.count {
            let n = buffer.withUnsafeBytes { raw in
                guard let base = raw.baseAddress else { return 0 }
                return Glibc.write(fd, base + offset, raw.count - offset)
            }
            guard n > 0 else { throw LedgerError(.io, "cannot write \(path): \(String(cString: strerror(errno)))") }
            offset += n
        }
        buffer.removeAll(keepingCapacity: true)
    }

    func finish() throws(LedgerError) {
        try flush()
        guard fsync(fd) == 0 else { throw LedgerError(.io, "cannot sync \(path): \(String(cString: strerror(errno)))") }
    }
}
