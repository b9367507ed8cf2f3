import Crypto
import Foundation
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
