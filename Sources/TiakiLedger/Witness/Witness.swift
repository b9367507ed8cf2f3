import Crypto
public import Foundation
import Synchronization

/// A C2SP tlog-witness: cosigns a log's checkpoint after checking it is signed by the log's key and consistent
/// with the newest checkpoint it cosigned for that log (https://c2sp.org/tlog-witness).
///
/// For each log (by origin) it keeps only the newest checkpoint it cosigned, in a file of its state directory,
/// written and synced before it answers; the check of the old size and the update are one critical section, so
/// two requests cannot roll the state back. Because every cosigned checkpoint extends the previous one, it never
/// cosigns two checkpoints of one size with different roots.
public final class Witness: Sendable {
    /// An answer, as the HTTP layer sends it.
    public struct Answer: Sendable, Equatable {
        public var status: Int
        public var contentType: String
        public var body: String

        static func text(_ status: Int, _ body: String) -> Answer {
            Answer(
                status: status,
                contentType: "text/plain; charset=utf-8",
                body: body.hasSuffix("\n") ? body : body + "\n"
            )
        }
    }

    /// What the witness holds for one log.
    public struct LogState: Sendable, Equatable {
        public var size: UInt64
        public var root: MerkleHash
        /// The cosigned checkpoint note, with the log's signature and the witness's cosignature.
        public var note: String
    }

    public let cosigner: Cosigner
    /// The logs it witnesses: origin → the log's keys.
    public let logs: [String: [NoteVerifier]]
    public let stateDirectory: String
    private let states: Mutex<[String: LogState]>
    private let clock: @Sendable () -> Date

    /// The largest request body taken: an old size, 63 proof lines and a checkpoint with its signatures.
    public static let maximumRequestBytes = 64 * 1024

    public init(
        cosigner: Cosigner,
        logs: [NoteVerifier],
        stateDirectory: String,
        clock: @escaping @Sendable () -> Date = Date.init
    ) throws(LedgerError) {
        self.cosigner = cosigner
        self.logs = Dictionary(grouping: logs, by: \.name)
        self.stateDirectory = stateDirectory
        self.clock = clock
        do {
            try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        } catch {
            throw LedgerError(.io, "cannot create \(stateDirectory): \(error.localizedDescription)")
        }
        var loaded: [String: LogState] = [:]
        for origin in self.logs.keys {
            let path = Self.statePath(stateDirectory, origin)
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            let signed = try SignedCheckpoint(parsing: text)
            guard signed.checkpoint.origin == origin else {
                throw LedgerError(
                    .malformedCheckpoint,
                    "\(path) holds a checkpoint of \(signed.checkpoint.origin), not \(origin)"
                )
            }
            loaded[origin] = LogState(size: signed.size, root: signed.root, note: text)
        }
        states = Mutex(loaded)
    }

    /// The newest checkpoint cosigned for `origin`.
    public func state(of origin: String) -> LogState? { states.withLock { $0[origin] } }

    static func statePath(_ directory: String, _ origin: String) -> String {
        let digest = SHA256.hash(data: Array(origin.utf8)).map { String(format: "%02x", $0) }.joined()
        return directory + "/log-" + digest.prefix(32) + ".checkpoint"
    }

    /// Handles the body of `POST /add-checkpoint`.
    public func addCheckpoint(_ body: [UInt8]) -> Answer {
        guard body.count <= Self.maximumRequestBytes else { return .text(413, "the request is larger than 64 KiB") }
        guard let request = try? Self.parse(body) else {
            return .text(400, "the body must be an old size line, proof lines, an empty line and a checkpoint")
        }
        let (old, proof, signed) = request
        let checkpoint = signed.checkpoint
        guard let keys = logs[checkpoint.origin] else {
            return .text(404, "this witness does not know the log \(checkpoint.origin)")
        }
        do {
            try signed.note.verify(with: keys)
        } catch {
            return .text(403, "the checkpoint is not signed by a key this witness trusts for \(checkpoint.origin)")
        }
        guard old <= checkpoint.size else { return .text(400, "the old size \(old) is larger than the checkpoint's") }
        return states.withLock { states -> Answer in
            let known = states[checkpoint.origin]
            let latest = known?.size ?? 0
            guard old == latest else {
                return Answer(status: 409, contentType: "text/x.tlog.size", body: "\(latest)\n")
            }
            if old == checkpoint.size {
                guard proof.isEmpty, (known?.root ?? Merkle.emptyRoot) == checkpoint.root else {
                    return Answer(status: 409, contentType: "text/x.tlog.size", body: "\(latest)\n")
                }
            } else if old == 0 {
                guard proof.isEmpty else { return .text(422, "a proof from size 0 must be empty") }
            } else {
                guard let root = known?.root,
                    Merkle.verifyConsistency(
                        first: old,
                        second: checkpoint.size,
                        firstRoot: root,
                        secondRoot: checkpoint.root,
                        proof: proof
                    )
                else { return .text(422, "the consistency proof from \(old) to \(checkpoint.size) does not verify") }
            }
            let time = UInt64(max(0, clock().timeIntervalSince1970))
            guard let cosignature = try? cosigner.cosign(signed.note.text, time: time) else {
                return .text(500, "cosigning failed")
            }
            let note = signed.note.adding([cosignature]).serialized
            do {
                try Self.persist(note, to: Self.statePath(stateDirectory, checkpoint.origin))
            } catch {
                return .text(500, "cannot persist the witness state: \(error)")
            }
            states[checkpoint.origin] = LogState(size: checkpoint.size, root: checkpoint.root, note: note)
            return Answer(status: 200, contentType: "text/plain; charset=utf-8", body: SignedNote.line(cosignature))
        }
    }

    /// `old N`, proof lines, an empty line, then the signed checkpoint.
    static func parse(_ body: [UInt8]) throws -> (UInt64, [MerkleHash], SignedCheckpoint) {
        guard let blank = body.indices.dropLast().first(where: { body[$0] == 0x0A && body[$0 + 1] == 0x0A }) else {
            throw LedgerError(.malformedNote, "no empty line")
        }
        let head = String(decoding: body[...blank], as: UTF8.self)
        let lines = head.dropLast().split(separator: "\n", omittingEmptySubsequences: false)
        guard let first = lines.first, first.hasPrefix("old "),
            let sizeText = Optional(first.dropFirst(4)), !sizeText.isEmpty,
            sizeText.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), sizeText == "0" || !sizeText.hasPrefix("0"),
            let old = UInt64(sizeText), lines.count <= 64
        else { throw LedgerError(.malformedNote, "bad old size line") }
        var proof: [MerkleHash] = []
        for line in lines.dropFirst() {
            guard let bytes = Data(base64Encoded: String(line)), let hash = MerkleHash(bytes: [UInt8](bytes)) else {
                throw LedgerError(.malformedNote, "bad proof line")
            }
            proof.append(hash)
        }
        let note = String(decoding: body[(blank + 2)...], as: UTF8.self)
        return (old, proof, try SignedCheckpoint(parsing: note))
    }

    /// Writes `text` to `path` durably: a temporary file synced, renamed over, the directory synced.
    public static func persist(_ text: String, to path: String) throws(LedgerError) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LedgerError(.io, "cannot write \(temporary): \(String(cString: strerror(errno)))") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else {
            close(fd)
            throw LedgerError(.io, "cannot write \(temporary): \(String(cString: strerror(errno)))")
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            throw LedgerError(.io, "cannot rename \(temporary): \(String(cString: strerror(errno)))")
        }
        let directory = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_CLOEXEC)
        if directory >= 0 {
            _ = fsync(directory)
            close(directory)
        }
    }
}
