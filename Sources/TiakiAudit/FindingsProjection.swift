import Dispatch
import Foundation
public import Logging
import Synchronization
public import TiakiLedger
public import TiakiModel

/// The findings kept up to date as the ledger grows, so that `GET /v1/findings` answers without a pass over the
/// ledger: the same ``LedgerAudit`` as `tiaki audit findings`, built once from the ledger at start and then fed
/// every commit.
///
/// Replay stays exact: a decision is replayed on the state of its basis, so an entry is applied only once no
/// decision being made has an earlier basis (``DecisionsInFlight``, asked through `earliestInFlight`); entries
/// after it wait in the pass's window until the decision is in the ledger. Feeding takes the entries and returns
/// (it runs on the commit path); the work is done by whoever catches up next: the background task the server
/// runs, or a request that needs the newest answer.
///
/// Given a ledger to keep snapshots beside, the projection writes one (``FindingsSnapshot``) every
/// ``snapshotInterval`` entries (by default) and when the service closes, and its build at start reads the newest good one and
/// only the entries after it.
public final class FindingsProjection: @unchecked Sendable {
    /// The pass, touched only under `lock` (a class with mutable state, so not `Sendable` itself).
    private var pass: LedgerAudit
    private let lock = NSLock()
    private let pending = Mutex<[(UInt64, Result<ConsentEntry, any Error>)]>([])
    private let earliestInFlight: @Sendable () -> UInt64?
    /// Entries read at start, and how many there were to read (0 until the build starts).
    private let built = Atomic<UInt64>(0)
    private let toBuild = Atomic<UInt64>(0)
    private let ready = Atomic<Bool>(false)
    private let failure = Mutex<String?>(nil)
    /// Whether a catch-up is already scheduled by ``feed(_:)``.
    private let scheduled = Atomic<Bool>(false)
    /// Fed entries beyond which a feed schedules a catch-up, so that they never pile up unread.
    static let catchUpAt = 4096
    /// Where catch-ups scheduled by feeding run.
    static let queue = DispatchQueue(label: "tiaki.findings", qos: .utility)
    /// The ledger whose data directory holds the snapshots, and where to log them; `nil` for none.
    private let snapshots: (ledger: Ledger, logger: Logger)?
    /// Entries fed since the last snapshot was written, whether one is being written, and the newest one's size.
    private let fedSinceSnapshot = Atomic<UInt64>(0)
    private let saving = Atomic<Bool>(false)
    private let newestSnapshot = Atomic<UInt64>(0)
    /// How many entries may pass between snapshots of the findings, by default. Larger than the consent state's:
    /// the findings are built in the background after a start, so a few more entries to read cost no one a wait,
    /// and the pass is held while its snapshot is encoded.
    public static let snapshotInterval: UInt64 = 250_000
    private let snapshotEvery: UInt64

    /// With `ledger`, snapshots are read and written in its data directory, one every `snapshotEvery` entries.
    public init(
        earliestInFlight: @escaping @Sendable () -> UInt64?,
        snapshotsOf ledger: Ledger? = nil,
        snapshotEvery: UInt64 = FindingsProjection.snapshotInterval,
        logger: Logger = Logger(label: "tiaki.findings")
    ) {
        self.earliestInFlight = earliestInFlight
        self.snapshotEvery = max(1, snapshotEvery)
        snapshots = ledger.map { ($0, logger) }
        // Any day will do: the pass's own options are never used to judge the state; each answer gives its own.
        pass = LedgerAudit(options: AuditOptions(asOf: Day(number: 0)))
    }

    /// Takes a commit's entries (from ``LedgerCore/observeApplied(_:)``).
    public func feed(_ entries: [(UInt64, Result<ConsentEntry, any Error>)]) {
        let waiting = pending.withLock {
            $0 += entries
            return $0.count
        }
        let fed = fedSinceSnapshot.add(UInt64(entries.count), ordering: .relaxed).newValue
        if snapshots != nil, fed >= snapshotEvery, ready.load(ordering: .acquiring),
            !saving.exchange(true, ordering: .acquiringAndReleasing)
        {
            Self.queue.async {
                // When decisions being made hold entries back, tried again a few thousand entries on; after a
                // failure (logged), a whole interval on.
                let every = self.snapshotEvery
                let heldBack = self.snapshot(reason: "every \(every) entries") == .heldBack
                self.fedSinceSnapshot.store(
                    heldBack ? every - min(every / 2, UInt64(Self.catchUpAt)) : 0,
                    ordering: .relaxed
                )
                self.saving.store(false, ordering: .releasing)
            }
        }
        if waiting >= Self.catchUpAt, ready.load(ordering: .acquiring),
            !scheduled.exchange(true, ordering: .acquiringAndReleasing)
        {
            // On a thread of its own, not the task pool's: a catch-up is long synchronous work, and holding one
            // of the pool's threads (two on two cores) for it stalls every request meanwhile.
            Self.queue.async {
                self.catchUp()
                self.scheduled.store(false, ordering: .releasing)
            }
        }
    }

    /// Reads the ledger as it was when `reader` was opened: from the newest good snapshot on, if the projection
    /// keeps snapshots and one can be used, else from the start. Register ``feed(_:)`` before opening the reader,
    /// so that every later commit is fed (an entry both read and fed is taken once).
    public func build(from reader: EntryReader) throws {
        do {
            try read(reader)
        } catch {
            failure.withLock { $0 = "\(error)" }
            throw error
        }
    }

    private func read(_ reader: EntryReader) throws {
        toBuild.store(max(1, reader.total ?? 0), ordering: .relaxed)
        try lock.withLock {
            if let (ledger, logger) = snapshots,
                let restored = FindingsSnapshot.load(for: ledger, options: pass.options, logger: logger)
            {
                pass = restored
                newestSnapshot.store(restored.consumed, ordering: .relaxed)
                restoredFrom.store(restored.consumed, ordering: .relaxed)
            }
            let audit = pass
            built.store(audit.consumed, ordering: .relaxed)
            var chunk: [(UInt64, [UInt8])] = []
            chunk.reserveCapacity(8192)
            func flush() {
                audit.consume(LedgerAudit.parallelParse(chunk))
                built.store(audit.consumed, ordering: .relaxed)
                chunk.removeAll(keepingCapacity: true)
            }
            try reader.read(from: audit.consumed) { index, bytes in
                chunk.append((index, bytes))
                if chunk.count == 8192 { flush() }
            }
            flush()
            catchUp(audit)
        }
        ready.store(true, ordering: .releasing)
    }

    /// The size of the snapshot the build at start began from (0 for none).
    public var builtFromSnapshot: UInt64 { restoredFrom.load(ordering: .relaxed) }
    private let restoredFrom = Atomic<UInt64>(0)
    private let writing = NSLock()

    /// Writes a snapshot of the projection as it stands, if it has been built, holds no entry back for a decision
    /// being made, and has applied at least `minimum` entries more than the newest snapshot; returns whether the
    /// snapshot on disk is now up to date. A failure is logged, not thrown: the next start reads more, nothing is
    /// lost. The pass is held while the snapshot is encoded (requests for findings wait); the file is written
    /// after.
    @discardableResult
    public func writeSnapshot(reason: String, minimum: UInt64 = 1) -> Bool {
        snapshot(reason: reason, minimum: minimum) == .upToDate
    }

    private enum SnapshotOutcome {
        case upToDate
        case heldBack
        case notWritten
    }

    private func snapshot(reason: String, minimum: UInt64 = 1) -> SnapshotOutcome {
        guard let (ledger, logger) = snapshots, ready.load(ordering: .acquiring) else { return .notWritten }
        // One at a time, so that a snapshot never replaces a newer one (the file's write itself takes turns too).
        writing.lock()
        defer { writing.unlock() }
        let started = ContinuousClock.now
        let newest = newestSnapshot.load(ordering: .relaxed)
        let encoded: Result<(size: UInt64, payload: [UInt8]), any Error>? = lock.withLock {
            catchUp(pass)
            guard let saved = pass.saved() else { return nil }
            guard saved.result.entries >= newest + minimum else { return .success((saved.result.entries, [])) }
            return Result { (saved.result.entries, try FindingsSnapshot.payload(saved)) }
        }
        do {
            guard let (size, payload) = try encoded?.get() else {
                logger.debug("findings snapshot put off: decisions being made hold entries back")
                return .heldBack
            }
            guard !payload.isEmpty else { return .upToDate }
            try FindingsSnapshot.file.write(payload: payload, size: size, ledger: ledger)
            newestSnapshot.store(size, ordering: .relaxed)
            logger.info(
                "findings snapshot written",
                metadata: [
                    "entries": "\(size)", "reason": "\(reason)", "bytes": "\(payload.count)",
                    "milliseconds": "\(Int((ContinuousClock.now - started) / .milliseconds(1)))",
                ]
            )
            return .upToDate
        } catch {
            logger.warning("findings snapshot not written", metadata: ["error": "\(error)"])
            return .notWritten
        }
    }

    /// Whether the build at start has finished, how far it has read, and why it stopped if it failed.
    public var progress: (ready: Bool, read: UInt64, of: UInt64, failure: String?) {
        (
            ready.load(ordering: .acquiring), built.load(ordering: .relaxed), toBuild.load(ordering: .relaxed),
            failure.withLock { $0 }
        )
    }

    /// Applies what was fed since the last call, as far as the decisions in flight allow; returns the entries
    /// applied in all.
    @discardableResult
    public func catchUp() -> UInt64 {
        guard ready.load(ordering: .acquiring) else { return 0 }
        return lock.withLock { catchUp(pass) }
    }

    @discardableResult
    private func catchUp(_ audit: LedgerAudit) -> UInt64 {
        // Taken under the pass's lock, so that two callers consume in commit order.
        let fed = pending.withLock { taken in
            defer { taken.removeAll(keepingCapacity: true) }
            return taken
        }
        let fresh = fed.drop { $0.0 < audit.consumed }
        if !fresh.isEmpty { audit.consume(Array(fresh)) }
        audit.drain(before: min(earliestInFlight() ?? .max, audit.consumed))
        return audit.appliedCount
    }

    /// The findings judged on `options`' day, once the projection has applied the first `size` entries (the
    /// ledger's size when the request came: every acknowledged write is counted); `nil` if that takes longer
    /// than `timeout` (the build at start is still reading, or a decision is slow to be written).
    public func result(options: AuditOptions, covering size: UInt64, timeout: Duration) async -> AuditResult? {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while catchUp() < size {
            guard clock.now < deadline, failure.withLock({ $0 }) == nil else { return nil }
            try? await Task.sleep(for: .milliseconds(ready.load(ordering: .acquiring) ? 1 : 50))
        }
        return lock.withLock { pass.current(options: options) }
    }

    /// Why ``result(options:covering:timeout:)`` gave no answer, in words for the reader.
    public var unavailable: String {
        let p = progress
        if let failure = p.failure {
            return "the findings could not be prepared (\(failure)); the service log says more"
        }
        if !p.ready {
            return "the findings are being prepared after the service started: \(p.read) of \(p.of) entries read"
        }
        return "the findings are waiting for a decision being written; try again"
    }
}
