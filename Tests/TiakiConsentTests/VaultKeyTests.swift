import Crypto
import Foundation
import GRDB
import Logging
import Testing
import TiakiLedger
import TiakiModel
import TiakiPolicy

@testable import TiakiConsent

/// The children's keys are kept wrapped under a key-encryption key outside the database.
@Suite("Keys apart from the data")
struct VaultKeyTests {
    static let name = "Aroha Tūhoe-Whakapapa"
    static let notes = "Prefers morning meetings at the marae"
    static let nsn = "123456789"

    /// A data directory with one child whose name, notes and consent words are sealed; closed.
    static func seeded(_ path: String) async throws -> (subject: String, keys: [Data]) {
        let services = try await TiakiServices.open(
            LedgerDirectory(path: path),
            policy: testPolicy,
            logger: Logger(label: "t")
        )
        _ = try await services.organisations.register(.init(id: "school-a", kind: "school", name: "School A"))
        _ = try await services.organisations.register(.init(id: "rtlb-a", kind: "rtlb", name: "RTLB A"))
        let actor = EntryActor(org: "school-a", credential: "c")
        let subject = try #require(
            try await services.subjects.register(
                SubjectInput(birthMonth: "2015-04", nsn: nsn, localReference: "R-77", name: name, notes: notes),
                actor: actor
            ).entry.subject
        )
        var input = try consentInput()
        input.text = "We would like to share Aroha's register entry with the RTLB."
        _ = try await services.consents.grant(subject: subject, input, actor: actor)
        let key = try #require(try services.core.vault.key(for: subject)).withUnsafeBytes { Data($0) }
        await services.close()
        return (subject, [key])
    }

    static func directory(_ label: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-\(label)-\(UUID())").path
        try FileManager.default.createDirectory(
            atPath: path,
            withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700]
        )
        return path
    }

    /// Every byte of the database's files.
    static func databaseBytes(_ path: String) throws -> Data {
        var all = Data()
        for suffix in ["", "-wal", "-shm"]
        where FileManager.default.fileExists(atPath: path + "/ledger.sqlite" + suffix) {
            all.append(try Data(contentsOf: URL(fileURLWithPath: path + "/ledger.sqlite" + suffix)))
        }
        return all
    }

    @Test("a copy of the database without the key files holds no name, NSN, note or key, and opens nothing")
    func copyOpensNothing() async throws {
        let path = try Self.directory("vault")
        let copy = try Self.directory("vault-copy")
        defer {
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.removeItem(atPath: copy)
        }
        let (subject, keys) = try await Self.seeded(path)
        // The database (and the log's keys, which seal nothing), without seal.key and lookup.key.
        for file in ["ledger.sqlite", "ledger.sqlite-wal", "ledger.sqlite-shm", "log.key", "log.vkey"]
        where FileManager.default.fileExists(atPath: path + "/" + file) {
            try FileManager.default.copyItem(atPath: path + "/" + file, toPath: copy + "/" + file)
        }
        let bytes = try Self.databaseBytes(copy)
        for secret in [Self.name, Self.notes, Self.nsn, "R-77", "register entry with the RTLB", "morning"] {
            #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(secret) is in the database")
        }
        for key in keys { #expect(bytes.range(of: key) == nil, "a child's raw key is in the database") }
        // The reader the audit commands use refuses without the key file.
        #expect(throws: TiakiError.self) { _ = try SealedFieldReader(dataDirectory: copy) }
        // Opening the copy as a service is refused, naming the missing key, and writes nothing.
        let error = await #expect(throws: TiakiError.self) {
            _ = try await TiakiServices.open(
                LedgerDirectory(path: copy),
                policy: testPolicy,
                logger: Logger(label: "t")
            )
        }
        #expect(error?.message.contains("seal.key is missing") == true)
        #expect(!FileManager.default.fileExists(atPath: copy + "/seal.key"))
        // With the key file back, the name opens again: the key was what was missing.
        try FileManager.default.copyItem(atPath: path + "/seal.key", toPath: copy + "/seal.key")
        let reader = try SealedFieldReader(dataDirectory: copy)
        let registered = try #require(try EntryReader(path: copy).firstRegistration(of: subject))
        #expect(reader.open(try #require(registered.nameSealed), subject: subject) == Self.name)
    }

    @Test("keys stored before they were wrapped are wrapped at the next start, and still open what they sealed")
    func legacyKeysWrapped() async throws {
        let path = try Self.directory("vault-legacy")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (subject, keys) = try await Self.seeded(path)
        // Back to the layout before this version: raw keys, no wrapping, no key-encryption key.
        let db = try DatabaseQueue(path: path + "/ledger.sqlite")
        try await db.write { db in
            try db.execute(sql: "UPDATE subject_keys SET key = ? WHERE subject = ?", arguments: [keys[0], subject])
            try db.execute(sql: "ALTER TABLE subject_keys DROP COLUMN wrapped_by")
            try db.execute(sql: "ALTER TABLE credentials DROP COLUMN holder")
            try db.execute(sql: "ALTER TABLE credentials DROP COLUMN last_used")
            try db.execute(sql: "DROP TABLE vault_meta")
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'consent-v2'")
        }
        try db.close()
        try FileManager.default.removeItem(atPath: path + "/seal.key")
        #expect(try Self.databaseBytes(path).range(of: keys[0]) != nil)

        let services = try await TiakiServices.open(
            LedgerDirectory(path: path),
            policy: testPolicy,
            logger: Logger(label: "t")
        )
        #expect(try services.subjects.name(of: subject) == Self.name)
        await services.close()
        #expect(FileManager.default.fileExists(atPath: path + "/seal.key"))
        // Wrapped now: the raw key is gone from the database, and the copy without seal.key opens nothing.
        let queue = try DatabaseQueue(path: path + "/ledger.sqlite")
        let rows = try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT key, wrapped_by FROM subject_keys")
        }
        #expect(rows.count == 1 && (rows[0]["wrapped_by"] as String?) != nil && (rows[0]["key"] as Data) != keys[0])
    }

    @Test(
        "rotating the key-encryption key re-wraps every key; the old key file opens nothing; a stopped rotation is finished"
    )
    func rotation() async throws {
        let path = try Self.directory("vault-rotate")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (subject, _) = try await Self.seeded(path)
        let old = try Data(contentsOf: URL(fileURLWithPath: path + "/seal.key"))
        func entries() throws -> [[UInt8]] {
            var all: [[UInt8]] = []
            try EntryReader(path: path).read { _, bytes in all.append(bytes) }
            return all
        }
        let before = try entries()
        let (count, id) = try await SealingKeyRotation.run(
            directory: LedgerDirectory(path: path),
            logger: Logger(label: "t")
        )
        #expect(count == 1)
        let new = try Data(contentsOf: URL(fileURLWithPath: path + "/seal.key"))
        #expect(new != old && !FileManager.default.fileExists(atPath: path + "/seal.key.next"))
        #expect(
            KeyFile(
                key: SymmetricKey(
                    data: try #require(
                        Data(
                            base64Encoded: String(decoding: new, as: UTF8.self).trimmingCharacters(
                                in: .whitespacesAndNewlines
                            )
                        )
                    )
                )
            ).id == id
        )
        // The ledger's entries are untouched, byte for byte.
        #expect(try entries() == before)
        let reader = try EntryReader(path: path)
        let registered = try #require(try reader.firstRegistration(of: subject))
        #expect(
            try SealedFieldReader(dataDirectory: path).open(try #require(registered.nameSealed), subject: subject)
                == Self.name
        )
        // The old key file, put back, opens nothing, and a service refuses it plainly.
        let stale = try Self.directory("vault-stale")
        defer { try? FileManager.default.removeItem(atPath: stale) }
        for file in ["ledger.sqlite", "ledger.sqlite-wal", "ledger.sqlite-shm", "log.key", "log.vkey", "lookup.key"]
        where FileManager.default.fileExists(atPath: path + "/" + file) {
            try FileManager.default.copyItem(atPath: path + "/" + file, toPath: stale + "/" + file)
        }
        try SecretFile.writeNew(stale + "/seal.key", String(decoding: old, as: UTF8.self))
        #expect(
            try SealedFieldReader(dataDirectory: stale).open(try #require(registered.nameSealed), subject: subject)
                == nil
        )
        let refused = await #expect(throws: TiakiError.self) {
            _ = try await TiakiServices.open(
                LedgerDirectory(path: stale),
                policy: testPolicy,
                logger: Logger(label: "t")
            )
        }
        #expect(refused?.message.contains("copy the seal.key that belongs with this database") == true)

        // A rotation that re-wrapped the keys but stopped before renaming its file: the next start finishes it.
        try FileManager.default.removeItem(atPath: stale + "/seal.key")
        try SecretFile.writeNew(stale + "/seal.key", String(decoding: old, as: UTF8.self))
        try SecretFile.writeNew(stale + "/seal.key.next", String(decoding: new, as: UTF8.self))
        let resumed = try await TiakiServices.open(
            LedgerDirectory(path: stale),
            policy: testPolicy,
            logger: Logger(label: "t")
        )
        #expect(try resumed.subjects.name(of: subject) == Self.name)
        await resumed.close()
        #expect(try Data(contentsOf: URL(fileURLWithPath: stale + "/seal.key")) == new)
        #expect(!FileManager.default.fileExists(atPath: stale + "/seal.key.next"))
    }

    @Test("a data directory or database file others can read is refused at start, naming the chmod that fixes it")
    func permissions() async throws {
        let path = try Self.directory("vault-perms")
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = try await Self.seeded(path)
        for (file, mode, fix) in [(path, 0o755, "chmod 700"), (path + "/ledger.sqlite", 0o644, "chmod 600")] {
            chmod(file, mode_t(mode))
            let error = await #expect(throws: LedgerError.self) {
                _ = try await TiakiServices.open(
                    LedgerDirectory(path: path),
                    policy: testPolicy,
                    logger: Logger(label: "t")
                )
            }
            #expect(error?.message.contains("\(fix) \(file)") == true, "\(error?.message ?? "")")
            chmod(file, mode_t(file == path ? 0o700 : 0o600))
        }
        let services = try await TiakiServices.open(
            LedgerDirectory(path: path),
            policy: testPolicy,
            logger: Logger(label: "t")
        )
        await services.close()
    }

    @Test("erasure destroys the child's wrapped key: nothing sealed opens, with or without the key file")
    func erasure() async throws {
        let path = try Self.directory("vault-erase")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (subject, _) = try await Self.seeded(path)
        let services = try await TiakiServices.open(
            LedgerDirectory(path: path),
            policy: testPolicy,
            logger: Logger(label: "t")
        )
        _ = try await services.subjects.erase(subject, ErasureInput(reason: .request), actor: EntryActor(org: "office"))
        #expect(try services.subjects.name(of: subject) == nil)
        let consents = try services.core.entries(of: subject, kinds: [.consentGranted])
        let terms = try #require(consents.first?.body as? ConsentTerms)
        #expect(Sealed.isSealed(terms.text) && Sealed.isSealed(terms.sharing.protection))
        #expect(try services.core.unseal(Sealed(token: terms.text), subject: subject) == nil)
        await services.close()
    }
}

extension EntryReader {
    /// The child's registration, read from the ledger's entries.
    func firstRegistration(of subject: String) throws -> SubjectRegistered? {
        var found: SubjectRegistered?
        try read { _, bytes in
            guard found == nil, let entry = try? ConsentEntry(bytes: bytes), entry.subject == subject,
                let r = entry.body as? SubjectRegistered
            else { return }
            found = r
        }
        return found
    }
}
