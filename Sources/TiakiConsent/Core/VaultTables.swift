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
