import Foundation
public import Logging
public import TiakiLedger
public import TiakiModel

/// The consent state written to the data directory (`state.snapshot`), stamped with the ledger size it reflects
/// and the tree's root at that size, so that a start loads it and replays only the entries after it.
///
/// The file is a ``SnapshotFile`` (magic `TIAKI-STATE`) whose payload is the state in ``CompactState``'s layout;
/// one that cannot be used is refused (and logged), and the state is rebuilt from the whole ledger instead.
/// It holds no personal information: the state keeps codes, ids and dates, never names (those are sealed in the
/// vault).
public enum StateSnapshot {
    /// The layout of the file; a snapshot of another layout is not read (layout 1 was JSON).
    public static let format: UInt8 = 2
    static var magic: [UInt8] { file.magic }
    static let file = SnapshotFile(name: "state.snapshot", magic: "TIAKI-STATE", format: format, what: "state snapshot")

    public static func path(_ directory: LedgerDirectory) -> String { file.path(directory) }

    /// The state's payload: the state in ``CompactState``'s layout.
    static func payload(_ state: ConsentState) throws -> [UInt8] {
        try CompactState.encode(state) { Array(try JSONEncoder().encode($0)) }
    }

    static func state(_ raw: UnsafeRawBufferPointer) throws -> ConsentState {
        try CompactState.decode(raw) { try JSONDecoder().decode(ConsentState.self, from: Data($0)) }
    }

    /// Writes `state` (taken at the ledger's `state.size`) to the data directory, replacing the previous snapshot
    /// whole (see ``SnapshotFile/write(payload:size:ledger:)``).
    public static func write(_ state: ConsentState, ledger: Ledger) throws {
        try file.write(payload: try payload(state), size: state.size, ledger: ledger)
    }

    /// The snapshot of `ledger`'s data directory if there is one it can use; otherwise `nil`, with the reason
    /// logged (none at all is not worth a warning).
    public static func load(for ledger: Ledger, logger: Logger) -> ConsentState? {
        file.load(for: ledger, logger: logger, fallback: "rebuilding from the whole ledger") { raw, size in
            let state = try Self.state(raw)
            guard state.size == size else {
                throw SnapshotFileError("its state reflects \(state.size) entries, its header \(size)")
            }
            return state
        }?.value
    }
}
