import Foundation
import Testing

@testable import TiakiLedger

/// The transparency-dev/merkle known-answer data, copied from shared/vectors.
struct RFC9162Vectors: Decodable {
    struct Inclusion: Decodable {
        let index: UInt64
        let size: UInt64
        let path_hex: [String]
    }
    struct Consistency: Decodable {
        let first: UInt64
        let second: UInt64
        let proof_hex: [String]
    }
    let leaves_hex: [String]
    let roots_hex_by_size: [String]
    let inclusion: [Inclusion]
    let consistency: [Consistency]

    static func load() throws -> RFC9162Vectors {
        let url = try #require(
            Bundle.module.url(forResource: "rfc9162", withExtension: "json", subdirectory: "Vectors")
        )
        return try JSONDecoder().decode(RFC9162Vectors.self, from: Data(contentsOf: url))
    }

    var leafHashes: [MerkleHash] { leaves_hex.map { Merkle.leafHash(hexBytes($0)) } }
}

func hexBytes(_ s: String) -> [UInt8] {
    var out: [UInt8] = []
    var chars = Array(s.utf8)[...]
    while chars.count >= 2 {
        out.append(UInt8(String(decoding: chars.prefix(2), as: UTF8.self), radix: 16) ?? 0)
        chars = chars.dropFirst(2)
    }
    return out
}

func hashes(_ hex: [String]) throws -> [MerkleHash] { try hex.map { try #require(MerkleHash(hex: $0)) } }

/// RFC 9162 §2.1.1 written as the RFC defines it, recursively, to check the real implementation against.
enum NaiveMerkle {
    static func mth(_ d: ArraySlice<MerkleHash>) -> MerkleHash {
        if d.isEmpty { return Merkle.emptyRoot }
        if d.count == 1 { return d[d.startIndex] }
        let k = Int(Merkle.split(UInt64(d.count)))
        return Merkle.nodeHash(mth(d.prefix(k)), mth(d.dropFirst(k)))
    }

    static func path(_ m: Int, _ d: ArraySlice<MerkleHash>) -> [MerkleHash] {
        if d.count <= 1 { return [] }
        let k = Int(Merkle.split(UInt64(d.count)))
        if m < k { return path(m, d.prefix(k)) + [mth(d.dropFirst(k))] }
        return path(m - k, d.dropFirst(k)) + [mth(d.prefix(k))]
    }

    static func proof(_ m: Int, _ d: ArraySlice<MerkleHash>) -> [MerkleHash] { subproof(m, d, true) }

    static func subproof(_ m: Int, _ d: ArraySlice<MerkleHash>, _ b: Bool) -> [MerkleHash] {
        if m == d.count { return b ? [] : [mth(d)] }
        let k = Int(Merkle.split(UInt64(d.count)))
        if m <= k { return subproof(m, d.prefix(k), b) + [mth(d.dropFirst(k))] }
        return subproof(m - k, d.dropFirst(k), false) + [mth(d.prefix(k))]
    }
}

/// Resolves proof ranges against leaves in memory, the way the store resolves them against stored subtrees.
func resolve(_ ranges: [Range<UInt64>], _ leaves: [MerkleHash]) -> [MerkleHash] {
    ranges.map { range in
        Merkle.fold(
            Merkle.perfectSubtrees(of: range).map { NaiveMerkle.mth(leaves[Int($0.lowerBound)..<Int($0.upperBound)]) }
        )
    }
}

@Suite("RFC 9162 Merkle tree")
struct MerkleTests {
    @Test("roots of sizes 0 to 8 match the published vectors")
    func knownRoots() throws {
        let v = try RFC9162Vectors.load()
        let leaves = v.leafHashes
        for size in 0...8 {
            let expected = try #require(MerkleHash(hex: v.roots_hex_by_size[size]))
            #expect(Merkle.root(of: leaves.prefix(size)) == expected, "size \(size)")
        }
    }

    @Test("inclusion proofs match the published vectors and verify")
    func knownInclusionProofs() throws {
        let v = try RFC9162Vectors.load()
        let leaves = v.leafHashes
        for c in v.inclusion {
            let expected = try hashes(c.path_hex)
            let proof = resolve(
                Merkle.inclusionProofRanges(index: c.index, size: c.size),
                Array(leaves.prefix(Int(c.size)))
            )
            #expect(proof == expected, "leaf \(c.index) of \(c.size)")
            let root = try #require(MerkleHash(hex: v.roots_hex_by_size[Int(c.size)]))
            #expect(
                Merkle.verifyInclusion(
                    leafHash: leaves[Int(c.index)],
                    index: c.index,
                    size: c.size,
                    proof: expected,
                    root: root
                )
            )
        }
    }

    @Test("consistency proofs match the published vectors and verify")
    func knownConsistencyProofs() throws {
        let v = try RFC9162Vectors.load()
        let leaves = v.leafHashes
        for c in v.consistency {
            let expected = try hashes(c.proof_hex)
            let proof = resolve(
                Merkle.consistencyProofRanges(first: c.first, second: c.second),
                Array(leaves.prefix(Int(c.second)))
            )
            #expect(proof == expected, "\(c.first) → \(c.second)")
            let r1 = try #require(MerkleHash(hex: v.roots_hex_by_size[Int(c.first)]))
            let r2 = try #require(MerkleHash(hex: v.roots_hex_by_size[Int(c.second)]))
            #expect(
                Merkle.verifyConsistency(
                    first: c.first,
                    second: c.second,
                    firstRoot: r1,
                    secondRoot: r2,
                    proof: expected
                )
            )
        }
    }

    @Test("every size up to 300 agrees with the recursive definition, and altered proofs fail")
    func propertiesUpTo300() {
        let leaves = (0..<300).map { Merkle.leafHash(Array("leaf \($0)".utf8)) }
        var range = CompactRange()
        var roots: [MerkleHash] = [Merkle.emptyRoot]
        for leaf in leaves {
            range.append(leaf)
            roots.append(range.root)
        }
        let bogus = Merkle.leafHash(Array("bogus".utf8))
        for n in 1...300 {
            let d = Array(leaves.prefix(n))
            #expect(roots[n] == NaiveMerkle.mth(d[...]), "root \(n)")
            // Inclusion: every leaf for small trees, a spread of leaves for larger ones.
            let indexes = n <= 64 ? Array(0..<n) : [0, 1, n / 3, n / 2, n - 2, n - 1]
            for m in indexes {
                let proof = resolve(Merkle.inclusionProofRanges(index: UInt64(m), size: UInt64(n)), d)
                #expect(proof == NaiveMerkle.path(m, d[...]), "path \(m) of \(n)")
                let ok = Merkle.verifyInclusion(
                    leafHash: d[m],
                    index: UInt64(m),
                    size: UInt64(n),
                    proof: proof,
                    root: roots[n]
                )
                #expect(ok, "inclusion \(m) of \(n)")
                #expect(
                    !Merkle.verifyInclusion(
                        leafHash: bogus,
                        index: UInt64(m),
                        size: UInt64(n),
                        proof: proof,
                        root: roots[n]
                    )
                )
                // A proof does not bind the size except through its shape, so probe sizes of another depth.
                #expect(
                    !Merkle.verifyInclusion(
                        leafHash: d[m],
                        index: UInt64(m),
                        size: UInt64(2 * n),
                        proof: proof,
                        root: roots[n]
                    )
                )
                if m < n / 2 {
                    #expect(
                        !Merkle.verifyInclusion(
                            leafHash: d[m],
                            index: UInt64(m),
                            size: UInt64(n / 2),
                            proof: proof,
                            root: roots[n]
                        )
                    )
                }
                if n > 1 {
                    let other = (m + 1) % n
                    let wrongIndex = Merkle.verifyInclusion(
                        leafHash: d[m],
                        index: UInt64(other),
                        size: UInt64(n),
                        proof: proof,
                        root: roots[n]
                    )
                    #expect(!wrongIndex, "index \(other) for leaf \(m) of \(n)")
                }
                if !proof.isEmpty {
                    var altered = proof
                    altered[altered.count / 2] = bogus
                    #expect(
                        !Merkle.verifyInclusion(
                            leafHash: d[m],
                            index: UInt64(m),
                            size: UInt64(n),
                            proof: altered,
                            root: roots[n]
                        )
                    )
                    #expect(
                        !Merkle.verifyInclusion(
                            leafHash: d[m],
                            index: UInt64(m),
                            size: UInt64(n),
                            proof: proof.dropLast(),
                            root: roots[n]
                        )
                    )
                    #expect(
                        !Merkle.verifyInclusion(
                            leafHash: d[m],
                            index: UInt64(m),
                            size: UInt64(n),
                            proof: proof + [bogus],
                            root: roots[n]
                        )
                    )
                }
            }
            #expect(
                !Merkle.verifyInclusion(leafHash: d[0], index: UInt64(n), size: UInt64(n), proof: [], root: roots[n])
            )
            // Consistency from a spread of earlier sizes.
            let firsts = n <= 64 ? Array(0...n) : [0, 1, 2, n / 4, n / 2, n - 1, n]
            for m in firsts {
                let proof = resolve(Merkle.consistencyProofRanges(first: UInt64(m), second: UInt64(n)), d)
                if m > 0 && m < n { #expect(proof == NaiveMerkle.proof(m, d[...]), "proof \(m) → \(n)") }
                let ok = Merkle.verifyConsistency(
                    first: UInt64(m),
                    second: UInt64(n),
                    firstRoot: roots[m],
                    secondRoot: roots[n],
                    proof: proof
                )
                #expect(ok, "consistency \(m) → \(n)")
                if m > 0 && m < n {
                    var altered = proof
                    altered[0] = bogus
                    #expect(
                        !Merkle.verifyConsistency(
                            first: UInt64(m),
                            second: UInt64(n),
                            firstRoot: roots[m],
                            secondRoot: roots[n],
                            proof: altered
                        )
                    )
                    #expect(
                        !Merkle.verifyConsistency(
                            first: UInt64(m),
                            second: UInt64(n),
                            firstRoot: roots[n],
                            secondRoot: roots[n],
                            proof: proof
                        )
                    )
                    #expect(
                        !Merkle.verifyConsistency(
                            first: UInt64(m),
                            second: UInt64(n),
                            firstRoot: roots[m],
                            secondRoot: bogus,
                            proof: proof
                        )
                    )
                    #expect(
                        !Merkle.verifyConsistency(
                            first: UInt64(m),
                            second: UInt64(n),
                            firstRoot: roots[m],
                            secondRoot: roots[n],
                            proof: proof.dropLast()
                        )
                    )
                    if m + 1 < n {
                        let wrongSize = Merkle.verifyConsistency(
                            first: UInt64(m + 1),
                            second: UInt64(n),
                            firstRoot: roots[m],
                            secondRoot: roots[n],
                            proof: proof
                        )
                        #expect(!wrongSize, "size \(m + 1) for a proof from \(m) to \(n)")
                    }
                    #expect(
                        !Merkle.verifyConsistency(
                            first: UInt64(m),
                            second: UInt64(2 * n),
                            firstRoot: roots[m],
                            secondRoot: roots[n],
                            proof: proof
                        )
                    )
                }
            }
            #expect(
                !Merkle.verifyConsistency(
                    first: UInt64(n),
                    second: UInt64(n - 1),
                    firstRoot: roots[n],
                    secondRoot: roots[n - 1],
                    proof: []
                )
            )
        }
    }
}
