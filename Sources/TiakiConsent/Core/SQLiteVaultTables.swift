import Crypto
import Foundation
import GRDB
import Logging
import NIOCore
import NIOFoundationCompat
import PostgresNIO
import TiakiLedger
import TiakiModel

#if canImport(Glibc)
import Glibc
#endif

struct SQLiteVaultTables: VaultTables {
    let db: any DatabaseWriter

    init(_ db: any DatabaseWriter) throws {
        self.db = db
        var migrator = DatabaseMigrator()
        migrator.registerMigration("consent-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE subject_keys (subject TEXT PRIMARY KEY, key BLOB NOT NULL) WITHOUT ROWID;
                    CREATE TABLE subject_lookup (digest BLOB PRIMARY KEY, subject TEXT NOT NULL) WITHOUT ROWID;
                    CREATE INDEX subject_lookup_subject ON subject_lookup (subject);
                    CREATE TABLE credentials (
                        id TEXT PRIMARY KEY,
                        org TEXT NOT NULL,
                        role TEXT NOT NULL,
                        token_hash BLOB NOT NULL UNIQUE,
                        revoked INTEGER NOT NULL DEFAULT 0
                    ) WITHOUT ROWID;
                    """
            )
        }
        // Keys wrapped under a key-encryption key outside the database (NULL: stored raw, before this version);
        // who holds each credential, and when it was last used.
        migrator.registerMigration("consent-v2") { db in
            try db.execute(
                sql: """
                    ALTER TABLE subject_keys ADD COLUMN wrapped_by TEXT;
                    ALTER TABLE credentials ADD COLUMN holder TEXT;
                    ALTER TABLE credentials ADD COLUMN last_used TEXT;
                    CREATE TABLE vault_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
                    """
            )
        }
        try migrator.migrate(db)
    }

    func insertKey(subject: String, wrapped: Data, by kek: String) throws {
        try db.write { db in
            try db.execute(
                sql: "INSERT INTO subject_keys (subject, key, wrapped_by) VALUES (?, ?, ?)",
                arguments: [subject, wrapped, kek]
            )
        }
    }

    func insertRegistration(
        keySubject: String,
        wrapped: Data,
        by kek: String,
        lookups: [(Data, String)],
        decoy: String
    )
        throws
    {
        do {
            try db.write { db in
                try db.execute(
                    sql: "INSERT INTO subject_keys (subject, key, wrapped_by) VALUES (?, ?, ?)",
                    arguments: [keySubject, wrapped, kek]
                )
                for (digest, subject) in lookups {
                    try db.execute(
                        sql: "INSERT INTO subject_lookup (digest, subject) VALUES (?, ?)",
                        arguments: [digest, subject]
                    )
                }
                try db.execute(sql: "DELETE FROM subject_lookup WHERE subject = ?", arguments: [decoy])
                try db.execute(sql: "DELETE FROM subject_keys WHERE subject = ?", arguments: [decoy])
            }
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
            throw Self.taken
        }
    }

    func key(subject: String) throws -> (Data, String)? {
        try db.read { db in
            try Row.fetchOne(
                db,
                sql: "SELECT key, wrapped_by FROM subject_keys WHERE subject = ?",
                arguments: [subject]
            )
        }.flatMap { row in
            guard let by = row["wrapped_by"] as String? else { return nil }
            return (row["key"] as Data, by)
        }
    }

    func insertLookup(_ digests: [Data], subject: String) throws {
        do {
            try db.write { db in
                for digest in digests {
                    try db.execute(
                        sql: "INSERT INTO subject_lookup (digest, subject) VALUES (?, ?)",
                        arguments: [digest, subject]
                    )
                }
            }
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
            throw Self.taken
        }
    }

    func deleteLookup(_ digests: [Data]) throws {
        try db.write { db in
            for digest in digests {
                try db.execute(sql: "DELETE FROM subject_lookup WHERE digest = ?", arguments: [digest])
            }
        }
    }

    func lookup(_ digest: Data) throws -> String? {
        try db.read { db in
            try String.fetchOne(db, sql: "SELECT subject FROM subject_lookup WHERE digest = ?", arguments: [digest])
        }
    }

    func erase(subjects: [String]) throws {
        try db.write { db in
            for subject in subjects {
                try db.execute(sql: "DELETE FROM subject_keys WHERE subject = ?", arguments: [subject])
                try db.execute(sql: "DELETE FROM subject_lookup WHERE subject = ?", arguments: [subject])
            }
        }
    }

    func insertCredential(id: String, org: String, role: String, hash: Data, holder: String) throws {
        try db.write { db in
            try db.execute(
                sql: "INSERT INTO credentials (id, org, role, token_hash, holder) VALUES (?, ?, ?, ?, ?)",
                arguments: [id, org, role, hash, holder]
            )
        }
    }

    static let credentialColumns = "id, org, role, token_hash, revoked, holder, last_used"

    static func credential(_ row: Row) -> StoredCredential {
        StoredCredential(
            id: row["id"],
            org: row["org"],
            role: row["role"],
            hash: row["token_hash"],
            revoked: (row["revoked"] as Int) != 0,
            holder: row["holder"],
            lastUsed: row["last_used"]
        )
    }

    func credential(hash: Data) throws -> StoredCredential? {
        try db.read { db in
            try Row.fetchOne(
                db,
                sql: "SELECT \(Self.credentialColumns) FROM credentials WHERE token_hash = ?",
                arguments: [hash]
            ).map(Self.credential)
        }
    }

    func credentials() throws -> [StoredCredential] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.credentialColumns) FROM credentials").map(Self.credential)
        }
    }

    func revokeCredential(id: String) throws {
        try db.write { db in try db.execute(sql: "UPDATE credentials SET revoked = 1 WHERE id = ?", arguments: [id]) }
    }

    func credentialUsed(id: String, at time: String) throws {
        try db.write { db in
            try db.execute(sql: "UPDATE credentials SET last_used = ? WHERE id = ?", arguments: [time, id])
        }
    }

    func meta(_ name: String) throws -> String? {
        try db.read { db in
            try String.fetchOne(db, sql: "SELECT value FROM vault_meta WHERE name = ?", arguments: [name])
        }
    }

    func adopt(_ kek: any KeyEncryptionKey) throws -> String {
        try db.write { db in
            if let recorded = try String.fetchOne(db, sql: "SELECT value FROM vault_meta WHERE name = 'kek'") {
                return recorded
            }
            let raw = try Row.fetchAll(db, sql: "SELECT subject, key FROM subject_keys WHERE wrapped_by IS NULL")
            for row in raw {
                let subject: String = row["subject"]
                let wrapped = try kek.wrap(SymmetricKey(data: row["key"] as Data), subject: subject)
                try db.execute(
                    sql: "UPDATE subject_keys SET key = ?, wrapped_by = ? WHERE subject = ?",
                    arguments: [wrapped, kek.id, subject]
                )
            }
            try db.execute(sql: "INSERT INTO vault_meta (name, value) VALUES ('kek', ?)", arguments: [kek.id])
            return kek.id
        }
    }

    func rewrap(from: String, to: String, _ rewrap: (String, Data, String) throws -> Data) throws -> Int {
        try db.write { db in
            guard try String.fetchOne(db, sql: "SELECT value FROM vault_meta WHERE name = 'kek'") == from else {
                throw Self.moved
            }
            let rows = try Row.fetchAll(db, sql: "SELECT subject, key, wrapped_by FROM subject_keys")
            for row in rows {
                let subject: String = row["subject"]
                let wrapped = try rewrap(subject, row["key"], row["wrapped_by"] ?? from)
                try db.execute(
                    sql: "UPDATE subject_keys SET key = ?, wrapped_by = ? WHERE subject = ?",
                    arguments: [wrapped, to, subject]
                )
            }
            try db.execute(sql: "UPDATE vault_meta SET value = ? WHERE name = 'kek'", arguments: [to])
            return rows.count
        }
    }
}
