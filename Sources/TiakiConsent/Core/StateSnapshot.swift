import Crypto
import Foundation
public import Logging
public import TiakiLedger
public import TiakiModel

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The consent state written to the data directory (`state.snapshot`), stamped with the ledger size it reflects
/// and the tree's root at that size, so that a start loads it and replays only the entries after it.
///
/// The file is binary: the magic `TIAKI-STATE` and a layout number, the size (8 bytes, little-endian) and the
/// root (32 bytes), the state in ``CompactState``'s layout, and a SHA-256 of everything before it. A snapshot is
/// used only when its digest holds, it is of this layout, no larger than the ledger, and the ledger's root at its
/// size is the root it was stamped with: one from another ledger, from a ledger since restored to an older copy,
/// damaged, or of another layout is refused (and logged), and the state is rebuilt from the whole ledger instead.
/// It holds no personal information: the state keeps codes, ids and dates, never names (those are sealed in the
/// vault).
public enum StateSnapshot {
    /// The layout of the file; a snapshot of another layout is not read (layout 1 was JSON).
    public static let format: UInt8 = 2
    static let magic = Array("TIAKI-STATE".utf8)

    public static func path(_ directory: LedgerDirectory) -> String { directory.path + "/state.snapshot" }

    /// The file's bytes for `state`, taken when the ledger had `state.size` entries with `root` at that size.
    static func encode(_ state: ConsentState, root: [UInt8]) throws -> [UInt8] {
        var bytes = magic + [format]
        withUnsafeBytes(of: state.size.littleEndian) { bytes += $0 }
        bytes += root
        bytes += try CompactState.encode(state) { Array(try JSONEncoder().encode($0)) }
        bytes += SHA256.hash(data: bytes)
        return bytes
    }

    /// The state in a file's bytes, with the size and root it was stamped with.
    static func decode(_ data: Data) throws(CompactStateError) -> (size: UInt64, root: [UInt8], state: ConsentState) {
        let header = magic.count + 1 + 8 + 32
        guard data.count >= header + 32, data.starts(with: magic) else {
            throw CompactStateError("it is not a state snapshot")
        }
        guard data[data.startIndex + magic.count] == format else {
            throw CompactStateError("layout \(data[data.startIndex + magic.count]), not \(format)")
        }
        let digest = Array(SHA256.hash(data: data.dropLast(32)))
        guard digest == Array(data.suffix(32)) else {
            throw CompactStateError("its digest does not match its bytes: it is damaged or incomplete")
        }
        let result: Result<(UInt64, [UInt8], ConsentState), CompactStateError> = data.withUnsafeBytes { raw in
            var size: UInt64 = 0
            for i in 0..<8 {
                let byte: UInt8 = raw[magic.count + 1 + i]
                size |= UInt64(byte) << UInt64(8 * i)
            }
            let root = Array(raw[(magic.count + 9)..<header])
            do {
                let state = try CompactState.decode(UnsafeRawBufferPointer(rebasing: raw[header..<(raw.count - 32)])) {
                    try JSONDecoder().decode(ConsentState.self, from: Data($0))
                }
                return .success((size, root, state))
            } catch let error as CompactStateError {
                return .failure(error)
            } catch {
                return .failure(CompactStateError("\(error)"))
            }
        }
        return try result.get()
    }

    /// Writes `state` (taken at the ledger's `state.size`) to the data directory: to a temporary name, synced,
    /// then renamed over the previous snapshot, so a reader finds the old snapshot or the new, never half of one.
    public static func write(_ state: ConsentState, ledger: Ledger) throws {
        let data = try encode(state, root: try ledger.root(size: state.size).array)
        let path = Self.path(ledger.directory)
        let partial = path + ".partial"
        unlink(partial)
        let fd = open(partial, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw LedgerError(.io, "cannot create \(partial): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var offset = 0
        try data.withUnsafeBytes { raw in
            while offset < raw.count {
                guard let base = raw.baseAddress else { break }
                let n = Glibc.write(fd, base + offset, raw.count - offset)
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

    /// The snapshot of `ledger`'s data directory if there is one it can use; otherwise `nil`, with the reason
    /// logged (none at all is not worth a warning).
    public static func load(for ledger: Ledger, logger: Logger) -> ConsentState? {
        let path = Self.path(ledger.directory)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        func refuse(_ why: String) -> ConsentState? {
            logger.warning("state snapshot not used; rebuilding from the whole ledger", metadata: ["why": "\(why)"])
            return nil
        }
        let snapshot: (size: UInt64, root: [UInt8], state: ConsentState)
        do {
            snapshot = try decode(try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            return refuse("\(path) cannot be read: \(error)")
        }
        let size = ledger.checkpoint.size
        guard snapshot.size <= size, snapshot.state.size == snapshot.size else {
            return refuse("it reflects \(snapshot.size) entries and the ledger has \(size)")
        }
        guard let root = try? ledger.root(size: snapshot.size).array, root == snapshot.root else {
            return refuse("the ledger's root at \(snapshot.size) entries is not the snapshot's: another ledger's")
        }
        return snapshot.state
    }
}
