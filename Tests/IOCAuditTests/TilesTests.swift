import Foundation
import Testing
@testable import IOCAudit

/// tlog-tiles: path encoding, which tiles exist, entry bundles, and a full write/read/recheck.
@Suite struct TilesTests {
    @Test func indexEncoding() {
        #expect(TilePath.encodeIndex(0) == "000")
        #expect(TilePath.encodeIndex(5) == "005")
        #expect(TilePath.encodeIndex(999) == "999")
        #expect(TilePath.encodeIndex(1000) == "x001/000")
        #expect(TilePath.encodeIndex(1_234_067) == "x001/x234/067")
        #expect(TilePath.tile(level: 1, index: 3, partialWidth: 17) == "tile/1/003.p/17")
        #expect(TilePath.entries(index: 1_234_067) == "tile/entries/x001/x234/067")
        #expect(TilePath.entries(index: 2, partialWidth: 256) == "tile/entries/002")
    }

    @Test func tileSetMatchesSpecExamples() {
        let t256 = Tiles.hashTiles(MerkleTree(leafHashes: T.leafHashes(256))).map(\.path)
        #expect(t256 == ["tile/0/000", "tile/1/000.p/1"])
        let t70k = Tiles.hashTiles(MerkleTree(leafHashes: T.leafHashes(70_000)))
        let paths = t70k.map(\.path)
        #expect(paths.filter { $0.hasPrefix("tile/0/") && !$0.contains(".p/") }.count == 273)
        #expect(paths.contains("tile/0/273.p/112"))
        #expect(paths.suffix(3) == ["tile/1/000", "tile/1/001.p/17", "tile/2/000.p/1"])
        #expect(t70k.first { $0.path == "tile/1/000" }!.bytes.count == 8192)
        #expect(Tiles.hashTiles(MerkleTree(leafHashes: [])).isEmpty)
    }

    @Test func upperLevelHashesAreRootsOfFullTilesBelow() throws {
        let leaves = T.leafHashes(600)
        let tiles = Tiles.hashTiles(MerkleTree(leafHashes: leaves))
        let level1 = tiles.first { $0.path == "tile/1/000.p/2" }!.bytes
        #expect(Array(level1.prefix(32)) == Merkle.root(of: Array(leaves[0..<256])))
        #expect(Array(level1.suffix(32)) == Merkle.root(of: Array(leaves[256..<512])))
        #expect(tiles.first { $0.path == "tile/0/002.p/88" }!.bytes.count == 88 * 32)
    }

    @Test func entryBundlesRoundTripAndRefuseLargeEntries() throws {
        let entries: [[UInt8]] = [[], [1], [UInt8](repeating: 7, count: 65_535)]
        let bundle = try EntryBundle.encode(entries)
        #expect(Array(bundle.prefix(5)) == [0, 0, 0, 1, 1])
        #expect(try EntryBundle.decode(bundle) == entries)
        #expect(T.errorCode { _ = try EntryBundle.encode([[UInt8](repeating: 0, count: 65_536)]) } == .entryTooLarge)
        #expect(T.errorCode { _ = try EntryBundle.decode(Array(bundle.dropLast())) } == .malformedBundle)
        #expect(T.errorCode { _ = try EntryBundle.decode([0]) } == .malformedBundle)
    }

    @Test func writeReadAndRecheckADirectory() throws {
        let dir = T.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let entries = (0..<700).map { Array("entry \($0)".utf8) }
        let signer = T.logSigner("n1")
        let note = try TileLogDirectory.write(entries: entries, origin: signer.name, signer: signer, to: dir)
        let (cp, _) = try Checkpoint.verified(try FileIO.readText(dir.appending(path: "checkpoint")), logKey: signer.verifierKey)
        #expect(cp.size == 700)
        #expect(try FileIO.readText(dir.appending(path: "checkpoint")) == note)
        for path in ["tile/0/000", "tile/0/001", "tile/0/002.p/188", "tile/1/000.p/2", "tile/entries/000", "tile/entries/002.p/188"] {
            #expect(FileIO.exists(dir.appending(path: path)), "\(path)")
        }
        let read = try TileLogDirectory.readEntries(from: dir, size: cp.size)
        #expect(read == entries)
        let tree = MerkleTree(entries: read)
        #expect(tree.root == cp.root)
        #expect(TileLogDirectory.recheckTiles(in: dir, tree: tree).isEmpty)

        // A flipped byte in a tile is named.
        let tile = dir.appending(path: "tile/0/001")
        var bytes = try FileIO.read(tile)
        bytes[100] ^= 1
        try FileIO.write(bytes, to: tile)
        let findings = TileLogDirectory.recheckTiles(in: dir, tree: tree)
        #expect(findings.count == 1 && findings[0].code == .tileMismatch && findings[0].message.contains("tile/0/001") && findings[0].message.contains("hash 3"))
    }

    @Test func writerRefusesACheckpointThatDoesNotMatch() throws {
        let signer = T.logSigner("n1")
        let note = try Checkpoint(origin: signer.name, size: 2, root: Merkle.emptyRoot).signed(by: signer)
        #expect(T.errorCode { try TileLogDirectory.write(entries: [[1], [2]], checkpointNote: note, to: T.scratch()) } == .invalidArgument)
    }
}
