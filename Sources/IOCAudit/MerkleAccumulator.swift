/// Append-only Merkle state with O(log n) memory (the "compact range" of the tree): the hashes of
/// the perfect subtrees that make up the tree, largest first. A node keeps one of these to get the
/// current root after each appended audit entry without re-reading the log.
public struct MerkleAccumulator: Sendable, Equatable {
    /// Perfect subtree roots, left to right, with their heights (strictly decreasing).
    public private(set) var peaks: [[UInt8]] = []
    private var heights: [Int] = []
    /// Number of leaves appended so far.
    public private(set) var size: Int = 0

    public init() {}

    /// Appends one leaf hash (use `Merkle.leafHash(entry)`).
    public mutating func append(_ leafHash: [UInt8]) {
        var hash = leafHash
        var height = 0
        while let last = heights.last, last == height {
            hash = Merkle.nodeHash(peaks.removeLast(), hash)
            heights.removeLast()
            height += 1
        }
        peaks.append(hash)
        heights.append(height)
        size += 1
    }

    /// Appends the leaf hash of an entry.
    public mutating func append(entry: [UInt8]) { append(Merkle.leafHash(entry)) }

    /// RFC 6962 root of the leaves appended so far.
    public var root: [UInt8] {
        guard var r = peaks.last else { return Merkle.emptyRoot }
        for p in peaks.dropLast().reversed() { r = Merkle.nodeHash(p, r) }
        return r
    }
}
