import Foundation
import GRDB

/// The SQLite tables of a ledger, reached through GRDB.
///
/// `entries` and `checkpoints` are append-only in the schema itself: triggers refuse UPDATE and DELETE, and an
/// entry may only be inserted at the next index. Each entry row also holds its leaf hash and the hashes of the
/// perfect subtrees that it completes, so proofs read O(log n) rows and never rehash the log. `head` holds the
/// newest signed checkpoint, replaced on every commit; `checkpoints` keeps older ones at an interval.
struct LedgerStore: Sendable {
    let writer: any DatabaseWriter

    /// Marks a database as a Tiaki ledger, so that another SQLite file is refused with a clear message.
    static let applicationID: Int32 = 0x5449_414B  // "TIAK"

    static func openPool(
        path: String,
        readOnly: Bool = false,
        keyMember: String? = nil
    ) throws(LedgerError)
        -> LedgerStore
    {
        var configuration = Configuration()
        configuration.readonly = readOnly
        // Another connection to the file (a reader opening it, `tiaki backup`, `tiaki audit` beside the service)
        // may hold a lock for a moment: wait for it rather than fail a commit at once.
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            // WAL with FULL sync: a commit is on disk when it returns.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            let pool = try DatabasePool(path: path, configuration: configuration)
            let store = LedgerStore(writer: pool)
            if readOnly {
                try store.checkIsLedger()
            } else {
                try store.migrate(keyMember: keyMember)
            }
            return store
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError(.io, "cannot open the ledger database \(path): \(error)")
        }
    }

    /// A read-only view for `verify` and `export`, which must never change what they inspect.
    static func openReadOnly(path: String) throws(LedgerError) -> LedgerStore {
        guard FileManager.default.fileExists(atPath: path) else {
            throw LedgerError(.io, "no ledger database at \(path)")
        }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(5)
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            let store = LedgerStore(writer: queue)
            try store.checkIsLedger()
            return store
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError(.notALedger, "\(path) is not a readable SQLite database: \(error)")
        }
    }

    func checkIsLedger() throws {
        let ok = try writer.read { db -> Bool in
            let id = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
            let tables = try String.fetchSet(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
            return id == LedgerStore.applicationID && tables.isSuperset(of: ["entries", "checkpoints", "head"])
        }
        guard ok else { throw LedgerError(.notALedger, "the database is not a Tiaki ledger (no ledger tables)") }
    }

    func migrate(keyMember: String?) throws {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            let existing =
                try Int.fetchOne(
                    db,
                    sql: "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'grdb_%'"
                ) ?? 0
            let id = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
            guard existing == 0 || id == LedgerStore.applicationID else {
                throw LedgerError(.notALedger, "the database holds other tables and is not a Tiaki ledger")
            }
            try db.execute(sql: "PRAGMA application_id = \(LedgerStore.applicationID)")
            try db.execute(
                sql: """
                    CREATE TABLE entries (
                        idx INTEGER PRIMARY KEY,
                        entry BLOB NOT NULL,
                        leaf BLOB NOT NULL CHECK (length(leaf) = 32),
                        nodes BLOB
                    );
                    CREATE TRIGGER entries_next_index BEFORE INSERT ON entries
                        WHEN NEW.idx IS NOT (SELECT coalesce(max(idx) + 1, 0) FROM entries)
                        BEGIN SELECT RAISE(ABORT, 'entries are appended at the next index only'); END;
                    CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries
                        BEGIN SELECT RAISE(ABORT, 'entries are append-only'); END;
                    CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries
                        BEGIN SELECT RAISE(ABORT, 'entries are append-only'); END;

                    CREATE TABLE checkpoints (
                        size INTEGER PRIMARY KEY,
                        note TEXT NOT NULL,
                        time TEXT NOT NULL
                    );
                    CREATE TRIGGER checkpoints_grow BEFORE INSERT ON checkpoints
                        WHEN NEW.size <= (SELECT coalesce(max(size), -1) FROM checkpoints)
                        BEGIN SELECT RAISE(ABORT, 'checkpoints are appended in growing size only'); END;
                    CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints
                        BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
                    CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
                        BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;

                    CREATE TABLE head (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        size INTEGER NOT NULL,
                        note TEXT NOT NULL,
                        time TEXT NOT NULL
                    );
                    CREATE TRIGGER head_never_shrinks BEFORE UPDATE ON head
                        WHEN NEW.size < OLD.size
                        BEGIN SELECT RAISE(ABORT, 'the newest checkpoint never shrinks'); END;
                    CREATE TRIGGER head_no_delete BEFORE DELETE ON head
                        BEGIN SELECT RAISE(ABORT, 'the newest checkpoint is never deleted'); END;
                    """
            )
        }
        // v2: entries by key (a top-level string member the layer above names, such as a subject id), so that
        // everything about one key is a range read, not a scan. Filled in the same transaction as the entries.
        migrator.registerMigration("v2-keys") { db in
            try db.execute(
                sql: """
                    CREATE TABLE entry_keys (key TEXT NOT NULL, idx INTEGER NOT NULL, PRIMARY KEY (key, idx))
                        WITHOUT ROWID;
                    CREATE TRIGGER entry_keys_no_update BEFORE UPDATE ON entry_keys
                        BEGIN SELECT RAISE(ABORT, 'entry keys are append-only'); END;
                    CREATE TRIGGER entry_keys_no_delete BEFORE DELETE ON entry_keys
                        BEGIN SELECT RAISE(ABORT, 'entry keys are append-only'); END;
                    """
            )
            // A ledger written before v2: index what it already holds.
            guard let keyMember else { return }
            let insert = try db.makeStatement(sql: "INSERT INTO entry_keys (key, idx) VALUES (?, ?)")
            let rows = try Row.fetchCursor(db, sql: "SELECT idx, entry FROM entries ORDER BY idx")
            while let row = try rows.next() {
                let entry: Data = row["entry"]
                if let key = try? JSONParser().parse([UInt8](entry))[keyMember]?.stringValue {
                    try insert.execute(arguments: [key, row["idx"] as Int64])
                }
            }
        }
        try migrator.migrate(writer)
    }

    /// The entries at `indexes`, in the order given.
    func entries(_ db: Database, at indexes: [UInt64]) throws -> [[UInt8]] {
        let statement = try db.cachedStatement(sql: "SELECT entry FROM entries WHERE idx = ?")
        return try indexes.map { index in
            guard let data = try Data.fetchOne(statement, arguments: [Int64(index)]) else {
                throw LedgerError(.invalidArgument, "there is no entry \(index)")
            }
            return [UInt8](data)
        }
    }

    /// The indexes of the entries filed under `key`, in order; `nil` when the database predates the key index.
    func indexes(_ db: Database, key: String) throws -> [UInt64]? {
        guard try db.tableExists("entry_keys") else { return nil }
        return try Int64.fetchAll(db, sql: "SELECT idx FROM entry_keys WHERE key = ? ORDER BY idx", arguments: [key])
            .map { UInt64($0) }
    }

    // MARK: Reading

    typealias StoredCheckpoint = TiakiLedger.StoredCheckpoint

    func head(_ db: Database) throws -> StoredCheckpoint? {
        // Cached: read at every commit (preparing it again each time showed in the profile).
        try Row.fetchOne(db.cachedStatement(sql: "SELECT size, note, time FROM head WHERE id = 1")).map {
            StoredCheckpoint(size: UInt64($0["size"] as Int64), note: $0["note"], time: $0["time"])
        }
    }

    func lastArchived(_ db: Database) throws -> StoredCheckpoint? {
        try Row.fetchOne(db, sql: "SELECT size, note, time FROM checkpoints ORDER BY size DESC LIMIT 1").map {
            StoredCheckpoint(size: UInt64($0["size"] as Int64), note: $0["note"], time: $0["time"])
        }
    }

    func entryCount(_ db: Database) throws -> UInt64 {
        UInt64(try Int64.fetchOne(db, sql: "SELECT coalesce(max(idx) + 1, 0) FROM entries") ?? 0)
    }

    /// Hashes of perfect subtrees, read from the rows that completed them.
    ///
    /// A subtree of `2^L` leaves starting at `s` was completed by leaf `s + 2^L - 1`; level 0 is the leaf hash,
    /// level `L ≥ 1` is at offset `32 (L - 1)` of that row's `nodes`.
    func perfectHashes(_ db: Database, _ ranges: [Range<UInt64>]) throws -> [MerkleHash] {
        let statement = try db.cachedStatement(sql: "SELECT leaf, nodes FROM entries WHERE idx = ?")
        var result: [MerkleHash] = []
        result.reserveCapacity(ranges.count)
        for range in ranges {
            let width = range.upperBound - range.lowerBound
            let level = width.trailingZeroBitCount
            guard width > 0, width.nonzeroBitCount == 1, range.lowerBound % width == 0 else {
                throw LedgerError(.invalidArgument, "\(range) is not a perfect subtree")
            }
            guard let row = try Row.fetchOne(statement, arguments: [Int64(range.upperBound - 1)]) else {
                throw LedgerError(.corrupt, "entry \(range.upperBound - 1) is missing from the store")
            }
            let hash: MerkleHash?
            if level == 0 {
                hash = (row["leaf"] as Data?).flatMap { MerkleHash(bytes: $0) }
            } else {
                let nodes = (row["nodes"] as Data?) ?? Data()
                let offset = 32 * (level - 1)
                hash =
                    nodes.count >= offset + 32
                    ? MerkleHash(bytes: nodes[nodes.startIndex + offset..<nodes.startIndex + offset + 32]) : nil
            }
            guard let hash else {
                throw LedgerError(.corrupt, "the stored hash of subtree \(range) is missing or malformed")
            }
            result.append(hash)
        }
        return result
    }

    /// Hashes of arbitrary subtrees of the RFC 9162 tree (perfect, or on a right edge), each folded from its
    /// perfect parts.
    func subtreeHashes(_ db: Database, _ ranges: [Range<UInt64>]) throws -> [MerkleHash] {
        try ranges.map { try Merkle.fold(perfectHashes(db, Merkle.perfectSubtrees(of: $0))) }
    }
}

/// The ledger's tables in the SQLite file of its data directory. One process appends (the directory's lock says
/// which), so a commit never finds rows it did not write.
struct SQLiteLedgerStorage: LedgerStorage {
    let store: LedgerStore
    let path: String

    var isShared: Bool { false }
    var location: String { path }
    var database: LedgerDatabase { .sqlite(store.writer) }

    func read<T>(_ body: (any LedgerReading) throws -> T) throws -> T {
        try store.writer.read { db in try body(Tables(store: store, db: db)) }
    }

    func write<T>(_ body: (any LedgerWriting) throws -> T) throws -> T {
        try store.writer.write { db in try body(Tables(store: store, db: db)) }
    }

    func close() {
        if let pool = store.writer as? DatabasePool { try? pool.close() }
    }

    struct Tables: LedgerWriting {
        let store: LedgerStore
        let db: Database

        func head() throws -> StoredCheckpoint? { try store.head(db) }
        func lastArchived() throws -> StoredCheckpoint? { try store.lastArchived(db) }
        func entryCount() throws -> UInt64 { try store.entryCount(db) }
        func perfectHashes(_ ranges: [Range<UInt64>]) throws -> [MerkleHash] { try store.perfectHashes(db, ranges) }
        func entries(at indexes: [UInt64]) throws -> [[UInt8]] { try store.entries(db, at: indexes) }
        func indexes(key: String) throws -> [UInt64]? { try store.indexes(db, key: key) }

        func entries(in range: Range<UInt64>) throws -> [[UInt8]] {
            let rows = try Data.fetchAll(
                db,
                sql: "SELECT entry FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx",
                arguments: [Int64(range.lowerBound), Int64(range.upperBound)]
            )
            guard rows.count == range.count else {
                throw LedgerError(.corrupt, "entries \(range) are not all in the store")
            }
            return rows.map { [UInt8]($0) }
        }

        func leaves(in range: Range<UInt64>) throws -> [(entry: [UInt8], leaf: [UInt8])] {
            try Row.fetchAll(
                db,
                sql: "SELECT entry, leaf FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx",
                arguments: [Int64(range.lowerBound), Int64(range.upperBound)]
            ).map { ([UInt8]($0["entry"] as Data), [UInt8]($0["leaf"] as Data)) }
        }

        func keys(in range: Range<UInt64>) throws -> [(key: String, index: UInt64)] {
            guard try db.tableExists("entry_keys") else { return [] }
            return try Row.fetchAll(
                db,
                sql: "SELECT key, idx FROM entry_keys WHERE idx >= ? AND idx < ?",
                arguments: [Int64(range.lowerBound), Int64(range.upperBound)]
            ).map { ($0["key"], UInt64($0["idx"] as Int64)) }
        }

        func entryRows(in range: Range<UInt64>) throws -> [EntryRow] {
            try Row.fetchAll(
                db,
                sql: "SELECT idx, entry, leaf, nodes FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx",
                arguments: [Int64(range.lowerBound), Int64(range.upperBound)]
            ).map { row in
                guard let leaf = MerkleHash(bytes: row["leaf"] as Data) else {
                    throw LedgerError(.corrupt, "entry \(row["idx"] as Int64) has a malformed leaf hash")
                }
                return EntryRow(
                    index: UInt64(row["idx"] as Int64),
                    entry: [UInt8](row["entry"] as Data),
                    leaf: leaf,
                    nodes: [UInt8]((row["nodes"] as Data?) ?? Data())
                )
            }
        }

        func checkpoints() throws -> [StoredCheckpoint] {
            try Row.fetchAll(db, sql: "SELECT size, note, time FROM checkpoints ORDER BY size").map {
                StoredCheckpoint(size: UInt64($0["size"] as Int64), note: $0["note"], time: $0["time"])
            }
        }

        func entryBytes(below size: UInt64) throws -> UInt64 {
            UInt64(
                try Int64.fetchOne(
                    db,
                    sql: "SELECT coalesce(sum(length(entry)), 0) + count(*) FROM entries WHERE idx < ?",
                    arguments: [Int64(size)]
                ) ?? 0
            )
        }

        func lockHead() throws -> StoredCheckpoint? { try store.head(db) }

        func lockHead(readingFrom known: UInt64, limit: UInt64) throws -> LockedHead? {
            guard let head = try store.head(db) else { return nil }
            guard head.size > known else { return LockedHead(head: head, rows: [], keys: []) }
            let (rows, keys) = try committed(in: known..<min(head.size, known + limit))
            return LockedHead(head: head, rows: rows, keys: keys)
        }

        func committed(
            in range: Range<UInt64>
        ) throws -> (
            rows: [(entry: [UInt8], leaf: [UInt8])], keys: [(key: String, index: UInt64)]
        ) {
            (try leaves(in: range), try keys(in: range))
        }

        func insert(_ rows: [EntryRow]) throws {
            let insert = try db.cachedStatement(
                sql: "INSERT INTO entries (idx, entry, leaf, nodes) VALUES (?, ?, ?, ?)"
            )
            for row in rows {
                try insert.execute(arguments: [
                    Int64(row.index), Data(row.entry), Data(row.leaf.array),
                    row.nodes.isEmpty ? nil : Data(row.nodes),
                ])
            }
        }

        func insertKeys(_ keys: [(key: String, index: UInt64)]) throws {
            let file = try db.cachedStatement(sql: "INSERT INTO entry_keys (key, idx) VALUES (?, ?)")
            for (key, index) in keys { try file.execute(arguments: [key, Int64(index)]) }
        }

        func initialize(note: String, time: String) throws {
            try db.execute(
                sql: "INSERT INTO head (id, size, note, time) VALUES (1, 0, ?, ?)",
                arguments: [note, time]
            )
            try db.execute(
                sql: "INSERT INTO checkpoints (size, note, time) VALUES (0, ?, ?)",
                arguments: [note, time]
            )
        }

        func updateHead(size: UInt64, note: String, time: String) throws {
            try db.cachedStatement(sql: "UPDATE head SET size = ?, note = ?, time = ? WHERE id = 1")
                .execute(arguments: [Int64(size), note, time])
        }

        func announce(size: UInt64) throws {}

        func archive(size: UInt64, note: String, time: String) throws {
            try db.cachedStatement(sql: "INSERT INTO checkpoints (size, note, time) VALUES (?, ?, ?)")
                .execute(arguments: [Int64(size), note, time])
        }
    }
}
