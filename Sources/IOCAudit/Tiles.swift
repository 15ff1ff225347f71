/// Computes the exact set of tlog-tiles resources (hash tiles and entry bundles) for a tree of a
/// given size, as `path → bytes`. Pure, so that the writer, the checker that recomputes every tile,
/// and tests all use the same function.
public enum Tiles {
    /// One resource that must exist for a tree of some size.
    public struct Resource: Sendable, Equatable {
        public let path: String
        public let bytes: [UInt8]
        /// The path without any `.p/<W>` suffix.
        public let base: String
        /// Hashes or entries it holds (256 when full).
        public let width: Int
    }

    /// Every hash tile for a tree of `tree.size` leaves: full tiles and the partial tile at each
    /// level with width floor(s / 256^l) mod 256 > 0.
    public static func hashTiles(_ tree: MerkleTree) -> [Resource] {
        let s = tree.size
        var out = [Resource]()
        var level = 0
        var span = 1  // 256^level
        while s / span > 0 && level < 8 {
            let hashesAtLevel = s / span            // perfect subtrees of height 8·level
            let full = hashesAtLevel / TilePath.width
            let partial = hashesAtLevel % TilePath.width
            let height = 8 * level
            for n in 0..<(full + (partial > 0 ? 1 : 0)) {
                let w = n < full ? TilePath.width : partial
                var bytes = [UInt8]()
                bytes.reserveCapacity(w * 32)
                for i in 0..<w { bytes += tree.perfectSubtree(height: height, index: n * TilePath.width + i) }
                out.append(Resource(path: TilePath.tile(level: level, index: n, partialWidth: w), bytes: bytes,
                                    base: TilePath.tile(level: level, index: n), width: w))
            }
            level += 1
            guard span <= Int.max / TilePath.width else { break }
            span *= TilePath.width
        }
        return out
    }

    /// Every entry bundle for `entries` (full bundles of 256 and a partial last one).
    public static func entryBundles(_ entries: [[UInt8]]) throws(AuditError) -> [Resource] {
        var out = [Resource]()
        var n = 0
        while n * TilePath.width < entries.count {
            let lo = n * TilePath.width
            let hi = min(lo + TilePath.width, entries.count)
            let w = hi - lo
            out.append(Resource(path: TilePath.entries(index: n, partialWidth: w), bytes: try EntryBundle.encode(Array(entries[lo..<hi])),
                                base: TilePath.entries(index: n), width: w))
            n += 1
        }
        return out
    }

    /// Paths of the entry bundles for a tree of `size`, in order, with their widths.
    public static func entryBundlePaths(size: Int) -> [(base: String, width: Int)] {
        var out = [(base: String, width: Int)]()
        var n = 0
        while n * TilePath.width < size {
            let w = min(TilePath.width, size - n * TilePath.width)
            out.append((TilePath.entries(index: n), w))
            n += 1
        }
        return out
    }
}
