import Crypto
package import Foundation
package import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A snapshot of something rebuilt from the ledger (the consent state, the findings), kept in the data directory
/// so that a start reads it and only the entries after it.
///
/// The file is binary: a magic string and a layout number, the ledger size it reflects (8 bytes, little-endian)
/// and the tree's root at that size (32 bytes), the payload, and a SHA-256 of everything before it. It is used
/// only when its digest holds, it is of this layout, no larger than the ledger, and the ledger's root at its size
/// is the root it was stamped with: one from another ledger, from a ledger since restored to an older copy,
/// damaged, or of another layout is refused (and logged), and what it holds is rebuilt from the ledger instead.
package struct SnapshotFile: Sendable {
    /// The file's name in the data directory.
    package let name: String
    package let magic: [UInt8]
    /// The payload's layout; a snapshot of another layout is not read.
    package let format: UInt8
    /// What the file holds, for the log (`state snapshot`).
    package let what: String

    package init(name: String, magic: String, format: UInt8, what: String) {
        self.name = name
        self.magic = Array(magic.utf8)
        self.format = format
        self.what = what
    }

    package func path(_ directory: LedgerDirectory) -> String { directory.path + "/" + name }

    private var headerSize: Int { magic.count + 1 + 8 + 32 }

    private static let writing = NSLock()

    /// The file's bytes for `payload`, taken when the ledger had `size` entries with `root` at that size.
    package func encode(size: UInt64, root: [UInt8], payload: [UInt8]) -> [UInt8] {
        var bytes = magic + [format]
        bytes.reserveCapacity(headerSize + payload.count + 32)
        withUnsafeBytes(of: size.littleEndian) { bytes += $0 }
        bytes += root
        bytes += payload
        bytes += SHA256.hash(data: bytes)
        return bytes
    }

    /// The size, root and payload of a file's bytes, once its magic, layout and digest are checked.
    package func decode<T>(
        _ data: Data,
        _ payload: (UnsafeRawBufferPointer, UInt64) throws -> T
    ) throws -> (size: UInt64, root: [UInt8], value: T) {
        let header = headerSize
        guard data.count >= header + 32, data.starts(with: magic) else {
            throw SnapshotFileError("it is not a \(what)")
        }
        guard data[data.startIndex + magic.count] == format else {
            throw SnapshotFileError("layout \(data[data.startIndex + magic.count]), not \(format)")
        }
        let digest = Array(SHA256.hash(data: data.dropLast(32)))
        guard digest == Array(data.suffix(32)) else {
            throw SnapshotFileError("its digest does not match its bytes: it is damaged or incomplete")
        }
        return try data.withUnsafeBytes { raw in
            var size: UInt64 = 0
            for i in 0..<8 { size |= UInt64(raw[magic.count + 1 + i]) << UInt64(8 * i) }
            let root = Array(raw[(magic.count + 9)..<header])
            let value = try payload(UnsafeRawBufferPointer(rebasing: raw[header..<(raw.count - 32)]), size)
            return (size, root, value)
        }
    }

    /// Writes `payload` (taken at the ledger's `size`) to the data directory: to a temporary name, synced, then
    /// renamed over the previous snapshot, so a reader finds the old snapshot or the new, never half of one.
    /// Writes in one process take turns (a periodic snapshot and the one at closing share the temporary name).
    package func write(payload: [UInt8], size: UInt64, ledger: Ledger) throws {
        let data = encode(size: size, root: try ledger.root(size: size).array, payload: payload)
        Self.writing.lock()
        defer { Self.writing.unlock() }
        let path = self.path(ledger.directory)
        let partial = path + ".partial"
        unlink(partial)
        let fd = open(partial, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw LedgerError(.io, "cannot create \(partial): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var offset = 0
        try data.withUnsafeBytes { raw in
            while offset < raw.count {
                guard let base = raw.baseAddress else { break }
                #if canImport(Glibc)
                let n = Glibc.write(fd, base + offset, raw.count - offset)
                #else
                let n = Darwin.write(fd, base + offset, raw.count - offset)
                #endif
                guard n > 0 else {
                    throw LedgerError(.io, "cannot write \(partial): \(String(cString: strerror(errno)))")
                }
                offset += n
            }
        }
        guard fsync(fd) == 0, rename(partial, path) == 0 else {
            throw LedgerError(.io, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// What the snapshot in `ledger`'s data directory holds, decoded by `payload` (given the bytes and the size
    /// it reflects), if there is one it can use; otherwise `nil`, with the reason logged as `<what> not used`
    /// (none at all is not worth a warning).
    package func load<T>(
        for ledger: Ledger,
        logger: Logger,
        fallback: String,
        _ payload: (UnsafeRawBufferPointer, UInt64) throws -> T
    ) -> (size: UInt64, value: T)? {
        let path = self.path(ledger.directory)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        func refuse(_ why: String) -> (size: UInt64, value: T)? {
            logger.warning("\(what) not used; \(fallback)", metadata: ["why": "\(why)"])
            return nil
        }
        let snapshot: (size: UInt64, root: [UInt8], value: T)
        do {
            snapshot = try decode(try Data(contentsOf: URL(fileURLWithPath: path)), payload)
        } catch {
            return refuse("\(path) cannot be read: \(error)")
        }
        let size = ledger.checkpoint.size
        guard snapshot.size <= size else {
            return refuse("it reflects \(snapshot.size) entries and the ledger has \(size)")
        }
        guard let root = try? ledger.root(size: snapshot.size).array, root == snapshot.root else {
            return refuse("the ledger's root at \(snapshot.size) entries is not the snapshot's: another ledger's")
        }
        return (snapshot.size, snapshot.value)
    }
}

/// Why a snapshot's bytes could not be read.
package struct SnapshotFileError: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}
