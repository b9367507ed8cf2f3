import Crypto
import Foundation
package import Logging

/// Moves a SQLite ledger into an empty PostgreSQL database, and proves that the same entries and roots arrived.
///
/// The rows are copied as they are (entry bytes, leaf and subtree hashes, keys, every archived checkpoint and the
/// newest one) in one PostgreSQL transaction, so a copy that fails leaves nothing behind. Then both are read
/// again: the entries must hash to the same digest, and at every archived checkpoint and the newest one the root
/// computed from PostgreSQL's stored hashes must equal the signed root.
public enum LedgerMigration {
    public struct Summary: Sendable {
        public var entries: UInt64
        public var checkpoints: Int
        /// SHA-256 over every entry's bytes and a newline, as `entries.jsonl` would hold them: the same on both sides.
        public var digest: String
        public var root: MerkleHash
    }

    /// Copies the ledger of `directory` (which must not be in use) into `database`, which must hold no ledger.
    ///
    /// - Parameters:
    ///   - beforeCommit: runs inside the copy's transaction, after the ledger's rows are in (the vault's copy).
    ///   - progress: entries copied, then entries checked, with the total.
    package static func copy(
        from directory: LedgerDirectory,
        to database: PostgresAddress,
        logger: Logger,
        beforeCommit: (PostgresSession) throws -> Void = { _ in },
        progress: (_ stage: String, _ done: UInt64, _ total: UInt64) -> Void = { _, _, _ in }
    ) throws(LedgerError) -> Summary {
        guard directory.exists else { throw LedgerError(.noLedger, "there is no ledger in \(directory.path)") }
        let lock = try DataDirectoryLock.acquire(directory, holder: "tiaki migrate")
        defer { withExtendedLifetime(lock) {} }
        let verifier = try directory.loadVerifier()
        let source = SQLiteLedgerStorage(
            store: try LedgerStore.openReadOnly(path: directory.databasePath),
            path: directory.databasePath
        )
        defer { source.close() }
        let target = try PostgresLedgerStorage(database, logger: logger)
        defer { target.close() }
        do {
            let (head, archived) = try source.read { tables in
                guard let head = try tables.head() else {
                    throw LedgerError(.corrupt, "the ledger in \(directory.path) has no newest checkpoint")
                }
                return (head, try tables.checkpoints())
            }
            try target.pool.transaction { session in
                let tables = PostgresLedgerStorage.Tables(session: session)
                guard try tables.lockHead() == nil, try tables.entryCount() == 0 else {
                    throw LedgerError(
                        .invalidArgument,
                        "\(database.redacted) already holds a ledger; move into an empty database"
                    )
                }
                guard let first = archived.first, first.size == 0 else {
                    throw LedgerError(.corrupt, "the ledger in \(directory.path) has no checkpoint of size 0")
                }
                try tables.initialize(note: first.note, time: first.time)
                var next: UInt64 = 0
                while next < head.size {
                    let upper = min(head.size, next + 4096)
                    let (rows, keys) = try source.read {
                        (try $0.entryRows(in: next..<upper), try $0.keys(in: next..<upper))
                    }
                    guard rows.count == upper - next else {
                        throw LedgerError(.corrupt, "entries \(next)..<\(upper) are not all in \(directory.path)")
                    }
                    try tables.insert(rows)
                    try tables.insertKeys(keys)
                    try session.settle()
                    next = upper
                    progress("copying", next, head.size)
                }
                for checkpoint in archived where checkpoint.size > 0 {
                    try tables.archive(size: checkpoint.size, note: checkpoint.note, time: checkpoint.time)
                }
                try tables.updateHead(size: head.size, note: head.note, time: head.time)
                try session.settle()
                try beforeCommit(session)
            }
            return try prove(source: source, target: target, verifier: verifier, progress: progress)
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError(.io, "the move into \(database.redacted) failed: \(PostgresPool.describe(error))")
        }
    }

    /// Reads both stores again: the same entries (by digest), the same checkpoints, and in PostgreSQL the root at
    /// every checkpoint equal to its signed root.
    static func prove(
        source: any LedgerStorage,
        target: any LedgerStorage,
        verifier: NoteVerifier,
        progress: (String, UInt64, UInt64) -> Void
    ) throws -> Summary {
        let (sourceHead, sourceCheckpoints) = try source.read { (try $0.head(), try $0.checkpoints()) }
        let (targetHead, targetCheckpoints) = try target.read { (try $0.head(), try $0.checkpoints()) }
        guard let sourceHead, let targetHead, sourceHead.note == targetHead.note else {
            throw LedgerError(.corrupt, "the newest checkpoint did not arrive as it was")
        }
        guard sourceCheckpoints.map(\.note) == targetCheckpoints.map(\.note) else {
            throw LedgerError(.corrupt, "the archived checkpoints did not arrive as they were")
        }
        let size = sourceHead.size
        var sourceDigest = SHA256()
        var targetDigest = SHA256()
        var next: UInt64 = 0
        while next < size {
            let upper = min(size, next + 4096)
            for entry in try source.read({ try $0.entries(in: next..<upper) }) {
                sourceDigest.update(data: entry)
                sourceDigest.update(data: [0x0A])
            }
            for entry in try target.read({ try $0.entries(in: next..<upper) }) {
                targetDigest.update(data: entry)
                targetDigest.update(data: [0x0A])
            }
            next = upper
            progress("checking", next, size)
        }
        let digest = Data(sourceDigest.finalize()).map { String(format: "%02x", $0) }.joined()
        guard digest == Data(targetDigest.finalize()).map({ String(format: "%02x", $0) }).joined() else {
            throw LedgerError(.corrupt, "the entries in PostgreSQL differ from those in SQLite")
        }
        var root = Merkle.emptyRoot
        for checkpoint in targetCheckpoints + [targetHead] {
            let signed = try SignedCheckpoint(parsing: checkpoint.note)
            try signed.note.verify(with: [verifier])
            let stored =
                checkpoint.size == 0
                ? Merkle.emptyRoot : try target.read { try $0.subtreeHashes([0..<checkpoint.size])[0] }
            guard stored == signed.root, signed.size == checkpoint.size else {
                throw LedgerError(
                    .corrupt,
                    "in PostgreSQL the root at \(checkpoint.size) entries is not the one its checkpoint signed"
                )
            }
            root = stored
        }
        return Summary(entries: size, checkpoints: targetCheckpoints.count, digest: digest, root: root)
    }
}
