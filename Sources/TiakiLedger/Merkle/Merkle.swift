import Crypto

/// The RFC 9162 (Certificate Transparency v2) Merkle tree: hashing, proofs and their verification.
///
/// Leaves are hashed as `SHA-256(0x00 ‖ entry)`, interior nodes as `SHA-256(0x01 ‖ left ‖ right)`; a tree of `n`
/// leaves splits at the largest power of two below `n` (RFC 9162 §2.1.1).
public enum Merkle {
    /// The root of the empty tree: SHA-256 of no bytes.
    public static let emptyRoot = MerkleHash(SHA256.hash(data: [UInt8]()))

    /// `SHA-256(0x00 ‖ entry)`.
    public static func leafHash(_ entry: UnsafeRawBufferPointer) -> MerkleHash {
        var hasher = SHA256()
        withUnsafeBytes(of: UInt8(0)) { hasher.update(bufferPointer: $0) }
        hasher.update(bufferPointer: entry)
        return MerkleHash(hasher.finalize())
    }

    public static func leafHash(_ entry: [UInt8]) -> MerkleHash {
        entry.withUnsafeBytes { leafHash($0) }
    }

    /// `SHA-256(0x01 ‖ left ‖ right)`.
    public static func nodeHash(_ left: MerkleHash, _ right: MerkleHash) -> MerkleHash {
        withUnsafeTemporaryAllocation(byteCount: 65, alignment: 16) { block in
            block[0] = 1
            block.storeBytes(of: left.bytes, toByteOffset: 1, as: SIMD32<UInt8>.self)
            block.storeBytes(of: right.bytes, toByteOffset: 33, as: SIMD32<UInt8>.self)
            var hasher = SHA256()
            hasher.update(bufferPointer: UnsafeRawBufferPointer(block))
            return MerkleHash(hasher.finalize())
        }
    }

    /// The largest power of two strictly less than `n` (`n > 1`): where RFC 9162 splits a tree of `n` leaves.
    @inline(__always)
    public static func split(_ n: UInt64) -> UInt64 {
        precondition(n > 1)
        return 1 << (63 - (n - 1).leadingZeroBitCount)
    }

    /// The root of the tree over `leaves` (leaf hashes), computed directly.
    public static func root(of leaves: some Collection<MerkleHash>) -> MerkleHash {
        var range = CompactRange()
        for leaf in leaves { range.append(leaf) }
        return range.root
    }

    // MARK: Proofs as ranges

    /// The subtrees whose hashes form the inclusion proof of leaf `index` in a tree of `size` leaves, in proof order
    /// (RFC 9162 §2.1.3.1, `PATH(m, D[n])`).
    public static func inclusionProofRanges(index: UInt64, size: UInt64) -> [Range<UInt64>] {
        precondition(index < size)
        var ranges: [Range<UInt64>] = []
        var m = index
        var start: UInt64 = 0
        var end = size
        // Walk down from the root, collecting the sibling at each level; the proof lists them bottom-up.
        while end - start > 1 {
            let k = split(end - start)
            if m < k {
                ranges.append((start + k)..<end)
                end = start + k
            } else {
                ranges.append(start..<(start + k))
                start += k
                m -= k
            }
        }
        return ranges.reversed()
    }

    /// The subtrees whose hashes form the consistency proof from a tree of `first` leaves to one of `second`
    /// (RFC 9162 §2.1.4.1, `PROOF(m, D[n])`); empty when `first` is 0 or equals `second`.
    public static func consistencyProofRanges(first: UInt64, second: UInt64) -> [Range<UInt64>] {
        precondition(first <= second)
        guard first > 0, first < second else { return [] }
        var ranges: [Range<UInt64>] = []
        var m = first
        var start: UInt64 = 0
        var end = second
        var startFromOldRoot = true
        while m != end - start {
            let n = end - start
            let k = split(n)
            if m <= k {
                ranges.append((start + k)..<end)
                end = start + k
            } else {
                ranges.append(start..<(start + k))
                start += k
                m -= k
                startFromOldRoot = false
            }
        }
        if !startFromOldRoot { ranges.append(start..<end) }
        return ranges.reversed()
    }

    /// The perfect (power-of-two, aligned) subtrees that make up a subtree of the RFC 9162 tree, left to right.
    ///
    /// A subtree on the tree's right edge is not perfect; its hash folds these from the right (see ``fold(_:)``).
    public static func perfectSubtrees(of range: Range<UInt64>) -> [Range<UInt64>] {
        var parts: [Range<UInt64>] = []
        var start = range.lowerBound
        var remaining = range.upperBound - range.lowerBound
        while remaining > 0 {
            let size: UInt64 = 1 << (63 - remaining.leadingZeroBitCount)
            parts.append(start..<(start + size))
            start += size
            remaining -= size
        }
        return parts
    }

    /// The hash of a subtree from the hashes of its ``perfectSubtrees(of:)``: right to left, each joined as the
    /// left child of what follows it.
    public static func fold(_ perfect: [MerkleHash]) -> MerkleHash {
        guard var acc = perfect.last else { return emptyRoot }
        for h in perfect.dropLast().reversed() { acc = nodeHash(h, acc) }
        return acc
    }

    // MARK: Verification (RFC 9162 §2.1.3.2 and §2.1.4.2)

    /// Verifies an inclusion proof exactly as RFC 9162 §2.1.3.2 describes.
    public static func verifyInclusion(
        leafHash: MerkleHash,
        index: UInt64,
        size: UInt64,
        proof: [MerkleHash],
        root: MerkleHash
    ) -> Bool {
        guard index < size else { return false }
        var fn = index
        var sn = size - 1
        var r = leafHash
        for p in proof {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && r == root
    }

    /// Verifies a consistency proof exactly as RFC 9162 §2.1.4.2 describes, with the trivial cases made explicit:
    /// equal sizes need an empty proof and equal roots; every tree extends the empty tree.
    public static func verifyConsistency(
        first: UInt64,
        second: UInt64,
        firstRoot: MerkleHash,
        secondRoot: MerkleHash,
        proof: [MerkleHash]
    ) -> Bool {
        guard first <= second else { return false }
        if first == second { return proof.isEmpty && firstRoot == secondRoot }
        if first == 0 { return proof.isEmpty && firstRoot == emptyRoot }
        guard !proof.isEmpty else { return false }
        var path = proof
        if first & (first - 1) == 0 { path.insert(firstRoot, at: 0) }
        var fn = first - 1
        var sn = second - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = path[0]
        var sr = path[0]
        for c in path.dropFirst() {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                fr = nodeHash(c, fr)
                sr = nodeHash(c, sr)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                sr = nodeHash(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        return fr == firstRoot && sr == secondRoot && sn == 0
    }
}

/// The right edge of a growing tree: the roots of its perfect subtrees, largest first (one per set bit of the size).
///
/// Appending a leaf merges equal-sized subtrees, so the root at any size costs O(log n) and memory stays
/// O(log n) however many leaves stream through (this is how `verify` checks every checkpoint's root).
public struct CompactRange: Sendable, Equatable {
    public private(set) var size: UInt64 = 0
    /// Perfect subtree roots, left to right (largest first).
    public private(set) var hashes: [MerkleHash] = []

    public init() {}

    /// A range rebuilt from the perfect subtree roots of a tree of `size` leaves (one per set bit, largest first).
    public init?(size: UInt64, hashes: [MerkleHash]) {
        guard hashes.count == size.nonzeroBitCount else { return nil }
        self.size = size
        self.hashes = hashes
    }

    /// Appends a leaf hash; returns the perfect subtrees it completed as `(level, hash)`, level 1 upwards.
    @discardableResult
    public mutating func append(_ leaf: MerkleHash) -> [(level: Int, hash: MerkleHash)] {
        var completed: [(level: Int, hash: MerkleHash)] = []
        var h = leaf
        var level = 0
        var s = size
        while s & 1 == 1 {
            // `hashes` holds one entry per set bit of `size`, so it is non-empty while a low bit is set.
            h = Merkle.nodeHash(hashes.removeLast(), h)
            level += 1
            completed.append((level, h))
            s >>= 1
        }
        hashes.append(h)
        size += 1
        return completed
    }

    /// Appends a leaf hash, telling `completed` about each perfect subtree it finished, level 1 upwards, without
    /// allocating.
    @inline(__always)
    public mutating func append(_ leaf: MerkleHash, completed: (Int, MerkleHash) -> Void) {
        var h = leaf
        var level = 0
        var s = size
        while s & 1 == 1 {
            h = Merkle.nodeHash(hashes.removeLast(), h)
            level += 1
            completed(level, h)
            s >>= 1
        }
        hashes.append(h)
        size += 1
    }

    /// The RFC 9162 root of the leaves appended so far.
    public var root: MerkleHash { Merkle.fold(hashes) }
}
