/// RFC 6962 / RFC 9162 Merkle tree hashing and proof verification. Stateless functions over
/// 32-byte SHA-256 hashes so that any component (node, auditor, tests) computes identical values.
/// Verifiers never trap: malformed input (index ≥ size, wrong proof length, wrong hash length)
/// simply fails verification.
public enum Merkle {
    /// Size of every hash in the tree.
    public static let hashSize = 32

    /// Root of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1).
    public static let emptyRoot: [UInt8] = Bytes.sha256([])

    /// Leaf hash: SHA-256(0x00 ‖ data).
    public static func leafHash(_ data: [UInt8]) -> [UInt8] { Bytes.sha256([0x00], data) }

    /// Interior node hash: SHA-256(0x01 ‖ left ‖ right).
    public static func nodeHash(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] { Bytes.sha256([0x01], left, right) }

    /// Root over a list of leaf hashes (O(n)).
    public static func root(of leafHashes: [[UInt8]]) -> [UInt8] {
        var acc = MerkleAccumulator()
        for h in leafHashes { acc.append(h) }
        return acc.root
    }

    /// Inclusion proof (RFC 6962 §2.1.1 PATH) for `index` in the tree made of the first `size`
    /// of `leafHashes`.
    public static func inclusionProof(index: Int, size: Int, leafHashes: [[UInt8]]) throws(AuditError) -> [[UInt8]] {
        guard size <= leafHashes.count else {
            throw AuditError(.invalidArgument, "tree size \(size) exceeds the \(leafHashes.count) leaves given")
        }
        return try MerkleTree(leafHashes: Array(leafHashes.prefix(size))).inclusionProof(index: index, size: size)
    }

    /// Consistency proof (RFC 6962 §2.1.2 PROOF) from tree size `oldSize` to `newSize`.
    public static func consistencyProof(oldSize: Int, newSize: Int, leafHashes: [[UInt8]]) throws(AuditError) -> [[UInt8]] {
        guard newSize <= leafHashes.count else {
            throw AuditError(.invalidArgument, "tree size \(newSize) exceeds the \(leafHashes.count) leaves given")
        }
        return try MerkleTree(leafHashes: Array(leafHashes.prefix(newSize))).consistencyProof(oldSize: oldSize, newSize: newSize)
    }

    /// RFC 9162 §2.1.3.2: does `proof` show that `leafHash` is leaf `index` of the tree of `size`
    /// leaves with `root`?
    public static func verifyInclusion(leafHash: [UInt8], index: Int, size: Int, proof: [[UInt8]], root: [UInt8]) -> Bool {
        guard let computed = rootFromInclusion(leafHash: leafHash, index: index, size: size, proof: proof) else { return false }
        return computed == root
    }

    /// The root implied by an inclusion proof, or nil when the proof is malformed for (index, size).
    public static func rootFromInclusion(leafHash: [UInt8], index: Int, size: Int, proof: [[UInt8]]) -> [UInt8]? {
        guard index >= 0, size > 0, index < size, leafHash.count == hashSize,
              proof.count <= 64, proof.allSatisfy({ $0.count == hashSize }) else { return nil }
        var fn = index
        var sn = size - 1
        var r = leafHash
        for p in proof {
            if sn == 0 { return nil }
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
        return sn == 0 ? r : nil
    }

    /// RFC 9162 §2.1.4.2: does `proof` show that the tree (`oldSize`, `oldRoot`) is a prefix of
    /// (`newSize`, `newRoot`)? Equal sizes need an empty proof and equal roots; old size 0 needs
    /// an empty proof and the empty-tree root.
    public static func verifyConsistency(oldSize: Int, newSize: Int, oldRoot: [UInt8], newRoot: [UInt8], proof: [[UInt8]]) -> Bool {
        guard oldSize >= 0, newSize >= oldSize, oldRoot.count == hashSize, newRoot.count == hashSize,
              proof.count <= 128, proof.allSatisfy({ $0.count == hashSize }) else { return false }
        if oldSize == newSize { return proof.isEmpty && oldRoot == newRoot }
        if oldSize == 0 { return proof.isEmpty && oldRoot == emptyRoot }
        if proof.isEmpty { return false }
        var path = proof
        if oldSize & (oldSize - 1) == 0 { path.insert(oldRoot, at: 0) }
        var fn = oldSize - 1
        var sn = newSize - 1
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
        return sn == 0 && fr == oldRoot && sr == newRoot
    }
}
