public import Foundation
package import GRDB
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

/// A signed, append-only log of canonical JSON entries in an RFC 9162 tree, stored in SQLite.
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

    let store: LedgerStore
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
        package let time: String
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
    package var database: any DatabaseWriter { store.writer }

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
        let started = Date()
        let creating = !directory.exists
        if creating && !configuration.create {
            throw LedgerError(
                .noLedger,
                "there is no ledger in \(directory.path); check the path, or create one there with tiaki init --data \(directory.path)"
            )
        }
        if creating { try directory.create() }
        let lock = try DataDirectoryLock.acquire(directory, holder: configuration.lockHolder)
        let signer: NoteSigner
        if creating {
            if FileManager.default.fileExists(atPath: directory.privateKeyPath) {
                signer = try directory.loadSigner()
            } else {
                let origin = configuration.origin ?? "localhost/tiaki/\(randomHex(4))"
                signer =
                    if let seed = configuration.keySeed {
                        try NoteSigner(name: origin, seed: seed)
                    } else {
                        try NoteSigner(generatingWithName: origin)
                    }
                try directory.store(signer)
            }
            try directory.createDatabaseFile()
        } else {
            signer = try directory.loadSigner()
        }
        // The origin names the log for ever: checkpoints, witnesses and code systems carry it.
        if let origin = configuration.origin, origin != signer.name {
            throw LedgerError(
                .invalidArgument,
                "this ledger's origin is \(signer.name); it is fixed when the ledger is created and cannot become \(origin)"
            )
        }
        let store = try LedgerStore.openPool(path: directory.databasePath, keyMember: configuration.keyMember)
        let ledger: Ledger
        do {
            ledger = try store.writer.write { db throws -> Ledger in
                if try store.head(db) == nil {
                    guard try store.entryCount(db) == 0 else {
                        throw LedgerError(.corrupt, "the ledger has entries but no newest checkpoint")
                    }
                    let empty = try SignedCheckpoint(
                        signing: Checkpoint(origin: signer.name, size: 0, root: Merkle.emptyRoot),
                        with: signer
                    )
                    let time = LedgerTime.format(configuration.clock())
                    try db.execute(
                        sql: "INSERT INTO head (id, size, note, time) VALUES (1, 0, ?, ?)",
                        arguments: [empty.text, time]
                    )
                    try db.execute(
                        sql: "INSERT INTO checkpoints (size, note, time) VALUES (0, ?, ?)",
                        arguments: [empty.text, time]
                    )
                }
                return try Ledger(
                    directory: directory,
                    configuration: configuration,
                    store: store,
                    lock: lock,
                    signer: signer,
                    db: db,
                    logger: logger
                )
            }
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError(.io, "cannot open the ledger in \(directory.path): \(error)")
        }
        logger.info(
            "ledger opened",
            metadata: [
                "size": "\(ledger.checkpoint.size)", "created": "\(creating)",
                "milliseconds": "\(Int(Date().timeIntervalSince(started) * 1000))",
            ]
        )
        return ledger
    }

    private init(
        directory: LedgerDirectory,
        configuration: LedgerConfiguration,
        store: LedgerStore,
        lock: DataDirectoryLock,
        signer: NoteSigner,
        db: Database,
        logger: Logger
    ) throws {
        guard let head = try store.head(db) else { throw LedgerError(.corrupt, "the ledger has no newest checkpoint") }
        let signed = try SignedCheckpoint(parsing: head.note)
        try signed.note.verify(with: [signer.verifier])
        let count = try store.entryCount(db)
        guard signed.size == count else {
            throw LedgerError(
                .corrupt,
                "the newest checkpoint covers \(signed.size) entries but the store holds \(count)"
            )
        }
        guard signed.checkpoint.origin == signer.name else {
            throw LedgerError(
                .corrupt,
                "the newest checkpoint's origin \(signed.checkpoint.origin) is not this log's key \(signer.name)"
            )
        }
        // The right edge of the tree: one perfect subtree per set bit of the size, largest first.
        var parts: [Range<UInt64>] = []
        var start: UInt64 = 0
        for bit in stride(from: 63, through: 0, by: -1) where count & (1 << UInt64(bit)) != 0 {
            parts.append(start..<(start + (1 << UInt64(bit))))
            start += 1 << UInt64(bit)
        }
        guard let range = CompactRange(size: count, hashes: try store.perfectHashes(db, parts)) else {
            throw LedgerError(.corrupt, "cannot rebuild the tree's right edge")
        }
        guard range.root == signed.root else {
            throw LedgerError(.corrupt, "the stored tree's root does not match the newest checkpoint")
        }
        // The tail: the last entries' bytes must still be canonical, at their index, and hash to their stored leaves.
        let tailStart = count > 1024 ? count - 1024 : 0
        let tail = try Row.fetchCursor(
            db,
            sql: "SELECT idx, entry, leaf FROM entries WHERE idx >= ? ORDER BY idx",
            arguments: [Int64(tailStart)]
        )
        while let row = try tail.next() {
            let index: Int64 = row["idx"]
            let entry: Data = row["entry"]
            let leaf: Data = row["leaf"]
            let claimed = try entry.withUnsafeBytes { raw in
                try CanonicalJSON.validate(raw.bindMemory(to: UInt8.self), topLevelInteger: "index")
            }
            guard claimed == index, Merkle.leafHash([UInt8](entry)).array == [UInt8](leaf) else {
                throw LedgerError(.corrupt, "entry \(index) no longer matches its stored hash or index")
            }
        }
        let archived = try store.lastArchived(db)
        let parse: (String?) -> Date = { text in text.flatMap(LedgerTime.parse) ?? .distantPast }
        self.directory = directory
        self.configuration = configuration
        self.store = store
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

    private func drain() {
        while true {
            let batch = pending.withLock { p in
                if p.items.isEmpty {
                    p.draining = false
                    return [(draft: EntryDraft, continuation: CheckedContinuation<AppendReceipt, any Error>)]()
                }
                let n = min(p.items.count, configuration.maximumBatch)
                if n == p.items.count {
                    defer { p.items = [] }
                    return p.items
                }
                let head = Array(p.items[..<n])
                p.items.removeFirst(n)
                return head
            }
            if batch.isEmpty { return }
            commit(batch)
        }
    }

    /// Transactions committed since the ledger was opened (each holds a batch of appends and one checkpoint).
    public var commits: Int { commitCounter.load(ordering: .relaxed) }

    /// Why the ledger cannot take appends, if something else moved it on (`nil` while it is healthy).
    public var divergedReason: String? { divergence.withLock { $0 } }

    /// After a failed commit: whether the store holds more entries than this process wrote, and if so, stops taking
    /// appends (each would fail the same way) and says so in the log and in ``divergedReason``.
    private func checkDivergence() -> String? {
        if let known = divergence.withLock({ $0 }) { return known }
        let ours = tree.withLock { $0.range.size }
        guard let stored = try? store.writer.read({ db in try store.entryCount(db) }), stored > ours else { return nil }
        let reason =
            "the ledger on disk holds \(stored) entries but this service wrote \(ours): another process appended to \(directory.path); nothing more is recorded until the service is restarted"
        divergence.withLock { $0 = reason }
        logger.critical("ledger diverged", metadata: ["stored": "\(stored)", "ours": "\(ours)"])
        return reason
    }

    private func commit(_ batch: [(draft: EntryDraft, continuation: CheckedContinuation<AppendReceipt, any Error>)]) {
        if let reason = divergence.withLock({ $0 }) {
            let failure = LedgerError(.diverged, reason)
            for item in batch { item.continuation.resume(throwing: failure) }
            return
        }
        let outcome = tree.withLock { state -> Result<[AppendReceipt], any Error> in
            let now = max(configuration.clock(), state.lastTime)
            let time = LedgerTime.format(now)
            var range = state.range
            var rows: [(index: UInt64, entry: [UInt8], leaf: MerkleHash, nodes: [UInt8])] = []
            rows.reserveCapacity(batch.count)
            var keys: [(String, UInt64)] = []
            for item in batch {
                if let key = item.draft.key { keys.append((key, range.size)) }
                let index = range.size
                let entry = item.draft.assemble(index: index, time: time)
                let leaf = Merkle.leafHash(entry)
                var nodes: [UInt8] = []
                range.append(leaf) { _, hash in nodes.append(contentsOf: hash.array) }
                rows.append((index, entry, leaf, nodes))
            }
            do {
                let checkpoint = try SignedCheckpoint(
                    signing: Checkpoint(origin: signer.name, size: range.size, root: range.root),
                    with: signer
                )
                let archive =
                    range.size - state.lastArchivedSize >= configuration.checkpointInterval
                    || now.timeIntervalSince(state.lastArchivedTime) >= configuration.checkpointMaxAge
                try store.writer.write { db in
                    let insert = try db.cachedStatement(
                        sql: "INSERT INTO entries (idx, entry, leaf, nodes) VALUES (?, ?, ?, ?)"
                    )
                    for row in rows {
                        try insert.execute(arguments: [
                            Int64(row.index), Data(row.entry), Data(row.leaf.array),
                            row.nodes.isEmpty ? nil : Data(row.nodes),
                        ])
                    }
                    if case .midBatch(let n)? = configuration.fault, state.commits >= n { Self.crash() }
                    if !keys.isEmpty {
                        let file = try db.cachedStatement(sql: "INSERT INTO entry_keys (key, idx) VALUES (?, ?)")
                        for (key, index) in keys { try file.execute(arguments: [key, Int64(index)]) }
                    }
                    try db.execute(
                        sql: "UPDATE head SET size = ?, note = ?, time = ? WHERE id = 1",
                        arguments: [Int64(range.size), checkpoint.text, time]
                    )
                    if archive {
                        try db.execute(
                            sql: "INSERT INTO checkpoints (size, note, time) VALUES (?, ?, ?)",
                            arguments: [Int64(range.size), checkpoint.text, time]
                        )
                        if case .midArchive(let n)? = configuration.fault, state.archives >= n { Self.crash() }
                    }
                }
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
                if let observer = observer.withLock({ $0 }) {
                    observer.notify(
                        zip(rows, batch).map {
                            CommittedEntry(index: $0.index, time: time, entry: $0.entry, context: $1.draft.context)
                        }
                    )
                }
                return .success(
                    rows.map {
                        AppendReceipt(
                            index: $0.index,
                            time: time,
                            entry: $0.entry,
                            leafHash: $0.leaf,
                            checkpoint: checkpoint
                        )
                    }
                )
            } catch {
                return .failure(error)
            }
        }
        switch outcome {
        case .success(let receipts):
            for (item, receipt) in zip(batch, receipts) { item.continuation.resume(returning: receipt) }
        case .failure(let error):
            logger.error(
                "ledger commit failed; nothing of the batch was stored",
                metadata: ["entries": "\(batch.count)", "error": "\(error)"]
            )
            let failure: LedgerError
            if let diverged = checkDivergence() {
                failure = LedgerError(.diverged, diverged)
            } else {
                failure = LedgerError(.io, "the ledger could not commit the entry: \(error)")
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
        if let pool = store.writer as? DatabasePool { try? pool.close() }
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
        return try storedEntries(in: range.lowerBound..<upper)
    }

    /// The committed entry at `index`, or `nil` when there is none (any index is safe to ask for).
    public func entry(at index: UInt64) throws -> [UInt8]? {
        guard index < checkpoint.size else { return nil }
        return try entries(in: index..<(index + 1)).first
    }

    /// The indexes of the committed entries filed under `key` (see ``EntryDraft/key``), oldest first.
    public func indexes(forKey key: String) throws -> [UInt64] {
        let size = checkpoint.size
        return try store.writer.read { db in try store.indexes(db, key: key) ?? [] }.filter { $0 < size }
    }

    /// The entries at `indexes` (each must be committed), in the order given.
    public func entries(at indexes: [UInt64]) throws -> [[UInt8]] {
        try store.writer.read { db in try store.entries(db, at: indexes) }
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
        let hashes = try store.writer.read { db in try store.subtreeHashes(db, ranges) }
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
        return try store.writer.read { db in try store.subtreeHashes(db, ranges) }
    }

    /// The root of the tree of `size` entries, from stored subtree hashes.
    public func root(size: UInt64) throws -> MerkleHash {
        guard size <= checkpoint.size else {
            throw LedgerError(.invalidArgument, "the ledger has \(checkpoint.size) entries, fewer than \(size)")
        }
        guard size > 0 else { return Merkle.emptyRoot }
        return try store.writer.read { db in try store.subtreeHashes(db, [0..<size])[0] }
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
