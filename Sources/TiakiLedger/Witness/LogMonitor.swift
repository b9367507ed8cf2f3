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

    /// Checks `text`, a checkpoint the log serves now; `proof(from, to)` fetches a consistency proof from the log.
    public func check(
        _ text: String,
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
        guard let previous = try seen() else {
            try Witness.persist(signed.text, to: statePath)
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
        try Witness.persist(signed.text, to: statePath)
        return .grew(from: previous.size, to: signed.size)
    }
}
