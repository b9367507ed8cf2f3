public import TiakiLedger
public import TiakiModel

/// What a whānau receives when their consent is recorded: the entry exactly as stored, its inclusion proof, the
/// signed checkpoint that covers it, the log's verifier key, and the seven items in plain words. Anyone can check
/// it offline with SHA-256 and Ed25519; a later checkpoint and a consistency proof show the entry is still there.
public struct ConsentReceipt: Sendable, Codable, Equatable {
    /// The entry's canonical JSON text.
    public var entry: String
    public var index: UInt64
    /// Hex SHA-256 hashes, RFC 9162 §2.1.3.
    public var inclusionProof: [String]
    /// The C2SP signed note of the checkpoint the proof is against.
    public var checkpoint: String
    /// The log's verifier key (C2SP vkey). Check it against the one the cluster publishes.
    public var vkey: String
    /// The seven checklist items in plain words, drawn from the entry and `labels`.
    public var summary: [String]
    /// Plain words for the codes the consent uses.
    public var labels: [String: String]
    /// The words sealed in the entry (the words shown, how the information is protected, …), by their sealed
    /// value: what the school recorded. The entry proves the sealed values; the words themselves cannot be checked
    /// without the child's key, which only the school holds (a digest of them would let anyone confirm a guess once
    /// the key is destroyed).
    public var words: [String: String]?

    public init(
        entry: [UInt8],
        index: UInt64,
        proof: [MerkleHash],
        checkpoint: SignedCheckpoint,
        vkey: String,
        terms: ConsentTerms,
        opened: ConsentTerms? = nil,
        vocabulary: ConsentSummary.Labels
    ) {
        self.entry = String(decoding: entry, as: UTF8.self)
        self.index = index
        self.inclusionProof = proof.map(\.hex)
        self.checkpoint = checkpoint.text
        self.vkey = vkey
        var used = Set(terms.purposes + terms.information + terms.audience.kinds)
        used.formUnion(terms.sharing.channels + terms.sharing.storageRegions)
        self.labels = vocabulary.filter { used.contains($0.key) }
        self.summary = ConsentSummary.lines(opened ?? terms, labels: labels)
        if let opened {
            var sealed: [String] = []
            var plain: [String] = []
            _ = terms.mapText {
                sealed.append($0)
                return $0
            }
            _ = opened.mapText {
                plain.append($0)
                return $0
            }
            let pairs = zip(sealed, plain).filter { Sealed.isSealed($0.0) && $0.0 != $0.1 }
            self.words = pairs.isEmpty ? nil : Dictionary(pairs) { a, _ in a }
        }
    }

    /// What a check established.
    public struct Check: Sendable {
        public var index: UInt64
        public var checkpointSize: UInt64
        public var keyName: String
        /// Whether the key was the one given (`--vkey`) rather than the receipt's own.
        public var trustedKey: Bool
        /// The later size the entry was shown to still be in, when a consistency proof was given.
        public var stillIncludedAt: UInt64?
        public var summary: [String]
    }

    /// Why a receipt does not check out.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Checks the receipt: the entry is canonical, at its index, a consent; the checkpoint is signed by the key;
    /// the inclusion proof leads from the entry to the checkpoint's root; the summary says what the entry says; and,
    /// given a later checkpoint and a consistency proof, that the later tree extends this one.
    public func verify(
        trustedKey: NoteVerifier? = nil,
        later: SignedCheckpoint? = nil,
        consistency: [MerkleHash]? = nil
    ) throws(Failure) -> Check {
        let bytes = Array(entry.utf8)
        let claimed: Int64?
        do {
            claimed = try bytes.withUnsafeBufferPointer { try CanonicalJSON.validate($0, topLevelInteger: "index") }
        } catch {
            throw Failure(description: "the entry is not canonical JSON (RFC 8785): \(error)")
        }
        guard claimed == Int64(index) else {
            throw Failure(
                description: "the entry says index \(claimed.map(String.init) ?? "none"), the receipt \(index)"
            )
        }
        var terms: ConsentTerms
        do {
            guard let t = try ConsentEntry(bytes: bytes).body as? ConsentTerms else {
                throw Failure(description: "the entry is not a consent")
            }
            terms = t
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(description: "the entry cannot be read: \(error)")
        }
        let key: NoteVerifier
        do {
            key = try trustedKey ?? NoteVerifier(vkey: vkey)
        } catch {
            throw Failure(description: "the receipt's vkey is malformed: \(error)")
        }
        let signed: SignedCheckpoint
        do {
            signed = try SignedCheckpoint(parsing: checkpoint)
            _ = try signed.note.verify(with: [key])
        } catch {
            throw Failure(description: "the checkpoint is not signed by \(key.name): \(error)")
        }
        let proof = inclusionProof.compactMap(MerkleHash.init(hex:))
        guard proof.count == inclusionProof.count else {
            throw Failure(description: "the inclusion proof holds something that is not a SHA-256 hash")
        }
        guard
            Merkle.verifyInclusion(
                leafHash: Merkle.leafHash(bytes),
                index: index,
                size: signed.size,
                proof: proof,
                root: signed.root
            )
        else {
            throw Failure(
                description:
                    "the inclusion proof does not lead from entry \(index) to the root of the checkpoint of size \(signed.size)"
            )
        }
        if let words { terms = terms.mapText { words[$0] ?? $0 } }
        guard ConsentSummary.lines(terms, labels: labels) == summary else {
            throw Failure(description: "the summary does not say what the recorded consent says")
        }
        var check = Check(
            index: index,
            checkpointSize: signed.size,
            keyName: key.name,
            trustedKey: trustedKey != nil,
            summary: summary
        )
        if let later {
            do {
                _ = try later.note.verify(with: [key])
            } catch {
                throw Failure(description: "the later checkpoint is not signed by \(key.name): \(error)")
            }
            guard
                Merkle.verifyConsistency(
                    first: signed.size,
                    second: later.size,
                    firstRoot: signed.root,
                    secondRoot: later.root,
                    proof: consistency ?? []
                )
            else {
                throw Failure(
                    description:
                        "the consistency proof does not show the ledger of \(later.size) entries extending the receipt's \(signed.size)"
                )
            }
            check.stillIncludedAt = later.size
        }
        return check
    }
}
