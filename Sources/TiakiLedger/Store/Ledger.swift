public import Foundation
public import Logging
import Synchronization

/// How a ledger is opened and how it keeps checkpoints.
public struct LedgerConfiguration: Sendable {
    /// The origin line of checkpoints and the key name, used when the ledger is created. `nil` picks
    /// `localhost/tiaki/<8 random hex digits>`.
    public var origin: String?
    /// A 32-byte Ed25519 seed for a new ledger's key; `nil` generates one at random. For deterministic samples and
    /// tests only.
    public var keySeed: [UInt8]?
    /// Besides the newest checkpoint (always stored), keep one permanently whenever the tree has grown by this many
    /// entries since the last one kept.
    public var checkpointInterval: UInt64 = 1024
    /// … or when this many seconds have passed since the last one kept and the tree has grown.
    public var checkpointMaxAge: TimeInterval = 600
    /// The most entries committed in one transaction.
    public var maximumBatch = 1024
    /// The largest entry accepted, in bytes of canonical JSON.
    public var maximumEntryBytes = 64 * 1024
    /// The top-level member that ``EntryDraft/key`` comes from; used to index a ledger written before the key
    /// index existed.
    public var keyMember: String?
    /// Whether opening a directory that holds no ledger creates one (`tiaki serve`'s first start, `tiaki init`,
    /// `tiaki simulate`); otherwise it is refused with ``LedgerError/Code/noLedger``, so a mistyped path does not
    /// quietly start a second ledger.
    public var create = true
    /// Who appends, for the data directory's lock (`tiaki serve`); a second process that tries to append to the same
    /// directory is refused, naming this holder.
    public var lockHolder = "tiaki"
    /// The clock that stamps entries (UTC); replaceable for deterministic samples.
    public var clock: @Sendable () -> Date = { Date() }
    /// What day it is, for checks that stamp nothing (a date given must not lie in the future); `nil` reads
    /// `clock`. A simulation whose clock moves on with every reading sets this so that checking a date does not
    /// move it.
    public var calendar: (@Sendable () -> Date)?
    /// The zone whose calendar days are "today" for the people the ledger serves, and in which the days written into
    /// entries for them are counted (`tiaki serve --time-zone`; New Zealand's by default). Entry times stay UTC.
    public var timeZone: TimeZone = TimeZone(identifier: "Pacific/Auckland") ?? .current
    /// For crash testing only (`Scripts/crash-test.py` sets it through `TIAKI_FAULT`): the process kills itself
    /// with SIGKILL at this point of a commit, inside the open write transaction.
    public var fault: LedgerFault?

    public init() {}
}

/// A point inside a commit where a crash test kills the process.
public enum LedgerFault: Sendable, Equatable {
    /// After the batch's entries are inserted, before the newest checkpoint is written and the transaction commits.
    case midBatch(afterCommits: Int)
    /// After a checkpoint is archived, before the transaction commits.
    case midArchive(afterArchives: Int)

    /// Reads `mid-batch:N` or `mid-archive:N`.
    public init?(_ text: String) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let n = Int(parts[1]), n >= 0 else { return nil }
        switch parts[0] {
        case "mid-batch": self = .midBatch(afterCommits: n)
        case "mid-archive": self = .midArchive(afterArchives: n)
        default: return nil
        }
    }
}

/// What an append returns once its entry is durable: the entry, its leaf hash, and the signed checkpoint that
/// covers it.
public struct AppendReceipt: Sendable {
    public let index: UInt64
    /// The entry's `time` member.
    public let time: String
    public let entry: [UInt8]
    public let leafHash: MerkleHash
    public let checkpoint: SignedCheckpoint
}

/// An inclusion proof of one leaf in a tree of a given size.
public struct InclusionProof: Sendable, Equatable {
    public let index: UInt64
    public let size: UInt64
    public let hashes: [MerkleHash]

    /// Whether the proof shows `leafHash` at `index` in the tree with root `root`.
    public func verify(leafHash: MerkleHash, root: MerkleHash) -> Bool {
        Merkle.verifyInclusion(leafHash: leafHash, index: index, size: size, proof: hashes, root: root)
    }
}

/// A signed, append-only log of canonical JSON entries in an RFC 9162 tree, stored through a ``LedgerStorage``
/// (SQLite in the data directory, or PostgreSQL shared by instances).
///
/// Appends from any number of tasks are ordered by one sequencer and group-committed: each batch is one
/// transaction holding its entries and a newly signed checkpoint that covers them, and no append returns before
/// that transaction is durable.
public final class Ledger: Sendable {
    public let directory: LedgerDirectory
    public let configuration: LedgerConfiguration
    /// The key that verifies this ledger's checkpoints.
    public let verifier: NoteVerifier
    public var origin: String { signer.name }

    /// The tables: SQLite in the data directory, or a PostgreSQL database shared with other instances.
    package let storage: any LedgerStorage
    /// Held from opening until closing: no other process appends to this directory meanwhile.
    private let lock: Mutex<DataDirectoryLock?>
    /// Commits since opening: the entries appended divided by this is how well appends are grouped.
    private let commitCounter = Atomic<Int>(0)
    /// Set when a commit finds the ledger on disk ahead of this process's view (something else wrote to it).
    private let divergence = Mutex<String?>(nil)
    private let signer: NoteSigner
    private let logger: Logger
    private let pending = Mutex(PendingAppends())
    /// Touched only on `sequencer`; behind a lock so the compiler can check it crosses no task unguarded.
    private let tree: Mutex<TreeState>
    /// The newest durable checkpoint, for readers.
    private let newest: Mutex<SignedCheckpoint>
    private let sequencer = DispatchQueue(label: "tiaki.ledger.sequencer", qos: .userInitiated)
    /// Boxed in a struct: a bare closure read out of a `Mutex` through `inout` is re-abstracted on every access,
    /// and the thunks pile up — a chain one layer deeper per commit, until the stack overflows.
    private let observer = Mutex<CommitObserver?>(nil)

    private struct CommitObserver: Sendable {
        let notify: @Sendable ([CommittedEntry]) -> Void
    }

    /// An entry as the commit observer sees it.
    package struct CommittedEntry: Sendable {
        package let index: UInt64
        /// The entry's `time` member when this instance wrote it; `nil` for one another instance wrote (read it
        /// from the bytes).
        package let time: String?
        package let entry: [UInt8]
        package let context: (any Sendable)?
    }

    /// Calls `body` on the sequencer after each commit, with the batch's entries in index order, before any of
    /// their appends return; a projection kept this way is always in ledger order and never behind an
    /// acknowledged append.
    package func observeCommits(_ body: @escaping @Sendable ([CommittedEntry]) -> Void) {
        observer.withLock { $0 = CommitObserver(notify: body) }
    }

    /// The database, for the mutable tables the layers above keep beside the ledger (never part of the tree).
    package var database: LedgerDatabase { storage.database }

    /// Keys that other instances wrote entries under, with those entries' indexes, for ``EntryDraft/checkedAt``;
    /// the oldest are dropped past a bound, and a check older than what is kept counts as a conflict.
    private let foreign = Mutex(ForeignKeys())

    private struct ForeignKeys {
        /// The newest index each key was written at by another instance.
        var newest: [String: UInt64] = [:]
        /// Below this index, nothing is known any more.
        var knownFrom: UInt64 = 0
        static let bound = 262_144

        mutating func add(_ new: [(key: String, index: UInt64)]) {
            for (key, index) in new { newest[key] = max(newest[key] ?? 0, index) }
            if newest.count > Self.bound {
                // Forget the older half: a check made before what is kept counts as a conflict.
                let cut = newest.values.sorted()[newest.count / 2]
                newest = newest.filter { $0.value >= cut }
                knownFrom = max(knownFrom, cut)
            }
        }

        /// Whether another instance wrote under `key` at or after `index`.
        func conflicts(_ key: String, since index: UInt64) -> Bool {
            index < knownFrom || (newest[key].map { $0 >= index } ?? false)
        }
    }

    private struct PendingAppends {
        var items: [(draft: EntryDraft, continuation: CheckedContinuation<AppendReceipt, any Error>)] = []
        var draining = false
        var closed = false
    }

    private struct TreeState {
        var range: CompactRange
        var lastTime: Date
        var lastArchivedSize: UInt64
        var lastArchivedTime: Date
        var commits = 0
        var archives = 0
    }

    /// Ends the process at once, as a power cut or `kill -9` would: nothing is flushed or closed.
    private static func crash() -> Never {
        kill(getpid(), SIGKILL)
        fatalError("SIGKILL did not end the process")
    }

    // MARK: Opening

    /// Opens the ledger in `directory`, creating the directory, key and database when there is none.
    ///
    /// An existing ledger's newest checkpoint is checked before it is used: it must cover every stored entry, its
    /// root must match the stored tree, and its signature must verify with the log key; the last 1,024 entries are
    /// rehashed from their bytes and must match their stored leaves.
    public static func open(
        _ directory: LedgerDirectory,
        configuration: LedgerConfiguration = LedgerConfiguration(),
        logger: Logger
    ) throws(LedgerError) -> Ledger {
        let creating = !directory.exists
        if creating && !configuration.create {
            throw LedgerError(
                .noLedger,
                "there is no ledger in \(directory.path); check the path, or create one there with tiaki init --data \(directory.path)"
            )
        }
        return try open(directory, configuration: configuration, creating: creating, logger: logger) {
            () throws(LedgerError) in
            if creating { try directory.createDatabaseFile() }
            let store = try LedgerStore.openPool(path: directory.databasePath, keyMember: configuration.keyMember)
            return SQLiteLedgerStorage(store: store, path: directory.databasePath)
        }
    }

    /// Opens the ledger kept in a PostgreSQL database, which any number of instances may share; `directory` holds
    /// the log key (the same key in every instance's directory), the lookup key and this instance's snapshots.
    ///
    /// The database's newest checkpoint must verify with the key in `directory`: a database written under another
    /// log key is refused before anything is written. An empty database is given its tables and first checkpoint.
    public static func open(
        _ directory: LedgerDirectory,
        database: PostgresAddress,
        configuration: LedgerConfiguration = LedgerConfiguration(),
        logger: Logger
    ) throws(LedgerError) -> Ledger {
        let storage = try PostgresLedgerStorage(database, logger: logger)
        do {
            let head = try storage.read { try $0.head() }
            let hasKey = FileManager.default.fileExists(atPath: directory.privateKeyPath)
            if let head, !hasKey {
                let origin = (try? SignedCheckpoint(parsing: head.note).checkpoint.origin) ?? "another log"
                throw LedgerError(
                    .noLedger,
                    "\(database.redacted) holds the ledger \(origin) but \(directory.path) has no log key; copy log.key, log.vkey and lookup.key from an instance of that ledger into \(directory.path)"
                )
            }
            if head == nil && !configuration.create {
                throw LedgerError(
                    .noLedger,
                    "there is no ledger in \(database.redacted); create one with tiaki init --data DIR --database URL, or move one in with tiaki migrate"
                )
            }
            return try open(directory, configuration: configuration, creating: !hasKey, logger: logger) { storage }
        } catch let error as LedgerError {
            storage.close()
            throw error
        } catch {
            storage.close()
            throw LedgerError(.io, "cannot open the ledger in \(database.redacted): \(PostgresPool.describe(error))")
        }
    }

    private static func open(
        _ directory: LedgerDirectory,
        configuration: LedgerConfiguration,
        creating: Bool,
        logger: Logger,
        storage makeStorage: () throws(LedgerError) -> any LedgerStorage
    ) throws(LedgerError) -> Ledger {
        let started = Date()
        if creating { try directory.create() }
        let lock = try DataDirectoryLock.acquire(directory, holder: configuration.lockHolder)
        let signer: NoteSigner
        if creating && !FileManager.default.fileExists(atPath: directory.privateKeyPath) {
            let origin = configuration.origin ?? "localhost/tiaki/\(randomHex(4))"
            signer =
                if let seed = configuration.keySeed {
                    try NoteSigner(name: origin, seed: seed)
                } else {
                    try NoteSigner(generatingWithName: origin)
                }
            try directory.store(signer)
        } else {
            signer = try directory.loadSigner()
        }
        try directory.checkPermissions()
        // The origin names the log for ever: checkpoints, witnesses and code systems carry it.
        if let origin = configuration.origin, origin != signer.name {
            throw LedgerError(
                .invalidArgument,
                "this ledger's origin is \(signer.name); it is fixed when the ledger is created and cannot become \(origin)"
            )
        }
        let storage = try makeStorage()
        let ledger: Ledger
        do {
            let empty = try SignedCheckpoint(
                signing: Checkpoint(origin: signer.name, size: 0, root: Merkle.emptyRoot),
                with: signer
            )
            try storage.write { tables in
                guard try tables.head() == nil else { return }
                guard try tables.entryCount() == 0 else {
                    throw LedgerError(.corrupt, "the ledger has entries but no newest checkpoint")
                }
                try tables.initialize(note: empty.text, time: LedgerTime.format(configuration.clock()))
            }
            ledger = try storage.read { tables throws -> Ledger in
                try Ledger(
                    directory: directory,
                    configuration: configuration,
                    storage: storage,
                    lock: lock,
                    signer: signer,
                    tables: tables,
                    logger: logger
                )
            }
        } catch let error as LedgerError {
            storage.close()
            throw error
        } catch {
            storage.close()
            throw LedgerError(.io, "cannot open the ledger in \(storage.location): \(PostgresPool.describe(error))")
        }
        ledger.listenForAnnouncements()
        logger.info(
            "ledger opened",
            metadata: [
                "size": "\(ledger.checkpoint.size)", "created": "\(creating)", "store": "\(storage.location)",
                "milliseconds": "\(Int(Date().timeIntervalSince(started) * 1000))",
            ]
        )
        return ledger
    }

    private init(
        directory: LedgerDirectory,
        configuration: LedgerConfiguration,
        storage: any LedgerStorage,
        lock: DataDirectoryLock,
        signer: NoteSigner,
        tables: any LedgerReading,
        logger: Logger
    ) throws {
        guard let head = try tables.head() else { throw LedgerError(.corrupt, "the ledger has no newest checkpoint") }
        let signed = try SignedCheckpoint(parsing: head.note)
        guard signed.checkpoint.origin == signer.name else {
            throw LedgerError(
                .noTrustedSignature,
                "the ledger in \(storage.location) is \(signed.checkpoint.origin), but the log key in \(directory.path) is \(signer.name): every instance must use the one log's key"
            )
        }
        do {
            try signed.note.verify(with: [signer.verifier])
        } catch {
            throw LedgerError(
                .noTrustedSignature,
                "the newest checkpoint in \(storage.location) does not verify with the log key in \(directory.path): \(error.message)"
            )
        }
        let count = try tables.entryCount()
        guard signed.size == count else {
            throw LedgerError(
                .corrupt,
                "the newest checkpoint covers \(signed.size) entries but the store holds \(count)"
            )
        }
        // The right edge of the tree: one perfect subtree per set bit of the size, largest first.
        var parts: [Range<UInt64>] = []
        var start: UInt64 = 0
        for bit in stride(from: 63, through: 0, by: -1) where count & (1 << UInt64(bit)) != 0 {
            parts.append(start..<(start + (1 << UInt64(bit))))
            start += 1 << UInt64(bit)
        }
        guard let range = CompactRange(size: count, hashes: try tables.perfectHashes(parts)) else {
            throw LedgerError(.corrupt, "cannot rebuild the tree's right edge")
        }
        guard range.root == signed.root else {
            throw LedgerError(.corrupt, "the stored tree's root does not match the newest checkpoint")
        }
        // The tail: the last entries' bytes must still be canonical, at their index, and hash to their stored leaves.
        let tailStart = count > 1024 ? count - 1024 : 0
        for (offset, row) in try tables.leaves(in: tailStart..<count).enumerated() {
            let index = tailStart + UInt64(offset)
            let claimed = try row.entry.withUnsafeBufferPointer { buffer in
                try CanonicalJSON.validate(buffer, topLevelInteger: "index")
            }
            guard claimed == Int64(index), Merkle.leafHash(row.entry).array == row.leaf else {
                throw LedgerError(.corrupt, "entry \(index) no longer matches its stored hash or index")
            }
        }
        let archived = try tables.lastArchived()
        let parse: (String?) -> Date = { text in text.flatMap(LedgerTime.parse) ?? .distantPast }
        self.directory = directory
        self.configuration = configuration
        self.storage = storage
        self.lock = Mutex(lock)
        self.signer = signer
        self.verifier = signer.verifier
        self.logger = logger
        self.newest = Mutex(signed)
        self.tree = Mutex(
            TreeState(
                range: range,
                lastTime: parse(head.time),
                lastArchivedSize: archived?.size ?? 0,
                lastArchivedTime: parse(archived?.time)
            )
        )
    }

    // MARK: Appending

    /// Appends an entry and returns once it is durable and covered by a signed checkpoint.
    ///
    /// - Throws: ``LedgerError`` when the entry is too large, the ledger is closed, or the commit failed (then
    ///   nothing of its batch was stored).
    public func append(_ draft: EntryDraft) async throws -> AppendReceipt {
        let size = draft.members.reduce(64) { $0 + $1.count + 1 }
        guard size <= configuration.maximumEntryBytes else {
            throw LedgerError(
                .entryTooLarge,
                "the entry would be \(size) bytes, more than the \(configuration.maximumEntryBytes) one entry may hold"
            )
        }
        return try await withCheckedThrowingContinuation { continuation in
            let action: Int = pending.withLock { p in
                if p.closed { return -1 }
                p.items.append((draft, continuation))
                if p.draining { return 0 }
                p.draining = true
                return 1
            }
            if action < 0 {
                continuation.resume(throwing: LedgerError(.closed, "the ledger is closed"))
            } else if action > 0 {
                sequencer.async { self.drain() }
            }
        }
    }

    /// Appends the members as one entry (see ``append(_:)-(EntryDraft)``).
    public func append(_ members: [String: JSONValue]) async throws -> AppendReceipt {
        try await append(EntryDraft(members))
    }

    private typealias PendingItem = (draft: EntryDraft, continuation: CheckedContinuation<AppendReceipt, any Error>)

    private func drain() {
        while true {
            let batch = takePending(upTo: configuration.maximumBatch, endingDrain: true)
            if batch.isEmpty { return }
            commit(batch)
        }
    }

    /// Up to `limit` of the appends waiting, oldest first. With `endingDrain`, finding none ends the drain (the
    /// next append starts another).
    private func takePending(upTo limit: Int, endingDrain: Bool) -> [PendingItem] {
        pending.withLock { p in
            if p.items.isEmpty {
                if endingDrain { p.draining = false }
                return []
            }
            let n = min(p.items.count, limit)
            if n == p.items.count {
                defer { p.items = [] }
                return p.items
            }
            let head = Array(p.items[..<n])
            p.items.removeFirst(n)
            return head
        }
    }

    /// Whether other instances append to the same ledger (a shared PostgreSQL database).
    public var isShared: Bool { storage.isShared }

    /// Transactions committed since the ledger was opened (each holds a batch of appends and one checkpoint).
    public var commits: Int { commitCounter.load(ordering: .relaxed) }

    /// Why the ledger cannot take appends, if something else moved it on (`nil` while it is healthy).
    public var divergedReason: String? { divergence.withLock { $0 } }

    /// After a failed commit: whether the store holds more entries than this process wrote, and if so, stops taking
    /// appends (each would fail the same way) and says so in the log and in ``divergedReason``. (A shared store is
    /// never diverged: a commit catches up with what other instances wrote.)
    private func checkDivergence() -> String? {
        if let known = divergence.withLock({ $0 }) { return known }
        guard !storage.isShared else { return nil }
        let ours = tree.withLock { $0.range.size }
        guard let stored = try? storage.read({ try $0.entryCount() }), stored > ours else { return nil }
        let reason =
            "the ledger on disk holds \(stored) entries but this service wrote \(ours): another process appended to \(directory.path); nothing more is recorded until the service is restarted"
        divergence.withLock { $0 = reason }
        logger.critical("ledger diverged", metadata: ["stored": "\(stored)", "ours": "\(ours)"])
        return reason
    }

    /// Entries read at once when catching up.
    static let catchUpChunk: UInt64 = 4096

    /// What other instances committed since this one last looked: their entries, checked against their leaves and
    /// the newest checkpoint, and the tree extended by them. Runs inside the caller's transaction.
    private struct CatchUp {
        var entries: [CommittedEntry] = []
        var keys: [(key: String, index: UInt64)] = []
        var lastTime: Date?
        var checkpoint: SignedCheckpoint?
    }

    /// `first`, when given, is what was read with the head from `range.size` on (see
    /// ``LedgerWriting/lockHead(readingFrom:limit:)``); the rest, if any, is read here.
    private func catchUp(
        _ tables: any LedgerReading,
        range: inout CompactRange,
        to head: StoredCheckpoint,
        first: LockedHead? = nil
    ) throws -> CatchUp {
        let stored = head.size
        var result = CatchUp()
        guard stored != range.size else { return result }
        guard stored > range.size else {
            throw LedgerError(
                .corrupt,
                "the ledger in \(storage.location) holds \(stored) entries, fewer than the \(range.size) this instance has seen"
            )
        }
        guard storage.isShared else {
            throw LedgerError(.diverged, "another process appended to \(storage.location)")
        }
        var next = range.size
        var prefetched = first.map { (rows: $0.rows, keys: $0.keys) }
        while next < stored {
            let upper = min(stored, next + Ledger.catchUpChunk)
            let (rows, keys) = try prefetched ?? tables.committed(in: next..<upper)
            prefetched = nil
            result.keys += keys
            for row in rows {
                let leaf = Merkle.leafHash(row.entry)
                guard leaf.array == row.leaf else {
                    throw LedgerError(.corrupt, "entry \(next) no longer matches its stored hash")
                }
                range.append(leaf) { _, _ in }
                // The entry's own time is in its bytes, for the observer that parses them.
                result.entries.append(CommittedEntry(index: next, time: nil, entry: row.entry, context: nil))
                next += 1
            }
            guard next == upper else { throw LedgerError(.corrupt, "entries before \(upper) are missing") }
        }
        // The newest commit's time, so that this instance never stamps an entry earlier than one before it.
        result.lastTime = LedgerTime.parse(head.time)
        let signed = try SignedCheckpoint(parsing: head.note)
        try signed.note.verify(with: [signer.verifier])
        guard signed.size >= stored else {
            throw LedgerError(.corrupt, "the newest checkpoint covers fewer entries than are stored")
        }
        if signed.size == stored {
            guard signed.root == range.root else {
                throw LedgerError(.corrupt, "the stored tree's root does not match the newest checkpoint")
            }
            result.checkpoint = signed
        }
        return result
    }

    /// Applies what a catch-up found to this instance's view, and hands its entries to the commit observer.
    private func adopt(_ found: CatchUp, range: CompactRange, state: inout TreeState) {
        guard !found.entries.isEmpty else { return }
        state.range = range
        if let time = found.lastTime { state.lastTime = max(state.lastTime, time) }
        foreign.withLock { $0.add(found.keys) }
        if let checkpoint = found.checkpoint { newest.withLock { $0 = checkpoint } }
        if let observer = observer.withLock({ $0 }) { observer.notify(found.entries) }
        resumeWaiters()
    }

    /// Brings this instance's view up to what the database holds now, when other instances append to it: the
    /// entries they committed are applied (through the commit observer) before this returns, so a check made
    /// after it sees every write acknowledged before it was called. One query for the head's size, then only what
    /// is new; nothing at all for a ledger of one process.
    public func synchronize() async throws {
        guard storage.isShared else { return }
        let stored = try storage.read { try $0.head()?.size ?? 0 }
        try await catchUp(to: stored)
    }

    /// Applies what other instances committed as far as their announcements (PostgreSQL's NOTIFY, sent by every
    /// commit) have told this one, without asking the database unless an announcement may have been missed. Reads
    /// through any instance reflect another's acknowledged writes within the moment an announcement takes; a
    /// decision or a check-then-append step does not rely on it (see ``EntryDraft/checkedAt``).
    public func catchUpWithAnnounced() async throws {
        guard storage.isShared else { return }
        let announced = self.announced.load(ordering: .acquiring)
        if announced == Self.unknownHead {
            // Cleared before asking, so that an announcement lost while asking sets it again.
            self.announced.store(0, ordering: .releasing)
            try await synchronize()
        } else {
            try await catchUp(to: announced)
        }
    }

    /// Waits until this instance has applied the ledger up to `stored` entries. Under load the sequencer is busy
    /// committing, and every commit catches up first, so the waiters are served by the next commit; a catch-up of
    /// its own is queued too, for when no commit comes.
    private func catchUp(to stored: UInt64) async throws {
        guard stored > checkpoint.size else { return }
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
            sizeWaiters.withLock { $0.append((stored, done)) }
            // A commit may have finished between the check above and registering: serve what is already there.
            resumeWaiters()
            guard !catchUpQueued.exchange(true, ordering: .acquiringAndReleasing) else { return }
            sequencer.async {
                self.catchUpQueued.store(false, ordering: .releasing)
                do {
                    if self.sizeWaiters.withLock({ !$0.isEmpty }) { try self.catchUpNow() }
                    self.resumeWaiters()
                } catch {
                    self.resumeWaiters(failing: error)
                }
            }
        }
    }

    /// Requests waiting for this instance to reach a size, with the size each waits for.
    private let sizeWaiters = Mutex<[(size: UInt64, continuation: CheckedContinuation<Void, any Error>)]>([])
    private let catchUpQueued = Atomic<Bool>(false)

    /// Resumes the waiters the newest checkpoint now covers (all of them, with `failing`, when a catch-up failed).
    private func resumeWaiters(failing: (any Error)? = nil) {
        let size = checkpoint.size
        let ready = sizeWaiters.withLock { waiters in
            let ready = waiters.filter { failing != nil || $0.size <= size }
            waiters.removeAll { failing != nil || $0.size <= size }
            return ready
        }
        for waiter in ready {
            if let failing { waiter.continuation.resume(throwing: failing) } else { waiter.continuation.resume() }
        }
    }

    /// The largest size other instances announced; ``unknownHead`` when an announcement may have been missed.
    private let announced = Atomic<UInt64>(Ledger.unknownHead)
    private static let unknownHead = UInt64.max
    /// Listens for other instances' announcements (a shared ledger only).
    private let listener = Mutex<Task<Void, Never>?>(nil)

    private func listenForAnnouncements() {
        guard let shared = storage as? PostgresLedgerStorage else { return }
        let task = shared.pool.listen(on: "tiaki_head") { [weak self] payload in
            self?.noteAnnouncement(payload.flatMap { UInt64($0) })
        }
        listener.withLock { $0 = task }
    }

    private func noteAnnouncement(_ size: UInt64?) {
        guard let size else {
            announced.store(Ledger.unknownHead, ordering: .releasing)
            return
        }
        var current = announced.load(ordering: .relaxed)
        while current != Ledger.unknownHead && current < size {
            let (exchanged, original) = announced.compareExchange(
                expected: current,
                desired: size,
                ordering: .acquiringAndReleasing
            )
            if exchanged { break }
            current = original
        }
    }

    private func catchUpNow() throws {
        try tree.withLock { state in
            var range = state.range
            let found = try storage.read { tables in
                guard let head = try tables.head() else {
                    throw LedgerError(.corrupt, "the ledger has no newest checkpoint")
                }
                return try catchUp(tables, range: &range, to: head)
            }
            adopt(found, range: range, state: &state)
        }
    }

    private func commit(_ taken: [PendingItem]) {
        var batch = taken
        if let reason = divergence.withLock({ $0 }) {
            let failure = LedgerError(.diverged, reason)
            for item in batch { item.continuation.resume(throwing: failure) }
            return
        }
        var refused: [PendingItem] = []
        let outcome = tree.withLock { state -> Result<(items: [PendingItem], receipts: [AppendReceipt]), any Error> in
            do {
                var range = state.range
                var found = CatchUp()
                var accepted: [PendingItem] = []
                var rows: [EntryRow] = []
                var keys: [(key: String, index: UInt64)] = []
                var time = ""
                var now = state.lastTime
                var checkpoint: SignedCheckpoint?
                var archive = false
                try storage.write { tables in
                    // Reset on a retry of the transaction: everything below is computed inside it.
                    range = state.range
                    accepted = []
                    refused = []
                    rows = []
                    keys = []
                    guard let locked = try tables.lockHead(readingFrom: range.size, limit: Ledger.catchUpChunk)
                    else {
                        throw LedgerError(.corrupt, "the ledger has no newest checkpoint")
                    }
                    // Appends that came while the lock was awaited join the batch: when other instances hold the
                    // lock in turn, the wait is long, and each turn should commit all that is ready.
                    if batch.count < configuration.maximumBatch {
                        batch += takePending(upTo: configuration.maximumBatch - batch.count, endingDrain: false)
                    }
                    found = try catchUp(tables, range: &range, to: locked.head, first: locked)
                    // A check made before another instance wrote under the same key no longer holds.
                    for item in batch {
                        if let key = item.draft.key, let checked = item.draft.checkedAt,
                            found.keys.contains(where: { $0.key == key })
                                || foreign.withLock({ $0.conflicts(key, since: checked) })
                        {
                            refused.append(item)
                        } else {
                            accepted.append(item)
                        }
                    }
                    guard !accepted.isEmpty else { return }
                    now = max(configuration.clock(), state.lastTime, found.lastTime ?? .distantPast)
                    time = LedgerTime.format(now)
                    rows.reserveCapacity(accepted.count)
                    for item in accepted {
                        let index = range.size
                        if let key = item.draft.key { keys.append((key, index)) }
                        let entry = item.draft.assemble(index: index, time: time)
                        let leaf = Merkle.leafHash(entry)
                        var nodes: [UInt8] = []
                        range.append(leaf) { _, hash in nodes.append(contentsOf: hash.array) }
                        rows.append(EntryRow(index: index, entry: entry, leaf: leaf, nodes: nodes))
                    }
                    let signed = try SignedCheckpoint(
                        signing: Checkpoint(origin: signer.name, size: range.size, root: range.root),
                        with: signer
                    )
                    checkpoint = signed
                    archive =
                        range.size - state.lastArchivedSize >= configuration.checkpointInterval
                        || now.timeIntervalSince(state.lastArchivedTime) >= configuration.checkpointMaxAge
                    try tables.insert(rows)
                    if case .midBatch(let n)? = configuration.fault, state.commits >= n { Self.crash() }
                    if !keys.isEmpty { try tables.insertKeys(keys) }
                    try tables.updateHead(size: range.size, note: signed.text, time: time)
                    try tables.announce(size: range.size)
                    if archive {
                        try tables.archive(size: range.size, note: signed.text, time: time)
                        if case .midArchive(let n)? = configuration.fault, state.archives >= n { Self.crash() }
                    }
                }
                // What other instances wrote comes first, in the tree and to the observer.
                var before = state.range
                if !found.entries.isEmpty {
                    for entry in found.entries { before.append(Merkle.leafHash(entry.entry)) { _, _ in } }
                    adopt(found, range: before, state: &state)
                }
                guard let checkpoint else { return .success(([], [])) }
                state.commits += 1
                commitCounter.add(1, ordering: .relaxed)
                if archive { state.archives += 1 }
                state.range = range
                state.lastTime = now
                if archive {
                    state.lastArchivedSize = range.size
                    state.lastArchivedTime = now
                }
                newest.withLock { $0 = checkpoint }
                resumeWaiters()
                if let observer = observer.withLock({ $0 }) {
                    observer.notify(
                        zip(rows, accepted).map {
                            CommittedEntry(index: $0.index, time: time, entry: $0.entry, context: $1.draft.context)
                        }
                    )
                }
                let receipts = rows.map {
                    AppendReceipt(
                        index: $0.index,
                        time: time,
                        entry: $0.entry,
                        leafHash: $0.leaf,
                        checkpoint: checkpoint
                    )
                }
                return .success((accepted, receipts))
            } catch {
                return .failure(error)
            }
        }
        switch outcome {
        case .success(let done):
            for (item, receipt) in zip(done.items, done.receipts) { item.continuation.resume(returning: receipt) }
            for item in refused {
                item.continuation.resume(
                    throwing: LedgerError(
                        .conflict,
                        "another instance recorded something under \(item.draft.key ?? "this key") since the check; check again"
                    )
                )
            }
        case .failure(let error):
            logger.error(
                "ledger commit failed; nothing of the batch was stored",
                metadata: ["entries": "\(batch.count)", "error": "\(PostgresPool.describe(error))"]
            )
            let failure: LedgerError
            if let diverged = checkDivergence() {
                failure = LedgerError(.diverged, diverged)
            } else {
                failure = LedgerError(.io, "the ledger could not commit the entry: \(PostgresPool.describe(error))")
            }
            for item in batch { item.continuation.resume(throwing: failure) }
        }
    }

    /// Stops accepting appends, waits for those already accepted to commit, and closes the database.
    public func close() async { await close(beforeClosing: {}) }

    /// ``close()``, running `beforeClosing` once every accepted append has committed and while the database and
    /// the directory lock are still held (the consent layer writes its state snapshot there).
    public func close(beforeClosing: () -> Void) async {
        pending.withLock { $0.closed = true }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            // Runs after any drain already queued, which empties what was accepted before closing.
            sequencer.async { done.resume() }
        }
        beforeClosing()
        if let listening = listener.withLock({ $0 }) {
            listening.cancel()
            await listening.value
        }
        storage.close()
        lock.withLock { $0 = nil }
    }

    // MARK: Reading

    /// The newest durable checkpoint.
    public var checkpoint: SignedCheckpoint { newest.withLock { $0 } }

    /// The entries with indexes in `range` (clamped to the committed size).
    public func entries(in range: Range<UInt64>) throws -> [[UInt8]] {
        let size = checkpoint.size
        let upper = min(range.upperBound, size)
        guard range.lowerBound < upper else { return [] }
        return try storage.read { try $0.entries(in: range.lowerBound..<upper) }
    }

    /// The committed entry at `index`, or `nil` when there is none (any index is safe to ask for).
    public func entry(at index: UInt64) throws -> [UInt8]? {
        guard index < checkpoint.size else { return nil }
        return try entries(in: index..<(index + 1)).first
    }

    /// The indexes of the committed entries filed under `key` (see ``EntryDraft/key``), oldest first.
    public func indexes(forKey key: String) throws -> [UInt64] {
        let size = checkpoint.size
        return try storage.read { try $0.indexes(key: key) ?? [] }.filter { $0 < size }
    }

    /// The entries at `indexes` (each must be committed), in the order given.
    public func entries(at indexes: [UInt64]) throws -> [[UInt8]] {
        try storage.read { try $0.entries(at: indexes) }
    }

    /// The inclusion proof of entry `index` in the tree of `size` entries (default: the newest checkpoint's).
    public func inclusionProof(index: UInt64, size: UInt64? = nil) throws -> InclusionProof {
        let size = size ?? checkpoint.size
        guard size <= checkpoint.size else {
            throw LedgerError(.invalidArgument, "the ledger has \(checkpoint.size) entries, fewer than \(size)")
        }
        guard index < size else {
            throw LedgerError(.invalidArgument, "entry \(index) is not in a tree of \(size) entries")
        }
        let ranges = Merkle.inclusionProofRanges(index: index, size: size)
        let hashes = try storage.read { try $0.subtreeHashes(ranges) }
        return InclusionProof(index: index, size: size, hashes: hashes)
    }

    /// The consistency proof from the tree of `first` entries to the tree of `second` (default: the newest).
    public func consistencyProof(from first: UInt64, to second: UInt64? = nil) throws -> [MerkleHash] {
        let second = second ?? checkpoint.size
        guard first <= second, second <= checkpoint.size else {
            throw LedgerError(
                .invalidArgument,
                "no consistency proof from \(first) to \(second) entries in a ledger of \(checkpoint.size)"
            )
        }
        let ranges = Merkle.consistencyProofRanges(first: first, second: second)
        return try storage.read { try $0.subtreeHashes(ranges) }
    }

    /// The root of the tree of `size` entries, from stored subtree hashes.
    public func root(size: UInt64) throws -> MerkleHash {
        guard size <= checkpoint.size else {
            throw LedgerError(.invalidArgument, "the ledger has \(checkpoint.size) entries, fewer than \(size)")
        }
        guard size > 0 else { return Merkle.emptyRoot }
        return try storage.read { try $0.subtreeHashes([0..<size])[0] }
    }
}

func randomHex(_ bytes: Int) -> String {
    var generator = SystemRandomNumberGenerator()
    return (0..<bytes).map { _ in
        let b = UInt8.random(in: 0...255, using: &generator)
        return String(CanonicalJSON.hexDigit(b >> 4)) + String(CanonicalJSON.hexDigit(b & 0xF))
    }.joined()
}

extension String {
    fileprivate init(_ ascii: UInt8) { self.init(Character(UnicodeScalar(ascii))) }
}

extension LedgerTime {
    /// Parses the timestamps the ledger writes (`YYYY-MM-DDTHH:MM:SS.mmmZ`).
    static func parse(_ text: String) -> Date? {
        let b = Array(text.utf8)
        guard b.count == 24, b[4] == 0x2D, b[7] == 0x2D, b[10] == 0x54, b[13] == 0x3A, b[16] == 0x3A, b[19] == 0x2E,
            b[23] == 0x5A
        else {
            return nil
        }
        func num(_ r: Range<Int>) -> Int32? { Int32(String(decoding: b[r], as: UTF8.self)) }
        guard let y = num(0..<4), let mo = num(5..<7), let d = num(8..<10), let h = num(11..<13), let mi = num(14..<16),
            let s = num(17..<19), let ms = num(20..<23)
        else { return nil }
        var parts = tm()
        parts.tm_year = y - 1900
        parts.tm_mon = mo - 1
        parts.tm_mday = d
        parts.tm_hour = h
        parts.tm_min = mi
        parts.tm_sec = s
        let seconds = timegm(&parts)
        return Date(timeIntervalSince1970: Double(seconds) + Double(ms) / 1000)
    }
}
