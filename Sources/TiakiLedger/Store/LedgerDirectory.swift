import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The files of a ledger's data directory: the SQLite database, the private log key and its public verifier key.
public struct LedgerDirectory: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    public var databasePath: String { path + "/ledger.sqlite" }
    public var privateKeyPath: String { path + "/log.key" }
    public var verifierKeyPath: String { path + "/log.vkey" }

    /// Whether the directory holds a ledger database.
    public var exists: Bool { FileManager.default.fileExists(atPath: databasePath) }

    /// The files every instance of one shared ledger needs alike: the log's key and verifier key, the vault's
    /// lookup key, and the key-encryption key that wraps the children's keys (`seal.key`).
    public static let sharedKeyFiles = ["log.key", "log.vkey", "lookup.key", "seal.key"]

    /// Copies this directory's ``sharedKeyFiles`` into `other` (created mode 0700 if missing; modes kept), for
    /// another instance of the same ledger on PostgreSQL.
    public func copyKeys(to other: LedgerDirectory) throws(LedgerError) {
        try other.create()
        for name in Self.sharedKeyFiles where FileManager.default.fileExists(atPath: path + "/" + name) {
            do {
                try FileManager.default.copyItem(atPath: path + "/" + name, toPath: other.path + "/" + name)
            } catch {
                throw LedgerError(.io, "cannot copy \(name) to \(other.path): \(error.localizedDescription)")
            }
        }
    }

    /// Creates the directory (mode 0700) if it is missing.
    func create() throws(LedgerError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw LedgerError(.io, "\(path) exists and is not a directory") }
            return
        }
        do {
            try FileManager.default.createDirectory(
                atPath: path,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
        } catch {
            throw LedgerError(.io, "cannot create the data directory \(path): \(error.localizedDescription)")
        }
    }

    /// The log's verifier key, from `log.vkey`.
    public func loadVerifier() throws(LedgerError) -> NoteVerifier {
        guard let text = try? String(contentsOfFile: verifierKeyPath, encoding: .utf8) else {
            throw LedgerError(.io, "cannot read \(verifierKeyPath)")
        }
        do {
            return try NoteVerifier(vkey: text)
        } catch {
            throw LedgerError(.malformedKey, "\(verifierKeyPath): \(error.message)")
        }
    }

    /// Refuses a data directory, or a database file in it, that anyone but its owner can read or write: the
    /// database holds the sealed vault and the keyed lookup, and a copy of it is one step from the children's
    /// details. The message names the file and the `chmod` that fixes it.
    func checkPermissions() throws(LedgerError) {
        for (file, fix) in [
            (path, "700"), (databasePath, "600"), (databasePath + "-wal", "600"), (databasePath + "-shm", "600"),
        ] {
            var info = stat()
            guard stat(file, &info) == 0 else { continue }
            let mode = info.st_mode & 0o777
            guard mode & 0o077 == 0 else {
                throw LedgerError(
                    .insecureKeyFile,
                    "\(file) can be read by others (mode \(String(mode, radix: 8))); run chmod \(fix) \(file)"
                )
            }
        }
    }

    /// Loads the log's signing key, refusing a key file that anyone but its owner can read or write.
    func loadSigner() throws(LedgerError) -> NoteSigner {
        var info = stat()
        guard stat(privateKeyPath, &info) == 0 else {
            throw LedgerError(.io, "cannot read the log key \(privateKeyPath): \(String(cString: strerror(errno)))")
        }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw LedgerError(
                .insecureKeyFile,
                "the log key \(privateKeyPath) can be read by others (mode \(String(mode, radix: 8))); run chmod 600 on it"
            )
        }
        guard let text = try? String(contentsOfFile: privateKeyPath, encoding: .utf8) else {
            throw LedgerError(.io, "cannot read the log key \(privateKeyPath)")
        }
        return try NoteSigner(privateKeyText: text)
    }

    /// Creates the empty database file with mode 0600 before SQLite opens it; SQLite gives its `-wal` and `-shm`
    /// files the same mode.
    func createDatabaseFile() throws(LedgerError) {
        let fd = open(databasePath, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            throw LedgerError(.io, "cannot create \(databasePath): \(String(cString: strerror(errno)))")
        }
        fchmod(fd, 0o600)
        close(fd)
    }

    /// Writes a new key file (mode 0600, never overwriting) and its vkey beside it.
    func store(_ signer: NoteSigner) throws(LedgerError) {
        try writeExclusive(privateKeyPath, contents: signer.privateKeyText + "\n", mode: 0o600)
        try writeExclusive(verifierKeyPath, contents: signer.verifier.vkey + "\n", mode: 0o644)
    }

    private func writeExclusive(_ file: String, contents: String, mode: mode_t) throws(LedgerError) {
        let fd = open(file, O_WRONLY | O_CREAT | O_EXCL, mode)
        guard fd >= 0 else {
            throw LedgerError(.io, "cannot create \(file): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        // The umask may have narrowed the mode; set exactly what was asked for.
        fchmod(fd, mode)
        let bytes = Array(contents.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else {
            throw LedgerError(.io, "cannot write \(file): \(String(cString: strerror(errno)))")
        }
    }
}

/// An exclusive lock on a data directory, held by the one process that appends to its ledger.
///
/// It is an OS file lock (`flock` on `lock` in the directory), not a pid file: the kernel releases it when the
/// process ends, however it ends (SIGKILL included), so a crash never leaves a directory locked. The file holds a
/// line naming the holder, for the message a second writer gets. Read-only commands do not take it.
public final class DataDirectoryLock: Sendable {
    private let fd: Int32

    private init(fd: Int32) { self.fd = fd }

    /// Takes the lock for `holder` (e.g. `tiaki serve`), or refuses at once, naming who holds it.
    public static func acquire(_ directory: LedgerDirectory, holder: String) throws(LedgerError) -> DataDirectoryLock {
        let path = directory.path + "/lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw LedgerError(.io, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let failure = errno
            var buffer = [UInt8](repeating: 0, count: 256)
            let count = pread(fd, &buffer, buffer.count, 0)
            close(fd)
            guard failure == EWOULDBLOCK else {
                throw LedgerError(.io, "cannot lock \(path): \(String(cString: strerror(failure)))")
            }
            let who = String(decoding: buffer.prefix(max(0, count)), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            throw LedgerError(
                .locked,
                "\(who.isEmpty ? "another tiaki process" : who) is using \(directory.path); stop it, or use the admin endpoints"
            )
        }
        let line = Array("\(holder) (pid \(getpid()))\n".utf8)
        _ = ftruncate(fd, 0)
        _ = line.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        return DataDirectoryLock(fd: fd)
    }

    deinit { close(fd) }
}
