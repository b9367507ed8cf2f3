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

/// The same tables in the PostgreSQL database the instances share, so that a child registered through one
/// instance is found, and its sealed fields opened, through any.
struct PostgresVaultTables: VaultTables {
    let pool: PostgresPool

    init(_ pool: PostgresPool) throws {
        self.pool = pool
        try PostgresMigrations.migrate(
            pool,
            component: "vault",
            steps: [
                """
                CREATE TABLE subject_keys (subject TEXT PRIMARY KEY, key BYTEA NOT NULL);
                CREATE TABLE subject_lookup (digest BYTEA PRIMARY KEY, subject TEXT NOT NULL);
                CREATE INDEX subject_lookup_subject ON subject_lookup (subject);
                CREATE TABLE credentials (
                    id TEXT PRIMARY KEY,
                    org TEXT NOT NULL,
                    role TEXT NOT NULL,
                    token_hash BYTEA NOT NULL UNIQUE,
                    revoked BOOLEAN NOT NULL DEFAULT false
                );
                """,
                """
                ALTER TABLE subject_keys ADD COLUMN wrapped_by TEXT;
                ALTER TABLE credentials ADD COLUMN holder TEXT;
                ALTER TABLE credentials ADD COLUMN last_used TEXT;
                CREATE TABLE vault_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
                """,
            ]
        )
    }

    private func run(_ sql: String, _ values: [any PostgresEncodable & Sendable]) throws -> [PostgresRow] {
        try pool.withSession { try $0.query(sql, try PostgresSession.binds(values)) }
    }

    private func bytes(_ data: Data) -> ByteBuffer { ByteBuffer(bytes: data) }

    func insertKey(subject: String, wrapped: Data, by kek: String) throws {
        _ = try run(
            "INSERT INTO subject_keys (subject, key, wrapped_by) VALUES ($1, $2, $3)",
            [subject, bytes(wrapped), kek]
        )
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
            try pool.transaction { session in
                try session.query(
                    "INSERT INTO subject_keys (subject, key, wrapped_by) VALUES ($1, $2, $3)",
                    try PostgresSession.binds([keySubject, bytes(wrapped), kek])
                )
                try session.query(
                    "INSERT INTO subject_lookup (digest, subject) SELECT unnest($1::bytea[]), unnest($2::text[])",
                    try PostgresSession.binds([lookups.map { bytes($0.0) }, lookups.map(\.1)])
                )
                try session.query("DELETE FROM subject_lookup WHERE subject = $1", try PostgresSession.binds([decoy]))
                try session.query("DELETE FROM subject_keys WHERE subject = $1", try PostgresSession.binds([decoy]))
            }
        } catch let error as PostgresFailure where error.isUniqueViolation {
            throw Self.taken
        }
    }

    func key(subject: String) throws -> (Data, String)? {
        try run("SELECT key, wrapped_by FROM subject_keys WHERE subject = $1", [subject]).first.flatMap { row in
            let (key, by) = try row.decode((ByteBuffer, String?).self)
            return by.map { (Data(buffer: key), $0) }
        }
    }

    func insertLookup(_ digests: [Data], subject: String) throws {
        do {
            _ = try run(
                "INSERT INTO subject_lookup (digest, subject) SELECT unnest($1::bytea[]), $2",
                [digests.map(bytes), subject]
            )
        } catch let error as PostgresFailure where error.isUniqueViolation {
            throw Self.taken
        }
    }

    func deleteLookup(_ digests: [Data]) throws {
        _ = try run("DELETE FROM subject_lookup WHERE digest = ANY($1::bytea[])", [digests.map(bytes)])
    }

    func lookup(_ digest: Data) throws -> String? {
        try run("SELECT subject FROM subject_lookup WHERE digest = $1", [bytes(digest)]).first.map {
            try $0.decode(String.self)
        }
    }

    func erase(subjects: [String]) throws {
        try pool.transaction { session in
            let binds = try PostgresSession.binds([subjects])
            try session.query("DELETE FROM subject_keys WHERE subject = ANY($1::text[])", binds)
            try session.query("DELETE FROM subject_lookup WHERE subject = ANY($1::text[])", binds)
        }
    }

    func insertCredential(id: String, org: String, role: String, hash: Data, holder: String) throws {
        _ = try run(
            "INSERT INTO credentials (id, org, role, token_hash, holder) VALUES ($1, $2, $3, $4, $5)",
            [id, org, role, bytes(hash), holder]
        )
    }

    static let credentialColumns = "id, org, role, token_hash, revoked, holder, last_used"

    static func credential(_ row: PostgresRow) throws -> StoredCredential {
        let (id, org, role, hash, revoked, holder, lastUsed) = try row.decode(
            (String, String, String, ByteBuffer, Bool, String?, String?).self
        )
        return StoredCredential(
            id: id,
            org: org,
            role: role,
            hash: Data(buffer: hash),
            revoked: revoked,
            holder: holder,
            lastUsed: lastUsed
        )
    }

    func credential(hash: Data) throws -> StoredCredential? {
        try run("SELECT \(Self.credentialColumns) FROM credentials WHERE token_hash = $1", [bytes(hash)]).first
            .map(Self.credential)
    }

    func credentials() throws -> [StoredCredential] {
        try run("SELECT \(Self.credentialColumns) FROM credentials", []).map(Self.credential)
    }

    func revokeCredential(id: String) throws {
        _ = try run("UPDATE credentials SET revoked = true WHERE id = $1", [id])
    }

    func credentialUsed(id: String, at time: String) throws {
        _ = try run("UPDATE credentials SET last_used = $1 WHERE id = $2", [time, id])
    }

    func meta(_ name: String) throws -> String? {
        try run("SELECT value FROM vault_meta WHERE name = $1", [name]).first.map { try $0.decode(String.self) }
    }

    func adopt(_ kek: any KeyEncryptionKey) throws -> String {
        try pool.transaction { session in
            try session.query("LOCK TABLE vault_meta IN EXCLUSIVE MODE")
            if let recorded = try session.query("SELECT value FROM vault_meta WHERE name = 'kek'").first {
                return try recorded.decode(String.self)
            }
            let raw = try session.query("SELECT subject, key FROM subject_keys WHERE wrapped_by IS NULL")
            for row in raw {
                let (subject, key) = try row.decode((String, ByteBuffer).self)
                let wrapped = try kek.wrap(SymmetricKey(data: Data(buffer: key)), subject: subject)
                try session.query(
                    "UPDATE subject_keys SET key = $1, wrapped_by = $2 WHERE subject = $3",
                    try PostgresSession.binds([ByteBuffer(bytes: wrapped), kek.id, subject])
                )
            }
            try session.query(
                "INSERT INTO vault_meta (name, value) VALUES ('kek', $1)",
                try PostgresSession.binds([kek.id])
            )
            return kek.id
        }
    }

    func rewrap(from: String, to: String, _ rewrap: (String, Data, String) throws -> Data) throws -> Int {
        try pool.transaction { session in
            try session.query("LOCK TABLE vault_meta IN EXCLUSIVE MODE")
            let recorded = try session.query("SELECT value FROM vault_meta WHERE name = 'kek'").first
            guard try recorded?.decode(String.self) == from else { throw Self.moved }
            let rows = try session.query("SELECT subject, key, wrapped_by FROM subject_keys")
            var count = 0
            for row in rows {
                let (subject, key, by) = try row.decode((String, ByteBuffer, String?).self)
                let wrapped = try rewrap(subject, Data(buffer: key), by ?? from)
                try session.query(
                    "UPDATE subject_keys SET key = $1, wrapped_by = $2 WHERE subject = $3",
                    try PostgresSession.binds([ByteBuffer(bytes: wrapped), to, subject])
                )
                count += 1
            }
            try session.query(
                "UPDATE vault_meta SET value = $1 WHERE name = 'kek'",
                try PostgresSession.binds([to])
            )
            return count
        }
    }
}
