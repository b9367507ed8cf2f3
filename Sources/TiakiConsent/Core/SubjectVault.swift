package import Crypto
package import Foundation
import GRDB
import Logging
import NIOCore
import NIOFoundationCompat
import PostgresNIO
package import TiakiLedger
package import TiakiModel

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
