import IOCModel
import Testing
@testable import IOCAudit

/// Properties over sampled sizes up to 100,000 leaves: generated proofs verify, and every
/// single-bit change of a proof hash, root, leaf, index or old size is rejected.
///
/// Tree sizes are different: RFC 9162 verification does the identical hash computation for every
/// size with the same proof shape (inner, border), so such a size change is accepted by the bare
/// Merkle check. The size is bound to the root by the signed checkpoint instead; the tests assert
/// acceptance happens exactly for same-shape sizes, and `InclusionProofTests` shows that a
/// checkpoint-bound proof rejects every size flip.
@Suite struct MerklePropertyTests {
    static let big = MerkleTree(leafHashes: T.leafHashes(100_000))

    /// (index, size) samples including edges: first/last leaf, powers of two and their neighbours.
    static let inclusionSamples: [(Int, Int)] = [
        (0, 1), (0, 2), (1, 2), (6, 7), (5, 8), (0, 255), (254, 255), (255, 256), (256, 257),
        (1023, 1024), (1024, 1025), (65_535, 65_536), (12_345, 70_000), (69_999, 70_000), (99_999, 100_000), (31_337, 100_000),
    ]

    @Test func accumulatorAgreesWithTreeAtSampledSizes() throws {
        var acc = MerkleAccumulator()
        let checkpoints: Set<Int> = [1, 2, 3, 255, 256, 257, 4_097, 65_536, 99_999, 100_000]
        for i in 0..<100_000 {
            acc.append(Self.big.leafHash(at: i))
            if checkpoints.contains(i + 1) { #expect(acc.root == (try Self.big.root(size: i + 1)), "size \(i + 1)") }
        }
    }

    @Test func inclusionRejectsEverySingleBitFlip() throws {
        for (index, size) in Self.inclusionSamples {
            let root = try Self.big.root(size: size)
            let leaf = Self.big.leafHash(at: index)
            let proof = try Self.big.inclusionProof(index: index, size: size)
            #expect(Merkle.verifyInclusion(leafHash: leaf, index: index, size: size, proof: proof, root: root))
            for p in proof.indices {
                for bit in 0..<256 {
                    var bad = proof
                    bad[p] = T.flip(bad[p], bit: bit)
                    #expect(!Merkle.verifyInclusion(leafHash: leaf, index: index, size: size, proof: bad, root: root))
                }
            }
            for bit in 0..<256 {
                #expect(!Merkle.verifyInclusion(leafHash: leaf, index: index, size: size, proof: proof, root: T.flip(root, bit: bit)))
                #expect(!Merkle.verifyInclusion(leafHash: T.flip(leaf, bit: bit), index: index, size: size, proof: proof, root: root))
            }
            for bit in 0..<63 {
                let i2 = index ^ (1 << bit), s2 = size ^ (1 << bit)
                #expect(!Merkle.verifyInclusion(leafHash: leaf, index: i2, size: size, proof: proof, root: root), "index \(index)→\(i2) size \(size)")
                let sameShape = s2 > index && Self.shape(index, s2) == Self.shape(index, size)
                #expect(Merkle.verifyInclusion(leafHash: leaf, index: index, size: s2, proof: proof, root: root) == sameShape, "index \(index) size \(size)→\(s2)")
            }
        }
    }

    /// transparency-dev's proof decomposition: (inner, border) for leaf `index` in a tree of `size`.
    static func shape(_ index: Int, _ size: Int) -> [Int] {
        let inner = Int.bitWidth - (index ^ (size - 1)).leadingZeroBitCount
        return [inner, (index >> inner).nonzeroBitCount]
    }

    static let consistencySamples: [(Int, Int)] = [
        (1, 2), (1, 3), (3, 7), (4, 8), (7, 8), (255, 256), (256, 257), (1000, 70_000), (65_536, 100_000), (70_000, 99_999), (99_999, 100_000),
    ]

    @Test func consistencyRejectsEverySingleBitFlip() throws {
        for (old, new) in Self.consistencySamples {
            let r1 = try Self.big.root(size: old), r2 = try Self.big.root(size: new)
            let proof = try Self.big.consistencyProof(oldSize: old, newSize: new)
            #expect(Merkle.verifyConsistency(oldSize: old, newSize: new, oldRoot: r1, newRoot: r2, proof: proof))
            for p in proof.indices {
                for bit in 0..<256 {
                    var bad = proof
                    bad[p] = T.flip(bad[p], bit: bit)
                    #expect(!Merkle.verifyConsistency(oldSize: old, newSize: new, oldRoot: r1, newRoot: r2, proof: bad))
                }
            }
            for bit in 0..<256 {
                #expect(!Merkle.verifyConsistency(oldSize: old, newSize: new, oldRoot: T.flip(r1, bit: bit), newRoot: r2, proof: proof))
                #expect(!Merkle.verifyConsistency(oldSize: old, newSize: new, oldRoot: r1, newRoot: T.flip(r2, bit: bit), proof: proof))
            }
            for bit in 0..<63 {
                #expect(!Merkle.verifyConsistency(oldSize: old ^ (1 << bit), newSize: new, oldRoot: r1, newRoot: r2, proof: proof), "old \(old) bit \(bit)")
                let n2 = new ^ (1 << bit)
                let sameShape = n2 > old && Self.shape(old - 1, n2) == Self.shape(old - 1, new)
                #expect(Merkle.verifyConsistency(oldSize: old, newSize: n2, oldRoot: r1, newRoot: r2, proof: proof) == sameShape, "new \(new)→\(n2)")
            }
            #expect(!Merkle.verifyConsistency(oldSize: old, newSize: new, oldRoot: r1, newRoot: r2, proof: Array(proof.dropLast())))
            #expect(!Merkle.verifyConsistency(oldSize: old, newSize: new, oldRoot: r1, newRoot: r2, proof: proof + [r1]))
        }
    }

    @Test func proofsVerifyAcrossSampledRandomPairs() throws {
        var rng = SeededRandom(seed: 0x10C)
        for _ in 0..<200 {
            let size = Int(rng.next() % 100_000) + 1
            let index = Int(rng.next() % UInt64(size))
            let old = Int(rng.next() % UInt64(size + 1))
            let root = try Self.big.root(size: size)
            #expect(Merkle.verifyInclusion(leafHash: Self.big.leafHash(at: index), index: index, size: size,
                                           proof: try Self.big.inclusionProof(index: index, size: size), root: root))
            #expect(Merkle.verifyConsistency(oldSize: old, newSize: size, oldRoot: try Self.big.root(size: old), newRoot: root,
                                             proof: try Self.big.consistencyProof(oldSize: old, newSize: size)))
        }
    }
}
