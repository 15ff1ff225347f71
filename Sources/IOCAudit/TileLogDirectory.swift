import Foundation

/// Reads and writes a tlog-tiles log in a local directory (`checkpoint`, `tile/<L>/<N>`,
/// `tile/entries/<N>`), so the export can be served statically or checked by generic tools such
/// as Tessera's `fsck`. Write order is entries, then tiles, then the checkpoint (atomic rename),
/// so a reader never sees a checkpoint whose tiles are missing.
public enum TileLogDirectory {
    /// Writes every entry bundle and tile for `entries`, then `checkpoint` holding `checkpointNote`
    /// (a signed note whose size must equal `entries.count`).
    public static func write(entries: [[UInt8]], checkpointNote: String, to directory: URL) throws(AuditError) {
        let checkpoint = try Checkpoint(parsingBody: try SignedNote(parsing: checkpointNote).text)
        guard checkpoint.size == entries.count else {
            throw AuditError(.invalidArgument, "checkpoint size \(checkpoint.size) differs from the \(entries.count) entries to write")
        }
        let tree = MerkleTree(entries: entries)
        guard tree.root == checkpoint.root else {
            throw AuditError(.invalidArgument, "checkpoint root does not match the entries; sign a checkpoint over exactly these entries")
        }
        for r in try Tiles.entryBundles(entries) { try FileIO.write(r.bytes, to: directory.appending(path: r.path)) }
        for r in Tiles.hashTiles(tree) { try FileIO.write(r.bytes, to: directory.appending(path: r.path)) }
        try FileIO.write(checkpointNote, to: directory.appending(path: "checkpoint"))
    }

    /// Builds, signs and writes a log: returns the signed checkpoint note.
    @discardableResult
    public static func write(entries: [[UInt8]], origin: String, signer: NoteSigner, to directory: URL) throws(AuditError) -> String {
        let note = try Checkpoint(origin: origin, size: entries.count, root: MerkleTree(entries: entries).root).signed(by: signer)
        try write(entries: entries, checkpointNote: note, to: directory)
        return note
    }

    /// Finds the stored resource for a tile or bundle of `width` at `base`: the exact one, else
    /// the full one, else a wider partial one (tlog-tiles lets logs drop partial tiles once a
    /// wider one exists). Returns the path found and its bytes.
    static func locate(_ directory: URL, base: String, width: Int) -> (path: String, bytes: [UInt8])? {
        var candidates = [width == TilePath.width ? base : "\(base).p/\(width)", base]
        let wider = FileIO.list(directory.appending(path: base + ".p")).compactMap { Int($0) }.filter { $0 > width }.sorted()
        candidates += wider.map { "\(base).p/\($0)" }
        for path in candidates {
            let url = directory.appending(path: path)
            if FileIO.exists(url), let bytes = try? FileIO.read(url) { return (path, bytes) }
        }
        return nil
    }

    /// Reads the first `size` entries from the entry bundles. Throws `missingFile` when a bundle is
    /// absent and `malformedBundle` when one is truncated or has too few entries.
    public static func readEntries(from directory: URL, size: Int) throws(AuditError) -> [[UInt8]] {
        var entries = [[UInt8]]()
        entries.reserveCapacity(size)
        for (base, width) in Tiles.entryBundlePaths(size: size) {
            guard let (path, bytes) = locate(directory, base: base, width: width) else {
                throw AuditError(.missingFile, "entry bundle \(base)\(width < TilePath.width ? ".p/\(width)" : "") is missing")
            }
            let bundle: [[UInt8]]
            do { bundle = try EntryBundle.decode(bytes) } catch {
                throw AuditError(.malformedBundle, "entry bundle \(path): \(error.message)")
            }
            guard bundle.count >= width, path.hasSuffix(".p/\(bundle.count)") || (path == base && bundle.count == TilePath.width) else {
                throw AuditError(.malformedBundle, "entry bundle \(path) holds \(bundle.count) entries; its name and the checkpoint need \(width)")
            }
            entries += bundle.prefix(width)
        }
        return entries
    }

    /// Recomputes every tile the tree needs and compares each byte for byte with the stored one.
    /// Returns findings naming the first differing hash of each bad tile, and each missing tile.
    public static func recheckTiles(in directory: URL, tree: MerkleTree) -> [Finding] {
        var findings = [Finding]()
        for expected in Tiles.hashTiles(tree) {
            guard let (path, stored) = locate(directory, base: expected.base, width: expected.width) else {
                findings.append(Finding(.missingTile, .incomplete, "tile \(expected.path) is missing", subject: expected.path))
                continue
            }
            let storedWidth = path == expected.base ? TilePath.width : Int(path.split(separator: "/").last ?? "") ?? -1
            let prefix = Array(stored.prefix(expected.bytes.count))
            if stored.count != storedWidth * 32 || prefix != expected.bytes {
                let firstBad = zip(prefix, expected.bytes).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset
                    ?? min(stored.count, expected.bytes.count)
                findings.append(Finding(.tileMismatch, .failure,
                    "tile \(path) differs from the tile recomputed from the entries at hash \(firstBad / 32) (byte \(firstBad); stored \(stored.count) bytes, expected \(storedWidth * 32))",
                    subject: path))
            }
        }
        return findings
    }
}
