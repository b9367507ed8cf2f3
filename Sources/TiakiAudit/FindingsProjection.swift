import Dispatch
import Foundation
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
public final class FindingsProjection: @unchecked Sendable {
    /// The pass, touched only under `lock` (a class with mutable state, so not `Sendable` itself).
    private let pass: LedgerAudit
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

    public init(earliestInFlight: @escaping @Sendable () -> UInt64?) {
        self.earliestInFlight = earliestInFlight
        // Any day will do: the pass's own options are never used to judge the state; each answer gives its own.
        pass = LedgerAudit(options: AuditOptions(asOf: Day(number: 0)))
    }

    /// Takes a commit's entries (from ``LedgerCore/observeApplied(_:)``).
    public func feed(_ entries: [(UInt64, Result<ConsentEntry, any Error>)]) {
        let waiting = pending.withLock {
            $0 += entries
            return $0.count
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

    /// Reads the ledger as it was when `reader` was opened. Register ``feed(_:)`` before opening the reader, so
    /// that every later commit is fed (an entry both read and fed is taken once).
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
            let audit = pass
            var chunk: [(UInt64, [UInt8])] = []
            chunk.reserveCapacity(8192)
            func flush() {
                audit.consume(LedgerAudit.parallelParse(chunk))
                built.store(audit.consumed, ordering: .relaxed)
                chunk.removeAll(keepingCapacity: true)
            }
            try reader.read { index, bytes in
                chunk.append((index, bytes))
                if chunk.count == 8192 { flush() }
            }
            flush()
            catchUp(audit)
        }
        ready.store(true, ordering: .releasing)
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
