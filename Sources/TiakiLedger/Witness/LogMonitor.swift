import Foundation

/// What an auditor's monitor keeps and checks: the newest checkpoint of a log it has seen, and that every
/// checkpoint it is shown later is signed by the log's key, carries the witnesses' cosignatures it requires, and
/// extends the one before (a consistency proof) — so that a shrink, a fork (a split view) or a forged checkpoint
/// is caught the first time the monitor sees it.
public struct LogMonitor: Sendable {
    public enum Outcome: Sendable, Equatable {
        /// The first checkpoint seen: kept.
        case first(size: UInt64)
        case unchanged(size: UInt64)
        case grew(from: UInt64, to: UInt64)
        /// Something a log must never do, or a checkpoint that is not the log's: the monitor keeps what it had.
        case problem(String)
    }

    public let log: NoteVerifier
    public let witnesses: [CosignatureVerifier]
    public let quorum: Int
    public let stateDirectory: String

    public init(log: NoteVerifier, witnesses: [CosignatureVerifier] = [], quorum: Int? = nil, stateDirectory: String) {
        self.log = log
        self.witnesses = witnesses
        self.quorum = quorum ?? witnesses.count
        self.stateDirectory = stateDirectory
    }

    var statePath: String { stateDirectory + "/checkpoint" }

    /// The newest checkpoint seen, if any.
    public func seen() throws(LedgerError) -> SignedCheckpoint? {
        guard let text = try? String(contentsOfFile: statePath, encoding: .utf8) else { return nil }
        return try SignedCheckpoint(parsing: text)
    }

    var rangePath: String { stateDirectory + "/entries.range" }

    /// The tree of the entries checked so far (its perfect subtree roots), when entries are being checked.
    func checkedRange() -> CompactRange? {
        guard let text = try? String(contentsOfFile: rangePath, encoding: .utf8) else { return nil }
        let lines = text.split(separator: "\n").map(String.init)
        guard let first = lines.first, let size = UInt64(first) else { return nil }
        let hashes = lines.dropFirst().compactMap { MerkleHash(hex: $0) }
        guard hashes.count == lines.count - 1 else { return nil }
        return CompactRange(size: size, hashes: hashes)
    }

    /// Reads the entries from the end of `range` up to `size` (pages of at most 1,000), checks that each is
    /// canonical JSON with its own index, and appends their leaves; the problem when one is not.
    func read(
        into range: inout CompactRange,
        upTo size: UInt64,
        entries: (UInt64, UInt64) async throws -> [[UInt8]]
    ) async throws -> String? {
        while range.size < size {
            let start = range.size
            let page = try await entries(start, min(size, start + 1000))
            guard !page.isEmpty else {
                return "the log gave no entries from \(start), though its checkpoint has \(size)"
            }
            for bytes in page {
                let index = range.size
                let claimed = try? bytes.withUnsafeBufferPointer { buffer in
                    try CanonicalJSON.validate(buffer, topLevelInteger: "index")
                }
                guard let claimed, claimed == Int64(index) else {
                    return "entry \(index) is not canonical JSON holding its own index"
                }
                range.append(Merkle.leafHash(bytes))
                if range.size == size { break }
            }
        }
        return nil
    }

    /// Checks `text`, a checkpoint the log serves now; `proof(from, to)` fetches a consistency proof from the log.
    /// With `entries(start, end)` (an auditor's access) it also reads every entry it has not read before, checks
    /// each is canonical with its own index, and that together they hash to the checkpoint's root.
    public func check(
        _ text: String,
        entries: ((UInt64, UInt64) async throws -> [[UInt8]])? = nil,
        proof: (UInt64, UInt64) async throws -> [MerkleHash]
    ) async throws -> Outcome {
        let signed: SignedCheckpoint
        do {
            signed = try SignedCheckpoint(parsing: text)
        } catch {
            return .problem("the checkpoint cannot be read: \(error.message)")
        }
        guard signed.checkpoint.origin == log.name else {
            return .problem("the checkpoint is of \(signed.checkpoint.origin), not of \(log.name)")
        }
        do {
            try signed.note.verify(with: [log])
        } catch {
            return .problem("the checkpoint of size \(signed.size) is not signed by \(log.vkey): \(error.message)")
        }
        if !witnesses.isEmpty {
            let cosigners = CosignatureVerifier.cosigners(of: signed.note, among: witnesses)
            guard cosigners.count >= quorum else {
                return .problem(
                    "the checkpoint of size \(signed.size) carries valid cosignatures of \(cosigners.count) of the witnesses, not \(quorum)"
                )
            }
        }
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        let previous = try seen()
        var checked: CompactRange?
        if let entries, signed.size >= (previous?.size ?? 0) {
            var range = checkedRange() ?? CompactRange()
            if range.size > signed.size { range = CompactRange() }
            if let problem = try await read(into: &range, upTo: signed.size, entries: entries) {
                return .problem(problem)
            }
            guard range.root == signed.root else {
                return .problem(
                    "a fork: the log's first \(signed.size) entries do not hash to the root of its checkpoint of that size"
                )
            }
            checked = range
        }
        func keep() throws {
            try Witness.persist(signed.text, to: statePath)
            if let checked {
                try Witness.persist(
                    ([String(checked.size)] + checked.hashes.map(\.hex)).joined(separator: "\n") + "\n",
                    to: rangePath
                )
            }
        }
        guard let previous else {
            try keep()
            return .first(size: signed.size)
        }
        if signed.size < previous.size {
            return .problem("the log shrank: size \(signed.size) after \(previous.size)")
        }
        if signed.size == previous.size {
            guard signed.root == previous.root else {
                return .problem(
                    "a fork: two checkpoints of size \(signed.size) with different roots (\(previous.root.hex) seen before, \(signed.root.hex) now)"
                )
            }
            if checked != nil { try keep() }
            return .unchanged(size: signed.size)
        }
        let hashes = try await proof(previous.size, signed.size)
        guard
            Merkle.verifyConsistency(
                first: previous.size,
                second: signed.size,
                firstRoot: previous.root,
                secondRoot: signed.root,
                proof: hashes
            )
        else {
            return .problem(
                "a fork: the checkpoint of size \(signed.size) does not extend the one of size \(previous.size) seen before"
            )
        }
        try keep()
        return .grew(from: previous.size, to: signed.size)
    }
}
