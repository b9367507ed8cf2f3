import Foundation
import GRDB
import Synchronization

/// The outcome of verifying a ledger: what was checked, and the first problem found, if any.
public struct VerificationReport: Sendable {
    public enum SourceKind: String, Sendable {
        case bundle = "export bundle"
        case dataDirectory = "data directory"
    }

    /// The checks `verify` makes, in the order it reports them.
    public enum Check: String, Sendable, CaseIterable {
        case entries, signatures, roots, sizes, coverage, trusted, witnesses
    }

    public struct Failure: Sendable, Error {
        public var check: Check
        public var message: String
        /// The first bad entry index, when an entry is at fault.
        public var index: UInt64?
        /// The size of the checkpoint at fault, when a checkpoint is.
        public var checkpointSize: UInt64?
        /// File and line, or table and row, where the problem is.
        public var location: String?
    }

    public var path: String
    public var source: SourceKind
    public var verifier: NoteVerifier
    /// Whether the key came from the ledger itself rather than from the auditor.
    public var keyFromLedger: Bool
    public var entries: UInt64 = 0
    public var checkpoints: UInt64 = 0
    public var newestCheckpointSize: UInt64?
    public var trustedCheckpointSize: UInt64?
    /// With witnesses to require: the newest checkpoint with a quorum of their valid cosignatures, and who cosigned.
    public var cosignedSize: UInt64?
    public var cosigners: [String] = []
    public var failure: Failure?

    public var isValid: Bool { failure == nil }
}

/// Verifies a ledger from its stored bytes alone, by the formats of <doc:Formats>: every entry canonical JSON with
/// its index in place, every leaf recomputed, every checkpoint's signature and root, sizes that never shrink, no two
/// different checkpoints of one size, the newest covering every entry, and optionally an earlier checkpoint the
/// auditor kept.
public struct LedgerVerifier {
    public var trustedKey: NoteVerifier?
    public var trustedCheckpoint: SignedCheckpoint?
    /// Witnesses whose cosignatures the newest (or trusted) checkpoint must carry, `witnessQuorum` of them.
    public var witnesses: [CosignatureVerifier] = []
    public var witnessQuorum = 0
    /// Called now and then with the number of entries checked and the fraction done, when known.
    public var progress: ((UInt64, Double?) -> Void)?

    public init(trustedKey: NoteVerifier? = nil, trustedCheckpoint: SignedCheckpoint? = nil) {
        self.trustedKey = trustedKey
        self.trustedCheckpoint = trustedCheckpoint
    }

    /// Verifies an export bundle or a data directory at `path`.
    ///
    /// - Throws: ``LedgerError`` for what is not a question of integrity: a missing file, an unreadable key, a
    ///   path that is neither kind of ledger. Integrity problems are in the report.
    public func verify(path: String) throws(LedgerError) -> VerificationReport {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw LedgerError(.io, "\(path) does not exist")
        }
        guard isDirectory.boolValue else {
            throw LedgerError(.io, "\(path) is a file; give the directory of an export bundle or a data directory")
        }
        if fm.fileExists(atPath: path + "/entries.jsonl") || fm.fileExists(atPath: path + "/checkpoints.jsonl") {
            return try verifyBundle(path)
        }
        if fm.fileExists(atPath: path + "/ledger.sqlite") {
            return try verifyDataDirectory(path)
        }
        throw LedgerError(
            .io,
            "\(path) is neither an export bundle (entries.jsonl, checkpoints.jsonl, log.vkey) nor a data directory (ledger.sqlite)"
        )
    }

    private func key(_ vkeyPath: String) throws(LedgerError) -> (NoteVerifier, Bool) {
        if let trustedKey { return (trustedKey, false) }
        guard let text = try? String(contentsOfFile: vkeyPath, encoding: .utf8) else {
            throw LedgerError(.io, "cannot read \(vkeyPath), and no --vkey was given")
        }
        do {
            return (try NoteVerifier(vkey: text), true)
        } catch {
            throw LedgerError(.malformedKey, "\(vkeyPath): \(error.message)")
        }
    }

    func verifyBundle(_ path: String) throws(LedgerError) -> VerificationReport {
        let (verifier, fromLedger) = try key(path + "/log.vkey")
        var report = VerificationReport(path: path, source: .bundle, verifier: verifier, keyFromLedger: fromLedger)
        let entries = try LineReader(path: path + "/entries.jsonl")
        let checkpoints = try LineReader(path: path + "/checkpoints.jsonl")
        var entryStream = BundleEntries(reader: entries)
        var checkpointStream = BundleCheckpoints(reader: checkpoints)
        try run(&report, entries: &entryStream, checkpoints: &checkpointStream)
        return report
    }

    func verifyDataDirectory(_ path: String) throws(LedgerError) -> VerificationReport {
        let (verifier, fromLedger) = try key(path + "/log.vkey")
        var report = VerificationReport(
            path: path,
            source: .dataDirectory,
            verifier: verifier,
            keyFromLedger: fromLedger
        )
        let store = try LedgerStore.openReadOnly(path: path + "/ledger.sqlite")
        do {
            try store.writer.read { db in
                let total = try store.entryCount(db)
                var entryStream = StoreEntries(
                    cursor: try Row.fetchCursor(db, sql: "SELECT entry FROM entries ORDER BY idx"),
                    total: total
                )
                var checkpointStream = StoreCheckpoints(db: db)
                try run(&report, entries: &entryStream, checkpoints: &checkpointStream)
            }
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError(.io, "cannot read \(path)/ledger.sqlite: \(error)")
        }
        return report
    }

    // MARK: The checks

    private func run(
        _ report: inout VerificationReport,
        entries: inout some EntrySource,
        checkpoints: inout some CheckpointSource
    ) throws(LedgerError) {
        var range = CompactRange()
        var pending = CheckpointBatches(source: checkpoints, verifier: report.verifier)
        defer { checkpoints = pending.source }
        var previous: RawCheckpoint?
        var next = try pending.next()
        let trusted = trustedCheckpoint
        let quorum = witnessQuorum == 0 ? witnesses.count : witnessQuorum
        if let trusted {
            report.trustedCheckpointSize = trusted.size
            do {
                try trusted.note.verify(with: [report.verifier])
            } catch {
                throw LedgerError(
                    .signatureInvalid,
                    "the trusted checkpoint is not signed by \(report.verifier.vkey): \(error.message)"
                )
            }
        }

        func fail(_ f: VerificationReport.Failure) -> Bool {
            report.failure = f
            report.entries = range.size
            return false
        }

        /// Checks the checkpoints of the current size (and the trusted one); false on the first failure.
        func checkpointsAtCurrentSize() throws(LedgerError) -> Bool {
            if let trusted, trusted.size == range.size, trusted.root != range.root {
                return fail(
                    .init(
                        check: .trusted,
                        message:
                            "the ledger's first \(trusted.size) entries do not have the root of the trusted checkpoint: the log was rewritten",
                        checkpointSize: trusted.size
                    )
                )
            }
            while let c = next, c.size.map({ $0 <= range.size }) ?? true {
                if let problem = c.problem {
                    return fail(
                        .init(check: .signatures, message: problem, checkpointSize: c.size, location: c.location)
                    )
                }
                // `problem` is nil, so the note parsed and `size` is set.
                guard let size = c.size, let signed = c.signed else { return false }
                if let prev = previous, let prevSize = prev.size {
                    if size < prevSize {
                        return fail(
                            .init(
                                check: .sizes,
                                message: "checkpoint sizes shrink: \(size) after \(prevSize)",
                                checkpointSize: size,
                                location: c.location
                            )
                        )
                    }
                    if size == prevSize && prev.text != c.text {
                        return fail(
                            .init(
                                check: .sizes,
                                message: "two different checkpoints of size \(size)",
                                checkpointSize: size,
                                location: c.location
                            )
                        )
                    }
                }
                if size < range.size {
                    // Not reached in order: a checkpoint smaller than one already passed.
                    return fail(
                        .init(
                            check: .sizes,
                            message: "checkpoint of size \(size) comes after a larger one",
                            checkpointSize: size,
                            location: c.location
                        )
                    )
                }
                if let sigProblem = c.signatureProblem {
                    return fail(
                        .init(check: .signatures, message: sigProblem, checkpointSize: size, location: c.location)
                    )
                }
                if signed.root != range.root {
                    return fail(
                        .init(
                            check: .roots,
                            message:
                                "checkpoint of size \(size) has root \(signed.root.hex) but the first \(size) entries hash to \(range.root.hex)",
                            checkpointSize: size,
                            location: c.location
                        )
                    )
                }
                report.checkpoints += 1
                report.newestCheckpointSize = size
                if !witnesses.isEmpty {
                    let cosigners = CosignatureVerifier.cosigners(of: signed.note, among: witnesses)
                    if cosigners.count >= quorum {
                        report.cosignedSize = size
                        report.cosigners = cosigners.map(\.name)
                    }
                }
                previous = c
                next = try pending.next()
            }
            return true
        }

        guard try checkpointsAtCurrentSize() else { return }
        var lastProgress = Date()
        while let entry = try entries.next() {
            let index = range.size
            let claimed: Int64?
            do {
                claimed = try CanonicalJSON.validate(entry, topLevelInteger: "index")
            } catch {
                _ = fail(
                    .init(
                        check: .entries,
                        message: "entry \(index) is not canonical JSON: \(error)",
                        index: index,
                        location: entries.location
                    )
                )
                return
            }
            guard let claimed, claimed == Int64(index) else {
                let what =
                    claimed.map {
                        "its \"index\" is \($0) where \(index) was expected: an entry is missing, duplicated, inserted or out of order"
                    } ?? "it has no integer \"index\""
                _ = fail(
                    .init(check: .entries, message: "entry \(index): \(what)", index: index, location: entries.location)
                )
                return
            }
            range.append(Merkle.leafHash(UnsafeRawBufferPointer(entry)))
            if let c = next, c.size.map({ $0 <= range.size }) ?? true {
                guard try checkpointsAtCurrentSize() else { return }
            } else if let t = trusted, t.size == range.size {
                guard try checkpointsAtCurrentSize() else { return }
            }
            if range.size & 0xFFFF == 0, let progress {
                let now = Date()
                if now.timeIntervalSince(lastProgress) >= 0.5 {
                    lastProgress = now
                    progress(range.size, entries.fractionDone)
                }
            }
        }
        report.entries = range.size
        if let c = next {
            if let problem = c.problem {
                _ = fail(.init(check: .signatures, message: problem, checkpointSize: c.size, location: c.location))
            } else if let size = c.size {
                _ = fail(
                    .init(
                        check: .coverage,
                        message:
                            "checkpoint of size \(size) covers more entries than the ledger holds (\(range.size)): entries were removed from the end",
                        checkpointSize: size,
                        location: c.location
                    )
                )
            }
            return
        }
        guard let newest = report.newestCheckpointSize else {
            _ = fail(.init(check: .coverage, message: "the ledger has no checkpoints", index: range.size > 0 ? 0 : nil))
            return
        }
        if newest < range.size {
            _ = fail(
                .init(
                    check: .coverage,
                    message:
                        "entries \(newest) to \(range.size - 1) are beyond the newest checkpoint (size \(newest)): no signed checkpoint covers them",
                    index: newest
                )
            )
            return
        }
        if !witnesses.isEmpty {
            if let trusted {
                let cosigners = CosignatureVerifier.cosigners(of: trusted.note, among: witnesses)
                guard cosigners.count >= quorum else {
                    _ = fail(
                        .init(
                            check: .witnesses,
                            message:
                                "the trusted checkpoint carries \(cosigners.count) valid cosignatures of the witnesses given; \(quorum) are required",
                            checkpointSize: trusted.size
                        )
                    )
                    return
                }
                report.cosignedSize = trusted.size
                report.cosigners = cosigners.map(\.name)
            } else if report.cosignedSize == nil {
                _ = fail(
                    .init(
                        check: .witnesses,
                        message:
                            "no checkpoint carries valid cosignatures of \(quorum) of the witnesses given: nothing shows that anyone else saw this ledger"
                    )
                )
                return
            }
        }
        if let trusted, trusted.size > range.size {
            _ = fail(
                .init(
                    check: .trusted,
                    message:
                        "the ledger holds \(range.size) entries but the trusted checkpoint covers \(trusted.size): the log was truncated",
                    checkpointSize: trusted.size
                )
            )
        }
    }
}

// MARK: Sources

protocol EntrySource {
    mutating func next() throws(LedgerError) -> UnsafeBufferPointer<UInt8>?
    var location: String { get }
    var fractionDone: Double? { get }
}

struct RawCheckpoint {
    var size: UInt64?
    var text: String
    var signed: SignedCheckpoint?
    /// Why the checkpoint could not be read.
    var problem: String?
    var signatureProblem: String?
    var location: String
}

protocol CheckpointSource {
    mutating func next() throws(LedgerError) -> RawCheckpoint?
}

struct BundleEntries: EntrySource {
    let reader: LineReader
    mutating func next() throws(LedgerError) -> UnsafeBufferPointer<UInt8>? { try reader.next() }
    var location: String { "\(reader.path):\(reader.lineNumber)" }
    var fractionDone: Double? { reader.fileSize > 0 ? Double(reader.bytesRead) / Double(reader.fileSize) : nil }
}

struct BundleCheckpoints: CheckpointSource {
    let reader: LineReader

    mutating func next() throws(LedgerError) -> RawCheckpoint? {
        guard let line = try reader.next() else { return nil }
        let location = "\(reader.path):\(reader.lineNumber)"
        let value: JSONValue
        do {
            value = try JSONParser().parse(line)
        } catch {
            return RawCheckpoint(text: "", problem: "\(location): not a JSON line: \(error)", location: location)
        }
        guard let note = value["note"]?.stringValue else {
            return RawCheckpoint(text: "", problem: "\(location): no \"note\" string", location: location)
        }
        let claimed = value["size"]?.integerValue
        var raw = parseNote(note, location: location)
        if raw.problem == nil, claimed.map(UInt64.init) != raw.size {
            raw.problem =
                "\(location): \"size\" \(claimed.map(String.init) ?? "missing") does not match the note's size \(raw.size ?? 0)"
        }
        return raw
    }
}

func parseNote(_ text: String, location: String) -> RawCheckpoint {
    do {
        let signed = try SignedCheckpoint(parsing: text)
        return RawCheckpoint(size: signed.size, text: text, signed: signed, location: location)
    } catch {
        return RawCheckpoint(
            text: text,
            problem: "\(location): malformed checkpoint note: \(error.message)",
            location: location
        )
    }
}

struct StoreEntries: EntrySource {
    let cursor: RowCursor
    let total: UInt64
    var count: UInt64 = 0
    var current: Data = Data()

    mutating func next() throws(LedgerError) -> UnsafeBufferPointer<UInt8>? {
        do {
            guard let row = try cursor.next() else { return nil }
            count += 1
            // The cursor's row is only valid until the next step, so keep a copy of the bytes.
            current = row[0] as Data? ?? Data()
        } catch {
            throw LedgerError(.io, "cannot read entry \(count): \(error)")
        }
        return current.withUnsafeBytes { raw in
            UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: UInt8.self), count: raw.count)
        }
    }

    var location: String { "entries row \(count - 1)" }
    var fractionDone: Double? { total > 0 ? Double(count) / Double(total) : nil }
}

struct StoreCheckpoints: CheckpointSource {
    let db: Database
    var after: Int64 = -1
    var buffered: [RawCheckpoint] = []
    var headDone = false

    mutating func next() throws(LedgerError) -> RawCheckpoint? {
        do {
            if buffered.isEmpty && after != Int64.max {
                let rows = try Row.fetchAll(
                    db,
                    sql: "SELECT size, note FROM checkpoints WHERE size > ? ORDER BY size LIMIT 1024",
                    arguments: [after]
                )
                buffered = rows.reversed().map {
                    parseNote($0["note"], location: "checkpoints row of size \($0["size"] as Int64)")
                }
                if let last = rows.last { after = last["size"] } else { after = Int64.max }
            }
            if let c = buffered.popLast() { return c }
            if !headDone {
                headDone = true
                guard let row = try Row.fetchOne(db, sql: "SELECT size, note FROM head WHERE id = 1") else {
                    return RawCheckpoint(
                        text: "",
                        problem: "the newest checkpoint (table head) is missing",
                        location: "head"
                    )
                }
                let raw = parseNote(row["note"], location: "head")
                // The newest checkpoint is usually also the last one kept; report it once.
                if let size = raw.size, let lastKept = lastKeptSize, size == lastKept { return try next() }
                return raw
            }
            return nil
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError(.io, "cannot read checkpoints: \(error)")
        }
    }

    private var lastKeptSize: UInt64? {
        (try? Int64.fetchOne(db, sql: "SELECT max(size) FROM checkpoints")).flatMap { $0 }.map { UInt64($0) }
    }
}

/// Pulls checkpoints in batches and verifies each batch's signatures in parallel.
struct CheckpointBatches<Source: CheckpointSource> {
    var source: Source
    let verifier: NoteVerifier
    var batch: [RawCheckpoint] = []
    var position = 0
    static var batchSize: Int { 256 }

    init(source: Source, verifier: NoteVerifier) {
        self.source = source
        self.verifier = verifier
    }

    mutating func next() throws(LedgerError) -> RawCheckpoint? {
        if position == batch.count {
            batch = []
            position = 0
            while batch.count < Self.batchSize, let c = try source.next() { batch.append(c) }
            verifySignatures()
        }
        guard position < batch.count else { return nil }
        defer { position += 1 }
        return batch[position]
    }

    private mutating func verifySignatures() {
        let notes = batch.map(\.signed)
        let results = SignatureResults(count: notes.count)
        let verifier = self.verifier
        DispatchQueue.concurrentPerform(iterations: notes.count) { i in
            guard let signed = notes[i] else { return }
            do {
                try signed.note.verify(with: [verifier])
            } catch {
                results.set(i, "checkpoint of size \(signed.size): \(error)")
            }
        }
        for i in batch.indices { batch[i].signatureProblem = results.get(i) }
    }
}

private final class SignatureResults: Sendable {
    private let values: Mutex<[String?]>
    init(count: Int) { values = Mutex(Array(repeating: nil, count: count)) }
    func set(_ i: Int, _ v: String) { values.withLock { $0[i] = v } }
    func get(_ i: Int) -> String? { values.withLock { $0[i] } }
}
