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
/// A snapshot is used only when it is whole, of this format, no larger than the ledger, and the ledger's root at
/// its size is the root it was stamped with: one from another ledger, from a ledger since restored to an older
/// copy, or damaged is refused (and logged), and the state is rebuilt from the whole ledger instead. It holds no
/// personal information: the state keeps codes, ids and dates, never names (those are sealed in the vault).
public struct StateSnapshot: Codable {
    /// The layout of the file; a snapshot of another layout is not read.
    public static let format = 1
    public var format: Int
    public var size: UInt64
    /// The root of the first `size` entries, as hex.
    public var root: String
    public var state: ConsentState

    public static func path(_ directory: LedgerDirectory) -> String { directory.path + "/state.snapshot" }

    /// Writes `state` (taken at the ledger's `state.size`) to the data directory: to a temporary name, synced,
    /// then renamed over the previous snapshot, so a reader finds the old snapshot or the new, never half of one.
    public static func write(_ state: ConsentState, ledger: Ledger) throws {
        let snapshot = StateSnapshot(
            format: format,
            size: state.size,
            root: try ledger.root(size: state.size).hex,
            state: state
        )
        let data = try JSONEncoder().encode(snapshot)
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
        let snapshot: StateSnapshot
        do {
            snapshot = try JSONDecoder().decode(StateSnapshot.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            return refuse("\(path) cannot be read: \(error)")
        }
        guard snapshot.format == format else { return refuse("format \(snapshot.format), not \(format)") }
        let size = ledger.checkpoint.size
        guard snapshot.size <= size, snapshot.state.size == snapshot.size else {
            return refuse("it reflects \(snapshot.size) entries and the ledger has \(size)")
        }
        guard let root = try? ledger.root(size: snapshot.size).hex, root == snapshot.root else {
            return refuse("the ledger's root at \(snapshot.size) entries is not the snapshot's: another ledger's")
        }
        return snapshot.state
    }
}
