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
    /// The key-encryption keys that wrap every child's key (``SealingKeyring``).
    let keyring: SealingKeyring

    static let sealPrefix = "aes-gcm:"

    /// The vault in the ledger's own database (SQLite beside the ledger, or the PostgreSQL database instances share);
    /// the lookup key and the key-encryption key in the data directory. Children's keys stored before they were
    /// wrapped are wrapped now, in one transaction; a key rotation that stopped half way is finished or undone.
    package init(database: LedgerDatabase, directory: LedgerDirectory, random: RandomSource) throws {
        self.random = random
        self.lookupKey = try SubjectVault.loadOrCreateLookupKey(directory.path + "/lookup.key")
        let tables: any VaultTables =
            switch database {
            case .sqlite(let writer): try SQLiteVaultTables(writer)
            case .postgres(let pool): try PostgresVaultTables(pool)
            }
        self.tables = tables
        self.keyring = try SubjectVault.openKeyring(directory: directory.path, tables: tables)
    }

    /// The data directory's key-encryption key, checked against the one the database says wraps its keys.
    static func openKeyring(directory: String, tables: any VaultTables) throws -> SealingKeyring {
        let path = KeyFile.path(in: directory)
        let nextPath = KeyFile.nextPath(in: directory)
        var current = try KeyFile.load(path)
        let next = try KeyFile.load(nextPath)
        let recorded = try tables.meta("kek")
        if let recorded, let next, next.id == recorded, current?.id != recorded {
            // A rotation re-wrapped every key and stopped before its file was renamed: finish it.
            guard rename(nextPath, path) == 0 else {
                throw TiakiError(
                    .unavailable,
                    "cannot rename \(nextPath) to \(path): \(String(cString: strerror(errno)))"
                )
            }
            current = next
        } else if next != nil {
            // A rotation that did not commit: the keys are still wrapped as before.
            unlink(nextPath)
        }
        if let recorded {
            guard let current else {
                throw TiakiError(
                    .unavailable,
                    "\(path) is missing: the children's keys in this database are wrapped under the key-encryption key \(recorded); restore seal.key from where it is kept (it is not in the database's backup)"
                )
            }
            guard current.id == recorded else {
                throw TiakiError(
                    .unavailable,
                    "\(path) holds the key-encryption key \(current.id), but the children's keys in this database are wrapped under \(recorded); copy the seal.key that belongs with this database"
                )
            }
            return SealingKeyring(current: current)
        }
        // No key-encryption key recorded yet: a new vault, or one whose keys were stored before they were wrapped.
        let kek = try current ?? KeyFile.create(path)
        let winner = try tables.adopt(kek)
        guard winner == kek.id else {
            throw TiakiError(
                .unavailable,
                "another instance wrapped this database's keys under the key-encryption key \(winner) first; copy its seal.key into \(directory)"
            )
        }
        return SealingKeyring(current: kek)
    }

    /// Re-wraps every child's key under a new key-encryption key, in one transaction, without touching the ledger;
    /// the new key is written to `seal.key.next` first and renamed over `seal.key` once the database holds the keys
    /// wrapped under it. Returns the number of keys re-wrapped and the new key's id.
    package static func rotate(database: LedgerDatabase, directory: LedgerDirectory) throws -> (keys: Int, id: String) {
        let tables: any VaultTables =
            switch database {
            case .sqlite(let writer): try SQLiteVaultTables(writer)
            case .postgres(let pool): try PostgresVaultTables(pool)
            }
        let old = try openKeyring(directory: directory.path, tables: tables)
        let nextPath = KeyFile.nextPath(in: directory.path)
        let next = try KeyFile.create(nextPath)
        let count: Int
        do {
            count = try tables.rewrap(from: old.current.id, to: next.id) { subject, wrapped, by in
                try next.wrap(try old.unwrap(wrapped, by: by, subject: subject), subject: subject)
            }
        } catch {
            unlink(nextPath)
            throw error
        }
        let path = KeyFile.path(in: directory.path)
        guard rename(nextPath, path) == 0 else {
            throw TiakiError(
                .unavailable,
                "the keys are re-wrapped under \(next.id), but \(nextPath) could not be renamed to \(path) (\(String(cString: strerror(errno)))); the next start finishes it"
            )
        }
        return (count, next.id)
    }

    static func loadOrCreateLookupKey(_ path: String) throws -> SymmetricKey {
        if FileManager.default.fileExists(atPath: path) {
            try SecretFile.checkMode(path)
            guard let text = try? String(contentsOfFile: path, encoding: .utf8),
                let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), data.count == 32
            else {
                throw TiakiError(.unavailable, "\(path) does not hold a 32-byte base64 key")
            }
            return SymmetricKey(data: data)
        }
        let key = SymmetricKey(size: .bits256)
        try SecretFile.writeNew(path, key.withUnsafeBytes { Data($0).base64EncodedString() } + "\n")
        return key
    }

    // MARK: Keys and sealing

    /// Creates the subject's key, stored wrapped under the key-encryption key.
    package func createKey(for subject: String) throws -> SymmetricKey {
        let key = SymmetricKey(data: random.bytes(32))
        try tables.insertKey(
            subject: subject,
            wrapped: try keyring.current.wrap(key, subject: subject),
            by: keyring.current.id
        )
        return key
    }

    /// The vault's writes for a registration, the same whichever it is, so that how long it takes tells nobody
    /// whether another organisation already knew the child: one transaction that stores one wrapped key and two
    /// lookup rows, and removes what was stored only to keep the work the same.
    ///
    /// A new child (`known == nil`): the child's own key and lookup rows, padded with a decoy row. A child another
    /// organisation registered (`known`): a decoy key and decoy rows, besides this organisation's own reference.
    package func recordRegistration(
        subject: String,
        known: Bool,
        identifiers: [Identifier]
    ) throws {
        let decoy = "s-" + random.hex(8)
        let keySubject = known ? decoy : subject
        let key = SymmetricKey(data: random.bytes(32))
        var rows: [(Data, String)] = identifiers.filter { !known || $0.isLocal }.map { (digest($0), subject) }
        while rows.count < 2 { rows.append((Data(random.bytes(32)), decoy)) }
        try tables.insertRegistration(
            keySubject: keySubject,
            wrapped: try keyring.current.wrap(key, subject: keySubject),
            by: keyring.current.id,
            lookups: rows,
            decoy: decoy
        )
    }

    package func key(for subject: String) throws -> SymmetricKey? {
        guard let (wrapped, by) = try tables.key(subject: subject) else { return nil }
        return try keyring.unwrap(wrapped, by: by, subject: subject)
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

    package func storeCredential(id: String, org: String, role: String, token: String, holder: String) throws {
        try tables.insertCredential(id: id, org: org, role: role, hash: SubjectVault.hash(token: token), holder: holder)
    }

    func credential(hash: Data) throws -> StoredCredential? { try tables.credential(hash: hash) }

    func credentials() throws -> [StoredCredential] { try tables.credentials() }

    func credentialUsed(id: String, at time: String) throws { try tables.credentialUsed(id: id, at: time) }

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

/// Opens sealed fields from a data directory or a PostgreSQL database without changing it (for `tiaki audit
/// subject`, which may run while the service does). Needs read access to the database's key table and the data
/// directory's `seal.key`, which wraps the keys: the database alone opens nothing.
public final class SealedFieldReader: Sendable {
    private let key: @Sendable (String) throws -> (Data, String?)?
    private let keyring: SealingKeyring
    private let closing: @Sendable () -> Void

    public init(dataDirectory: String) throws {
        keyring = try Self.keyring(dataDirectory)
        var configuration = Configuration()
        configuration.readonly = true
        let db = try DatabaseQueue(path: dataDirectory + "/ledger.sqlite", configuration: configuration)
        key = { subject in
            try db.read { db in
                try Row.fetchOne(
                    db,
                    sql: "SELECT key, wrapped_by FROM subject_keys WHERE subject = ?",
                    arguments: [subject]
                ).map { ($0["key"], $0["wrapped_by"]) }
            }
        }
        closing = {}
    }

    /// Reads the keys of the vault in `database` (the instances' shared one), changing nothing; `keys` is a data
    /// directory of one of its instances, for `seal.key`.
    public init(database: PostgresAddress, keys: String, logger: Logger) throws {
        keyring = try Self.keyring(keys)
        let pool = try PostgresPool(database, logger: logger)
        key = { subject in
            try pool.withSession {
                try $0.query(
                    "SELECT key, wrapped_by FROM subject_keys WHERE subject = $1",
                    try PostgresSession.binds([subject])
                )
            }.first.map {
                let (key, by) = try $0.decode((ByteBuffer, String?).self)
                return (Data(buffer: key), by)
            }
        }
        closing = { pool.close() }
    }

    static func keyring(_ directory: String) throws -> SealingKeyring {
        guard let kek = try KeyFile.load(KeyFile.path(in: directory)) else {
            throw TiakiError(
                .unavailable,
                "\(KeyFile.path(in: directory)) is missing: without the key-encryption key nothing sealed can be read"
            )
        }
        return SealingKeyring(
            current: kek,
            others: try KeyFile.load(KeyFile.nextPath(in: directory)).map { [$0] } ?? []
        )
    }

    deinit { closing() }

    /// The plain text of a sealed field of `subject`; `nil` once the subject is erased or if it cannot be opened.
    public func open(_ sealed: Sealed, subject: String) -> String? {
        guard let (wrapped, by) = (try? key(subject)).flatMap({ $0 }), let by,
            let key = try? keyring.unwrap(wrapped, by: by, subject: subject)
        else { return nil }
        return try? SubjectVault.open(sealed, subject: subject, key: key)
    }
}

/// A credential as the vault stores it: never the token, only its hash.
struct StoredCredential: Sendable {
    var id: String
    var org: String
    var role: String
    var hash: Data
    var revoked: Bool
    /// Who holds it and for what (absent for credentials issued before holders were asked).
    var holder: String?
    /// When it was last used (RFC 3339, to the minute), if ever.
    var lastUsed: String?
}

/// The vault's tables: subject keys (wrapped), the keyed lookup, credentials, and the id of the key-encryption key.
/// Mutable, never part of the tree.
protocol VaultTables: Sendable {
    func insertKey(subject: String, wrapped: Data, by kek: String) throws
    /// In one transaction: a wrapped key, lookup rows (a digest taken is ``TiakiError/Code/conflict``), then
    /// every key and lookup row of `decoy` removed.
    func insertRegistration(
        keySubject: String,
        wrapped: Data,
        by kek: String,
        lookups: [(Data, String)],
        decoy: String
    )
        throws
    /// The wrapped key and the key-encryption key it is wrapped under.
    func key(subject: String) throws -> (Data, String)?
    /// Adds lookup rows; a digest already taken is ``TiakiError/Code/conflict``.
    func insertLookup(_ digests: [Data], subject: String) throws
    func deleteLookup(_ digests: [Data]) throws
    func lookup(_ digest: Data) throws -> String?
    func erase(subjects: [String]) throws
    func insertCredential(id: String, org: String, role: String, hash: Data, holder: String) throws
    func credential(hash: Data) throws -> StoredCredential?
    func credentials() throws -> [StoredCredential]
    func revokeCredential(id: String) throws
    func credentialUsed(id: String, at time: String) throws
    /// A value of the vault's own (`kek`: the id of the key-encryption key that wraps every key).
    func meta(_ name: String) throws -> String?
    /// In one transaction: wraps under `kek` every key stored before keys were wrapped (read raw), and records
    /// `kek` as the vault's key-encryption key unless another was recorded first. Returns the one recorded.
    func adopt(_ kek: any KeyEncryptionKey) throws -> String
    /// In one transaction: re-wraps every key (`rewrap(subject, wrapped, by)`) and records `to` as the
    /// key-encryption key, if `from` is still the one recorded. Returns how many keys were re-wrapped.
    func rewrap(from: String, to: String, _ rewrap: (String, Data, String) throws -> Data) throws -> Int
}

extension VaultTables {
    static var taken: TiakiError {
        TiakiError(.conflict, "a child with this identifier was registered a moment ago; look the child up")
    }

    static var moved: TiakiError {
        TiakiError(.unavailable, "the vault's key-encryption key changed while its keys were re-wrapped; run it again")
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
