package import Crypto
package import Foundation
package import GRDB
package import TiakiLedger
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
    let db: any DatabaseWriter
    let lookupKey: SymmetricKey
    let random: RandomSource

    static let sealPrefix = "aes-gcm:"

    package init(database: any DatabaseWriter, directory: LedgerDirectory, random: RandomSource) throws {
        self.db = database
        self.random = random
        self.lookupKey = try SubjectVault.loadOrCreateLookupKey(directory.path + "/lookup.key")
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
        try migrator.migrate(database)
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
        try db.write { db in
            try db.execute(
                sql: "INSERT INTO subject_keys (subject, key) VALUES (?, ?)",
                arguments: [subject, key.withUnsafeBytes { Data($0) }]
            )
        }
        return key
    }

    package func key(for subject: String) throws -> SymmetricKey? {
        try db.read { db in
            try Data.fetchOne(db, sql: "SELECT key FROM subject_keys WHERE subject = ?", arguments: [subject]).map {
                SymmetricKey(data: $0)
            }
        }
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
        try db.write { db in
            for identifier in identifiers {
                try db.execute(
                    sql: "INSERT INTO subject_lookup (digest, subject) VALUES (?, ?)",
                    arguments: [digest(identifier), subject]
                )
            }
        }
    }

    /// Removes lookup rows added for an enrolment that was not recorded.
    package func removeLookup(_ identifiers: [Identifier]) throws {
        guard !identifiers.isEmpty else { return }
        try db.write { db in
            for identifier in identifiers {
                try db.execute(sql: "DELETE FROM subject_lookup WHERE digest = ?", arguments: [digest(identifier)])
            }
        }
    }

    package func find(_ identifier: Identifier) throws -> String? {
        try db.read { db in
            try String.fetchOne(
                db,
                sql: "SELECT subject FROM subject_lookup WHERE digest = ?",
                arguments: [digest(identifier)]
            )
        }
    }

    package func isTaken(_ identifier: Identifier) throws -> Bool { try find(identifier) != nil }

    /// Destroys the subject's key and lookup rows.
    package func erase(_ subject: String) throws {
        try db.write { db in
            try db.execute(sql: "DELETE FROM subject_keys WHERE subject = ?", arguments: [subject])
            try db.execute(sql: "DELETE FROM subject_lookup WHERE subject = ?", arguments: [subject])
        }
    }

    // MARK: Credentials

    package static func hash(token: String) -> Data { Data(SHA256.hash(data: Data(token.utf8))) }

    package func storeCredential(id: String, org: String, role: String, token: String) throws {
        try db.write { db in
            try db.execute(
                sql: "INSERT INTO credentials (id, org, role, token_hash) VALUES (?, ?, ?, ?)",
                arguments: [id, org, role, SubjectVault.hash(token: token)]
            )
        }
    }

    package func credential(hash: Data) throws -> (id: String, org: String, role: String, hash: Data, revoked: Bool)? {
        try db.read { db in
            try Row.fetchOne(
                db,
                sql: "SELECT id, org, role, token_hash, revoked FROM credentials WHERE token_hash = ?",
                arguments: [hash]
            )
            .map { ($0["id"], $0["org"], $0["role"], $0["token_hash"], ($0["revoked"] as Int) != 0) }
        }
    }

    /// Compares two byte strings in time that depends only on their lengths.
    package static func constantTimeEqual(_ a: Data, _ b: Data) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }

    package func revokeCredential(id: String) throws {
        try db.write { db in try db.execute(sql: "UPDATE credentials SET revoked = 1 WHERE id = ?", arguments: [id]) }
    }
}

/// Opens sealed fields from a data directory without changing it (for `tiaki audit subject`, which may run while
/// the service does). Needs read access to the database's key table.
public struct SealedFieldReader: Sendable {
    let db: DatabaseQueue

    public init(dataDirectory: String) throws {
        var configuration = Configuration()
        configuration.readonly = true
        db = try DatabaseQueue(path: dataDirectory + "/ledger.sqlite", configuration: configuration)
    }

    /// The plain text of a sealed field of `subject`; `nil` once the subject is erased or if it cannot be opened.
    public func open(_ sealed: Sealed, subject: String) -> String? {
        let key = try? db.read { db in
            try Data.fetchOne(db, sql: "SELECT key FROM subject_keys WHERE subject = ?", arguments: [subject])
        }
        guard let key = key.flatMap({ $0 }) else { return nil }
        return try? SubjectVault.open(sealed, subject: subject, key: SymmetricKey(data: key))
    }
}
