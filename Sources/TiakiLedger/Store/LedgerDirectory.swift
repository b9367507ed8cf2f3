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
