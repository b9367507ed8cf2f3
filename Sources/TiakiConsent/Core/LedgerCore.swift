import Dispatch
import Foundation
public import Logging
import Synchronization
public import TiakiLedger
public import TiakiModel

/// An entry once it is in the ledger, with the receipt that proves it.
public struct Recorded: Sendable {
    public let entry: ConsentEntry
    public let receipt: AppendReceipt
    /// The entry's body as the ledger holds it, when the body wrote its own canonical JSON (a decision).
    public var body: [UInt8]? = nil
    /// The entry's ledger index, as the consent and disclosure ids that name it are written.
    public var index: Int { Int(clamping: receipt.index) }
}

/// What every service shares: the ledger, the consent state kept in step with it, the per-subject lock that makes
/// check-then-append one step, and the vault of personal details.
///
/// The state is read under a lock that the ledger's commit observer also takes after each commit, so readers copy
/// what they need and let go (``read(_:)``); no policy evaluation or I/O happens under it.
public final class LedgerCore: Sendable {
    public let ledger: Ledger
    package let vault: SubjectVault
    private let state: StateBox
    /// Check-then-append steps that change a subject's state run one at a time per subject.
    package let subjectLock = KeyedLock()
    /// The policy set's vocabulary: the codes requests and consents may use, and their plain words.
    public let vocabulary: Vocabulary
    /// The bases of the decisions being made now (see ``DecisionsInFlight``).
    public let decisionsInFlight = DecisionsInFlight()
    /// Called after each commit's entries are applied to the state, in commit order (see ``observeApplied(_:)``).
    private let appliedObservers = Observers()
    /// Entries applied since the last snapshot was started, and whether one is being written.
    private let snapshots = SnapshotTrigger()
    /// How many entries may pass between snapshots of the state.
    public static let snapshotInterval: UInt64 = 100_000
    let logger: Logger
    /// Entries already read and parsed, by index: they never change, and a page reads the same few again and again.
    private let parsed = Mutex(ParsedEntries())

    /// A bounded memory of parsed entries: when full it starts again, which costs one read each.
    struct ParsedEntries {
        static let limit = 8192
        var entries: [UInt64: ConsentEntry] = [:]

        mutating func keep(_ entry: ConsentEntry) {
            if entries.count >= Self.limit { entries.removeAll(keepingCapacity: true) }
            entries[entry.index] = entry
        }
    }

    final class SnapshotTrigger: Sendable {
        let applied = Atomic<UInt64>(0)
        let writing = Atomic<Bool>(false)
        /// The size of the newest snapshot loaded or written.
        let newest = Atomic<UInt64>(0)
        /// Whether this core reads and writes snapshots at all (a benchmark of the full rebuild does not).
        let enabled = Atomic<Bool>(true)
    }

    final class Observers: Sendable {
        let list = Mutex<[@Sendable ([(UInt64, Result<ConsentEntry, any Error>)]) -> Void]>([])
        let closing = Mutex<[@Sendable () -> Void]>([])
    }

    final class StateBox: Sendable {
        let state: Mutex<ConsentState>
        init(_ s: ConsentState) { state = Mutex(s) }
    }

    /// Opens (or, where the configuration allows, creates) the ledger in `directory`, rebuilds the consent state by
    /// replaying it, and keeps the state in step with every later commit.
    ///
    /// With `database`, the ledger and the vault are in that PostgreSQL database, shared with any other instance
    /// opened on it; `directory` then holds the keys and this instance's snapshots.
    public static func open(
        _ directory: LedgerDirectory,
        database: PostgresAddress? = nil,
        configuration: LedgerConfiguration = LedgerConfiguration(),
        vocabulary: Vocabulary,
        random: RandomSource = .system,
        snapshots: Bool = true,
        logger: Logger
    ) async throws -> LedgerCore {
        var configuration = configuration
        configuration.keyMember = "subject"
        let ledger =
            if let database {
                try Ledger.open(directory, database: database, configuration: configuration, logger: logger)
            } else {
                try Ledger.open(directory, configuration: configuration, logger: logger)
            }
        do {
            let vault = try SubjectVault(database: ledger.database, directory: directory, random: random)
            let started = Date()
            // The newest good snapshot, and only the entries after it; without one, the whole ledger.
            let loaded = snapshots ? StateSnapshot.load(for: ledger, logger: logger) : nil
            var state = try ConsentState.replay(ledger, from: loaded ?? ConsentState())
            state.intern(vocabulary)
            logger.info(
                "consent state rebuilt",
                metadata: [
                    "entries": "\(state.size)", "subjects": "\(state.subjects.count)",
                    "consents": "\(state.consents.count)",
                    "fromSnapshot": "\(loaded.map { String($0.size) } ?? "none")",
                    "milliseconds": "\(Int(Date().timeIntervalSince(started) * 1000))",
                ]
            )
            // Finish erasures whose key destruction did not complete (the entry is written first).
            try vault.erase(state.subjects.values.filter { $0.erased != nil }.map(\.id))
            let core = LedgerCore(ledger: ledger, vault: vault, state: state, vocabulary: vocabulary, logger: logger)
            core.snapshots.newest.store(loaded?.size ?? 0, ordering: .relaxed)
            core.snapshots.enabled.store(snapshots, ordering: .relaxed)
            return core
        } catch {
            // Nothing was served: release the ledger (and its directory lock) before reporting.
            await ledger.close()
            throw error
        }
    }

    private init(ledger: Ledger, vault: SubjectVault, state: ConsentState, vocabulary: Vocabulary, logger: Logger) {
        self.ledger = ledger
        self.vault = vault
        self.state = StateBox(state)
        self.vocabulary = vocabulary
        self.logger = logger
        let box = self.state
        let observers = appliedObservers
        let snapshots = self.snapshots
        ledger.observeCommits { [weak self] batch in
            // Parse (rarely needed: appends carry their entry) before taking the lock; under it, only apply.
            let parsed: [(UInt64, Result<ConsentEntry, any Error>)] = batch.map { committed in
                (
                    committed.index,
                    Result {
                        var entry = try (committed.context as? ConsentEntry) ?? ConsentEntry(bytes: committed.entry)
                        entry.index = committed.index
                        if let time = committed.time { entry.time = time }
                        return entry
                    }
                )
            }
            box.state.withLock { s in
                for case (_, .success(let entry)) in parsed { s.apply(entry) }
            }
            for observe in observers.list.withLock({ $0 }) { observe(parsed) }
            // Now and then a snapshot, written off the commit path, so that a start replays little.
            let applied = snapshots.applied.add(UInt64(batch.count), ordering: .relaxed).newValue
            if applied >= Self.snapshotInterval, snapshots.enabled.load(ordering: .relaxed), let core = self,
                !snapshots.writing.exchange(true, ordering: .acquiringAndReleasing)
            {
                snapshots.applied.store(0, ordering: .relaxed)
                // A thread of its own, not the task pool's: encoding the state is seconds of synchronous work.
                DispatchQueue.global(qos: .utility).async {
                    core.writeSnapshot(reason: "every \(Self.snapshotInterval) entries")
                    snapshots.writing.store(false, ordering: .releasing)
                }
            }
        }
    }

    /// Calls `body` after each commit with its entries (parsed, or why not), in commit order, once the state has
    /// applied them. `body` runs on the commit path: it must only take the entries and return.
    public func observeApplied(_ body: @escaping @Sendable ([(UInt64, Result<ConsentEntry, any Error>)]) -> Void) {
        appliedObservers.list.withLock { $0.append(body) }
    }

    /// Calls `body` when the core closes, once the appends accepted have committed and before the ledger is
    /// closed (a projection writes its snapshot then).
    public func observeClosing(_ body: @escaping @Sendable () -> Void) {
        appliedObservers.closing.withLock { $0.append(body) }
    }

    /// Whether this core reads and writes snapshots (a projection kept beside it does as it does).
    public var snapshotsEnabled: Bool { snapshots.enabled.load(ordering: .relaxed) }

    /// Waits for the appends accepted to commit, writes a snapshot of the state, and closes the ledger.
    public func close() async {
        let closing = appliedObservers.closing.withLock { $0 }
        await ledger.close {
            for body in closing { body() }
            // Not for a few entries more than the last snapshot (a command that adds an organisation): replaying
            // them at the next start costs less than writing the state again.
            if snapshots.enabled.load(ordering: .relaxed),
                read({ $0.size }) >= snapshots.newest.load(ordering: .relaxed) + Self.snapshotAtCloseMinimum
            {
                writeSnapshot(reason: "closing")
            }
        }
    }

    /// How many entries beyond the last snapshot make closing write a new one.
    public static let snapshotAtCloseMinimum: UInt64 = 1000

    /// Writes a snapshot of the state as it is (see ``StateSnapshot``); a failure is logged, not thrown: the next
    /// start replays more, nothing is lost.
    public func writeSnapshot(reason: String) {
        let state = snapshot
        guard state.size > 0 else { return }
        let started = Date()
        do {
            try StateSnapshot.write(state, ledger: ledger)
            snapshots.newest.store(state.size, ordering: .relaxed)
            logger.info(
                "state snapshot written",
                metadata: [
                    "entries": "\(state.size)", "reason": "\(reason)",
                    "milliseconds": "\(Int(Date().timeIntervalSince(started) * 1000))",
                ]
            )
        } catch {
            logger.warning("state snapshot not written", metadata: ["error": "\(error)"])
        }
    }

    /// Runs `body` with the current state, under the lock that commits take: copy what is needed and return.
    public func read<R>(_ body: (borrowing ConsentState) throws -> R) rethrows -> R {
        try state.state.withLock { try body($0) }
    }

    /// A copy of the whole state, for a reader that needs more than a few facts (copy-on-write: cheap to take).
    public var snapshot: ConsentState { read { copy $0 } }

    /// The wall clock of the people the ledger serves (``LedgerConfiguration/timeZone``).
    public var localTime: LocalTime { LocalTime(zone: ledger.configuration.timeZone) }

    /// Today, in the ledger's time zone, by its calendar (a simulation's runs its own year), for checks and for
    /// reading.
    public var today: Day { localTime.day((ledger.configuration.calendar ?? ledger.configuration.clock)()) }

    /// Now, by the ledger's calendar.
    public var now: Moment { Moment((ledger.configuration.calendar ?? ledger.configuration.clock)()) }

    /// Today in the ledger's time zone, by its clock, for a date written into an entry when the caller gave none.
    var stampDay: Day { localTime.day(ledger.configuration.clock()) }

    /// The latest day a caller may give for something that has happened: today, and one day more, for a client
    /// whose clock or time zone runs ahead of the ledger's (a simulation's calendar does).
    var latestPastDay: Day { Day(number: today.number + 1) }

    // MARK: Appending

    /// The ledger size a check-then-append step running in this task checked against (see ``exclusive(_:_:)``).
    @TaskLocal static var checkedAt: UInt64?

    /// How many times a check-then-append step is run again when another instance wrote about the same key while
    /// it checked.
    static let conflictRetries = 8

    /// Runs a check-then-append step for `key` (a subject, or a name such as `registration`): one at a time per key
    /// in this process, after catching up with what other instances sharing the database committed; and if another
    /// instance writes under the same key between the check and the append, the append is refused and the step runs
    /// again on the new state. So two withdrawals racing on two instances still record one.
    package func exclusive<T>(_ key: String, _ body: () async throws -> T) async throws -> T {
        try await subjectLock.withLock(key) {
            var attempt = 0
            while true {
                try await ledger.synchronize()
                let basis: UInt64? = ledger.storage.isShared ? read { $0.size } : nil
                do {
                    return try await LedgerCore.$checkedAt.withValue(basis) { try await body() }
                } catch let error as LedgerError where error.code == .conflict && attempt < Self.conflictRetries {
                    attempt += 1
                    logger.info("check-then-append ran again", metadata: ["attempt": "\(attempt)"])
                }
            }
        }
    }

    func append(_ entry: ConsentEntry) async throws -> Recorded {
        var draft: EntryDraft
        let body: [UInt8]?
        do {
            (draft, body) = try entry.draftKeepingBody()
        } catch let error as LedgerError {
            throw TiakiError(.internal, error.message)
        }
        draft.context = entry
        // Filed by subject; an organisation's registration under `org:ID`, so a report can name it without a scan.
        if let subject = entry.subject {
            draft.key = subject
        } else if let o = entry.body as? OrganisationRegistered {
            draft.key = "org:" + o.id
        } else if entry.kind == .policyPublished {
            draft.key = "policy"
        }
        draft.checkedAt = LedgerCore.checkedAt
        let receipt = try await ledger.append(draft)
        var recorded = entry
        recorded.index = receipt.index
        recorded.time = receipt.time
        return Recorded(entry: recorded, receipt: receipt, body: body)
    }

    /// The committed entry at `index`, parsed; `nil` when there is none or it cannot be read.
    public func entry(at index: UInt64) throws -> ConsentEntry? {
        if let known = parsed.withLock({ $0.entries[index] }) { return known }
        guard let bytes = try ledger.entry(at: index) else { return nil }
        guard var entry = try? ConsentEntry(bytes: bytes) else { return nil }
        entry.index = index
        parsed.withLock { $0.keep(entry) }
        return entry
    }

    /// Committed entries, parsed, read in one transaction (a list's page reads its entries at once); `nil` for one
    /// that cannot be read. Every index must be below the ledger's size.
    public func entries(at indexes: [UInt64]) throws -> [UInt64: ConsentEntry] {
        guard !indexes.isEmpty else { return [:] }
        var out: [UInt64: ConsentEntry] = parsed.withLock { known in
            var found: [UInt64: ConsentEntry] = [:]
            for index in indexes { if let entry = known.entries[index] { found[index] = entry } }
            return found
        }
        let missing = indexes.filter { out[$0] == nil }
        guard !missing.isEmpty else { return out }
        var read: [ConsentEntry] = []
        for (index, bytes) in zip(missing, try ledger.entries(at: missing)) {
            guard var entry = try? ConsentEntry(bytes: bytes) else { continue }
            entry.index = index
            out[index] = entry
            read.append(entry)
        }
        parsed.withLock { known in for entry in read { known.keep(entry) } }
        return out
    }

    /// A child's committed entries of the given kinds, oldest first, parsed (those that cannot be read left out).
    public func entries(of subject: String, kinds: Set<EntryKind>) throws -> [ConsentEntry] {
        let indexes = try ledger.indexes(forKey: subject)
        let all = try entries(at: indexes)
        return indexes.compactMap { index in all[index].flatMap { kinds.contains($0.kind) ? $0 : nil } }
    }

    // MARK: Checks shared by the services

    /// The subject, or why it cannot be acted on (unknown, or erased).
    func requireLiveSubject(_ subject: String) throws -> ConsentState.Subject {
        let known = read { $0.subjects[subject] }
        guard let known else { throw TiakiError(.unknownSubject, "no subject \(subject)", field: "subject") }
        if let erased = known.erased {
            throw TiakiError(
                .erased,
                "this child's personal details were erased on \(Day(erased.date)?.plain ?? erased.date)",
                field: "subject"
            )
        }
        return known
    }

    func requireOrganisation(_ id: String, field: String, role: String = "organisation") throws {
        guard read({ $0.organisations[id] != nil }) else {
            throw TiakiError(.unknownOrganisation, "\(role) \(id) is not a registered organisation", field: field)
        }
    }

    /// Every code of `list` is in the vocabulary's `dimension` (and, unless `allowEmpty`, there is one).
    func requireCodes(
        _ list: [String],
        _ dimension: Vocabulary.Dimension,
        field: String,
        missing: String? = nil
    ) throws {
        if list.isEmpty, let missing { throw TiakiError(.invalid, missing, field: field) }
        for (i, code) in list.enumerated() where !vocabulary.contains(code, in: dimension) {
            throw unknownCode(code, dimension, field: "\(field)[\(i)]")
        }
    }

    func requireCode(_ code: String, _ dimension: Vocabulary.Dimension, field: String) throws {
        guard vocabulary.contains(code, in: dimension) else { throw unknownCode(code, dimension, field: field) }
    }

    func unknownCode(_ code: String, _ d: Vocabulary.Dimension, field: String) -> TiakiError {
        let known = vocabulary.codes(d)
        let hint = nearest(code, in: known).map { " Did you mean \($0)?" } ?? ""
        return TiakiError(
            .notInVocabulary,
            "\(code) is not \(d.withArticle) in the policy vocabulary.\(hint) Known: \(known.joined(separator: ", "))",
            field: field
        )
    }

    /// A date (`YYYY-MM-DD`) of something that has already happened: a real date, and not after today (with a
    /// day's allowance for time zones).
    func pastDay(_ text: String, field: String, what: String) throws -> Day {
        guard let day = Day(text) else {
            throw TiakiError(.invalid, "\(field) must be a date, YYYY-MM-DD", field: field)
        }
        guard day <= latestPastDay else {
            throw TiakiError(
                .invalid,
                "\(field) is \(day.plain), which has not come yet; give the day \(what)",
                field: field
            )
        }
        return day
    }

    /// Seals `text` to the subject's key; refused once the subject is erased.
    func seal(_ text: String, subject: String) throws -> Sealed {
        guard let key = try vault.key(for: subject) else {
            throw TiakiError(.erased, "this child's personal details were erased", field: "subject")
        }
        return try vault.seal(text, subject: subject, key: key)
    }

    /// Opens a sealed field of a subject; nil once the subject is erased.
    public func unseal(_ sealed: Sealed, subject: String) throws -> String? {
        try vault.open(sealed, subject: subject)
    }

    /// Opens several sealed fields of one subject with one read of its key: a function that gives each field's
    /// text, or `nil` for all of them once the subject's key is erased.
    public func unsealer(subject: String) throws -> (Sealed) throws -> String? {
        let key = try vault.key(for: subject)
        return { sealed in try key.map { try SubjectVault.open(sealed, subject: subject, key: $0) } }
    }

    static func isIdentifier(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 64
            && s.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
    }
}

extension ConsentState {
    /// Rebuilds the state by replaying the ledger's entries after those `start` reflects (all of them from an
    /// empty state).
    public static func replay(
        _ ledger: Ledger,
        from start: ConsentState = ConsentState(),
        upTo limit: UInt64? = nil
    ) throws -> ConsentState {
        var state = start
        let size = min(limit ?? ledger.checkpoint.size, ledger.checkpoint.size)
        var next: UInt64 = state.size
        while next < size {
            let page = try ledger.entries(in: next..<min(size, next + 4096))
            for bytes in page {
                // Decisions, and disclosures that owe no IPP 3A notice — most of a ledger — change nothing in the
                // projection: count them without parsing.
                if let kind = ConsentEntry.kind(ofCanonical: bytes),
                    kind == .decision || (kind == .disclosure && !DisclosureRecord.owesNotice(canonical: bytes))
                {
                    state.count(kind, index: next)
                } else {
                    var entry = try ConsentEntry(bytes: bytes)
                    entry.index = next
                    state.apply(entry)
                }
                next += 1
            }
        }
        return state
    }
}
