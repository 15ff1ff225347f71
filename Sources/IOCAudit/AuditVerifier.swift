import Foundation

/// Checks one audit export (see `AuditExport` for the layout) offline: checkpoint signature,
/// entries against the signed root, every tile recomputed, every entry a valid `AuditEvent`,
/// every earlier checkpoint and every peer cosignature consistent with the latest checkpoint, and
/// a spot-check of inclusion proofs. Exit status: 0 verified, 1 integrity failure, 2 incomplete.
public enum AuditVerifier {
    /// Maximum findings of one kind listed individually (the rest are counted).
    static let maxListed = 20

    public static func verify(directory: URL) -> AuditReport { load(directory: directory).report }

    static func load(directory: URL) -> (report: AuditReport, log: LoadedLog?) {
        var f = [Finding]()
        var stats = [String: Int]()
        func done(_ log: LoadedLog? = nil) -> (AuditReport, LoadedLog?) {
            (AuditReport(kind: "verify", subjects: [directory.path], findings: f, stats: stats), log)
        }

        // meta.json and the node's log key.
        let meta: ExportMeta
        do { meta = try ExportMeta(parsing: try FileIO.read(directory.appending(path: "meta.json"))) } catch {
            f.append(Finding(.missingInput, .incomplete, "meta.json: \(error.message)", subject: "meta.json"))
            return done()
        }
        let nodeKey: NoteVerifierKey
        do { nodeKey = try NoteVerifierKey(parsing: try FileIO.readText(directory.appending(path: "keys/node.vkey"))) } catch {
            f.append(Finding(.missingInput, .incomplete, "keys/node.vkey: \(error.message)", subject: "keys/node.vkey"))
            return done()
        }
        guard nodeKey.type == .ed25519 else {
            f.append(Finding(.malformedInput, .incomplete, "keys/node.vkey must be an Ed25519 note key (type 0x01)", subject: "keys/node.vkey"))
            return done()
        }
        if nodeKey.name != meta.logOrigin {
            f.append(Finding(.checkpointOrigin, .failure, "log key name '\(nodeKey.name)' is not the log origin '\(meta.logOrigin)'", subject: "keys/node.vkey"))
        }

        // Latest checkpoint.
        let noteText: String
        do { noteText = try FileIO.readText(directory.appending(path: "log/checkpoint")) } catch {
            f.append(Finding(.missingInput, .incomplete, "log/checkpoint: \(error.message)", subject: "log/checkpoint"))
            return done()
        }
        let checkpoint: Checkpoint
        do { checkpoint = try Checkpoint.verified(noteText, logKey: nodeKey).0 } catch {
            f.append(Finding(.checkpointSignature, .failure, "log/checkpoint does not verify under keys/node.vkey: \(error.message)", subject: "log/checkpoint"))
            return done()
        }
        stats["size"] = checkpoint.size
        if checkpoint.origin != meta.logOrigin {
            f.append(Finding(.checkpointOrigin, .failure, "log/checkpoint origin '\(checkpoint.origin)' is not '\(meta.logOrigin)'", subject: "log/checkpoint"))
        }

        // Earlier checkpoints: signature and size checks need no entries.
        var earlier = [(path: String, checkpoint: Checkpoint)]()
        for name in FileIO.list(directory.appending(path: "checkpoints")) {
            let path = "checkpoints/\(name)"
            do {
                let cp = try Checkpoint.verified(try FileIO.readText(directory.appending(path: path)), logKey: nodeKey).0
                guard String(cp.size) == name, cp.origin == checkpoint.origin else {
                    f.append(Finding(.earlierCheckpointSignature, .failure, "\(path) holds a checkpoint of '\(cp.origin)' at size \(cp.size); the file name and origin must match", subject: path))
                    continue
                }
                earlier.append((path, cp))
            } catch {
                f.append(Finding(.earlierCheckpointSignature, .failure, "\(path) does not verify under keys/node.vkey: \(error.message)", subject: path))
            }
        }
        for (path, cp) in earlier where cp.size > checkpoint.size {
            f.append(Finding(.rollback, .failure, "\(path) is a checkpoint the node signed at size \(cp.size), larger than log/checkpoint (size \(checkpoint.size)): the log was rolled back or truncated", subject: path))
        }
        stats["checkpoints"] = earlier.count

        // Peer cosignatures over this log.
        var peerKeys = [String: NoteVerifierKey]()
        var cosigned = [(peer: String, path: String, checkpoint: Checkpoint)]()
        for peer in FileIO.list(directory.appending(path: "cosignatures")) {
            let keyPath = "keys/\(peer).vkey"
            guard let key = try? NoteVerifierKey(parsing: FileIO.readText(directory.appending(path: keyPath))), key.type == .cosignatureV1,
                  let verifier = try? CosignatureVerifier(key: key) else {
                f.append(Finding(.cosignatureKeyMissing, .incomplete, "cosignatures/\(peer)/ present but \(keyPath) is missing or not a witness (type 0x04) key", subject: keyPath))
                continue
            }
            peerKeys[peer] = key
            for name in FileIO.list(directory.appending(path: "cosignatures/\(peer)")) {
                let path = "cosignatures/\(peer)/\(name)"
                do {
                    let note = try FileIO.readText(directory.appending(path: path))
                    let (cp, _) = try verifier.verify(note: note)
                    if try SignedNote(parsing: note).signatures.contains(where: { $0.name == nodeKey.name && $0.keyID == nodeKey.keyID }) {
                        _ = try NoteVerifier(keys: [nodeKey]).verify(note)
                    }
                    guard cp.origin == checkpoint.origin, String(cp.size) == name else {
                        f.append(Finding(.cosignatureInvalid, .failure, "\(path) cosigns '\(cp.origin)' at size \(cp.size); expected this log's origin and the size in the file name", subject: path))
                        continue
                    }
                    cosigned.append((peer, path, cp))
                } catch {
                    f.append(Finding(.cosignatureInvalid, .failure, "\(path): \(error.message)", subject: path))
                }
            }
        }
        for name in FileIO.list(directory.appending(path: "keys")) where name.hasSuffix(".vkey") && !["node.vkey", "node-witness.vkey"].contains(name) {
            let peer = String(name.dropLast(5))
            if peerKeys[peer] == nil, let key = try? NoteVerifierKey(parsing: FileIO.readText(directory.appending(path: "keys/\(name)"))), key.type == .cosignatureV1 {
                peerKeys[peer] = key
            }
        }
        for c in cosigned where c.checkpoint.size > checkpoint.size {
            f.append(Finding(.cosignatureInconsistent, .failure, "peer '\(c.peer)' cosigned size \(c.checkpoint.size) (\(c.path)), larger than log/checkpoint (size \(checkpoint.size)): the log was rolled back after being witnessed", subject: c.path))
        }
        stats["cosignatures"] = cosigned.count
        let witnessKey = try? NoteVerifierKey(parsing: FileIO.readText(directory.appending(path: "keys/node-witness.vkey")))

        // Entries, the tree and its tiles.
        let logDir = directory.appending(path: "log")
        let entries: [[UInt8]]
        do { entries = try TileLogDirectory.readEntries(from: logDir, size: checkpoint.size) } catch {
            let severity: Finding.Severity = error.code == .missingFile ? .incomplete : .failure
            f.append(Finding(error.code == .missingFile ? .entriesMissing : .entriesMalformed, severity, "log/\(error.message)", subject: "log/tile/entries"))
            return done()
        }
        let tree = MerkleTree(entries: entries)
        let rootOK = tree.root == checkpoint.root
        if !rootOK {
            f.append(Finding(.rootMismatch, .failure, "entries do not hash to the root signed in log/checkpoint (size \(checkpoint.size))\(firstEntryDifferingFromTiles(logDir, tree))", subject: "log/checkpoint"))
        }
        f += TileLogDirectory.recheckTiles(in: logDir, tree: tree)
        stats["tiles"] = Tiles.hashTiles(tree).count

        // Every entry is an AuditEvent by this node.
        var events = [(index: Int, event: AuditEvent)]()
        var bad = 0
        for (i, entry) in entries.enumerated() {
            do {
                let event = try AuditEvent(decoding: entry)
                if event.node != meta.node {
                    bad += 1
                    if bad <= maxListed { f.append(Finding(.eventAuthor, .failure, "entry \(i) is authored by '\(event.node)', not '\(meta.node)'", subject: "entry \(i)")) }
                }
                events.append((i, event))
            } catch {
                bad += 1
                if bad <= maxListed { f.append(Finding(.eventMalformed, .failure, "entry \(i) is not a valid audit event: \(error.message)", subject: "entry \(i)")) }
            }
        }
        if bad > maxListed { f.append(Finding(.eventMalformed, .failure, "\(bad - maxListed) more bad entries not listed", subject: "entries")) }
        stats["entries"] = entries.count

        // Consistency of every stored checkpoint and cosignature with the latest, from the tiles.
        if rootOK {
            for (path, cp) in earlier where cp.size <= checkpoint.size {
                if !consistent(cp, latest: checkpoint, tree: tree) {
                    f.append(Finding(.inconsistentCheckpoint, .failure, "\(path) (size \(cp.size), root \(cp.rootBase64)) is not consistent with log/checkpoint (size \(checkpoint.size)): the node signed two different histories", subject: path))
                }
            }
            for c in cosigned where c.checkpoint.size <= checkpoint.size {
                if !consistent(c.checkpoint, latest: checkpoint, tree: tree) {
                    f.append(Finding(.cosignatureInconsistent, .failure, "peer '\(c.peer)' witnessed size \(c.checkpoint.size) with root \(c.checkpoint.rootBase64) (\(c.path)), but this log's entries give a different tree at that size: history was rewritten after it was witnessed", subject: c.path))
                }
            }
            f += spotCheckInclusion(tree: tree, checkpoint: checkpoint)
        }
        f.insert(Finding(.verified, .info, "checked \(entries.count) entries, \(earlier.count) earlier checkpoints, \(cosigned.count) cosignatures"), at: 0)

        var byPeer = [String: [Checkpoint]]()
        for c in cosigned { byPeer[c.peer, default: []].append(c.checkpoint) }
        let log = LoadedLog(directory: directory.path, meta: meta, checkpoint: checkpoint, tree: tree, events: events, nodeKey: nodeKey,
                            witnessKey: witnessKey, peerWitnessKeys: peerKeys, cosigned: byPeer)
        return done(log)
    }

    /// Is `old` a prefix of the tree behind `latest`? Uses an RFC 9162 consistency proof computed
    /// from the entries, so the check is the same one a remote verifier would run.
    static func consistent(_ old: Checkpoint, latest: Checkpoint, tree: MerkleTree) -> Bool {
        guard old.size <= latest.size, let proof = try? tree.consistencyProof(oldSize: old.size, newSize: latest.size) else { return false }
        return Merkle.verifyConsistency(oldSize: old.size, newSize: latest.size, oldRoot: old.root, newRoot: latest.root, proof: proof)
    }

    /// Inclusion proofs for the first, middle and last entries and a deterministic sample.
    static func spotCheckInclusion(tree: MerkleTree, checkpoint: Checkpoint) -> [Finding] {
        let n = checkpoint.size
        guard n > 0 else { return [] }
        var picks: Set<Int> = [0, n / 2, n - 1]
        var x: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(n)
        for _ in 0..<13 {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            picks.insert(Int((x >> 11) % UInt64(n)))
        }
        var out = [Finding]()
        for i in picks.sorted() {
            guard let proof = try? tree.inclusionProof(index: i, size: n),
                  Merkle.verifyInclusion(leafHash: tree.leafHash(at: i), index: i, size: n, proof: proof, root: checkpoint.root) else {
                out.append(Finding(.inclusionProof, .failure, "inclusion proof for entry \(i) does not verify against log/checkpoint", subject: "entry \(i)"))
                continue
            }
        }
        return out
    }

    /// Names the first entry whose leaf hash differs from the stored level-0 tiles, if any.
    static func firstEntryDifferingFromTiles(_ logDir: URL, _ tree: MerkleTree) -> String {
        for tile in Tiles.hashTiles(tree) where tile.base.hasPrefix("tile/0/") {
            guard let (path, stored) = TileLogDirectory.locate(logDir, base: tile.base, width: tile.width) else { continue }
            let tileIndex = Int(tile.base.split(separator: "/").dropFirst(2).joined().replacingOccurrences(of: "x", with: "")) ?? 0
            for i in 0..<tile.width where stored.count >= (i + 1) * 32 {
                if Array(stored[(i * 32)..<((i + 1) * 32)]) != Array(tile.bytes[(i * 32)..<((i + 1) * 32)]) {
                    return "; first entry that differs from its stored leaf hash: entry \(tileIndex * TilePath.width + i) (\(path))"
                }
            }
        }
        return ""
    }
}
