import Crypto
import Foundation
import GRDB
public import Logging
import NIOCore
import NIOFoundationCompat
import PostgresNIO
public import TiakiLedger
import TiakiModel

#if canImport(Glibc)
import Glibc
#endif

/// Moves a data directory's ledger and vault into an empty PostgreSQL database (`tiaki migrate`).
public enum DataMigration {
    /// Copies the ledger (see ``LedgerMigration``) and, in the same transaction, the vault's tables (sealing keys,
    /// the keyed lookup, credentials); then proves the ledger arrived whole and counts the vault's rows on both
    /// sides. The data directory keeps its keys, which every instance needs (`log.key`, `log.vkey`, `lookup.key`,
    /// `seal.key`).
    public static func run(
        from directory: LedgerDirectory,
        to database: PostgresAddress,
        logger: Logger,
        progress: (_ stage: String, _ done: UInt64, _ total: UInt64) -> Void = { _, _, _ in }
    ) throws -> (ledger: LedgerMigration.Summary, vaultRows: [String: Int]) {
        // The source's vault brought up to date first (its keys wrapped, if they were stored before that), so
        // that what moves is what this version reads.
        do {
            let writable = try DatabaseQueue(path: directory.databasePath)
            let tables = try SQLiteVaultTables(writable)
            _ = try SubjectVault.openKeyring(directory: directory.path, tables: tables)
        }
        var configuration = Configuration()
        configuration.readonly = true
        let source = try DatabaseQueue(path: directory.databasePath, configuration: configuration)
        let tables = ["subject_keys", "subject_lookup", "credentials", "vault_meta"]
        let counts = try source.read { db in
            try tables.reduce(into: [String: Int]()) {
                $0[$1] = try Int.fetchOne(db, sql: "SELECT count(*) FROM \($1)")
            }
        }
        // The vault's tables must exist in PostgreSQL before the copy's transaction writes them.
        let pool = try PostgresPool(database, logger: logger)
        defer { pool.close() }
        _ = try PostgresVaultTables(pool)
        let summary = try LedgerMigration.copy(
            from: directory,
            to: database,
            logger: logger,
            beforeCommit: { session in
                try source.read { db in
                    let keys = try Row.fetchCursor(db, sql: "SELECT subject, key, wrapped_by FROM subject_keys")
                    while let row = try keys.next() {
                        let subject: String = row["subject"]
                        let wrappedBy: String = row["wrapped_by"]
                        try session.query(
                            "INSERT INTO subject_keys (subject, key, wrapped_by) VALUES ($1, $2, $3)",
                            try PostgresSession.binds([subject, ByteBuffer(bytes: row["key"] as Data), wrappedBy])
                        )
                    }
                    let meta = try Row.fetchCursor(db, sql: "SELECT name, value FROM vault_meta")
                    while let row = try meta.next() {
                        try session.query(
                            "INSERT INTO vault_meta (name, value) VALUES ($1, $2)",
                            try PostgresSession.binds([row["name"] as String, row["value"] as String])
                        )
                    }
                    let lookup = try Row.fetchCursor(db, sql: "SELECT digest, subject FROM subject_lookup")
                    while let row = try lookup.next() {
                        try session.query(
                            "INSERT INTO subject_lookup (digest, subject) VALUES ($1, $2)",
                            try PostgresSession.binds([
                                ByteBuffer(bytes: row["digest"] as Data), row["subject"] as String,
                            ])
                        )
                    }
                    let credentials = try Row.fetchCursor(
                        db,
                        sql: "SELECT id, org, role, token_hash, revoked, holder, last_used FROM credentials"
                    )
                    while let row = try credentials.next() {
                        let id: String = row["id"]
                        let org: String = row["org"]
                        let role: String = row["role"]
                        let hash = ByteBuffer(bytes: row["token_hash"] as Data)
                        let revoked = (row["revoked"] as Int) != 0
                        // Credentials issued before holders were asked have none: an empty holder stands for it.
                        let holder: String = row["holder"] ?? ""
                        let lastUsed: String = row["last_used"] ?? ""
                        try session.query(
                            "INSERT INTO credentials (id, org, role, token_hash, revoked, holder, last_used) VALUES ($1, $2, $3, $4, $5, NULLIF($6, ''), NULLIF($7, ''))",
                            try PostgresSession.binds([id, org, role, hash, revoked, holder, lastUsed])
                        )
                    }
                }
            },
            progress: progress
        )
        var arrived: [String: Int] = [:]
        try pool.withSession { session in
            for table in tables {
                arrived[table] = Int(try session.query("SELECT count(*) FROM \(table)").first?.decode(Int64.self) ?? 0)
            }
        }
        guard arrived == counts else {
            throw TiakiError(
                .unavailable,
                "the vault's rows did not all arrive: \(counts) in SQLite, \(arrived) in PostgreSQL"
            )
        }
        return (summary, counts)
    }
}
