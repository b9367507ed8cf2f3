import Foundation
package import GRDB

/// The database a ledger's tables are in, for the mutable tables the layers above keep beside them.
package enum LedgerDatabase {
    case sqlite(any DatabaseWriter)
    case postgres(PostgresPool)
}

/// Where a ledger's tables live: the SQLite file in its data directory (the embedded default), or a PostgreSQL
/// database that several Tiaki instances share.
///
/// Both hold the same tables with the same rules: `entries` and `checkpoints` append-only (triggers refuse UPDATE
/// and DELETE, and an entry only at the next index), `head` with the newest signed checkpoint, `entry_keys` to find
/// a key's entries; each entry row keeps its leaf hash and the subtree hashes it completes.
package protocol LedgerStorage: Sendable {
    /// Whether other processes may append to the same tables (several instances on one PostgreSQL database): then a
    /// commit catches up with what they wrote first, and a reader asks the database how far the log has grown.
    var isShared: Bool { get }
    /// Where, for messages (a path, or a URL without its password).
    var location: String { get }
    /// The database, for the mutable tables the layers above keep beside the ledger's.
    var database: LedgerDatabase { get }
    /// Runs `body` in one read transaction that sees one committed state.
    func read<T>(_ body: (any LedgerReading) throws -> T) throws -> T
    /// Runs `body` in one write transaction: all of it is durable when this returns, none of it if it throws.
    func write<T>(_ body: (any LedgerWriting) throws -> T) throws -> T
    /// Releases the connections.
    func close()
}

/// A checkpoint row: the size it covers, its signed note, and when it was written.
package struct StoredCheckpoint: Sendable {
    package var size: UInt64
    package var note: String
    package var time: String
}

/// An entry row as a commit writes it.
package struct EntryRow: Sendable {
    package var index: UInt64
    package var entry: [UInt8]
    package var leaf: MerkleHash
    /// The hashes of the perfect subtrees this leaf completes, 32 bytes per level from level 1.
    package var nodes: [UInt8]
}

/// What a reader of the ledger tables can ask, inside one transaction.
package protocol LedgerReading {
    func head() throws -> StoredCheckpoint?
    func lastArchived() throws -> StoredCheckpoint?
    func entryCount() throws -> UInt64
    /// Hashes of perfect subtrees (each range `2^L` wide and aligned), read from the rows that completed them.
    func perfectHashes(_ ranges: [Range<UInt64>]) throws -> [MerkleHash]
    /// The entries with indexes in `range`, in order (each must exist).
    func entries(in range: Range<UInt64>) throws -> [[UInt8]]
    /// The entries at `indexes`, in the order given (each must exist).
    func entries(at indexes: [UInt64]) throws -> [[UInt8]]
    /// The entries with indexes in `range` and their stored leaf hashes, in order.
    func leaves(in range: Range<UInt64>) throws -> [(entry: [UInt8], leaf: [UInt8])]
    /// The indexes of the entries filed under `key`, in order; `nil` for a SQLite ledger written before the key
    /// index existed and opened read-only (scan instead).
    func indexes(key: String) throws -> [UInt64]?
    /// The keys filed for entries with indexes in `range`.
    func keys(in range: Range<UInt64>) throws -> [(key: String, index: UInt64)]
    /// The entries with indexes in `range` with their stored leaf hashes, and the keys filed for them, at once.
    func committed(
        in range: Range<UInt64>
    ) throws -> (
        rows: [(entry: [UInt8], leaf: [UInt8])], keys: [(key: String, index: UInt64)]
    )
    /// The entry rows with indexes in `range` as they are stored (bytes, leaf, subtree hashes), in order.
    func entryRows(in range: Range<UInt64>) throws -> [EntryRow]
    /// The archived checkpoints, smallest first.
    func checkpoints() throws -> [StoredCheckpoint]
    /// The length of the entries below `size` plus one byte each (their lines in `entries.jsonl`).
    func entryBytes(below size: UInt64) throws -> UInt64
}

/// The head row, locked, and the entries committed after the index the locker had seen, with their keys.
package struct LockedHead {
    package var head: StoredCheckpoint
    /// Entries from the index asked for, in order, with their stored leaf hashes.
    package var rows: [(entry: [UInt8], leaf: [UInt8])]
    package var keys: [(key: String, index: UInt64)]
}

/// What a commit writes, inside one transaction.
package protocol LedgerWriting: LedgerReading {
    /// The size the newest checkpoint covers, with the head row locked until the transaction ends, so that no other
    /// instance commits meanwhile (`SELECT … FOR UPDATE`; SQLite's write transaction is already exclusive).
    func lockHead() throws -> StoredCheckpoint?
    /// ``lockHead()`` and, at once, what was committed from index `known` on (at most `limit` entries, fewer if
    /// the head is nearer): on PostgreSQL the three statements go in one round trip, the reads running once the
    /// lock is held, so they see every commit before it (each waits for the head lock, so none comes after).
    func lockHead(readingFrom known: UInt64, limit: UInt64) throws -> LockedHead?
    func insert(_ rows: [EntryRow]) throws
    func insertKeys(_ keys: [(key: String, index: UInt64)]) throws
    /// Writes the first head row and archived checkpoint of an empty ledger (nothing when another got there first).
    func initialize(note: String, time: String) throws
    func updateHead(size: UInt64, note: String, time: String) throws
    /// Tells other instances, once the transaction commits, that the ledger has grown to `size` (nothing for a
    /// store only one process writes).
    func announce(size: UInt64) throws
    func archive(size: UInt64, note: String, time: String) throws
}

extension LedgerReading {
    /// Hashes of arbitrary subtrees of the RFC 9162 tree (perfect, or on a right edge), each folded from its
    /// perfect parts.
    package func subtreeHashes(_ ranges: [Range<UInt64>]) throws -> [MerkleHash] {
        // Every perfect part of every range read at once (one query on PostgreSQL, not one per range).
        let parts = ranges.map { Merkle.perfectSubtrees(of: $0) }
        var hashes = try perfectHashes(parts.flatMap { $0 })[...]
        return parts.map { part in
            defer { hashes = hashes.dropFirst(part.count) }
            return Merkle.fold(Array(hashes.prefix(part.count)))
        }
    }

    /// Reads a perfect subtree's hash out of the row that completed it (`leaf` and `nodes` of entry
    /// `range.upperBound - 1`).
    static func perfectHash(of range: Range<UInt64>, leaf: [UInt8]?, nodes: [UInt8]?) throws -> MerkleHash {
        let width = range.upperBound - range.lowerBound
        let level = width.trailingZeroBitCount
        let hash: MerkleHash?
        if level == 0 {
            hash = leaf.flatMap { MerkleHash(bytes: $0) }
        } else {
            let nodes = nodes ?? []
            let offset = 32 * (level - 1)
            hash = nodes.count >= offset + 32 ? MerkleHash(bytes: nodes[offset..<offset + 32]) : nil
        }
        guard let hash else {
            throw LedgerError(.corrupt, "the stored hash of subtree \(range) is missing or malformed")
        }
        return hash
    }

    static func checkPerfect(_ range: Range<UInt64>) throws {
        let width = range.upperBound - range.lowerBound
        guard width > 0, width.nonzeroBitCount == 1, range.lowerBound % width == 0 else {
            throw LedgerError(.invalidArgument, "\(range) is not a perfect subtree")
        }
    }
}
