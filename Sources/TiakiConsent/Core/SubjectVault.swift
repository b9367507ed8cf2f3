package import Crypto
package import Foundation
import GRDB
public import Logging
import NIOCore
import NIOFoundationCompat
import PostgresNIO
public import TiakiLedger
public import TiakiModel

#if canImport(Glibc)
import Glibc
#endif

/// Personal details kept outside the ledger: one AES-GCM key per subject, and a keyed lookup from school
/// identifiers (NSN, local reference) to the subject's random id.
///
/// Both tables are mutable and never part of the tree. Erasing a subject deletes its key (so its sealed fields can
/// no longer be opened) and its lookup rows (so its NSN no longer finds it). The lookup is an HMAC under a key kept
/// in the data directory's `lookup.key` (0600), not in the database, so a copy of the database alone does not
/// let anyone test NSNs against it.
package struct SubjectVault: Sendable {
    let tables: any VaultTables
    let lookupKey: SymmetricKey
    let random: RandomSource

    static let sealPrefix = "aes-gcm:"

    /// The vault in the ledger's own database (SQLite beside the ledger, or the PostgreSQL database instances share);
    /// the lookup key in the data directory.
    package init(database: LedgerDatabase, directory: LedgerDirectory, random: RandomSource) throws {
        self.random = random
        self.lookupKey = try SubjectVault.loadOrCreateLookupKey(directory.path + "/lookup.key")
        switch database {
        case .sqlite(let writer): tables = try SQLiteVaultTables(writer)
        case .postgres(let pool): tables = try PostgresVaultTables(pool)
        }
    }

    static func loadOrCreateLookupKey(_ path: String) throws -> SymmetricKey {
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            var info = stat()
            if stat(path, &info) == 0, info.st_mode & 0o077 != 0 {
                throw TiakiError(.unavailable, "\(path) can be read by others; run chmod 600 on it")
            }
            guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), data.count == 32
            else {
                throw TiakiError(.unavailable, "\(path) does not hold a 32-byte base64 key")
            }
            return SymmetricKey(data: data)
        }
        let key = SymmetricKey(size: .bits256)
        let text = key.withUnsafeBytes { Data($0).base64EncodedString() } + "\n"
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            throw TiakiError(.unavailable, "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        fchmod(fd, 0o600)
        let bytes = Array(text.utf8)
        guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count, fsync(fd) == 0 else {
            throw TiakiError(.unavailable, "cannot write \(path)")
        }
        return key
    }

    // MARK: Keys and sealing

    /// Creates the subject's key.
    package func createKey(for subject: String) throws -> SymmetricKey {
        let key = SymmetricKey(data: random.bytes(32))
        try tables.insertKey(subject: subject, key: key.withUnsafeBytes { Data($0) })
        return key
    }

    package func key(for subject: String) throws -> SymmetricKey? {
        try tables.key(subject: subject).map { SymmetricKey(data: $0) }
    }

    /// Seals `text` under `key`, binding it to the subject (as associated data) so it cannot be moved to another.
    package func seal(_ text: String, subject: String, key: SymmetricKey) throws -> Sealed {
        let nonce = try AES.GCM.Nonce(data: random.bytes(12))
        let box = try AES.GCM.seal(Data(text.utf8), using: key, nonce: nonce, authenticating: Data(subject.utf8))
        guard let combined = box.combined else { throw TiakiError(.unavailable, "sealing failed") }
        return Sealed(token: SubjectVault.sealPrefix + combined.base64EncodedString())
    }

    /// Opens a sealed field; `nil` once the subject's key is erased.
    package func open(_ sealed: Sealed, subject: String) throws -> String? {
        guard let key = try key(for: subject) else { return nil }
        return try SubjectVault.open(sealed, subject: subject, key: key)
    }

    static func open(_ sealed: Sealed, subject: String, key: SymmetricKey) throws -> String {
        guard sealed.token.hasPrefix(SubjectVault.sealPrefix),
            let data = Data(base64Encoded: String(sealed.token.dropFirst(SubjectVault.sealPrefix.count)))
        else { throw TiakiError(.invalid, "not a sealed field") }
        let box = try AES.GCM.SealedBox(combined: data)
        let plain = try AES.GCM.open(box, using: key, authenticating: Data(subject.utf8))
        return String(decoding: plain, as: UTF8.self)
    }

    // MARK: Lookup

    package enum Identifier: Sendable, Hashable {
        /// The National Student Number, unique across the country.
        case nsn(String)
        /// A school's own reference, unique within that organisation.
        case local(org: String, reference: String)

        var material: String {
            switch self {
            case .nsn(let n): "nsn:" + n.trimmingCharacters(in: .whitespaces)
            case .local(let org, let reference): "local:" + org + ":" + reference.trimmingCharacters(in: .whitespaces)
            }
        }
    }

    func digest(_ identifier: Identifier) -> Data {
        Data(HMAC<SHA256>.authenticationCode(for: Data(identifier.material.utf8), using: lookupKey))
    }

    package func addLookup(_ identifiers: [Identifier], subject: String) throws {
        guard !identifiers.isEmpty else { return }
        try tables.insertLookup(identifiers.map(digest), subject: subject)
    }

    /// Removes lookup rows added for an enrolment that was not recorded.
    package func removeLookup(_ identifiers: [Identifier]) throws {
        guard !identifiers.isEmpty else { return }
        try tables.deleteLookup(identifiers.map(digest))
    }

    package func find(_ identifier: Identifier) throws -> String? {
        try tables.lookup(digest(identifier))
    }

    package func isTaken(_ identifier: Identifier) throws -> Bool { try find(identifier) != nil }

    /// Destroys the subject's key and lookup rows.
    package func erase(_ subject: String) throws {
        try tables.erase(subjects: [subject])
    }

    /// Erases several subjects in one transaction (a start finishing erasures whose key destruction did not
    /// complete).
    package func erase(_ subjects: [String]) throws {
        guard !subjects.isEmpty else { return }
        try tables.erase(subjects: subjects)
    }

    // MARK: Credentials

    package static func hash(token: String) -> Data { Data(SHA256.hash(data: Data(token.utf8))) }

    package func storeCredential(id: String, org: String, role: String, token: String) throws {
        try tables.insertCredential(id: id, org: org, role: role, hash: SubjectVault.hash(token: token))
    }

    package func credential(hash: Data) throws -> (id: String, org: String, role: String, hash: Data, revoked: Bool)? {
        try tables.credential(hash: hash)
    }

    /// Compares two byte strings in time that depends only on their lengths.
    package static func constantTimeEqual(_ a: Data, _ b: Data) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }

    package func revokeCredential(id: String) throws {
        try tables.revokeCredential(id: id)
    }
}

/// Moves a data directory's ledger and vault into an empty PostgreSQL database (`tiaki migrate`).
public enum DataMigration {
    /// Copies the ledger (see ``LedgerMigration``) and, in the same transaction, the vault's tables (sealing keys,
    /// the keyed lookup, credentials); then proves the ledger arrived whole and counts the vault's rows on both
    /// sides. The data directory keeps its keys, which every instance needs (`log.key`, `log.vkey`, `lookup.key`).
    public static func run(
        from directory: LedgerDirectory,
        to database: PostgresAddress,
        logger: Logger,
        progress: (_ stage: String, _ done: UInt64, _ total: UInt64) -> Void = { _, _, _ in }
    ) throws -> (ledger: LedgerMigration.Summary, vaultRows: [String: Int]) {
        var configuration = Configuration()
        configuration.readonly = true
        let source = try DatabaseQueue(path: directory.databasePath, configuration: configuration)
        let tables = ["subject_keys", "subject_lookup", "credentials"]
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
                    let keys = try Row.fetchCursor(db, sql: "SELECT subject, key FROM subject_keys")
                    while let row = try keys.next() {
                        try session.query(
                            "INSERT INTO subject_keys (subject, key) VALUES ($1, $2)",
                            try PostgresSession.binds([row["subject"] as String, ByteBuffer(bytes: row["key"] as Data)])
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
                        sql: "SELECT id, org, role, token_hash, revoked FROM credentials"
                    )
                    while let row = try credentials.next() {
                        try session.query(
                            "INSERT INTO credentials (id, org, role, token_hash, revoked) VALUES ($1, $2, $3, $4, $5)",
                            try PostgresSession.binds([
                                row["id"] as String, row["org"] as String, row["role"] as String,
                                ByteBuffer(bytes: row["token_hash"] as Data), (row["revoked"] as Int) != 0,
                            ])
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

/// Opens sealed fields from a data directory or a PostgreSQL database without changing it (for `tiaki audit
/// subject`, which may run while the service does). Needs read access to the database's key table.
public final class SealedFieldReader: Sendable {
    private let key: @Sendable (String) throws -> Data?
    private let closing: @Sendable () -> Void

    public init(dataDirectory: String) throws {
        var configuration = Configuration()
        configuration.readonly = true
        let db = try DatabaseQueue(path: dataDirectory + "/ledger.sqlite", configuration: configuration)
        key = { subject in
            try db.read { db in
                try Data.fetchOne(db, sql: "SELECT key FROM subject_keys WHERE subject = ?", arguments: [subject])
            }
        }
        closing = {}
    }

    /// Reads the keys of the vault in `database` (the instances' shared one), changing nothing.
    public init(database: PostgresAddress, logger: Logger) throws {
        let pool = try PostgresPool(database, logger: logger)
        key = { subject in
            try pool.withSession {
                try $0.query("SELECT key FROM subject_keys WHERE subject = $1", try PostgresSession.binds([subject]))
            }.first.map { Data(buffer: try $0.decode(ByteBuffer.self)) }
        }
        closing = { pool.close() }
    }

    deinit { closing() }

    /// The plain text of a sealed field of `subject`; `nil` once the subject is erased or if it cannot be opened.
    public func open(_ sealed: Sealed, subject: String) -> String? {
        guard let key = (try? key(subject)).flatMap({ $0 }) else { return nil }
        return try? SubjectVault.open(sealed, subject: subject, key: SymmetricKey(data: key))
    }
}

/// The vault's tables: subject keys, the keyed lookup, credentials. Mutable, never part of the tree.
protocol VaultTables: Sendable {
    func insertKey(subject: String, key: Data) throws
    func key(subject: String) throws -> Data?
    /// Adds lookup rows; a digest already taken is ``TiakiError/Code/conflict``.
    func insertLookup(_ digests: [Data], subject: String) throws
    func deleteLookup(_ digests: [Data]) throws
    func lookup(_ digest: Data) throws -> String?
    func erase(subjects: [String]) throws
    func insertCredential(id: String, org: String, role: String, hash: Data) throws
    func credential(hash: Data) throws -> (id: String, org: String, role: String, hash: Data, revoked: Bool)?
    func revokeCredential(id: String) throws
}

extension VaultTables {
    static var taken: TiakiError {
        TiakiError(.conflict, "a child with this identifier was registered a moment ago; look the child up")
    }
}

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
        try migrator.migrate(db)
    }

    func insertKey(subject: String, key: Data) throws {
        try db.write { db in
            try db.execute(sql: "INSERT INTO subject_keys (subject, key) VALUES (?, ?)", arguments: [subject, key])
        }
    }

    func key(subject: String) throws -> Data? {
        try db.read { db in
            try Data.fetchOne(db, sql: "SELECT key FROM subject_keys WHERE subject = ?", arguments: [subject])
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

    func insertCredential(id: String, org: String, role: String, hash: Data) throws {
        try db.write { db in
            try db.execute(
                sql: "INSERT INTO credentials (id, org, role, token_hash) VALUES (?, ?, ?, ?)",
                arguments: [id, org, role, hash]
            )
        }
    }

    func credential(hash: Data) throws -> (id: String, org: String, role: String, hash: Data, revoked: Bool)? {
        try db.read { db in
            try Row.fetchOne(
                db,
                sql: "SELECT id, org, role, token_hash, revoked FROM credentials WHERE token_hash = ?",
                arguments: [hash]
            )
            .map { ($0["id"], $0["org"], $0["role"], $0["token_hash"], ($0["revoked"] as Int) != 0) }
        }
    }

    func revokeCredential(id: String) throws {
        try db.write { db in try db.execute(sql: "UPDATE credentials SET revoked = 1 WHERE id = ?", arguments: [id]) }
    }
}

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
                """
            ]
        )
    }

    private func run(_ sql: String, _ values: [any PostgresEncodable & Sendable]) throws -> [PostgresRow] {
        try pool.withSession { try $0.query(sql, try PostgresSession.binds(values)) }
    }

    private func bytes(_ data: Data) -> ByteBuffer { ByteBuffer(bytes: data) }

    func insertKey(subject: String, key: Data) throws {
        _ = try run("INSERT INTO subject_keys (subject, key) VALUES ($1, $2)", [subject, bytes(key)])
    }

    func key(subject: String) throws -> Data? {
        try run("SELECT key FROM subject_keys WHERE subject = $1", [subject]).first.map {
            Data(buffer: try $0.decode(ByteBuffer.self))
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

    func insertCredential(id: String, org: String, role: String, hash: Data) throws {
        _ = try run(
            "INSERT INTO credentials (id, org, role, token_hash) VALUES ($1, $2, $3, $4)",
            [id, org, role, bytes(hash)]
        )
    }

    func credential(hash: Data) throws -> (id: String, org: String, role: String, hash: Data, revoked: Bool)? {
        try run("SELECT id, org, role, token_hash, revoked FROM credentials WHERE token_hash = $1", [bytes(hash)])
            .first.map { row in
                let (id, org, role, hash, revoked) = try row.decode((String, String, String, ByteBuffer, Bool).self)
                return (id, org, role, Data(buffer: hash), revoked)
            }
    }

    func revokeCredential(id: String) throws {
        _ = try run("UPDATE credentials SET revoked = true WHERE id = $1", [id])
    }
}
