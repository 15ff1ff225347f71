import Testing
@testable import IOCAudit

/// Reference vectors from RFC 6962's test data as published in transparency-dev/merkle
/// (testonly/constants.go and testdata/{inclusion,consistency}/*/happy-path.json).
@Suite struct MerkleTests {
    static let roots = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ].map(T.hex)

    let leaves = T.rfcLeaves.map(Merkle.leafHash)

    @Test func leafHashesMatchReference() {
        #expect(leaves[0] == T.hex("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"))
        #expect(leaves[7] == T.hex("46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"))
    }

    @Test func rootsForEverySizeMatchReference() throws {
        let tree = MerkleTree(leafHashes: leaves)
        for size in 0...8 {
            #expect(Merkle.root(of: Array(leaves.prefix(size))) == Self.roots[size], "size \(size)")
            #expect(try tree.root(size: size) == Self.roots[size], "tree size \(size)")
        }
        #expect(Merkle.emptyRoot == Self.roots[0])
    }

    @Test func accumulatorTracksEveryRoot() {
        var acc = MerkleAccumulator()
        #expect(acc.root == Self.roots[0])
        for (i, leaf) in leaves.enumerated() {
            acc.append(leaf)
            #expect(acc.root == Self.roots[i + 1])
            #expect(acc.size == i + 1)
        }
        #expect(acc.peaks.count == 1)
    }

    struct InclusionVector: Sendable { let index, size: Int; let leaf: String; let proof: [String]; let root: String }
    static let inclusionVectors = [
        InclusionVector(index: 0, size: 8, leaf: "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=",
                        proof: ["lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=", "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=", "a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ="],
                        root: "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg="),
        InclusionVector(index: 5, size: 8, leaf: "QnGia+DYqE8L1UyMMC58s6O10fpngKQLzOKHNHfatlg=",
                        proof: ["vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=", "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=", "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc="],
                        root: "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg="),
        InclusionVector(index: 2, size: 3, leaf: "ApjRIpBtz8EIkstTpzmS/FufST6kybrbJ7eRtBJ6f+c=",
                        proof: ["+sVCA+fMaWzw38tCySodnbr3CtnmIfS9jZhmLwDjwSU="],
                        root: "rra8/idLcKFPsGel5VeCZNsPqbUa9eC6FZFY8yngbnc="),
    ]

    @Test(arguments: inclusionVectors)
    func inclusionVector(_ v: InclusionVector) throws {
        let proof = v.proof.map(T.b64)
        #expect(try Merkle.inclusionProof(index: v.index, size: v.size, leafHashes: leaves) == proof)
        #expect(Merkle.verifyInclusion(leafHash: T.b64(v.leaf), index: v.index, size: v.size, proof: proof, root: T.b64(v.root)))
        #expect(!Merkle.verifyInclusion(leafHash: T.b64(v.leaf), index: v.index, size: v.size, proof: Array(proof.dropLast()), root: T.b64(v.root)))
        #expect(!Merkle.verifyInclusion(leafHash: T.b64(v.leaf), index: v.index, size: v.size, proof: proof + [proof[0]], root: T.b64(v.root)))
    }

    struct ConsistencyVector: Sendable { let old, new: Int; let proof: [String] }
    static let consistencyVectors = [
        ConsistencyVector(old: 1, new: 8, proof: ["lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=", "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=", "a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ="]),
        ConsistencyVector(old: 6, new: 8, proof: ["DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=", "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=", "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc="]),
        ConsistencyVector(old: 2, new: 5, proof: ["Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=", "vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms="]),
        ConsistencyVector(old: 6, new: 7, proof: ["DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=", "sIaT7C5yFZcTBkHoIR5+7cy0wmQTlj7ubB4u0W/7Gl8=", "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc="]),
    ]

    @Test(arguments: consistencyVectors)
    func consistencyVector(_ v: ConsistencyVector) throws {
        let proof = v.proof.map(T.b64)
        #expect(try Merkle.consistencyProof(oldSize: v.old, newSize: v.new, leafHashes: leaves) == proof)
        #expect(Merkle.verifyConsistency(oldSize: v.old, newSize: v.new, oldRoot: Self.roots[v.old], newRoot: Self.roots[v.new], proof: proof))
        #expect(!Merkle.verifyConsistency(oldSize: v.old, newSize: v.new, oldRoot: Self.roots[v.new], newRoot: Self.roots[v.old], proof: proof))
        #expect(!Merkle.verifyConsistency(oldSize: v.old, newSize: v.new, oldRoot: Self.roots[v.old], newRoot: Self.roots[v.new], proof: []))
    }

    @Test func allProofsOverReferenceTreeVerify() throws {
        let tree = MerkleTree(leafHashes: leaves)
        for size in 1...8 {
            for index in 0..<size {
                let proof = try tree.inclusionProof(index: index, size: size)
                #expect(Merkle.verifyInclusion(leafHash: leaves[index], index: index, size: size, proof: proof, root: Self.roots[size]))
            }
            for old in 0...size {
                let proof = try tree.consistencyProof(oldSize: old, newSize: size)
                #expect(Merkle.verifyConsistency(oldSize: old, newSize: size, oldRoot: Self.roots[old], newRoot: Self.roots[size], proof: proof), "\(old)→\(size)")
            }
        }
    }

    @Test func malformedInputsAreRejectedWithoutTrapping() {
        let root = Self.roots[8]
        let good = try! MerkleTree(leafHashes: leaves).inclusionProof(index: 3, size: 8)
        #expect(!Merkle.verifyInclusion(leafHash: leaves[3], index: 8, size: 8, proof: good, root: root))
        #expect(!Merkle.verifyInclusion(leafHash: leaves[3], index: -1, size: 8, proof: good, root: root))
        #expect(!Merkle.verifyInclusion(leafHash: leaves[3], index: 0, size: 0, proof: [], root: Merkle.emptyRoot))
        #expect(!Merkle.verifyInclusion(leafHash: leaves[3], index: 3, size: Int.max, proof: good, root: root))
        #expect(!Merkle.verifyInclusion(leafHash: [1, 2, 3], index: 3, size: 8, proof: good, root: root))
        #expect(!Merkle.verifyInclusion(leafHash: leaves[3], index: 3, size: 8, proof: good.map { Array($0.prefix(31)) }, root: root))
        #expect(!Merkle.verifyConsistency(oldSize: 5, newSize: 4, oldRoot: Self.roots[5], newRoot: Self.roots[4], proof: []))
        #expect(!Merkle.verifyConsistency(oldSize: -1, newSize: 4, oldRoot: Self.roots[0], newRoot: Self.roots[4], proof: []))
        #expect(Merkle.verifyConsistency(oldSize: 0, newSize: 4, oldRoot: Self.roots[0], newRoot: Self.roots[4], proof: []))
        #expect(!Merkle.verifyConsistency(oldSize: 0, newSize: 4, oldRoot: Self.roots[0], newRoot: Self.roots[4], proof: [leaves[0]]))
        #expect(Merkle.verifyConsistency(oldSize: 4, newSize: 4, oldRoot: Self.roots[4], newRoot: Self.roots[4], proof: []))
        #expect(!Merkle.verifyConsistency(oldSize: 4, newSize: 4, oldRoot: Self.roots[4], newRoot: Self.roots[5], proof: []))
        #expect(!Merkle.verifyConsistency(oldSize: 3, newSize: Int.max, oldRoot: Self.roots[3], newRoot: Self.roots[8], proof: [leaves[0]]))
        #expect(throws: AuditError.self) { try MerkleTree(leafHashes: leaves).inclusionProof(index: 8, size: 8) }
        #expect(throws: AuditError.self) { try MerkleTree(leafHashes: leaves).consistencyProof(oldSize: 5, newSize: 9) }
    }
}
