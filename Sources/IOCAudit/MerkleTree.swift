/// An in-memory Merkle tree that keeps every perfect subtree hash (about 2n hashes), so that roots
/// at any earlier size, inclusion and consistency proofs, and tlog tiles come out in O(log n).
/// The auditor builds one from the entries it read and derives everything else from it.
public struct MerkleTree: Sendable {
    /// levels[h][i] = hash of the perfect subtree of height h covering leaves [i·2^h, (i+1)·2^h).
    let levels: [[[UInt8]]]

    /// Number of leaves.
    public var size: Int { levels[0].count }

    public init(leafHashes: [[UInt8]]) {
        var levels: [[[UInt8]]] = [leafHashes]
        while let last = levels.last, last.count >= 2 {
            var next = [[UInt8]]()
            next.reserveCapacity(last.count / 2)
            var i = 0
            while i + 1 < last.count {
                next.append(Merkle.nodeHash(last[i], last[i + 1]))
                i += 2
            }
            levels.append(next)
        }
        self.levels = levels
    }

    public init(entries: [[UInt8]]) { self.init(leafHashes: entries.map(Merkle.leafHash)) }

    /// Leaf hash at `index`.
    public func leafHash(at index: Int) -> [UInt8] { levels[0][index] }

    /// Hash of the perfect subtree of `height` at position `index` (used for tiles).
    func perfectSubtree(height: Int, index: Int) -> [UInt8] { levels[height][index] }

    /// MTH(D[start..<end]) for 0 ≤ start < end ≤ size, where the range is one of those arising in
    /// RFC 6962 recursion (start aligned to the largest power of two below end - start).
    func subtreeHash(_ start: Int, _ end: Int) -> [UInt8] {
        let width = end - start
        if width & (width - 1) == 0 && start % width == 0 {
            return levels[width.trailingZeroBitCount][start / width]
        }
        let k = Self.largestPowerOfTwo(below: width)
        return Merkle.nodeHash(subtreeHash(start, start + k), subtreeHash(start + k, end))
    }

    /// Root of the tree made of the first `size` leaves.
    public func root(size: Int) throws(AuditError) -> [UInt8] {
        guard size >= 0, size <= self.size else {
            throw AuditError(.invalidArgument, "tree size \(size) is outside 0...\(self.size)")
        }
        return size == 0 ? Merkle.emptyRoot : subtreeHash(0, size)
    }

    /// Root at the full size.
    public var root: [UInt8] { size == 0 ? Merkle.emptyRoot : subtreeHash(0, size) }

    /// RFC 6962 PATH(index, D[0:size]).
    public func inclusionProof(index: Int, size: Int) throws(AuditError) -> [[UInt8]] {
        guard size > 0, size <= self.size, index >= 0, index < size else {
            throw AuditError(.invalidArgument, "no inclusion proof for index \(index) in a tree of size \(size) (tree has \(self.size) leaves)")
        }
        var proof = [[UInt8]]()
        var (lo, hi, m) = (0, size, index)
        while hi - lo > 1 {
            let k = Self.largestPowerOfTwo(below: hi - lo)
            if m < k {
                proof.append(subtreeHash(lo + k, hi))
                hi = lo + k
            } else {
                proof.append(subtreeHash(lo, lo + k))
                lo += k
                m -= k
            }
        }
        return proof.reversed()
    }

    /// RFC 6962 PROOF(oldSize, D[0:newSize]); empty when oldSize is 0 or equals newSize.
    public func consistencyProof(oldSize: Int, newSize: Int) throws(AuditError) -> [[UInt8]] {
        guard oldSize >= 0, oldSize <= newSize, newSize <= self.size else {
            throw AuditError(.invalidArgument, "no consistency proof from size \(oldSize) to \(newSize) (tree has \(self.size) leaves)")
        }
        if oldSize == 0 || oldSize == newSize { return [] }
        var proof = [[UInt8]]()
        var (lo, hi, m, complete) = (0, newSize, oldSize, true)
        while true {
            let n = hi - lo
            if m == n {
                if !complete { proof.append(subtreeHash(lo, hi)) }
                break
            }
            let k = Self.largestPowerOfTwo(below: n)
            if m <= k {
                proof.append(subtreeHash(lo + k, hi))
                hi = lo + k
            } else {
                proof.append(subtreeHash(lo, lo + k))
                lo += k
                m -= k
                complete = false
            }
        }
        return proof.reversed()
    }

    /// Largest power of two strictly less than n (n ≥ 2).
    static func largestPowerOfTwo(below n: Int) -> Int {
        var k = 1
        while k << 1 < n { k <<= 1 }
        return k
    }
}
