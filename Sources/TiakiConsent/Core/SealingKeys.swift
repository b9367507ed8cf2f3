package import Crypto
package import Foundation
public import Logging
public import TiakiLedger
import TiakiModel

#if canImport(Glibc)
import Glibc
#endif

/// What wraps each child's sealing key before it is stored: a key-encryption key kept outside the database, so that
/// the database alone (a copied file, a backup, a `pg_dump`) unseals nothing.
///
/// Today it is a file in the data directory (``KeyFile``); a KMS or HSM would implement this protocol instead. Its
/// `id` is stored with every wrapped key, so that keys wrapped under an earlier key-encryption key are recognised
/// (and refused plainly, rather than as damage, when that key is not at hand).
package protocol KeyEncryptionKey: Sendable {
    /// A short, stable name for this key (not secret): the first 8 bytes of the SHA-256 of the key, in hex.
    var id: String { get }
    /// The child's key, wrapped and bound to the child (it cannot be moved to another).
    func wrap(_ key: SymmetricKey, subject: String) throws -> Data
    func unwrap(_ wrapped: Data, subject: String) throws -> SymmetricKey
}

/// The key-encryption keys a process holds: the current one, which wraps, and any other it can still unwrap with
/// (during a rotation that did not finish).
package struct SealingKeyring: Sendable {
    package let current: any KeyEncryptionKey
    package let others: [any KeyEncryptionKey]

    package init(current: any KeyEncryptionKey, others: [any KeyEncryptionKey] = []) {
        self.current = current
        self.others = others
    }

    package func key(_ id: String) -> (any KeyEncryptionKey)? {
        id == current.id ? current : others.first { $0.id == id }
    }

    /// Unwraps a stored key, under the key-encryption key named by `id`.
    package func unwrap(_ wrapped: Data, by id: String, subject: String) throws -> SymmetricKey {
        guard let kek = key(id) else {
            throw TiakiError(
                .unavailable,
                "a child's key is wrapped under the key-encryption key \(id), which this data directory does not hold; copy the seal.key that goes with this database"
            )
        }
        return try kek.unwrap(wrapped, subject: subject)
    }
}

/// A key-encryption key in a file of the data directory (`seal.key`: 32 random bytes, base64, mode 0600), wrapping
/// with AES-GCM.
package struct KeyFile: KeyEncryptionKey {
    let key: SymmetricKey
    package let id: String

    package init(key: SymmetricKey) {
        self.key = key
        self.id = key.withUnsafeBytes { Data(SHA256.hash(data: Data($0)).prefix(8)) }.map {
            String(format: "%02x", $0)
        }.joined()
    }

    static let context = "tiaki-subject-key:"

    package func wrap(_ subjectKey: SymmetricKey, subject: String) throws -> Data {
        let box = try AES.GCM.seal(
            subjectKey.withUnsafeBytes { Data($0) },
            using: key,
            authenticating: Data((Self.context + subject).utf8)
        )
        guard let combined = box.combined else { throw TiakiError(.unavailable, "wrapping a key failed") }
        return combined
    }

    package func unwrap(_ wrapped: Data, subject: String) throws -> SymmetricKey {
        do {
            let box = try AES.GCM.SealedBox(combined: wrapped)
            return SymmetricKey(
                data: try AES.GCM.open(box, using: key, authenticating: Data((Self.context + subject).utf8))
            )
        } catch {
            throw TiakiError(.unavailable, "a child's key does not open with the key-encryption key \(id)")
        }
    }

    /// The data directory's key file: `seal.key`.
    package static func path(in directory: String) -> String { directory + "/seal.key" }
    /// A key being rotated in: `seal.key.next` until every wrapped key has moved to it.
    package static func nextPath(in directory: String) -> String { directory + "/seal.key.next" }

    /// Reads a key file, refusing one that others can read or that does not hold a 32-byte key.
    package static func load(_ path: String) throws -> KeyFile? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        try SecretFile.checkMode(path)
        guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), data.count == 32
        else {
            throw TiakiError(.unavailable, "\(path) does not hold a 32-byte base64 key")
        }
        return KeyFile(key: SymmetricKey(data: data))
    }

    /// Writes a new key file (mode 0600, never over an existing one) and returns its key.
    package static func create(_ path: String) throws -> KeyFile {
        let key = SymmetricKey(size: .bits256)
        try SecretFile.writeNew(path, key.withUnsafeBytes { Data($0).base64EncodedString() } + "\n")
        return KeyFile(key: key)
    }
}

/// Files that hold secrets: created 0600, synced, never overwritten; refused when others can read them.
package enum SecretFile {
    package static func checkMode(_ path: String) throws {
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & 0o077 != 0 {
            throw TiakiError(
                .unavailable,
                "\(path) can be read by others (mode \(String(info.st_mode & 0o777, radix: 8))); run chmod 600 \(path)"
            )
        }
    }

    package static func writeNew(_ path: String, _ text: String) throws {
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
    }
}

/// Re-wraps every child's key under a new key-encryption key (`tiaki keys rotate-seal`), without touching the
/// ledger: the new key is written as `seal.key.next`, every wrapped key is re-wrapped in one transaction, and the
/// new file is renamed over `seal.key`. A rotation stopped half way is finished or undone at the next start.
///
/// Run it with the service stopped (it takes the data directory's lock); on a PostgreSQL ledger, stop every
/// instance and copy the new `seal.key` to each before they start again.
public enum SealingKeyRotation {
    public static func run(
        directory: LedgerDirectory,
        database: PostgresAddress? = nil,
        logger: Logger
    ) async throws -> (keys: Int, id: String) {
        var configuration = LedgerConfiguration()
        configuration.create = false
        configuration.lockHolder = "tiaki keys rotate-seal"
        let ledger =
            if let database {
                try Ledger.open(directory, database: database, configuration: configuration, logger: logger)
            } else {
                try Ledger.open(directory, configuration: configuration, logger: logger)
            }
        do {
            let result = try SubjectVault.rotate(database: ledger.database, directory: directory)
            await ledger.close()
            return result
        } catch {
            await ledger.close()
            throw error
        }
    }
}
