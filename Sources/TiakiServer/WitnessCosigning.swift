import Foundation
public import Logging
public import ServiceLifecycle
import Synchronization
public import TiakiLedger

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A witness the service asks for cosignatures: the URL its `add-checkpoint` is under, and its key.
public struct WitnessEndpoint: Sendable, Hashable {
    public var url: String
    public var key: CosignatureVerifier

    public init(url: String, key: CosignatureVerifier) {
        self.url = url
        self.key = key
    }

    /// `URL=VKEY`, as `tiaki serve --witness` takes it.
    public init(argument: String) throws(LedgerError) {
        guard let equals = argument.firstIndex(of: "=") else {
            throw LedgerError(.invalidArgument, "a witness is given as URL=VKEY, not \(argument.prefix(80))")
        }
        let url = String(argument[..<equals])
        guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
            throw LedgerError(.invalidArgument, "the witness URL \(url) is not an http(s) URL")
        }
        self.init(url: url, key: try CosignatureVerifier(vkey: String(argument[argument.index(after: equals)...])))
    }

    var addCheckpointURL: URL? {
        URL(string: (url.hasSuffix("/") ? String(url.dropLast()) : url) + "/add-checkpoint")
    }
}

/// Asks witnesses to cosign the ledger's checkpoints, after commits and never in their way, and keeps the newest
/// checkpoint that a quorum of them cosigned (in memory and in the data directory's `checkpoint.cosigned`).
///
/// Each witness has its own task: it sends the newest checkpoint (or one other witnesses already cosigned and it
/// has not, so that a quorum meets on one checkpoint) with a consistency proof from the size the witness last
/// cosigned; a 409 tells it that size, and it sends again from there; other failures are logged and retried with
/// a growing pause. A cosignature counts only when it verifies under the witness's key.
public final class WitnessCosigning: Service, Sendable {
    public let witnesses: [WitnessEndpoint]
    public let quorum: Int
    let ledger: Ledger
    let path: String
    let logger: Logger
    /// How often each task looks for a new checkpoint.
    let interval: Duration

    struct Pending {
        var checkpoint: SignedCheckpoint
        var cosignatures: [String: SignedNote.Signature] = [:]
    }

    struct State {
        /// Checkpoints being cosigned, by size.
        var pending: [UInt64: Pending] = [:]
        /// The newest checkpoint with a quorum of cosignatures.
        var cosigned: SignedCheckpoint?
        /// Per witness: the size it last cosigned, when known.
        var known: [String: UInt64] = [:]
    }

    private let state: Mutex<State>

    public init(
        witnesses: [WitnessEndpoint],
        quorum: Int,
        ledger: Ledger,
        dataDirectory: String,
        logger: Logger,
        interval: Duration = .milliseconds(200)
    ) {
        self.witnesses = witnesses
        self.quorum = max(1, min(quorum, witnesses.count))
        self.ledger = ledger
        self.path = dataDirectory + "/checkpoint.cosigned"
        self.logger = logger
        self.interval = interval
        var initial = State()
        // What was cosigned before a restart still counts, if it still verifies and is this log's.
        if let text = try? String(contentsOfFile: path, encoding: .utf8),
            let signed = try? SignedCheckpoint(parsing: text), signed.checkpoint.origin == ledger.origin,
            signed.size <= ledger.checkpoint.size, (try? signed.note.verify(with: [ledger.verifier])) != nil,
            CosignatureVerifier.cosigners(of: signed.note, among: witnesses.map(\.key)).count >= self.quorum
        {
            initial.cosigned = signed
        }
        state = Mutex(initial)
    }

    /// The newest checkpoint a quorum of witnesses cosigned, with their cosignature lines.
    public var cosigned: SignedCheckpoint? { state.withLock { $0.cosigned } }

    /// Asks every witness until the service shuts down (or the task is cancelled).
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                for witness in self.witnesses {
                    group.addTask { await self.ask(witness) }
                }
            }
        }
    }

    /// The loop of one witness.
    func ask(_ witness: WitnessEndpoint) async {
        var pause = Duration.seconds(1)
        while !Task.isCancelled {
            guard let target = nextCheckpoint(for: witness) else {
                try? await Task.sleep(for: interval)
                continue
            }
            switch await submit(target, to: witness) {
            case .cosigned, .resync:
                pause = .seconds(1)
            case .failed(let why):
                logger.warning(
                    "witness did not cosign",
                    metadata: ["witness": "\(witness.key.name)", "size": "\(target.size)", "why": "\(why)"]
                )
                try? await Task.sleep(for: pause)
                pause = min(pause * 2, .seconds(60))
            }
        }
    }

    /// What to send `witness` next: a checkpoint others cosigned and it has not, else the newest; `nil` when it
    /// has cosigned the newest already.
    func nextCheckpoint(for witness: WitnessEndpoint) -> SignedCheckpoint? {
        let newest = ledger.checkpoint
        return state.withLock { state in
            let known = state.known[witness.key.name]
            let waiting = state.pending.values
                .filter { $0.cosignatures[witness.key.name] == nil && $0.checkpoint.size >= (known ?? 0) }
                .map(\.checkpoint)
                .max { $0.size < $1.size }
            if let waiting, waiting.size > (state.cosigned?.size ?? 0) { return waiting }
            if let known, known >= newest.size { return nil }
            return newest
        }
    }

    enum Outcome {
        case cosigned
        case resync
        case failed(String)
    }

    func submit(_ checkpoint: SignedCheckpoint, to witness: WitnessEndpoint) async -> Outcome {
        let old = state.withLock { $0.known[witness.key.name] } ?? 0
        guard old <= checkpoint.size else {
            return .failed(
                "the witness has cosigned size \(old), larger than this checkpoint's \(checkpoint.size): it saw another view of this log"
            )
        }
        var body = "old \(old)\n"
        if old > 0 {
            guard let proof = try? ledger.consistencyProof(from: old, to: checkpoint.size) else {
                return .failed("no consistency proof from \(old) to \(checkpoint.size)")
            }
            for hash in proof { body += Data(hash.array).base64EncodedString() + "\n" }
        }
        body += "\n" + checkpoint.text
        guard let url = witness.addCheckpointURL else { return .failed("bad URL \(witness.url)") }
        var request = URLRequest(url: url, timeoutInterval: 10)
        request.httpMethod = "POST"
        request.httpBody = Data(body.utf8)
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            return .failed(((error as NSError).userInfo[NSLocalizedDescriptionKey] as? String) ?? "\(error)")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let text = String(decoding: data.prefix(4096), as: UTF8.self)
        switch status {
        case 200:
            return accept(text, for: checkpoint, from: witness)
        case 409:
            let sizeText = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard let size = UInt64(sizeText) else { return .failed("409 without a size") }
            guard size != old else {
                // The size matched, so the root did not: the witness holds another checkpoint of this size.
                return .failed("the witness holds another checkpoint of size \(size): it saw another view of this log")
            }
            state.withLock { $0.known[witness.key.name] = size }
            if size > ledger.checkpoint.size {
                return .failed(
                    "the witness has cosigned size \(size), larger than this log has: another view of it exists"
                )
            }
            return .resync
        default:
            return .failed("HTTP \(status): \(text.prefix(200))")
        }
    }

    /// Takes the witness's answer: the cosignature lines, kept only if one verifies under its key.
    func accept(_ text: String, for checkpoint: SignedCheckpoint, from witness: WitnessEndpoint) -> Outcome {
        guard let answered = try? SignedNote(parsing: checkpoint.note.text + "\n" + text),
            let signature = answered.signatures.first(where: {
                witness.key.timestamp(of: $0, over: checkpoint.note.text) != nil
            })
        else { return .failed("the answer holds no valid cosignature by \(witness.key.vkey)") }
        var newlyCosigned: SignedCheckpoint?
        state.withLock { state in
            state.known[witness.key.name] = checkpoint.size
            var pending = state.pending[checkpoint.size] ?? Pending(checkpoint: checkpoint)
            guard pending.checkpoint == checkpoint else { return }
            pending.cosignatures[witness.key.name] = signature
            state.pending[checkpoint.size] = pending
            if pending.cosignatures.count >= quorum, checkpoint.size > (state.cosigned?.size ?? 0) {
                let note = checkpoint.note.adding(
                    pending.cosignatures.keys.sorted().compactMap { pending.cosignatures[$0] }
                )
                if let signed = try? SignedCheckpoint(note: note) {
                    state.cosigned = signed
                    newlyCosigned = signed
                }
                state.pending = state.pending.filter { $0.key > checkpoint.size }
            }
            // Keep a bounded number of checkpoints waiting.
            while state.pending.count > 16, let oldest = state.pending.keys.min() { state.pending[oldest] = nil }
        }
        if let newlyCosigned {
            do {
                try Witness.persist(newlyCosigned.text, to: path)
            } catch {
                logger.warning("cannot keep the cosigned checkpoint", metadata: ["why": "\(error)"])
            }
        }
        return .cosigned
    }
}
