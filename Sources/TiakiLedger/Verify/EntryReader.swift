import Foundation
public import Logging

/// Reads the entries of an export bundle or a data directory in index order, for tools that audit a ledger
/// rather than prove it (run `tiaki verify` for that). A data directory is opened read-only, so a running service
/// may keep writing; the reader sees the entries its newest checkpoint covered when it was opened.
public final class EntryReader {
    public enum Source: String, Sendable {
        case bundle
        case dataDirectory = "data directory"
        /// A PostgreSQL database that instances share.
        case database
    }

    public let path: String
    public let source: Source
    /// How many entries there are, when known before reading (a data directory).
    public let total: UInt64?
    private let storage: (any LedgerStorage)?
    /// Whether the reader opened its store itself (and so closes it).
    private let owned: Bool

    /// Reads what an open ledger's newest checkpoint covers now, through its own store (SQLite or PostgreSQL).
    public init(ledger: Ledger) {
        path = ledger.storage.location
        source = .dataDirectory
        storage = ledger.storage
        total = ledger.checkpoint.size
        owned = false
    }

    /// Reads the ledger in a PostgreSQL database, read-only (instances may keep writing): what its newest checkpoint
    /// covers now. A database that holds no Tiaki ledger, or one of a newer schema, is refused.
    public init(database: PostgresAddress, logger: Logger) throws(LedgerError) {
        let storage = try PostgresLedgerStorage(database, logger: logger, migrate: false)
        path = database.redacted
        source = .database
        self.storage = storage
        owned = true
        total = try Self.size(of: storage, named: database.redacted)
    }

    /// How many entries the newest checkpoint of a store the reader opened covers; the store is closed if it
    /// cannot be read.
    private static func size(of storage: any LedgerStorage, named name: String) throws(LedgerError) -> UInt64 {
        do {
            return try storage.read { try $0.head()?.size ?? 0 }
        } catch {
            storage.close()
            throw LedgerError(.io, "cannot read \(name): \(error)")
        }
    }

    deinit {
        if owned { storage?.close() }
    }

    public init(path: String) throws(LedgerError) {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw LedgerError(.io, "\(path) is not a directory (give an export bundle or a data directory)")
        }
        if FileManager.default.fileExists(atPath: path + "/entries.jsonl") {
            source = .bundle
            storage = nil
            total = nil
            owned = false
        } else if FileManager.default.fileExists(atPath: path + "/ledger.sqlite") {
            source = .dataDirectory
            let store = try LedgerStore.openReadOnly(path: path + "/ledger.sqlite")
            let storage = SQLiteLedgerStorage(store: store, path: path + "/ledger.sqlite")
            self.storage = storage
            owned = true
            total = try Self.size(of: storage, named: path + "/ledger.sqlite")
        } else {
            throw LedgerError(
                .io,
                "\(path) holds neither entries.jsonl (a bundle) nor ledger.sqlite (a data directory)"
            )
        }
    }

    /// Calls `body` with each entry's index (its position) and bytes, in order, from index `start`; `progress`
    /// gets the count read and the fraction done.
    public func read(
        from start: UInt64 = 0,
        progress: (UInt64, Double?) -> Void = { _, _ in },
        _ body: (UInt64, [UInt8]) throws -> Void
    ) throws {
        if let storage, let total {
            var next: UInt64 = start
            while next < total {
                let upper = min(total, next + 4096)
                let chunk = try storage.read { try $0.entries(in: next..<upper) }
                for entry in chunk {
                    try body(next, entry)
                    next += 1
                }
                guard next == upper else {
                    throw LedgerError(.corrupt, "entries are missing below index \(upper)")
                }
                progress(next, Double(next) / Double(max(total, 1)))
            }
        } else {
            let reader = try LineReader(path: path + "/entries.jsonl")
            var index: UInt64 = 0
            while let line = try reader.next() {
                if index >= start { try body(index, Array(line)) }
                index += 1
                if index & 4095 == 0 {
                    progress(index, reader.fileSize > 0 ? Double(reader.bytesRead) / Double(reader.fileSize) : nil)
                }
            }
            progress(index, 1)
        }
    }

    /// The indexes of the entries filed under `key`, from a data directory's key index; `nil` for a bundle or a
    /// database written before the index existed (scan instead).
    public func indexes(forKey key: String) throws -> [UInt64]? {
        guard let storage, let total else { return nil }
        return try storage.read { try $0.indexes(key: key) }?.filter { $0 < total }
    }

    /// The entries at `indexes` of a data directory.
    public func entries(at indexes: [UInt64]) throws -> [[UInt8]] {
        guard let storage else { throw LedgerError(.invalidArgument, "a bundle is read in order only") }
        return try storage.read { try $0.entries(at: indexes) }
    }
}

/// Something that finds entries by key (see ``EntryDraft/key``) and reads them by index.
public protocol KeyedEntries {
    /// The indexes filed under `key`, oldest first; `nil` when there is no key index to ask.
    func keyedIndexes(_ key: String) throws -> [UInt64]?
    func entries(at indexes: [UInt64]) throws -> [[UInt8]]
}

extension EntryReader: KeyedEntries {
    public func keyedIndexes(_ key: String) throws -> [UInt64]? { try indexes(forKey: key) }
}

extension Ledger: KeyedEntries {
    public func keyedIndexes(_ key: String) throws -> [UInt64]? { try indexes(forKey: key) }
}
