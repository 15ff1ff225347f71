import Foundation

/// A self-contained proof that one audit entry is in a node's log, checkable by anyone with the
/// node's log key and nothing else: the entry, its index, the signed checkpoint and the RFC 9162
/// audit path. Serialized as stable JSON.
public struct InclusionProof: Sendable, Equatable {
    public let index: Int
    public let entry: [UInt8]
    public let treeSize: Int
    public let root: [UInt8]
    /// The signed checkpoint note the proof is against.
    public let checkpointNote: String
    public let hashes: [[UInt8]]

    public init(index: Int, entry: [UInt8], treeSize: Int, root: [UInt8], checkpointNote: String, hashes: [[UInt8]]) {
        self.index = index
        self.entry = entry
        self.treeSize = treeSize
        self.root = root
        self.checkpointNote = checkpointNote
        self.hashes = hashes
    }

    /// Builds a proof for entry `index` from an export's `log/` directory (its `checkpoint`).
    public static func make(logDirectory: URL, index: Int) throws(AuditError) -> InclusionProof {
        let note = try FileIO.readText(logDirectory.appending(path: "checkpoint"))
        let checkpoint = try Checkpoint(parsingBody: try SignedNote(parsing: note).text)
        let entries = try TileLogDirectory.readEntries(from: logDirectory, size: checkpoint.size)
        return try make(entries: entries, index: index, checkpointNote: note)
    }

    /// Builds a proof for entry `index` of `entries` against a signed checkpoint over them (or a prefix).
    public static func make(entries: [[UInt8]], index: Int, checkpointNote: String) throws(AuditError) -> InclusionProof {
        let checkpoint = try Checkpoint(parsingBody: try SignedNote(parsing: checkpointNote).text)
        guard checkpoint.size <= entries.count else {
            throw AuditError(.invalidArgument, "checkpoint size \(checkpoint.size) exceeds the \(entries.count) entries")
        }
        guard index >= 0, index < checkpoint.size else {
            throw AuditError(.invalidArgument, "entry index \(index) is outside the checkpoint's \(checkpoint.size) entries")
        }
        let tree = MerkleTree(entries: Array(entries.prefix(checkpoint.size)))
        return InclusionProof(index: index, entry: entries[index], treeSize: checkpoint.size,
                              root: checkpoint.root, checkpointNote: checkpointNote, hashes: try tree.inclusionProof(index: index, size: checkpoint.size))
    }

    /// Checks the checkpoint signature under `logKey`, that the proof's size and root are the
    /// signed ones, and the audit path. Returns the checkpoint on success.
    @discardableResult
    public func verify(logKey: NoteVerifierKey) throws(AuditError) -> Checkpoint {
        let (checkpoint, _) = try Checkpoint.verified(checkpointNote, logKey: logKey)
        guard checkpoint.size == treeSize, checkpoint.root == root else {
            throw AuditError(.malformedProof, "proof claims size \(treeSize) and root \(Bytes.base64(root)) but the signed checkpoint says size \(checkpoint.size), root \(checkpoint.rootBase64)")
        }
        guard Merkle.verifyInclusion(leafHash: Merkle.leafHash(entry), index: index, size: treeSize, proof: hashes, root: root) else {
            throw AuditError(.malformedProof, "entry \(index) is not included in '\(checkpoint.origin)' at size \(treeSize): the audit path does not lead to the signed root")
        }
        return checkpoint
    }

    /// Stable JSON (sorted keys, base64 byte fields).
    public var json: String {
        CanonicalJSON.object([
            "index": .int(Int64(index)),
            "entry": .string(Bytes.base64(entry)),
            "treeSize": .int(Int64(treeSize)),
            "root": .string(Bytes.base64(root)),
            "checkpoint": .string(checkpointNote),
            "proof": .array(hashes.map { .string(Bytes.base64($0)) }),
        ]).text
    }

    public init(json: String) throws(AuditError) {
        guard case .object(let m) = try CanonicalJSON.parse(Array(json.utf8)),
              case .int(let index)? = m["index"], case .string(let entry)? = m["entry"], case .int(let size)? = m["treeSize"],
              case .string(let root)? = m["root"], case .string(let note)? = m["checkpoint"], case .array(let proof)? = m["proof"],
              let entryBytes = Bytes.fromBase64(entry), let rootBytes = Bytes.fromBase64(root) else {
            throw AuditError(.malformedProof, "inclusion proof JSON needs index, entry (base64), treeSize, root (base64), checkpoint (note) and proof (base64 list)")
        }
        var hashes = [[UInt8]]()
        for p in proof {
            guard case .string(let h) = p, let bytes = Bytes.fromBase64(h) else { throw AuditError(.malformedProof, "proof hashes must be base64 strings") }
            hashes.append(bytes)
        }
        self.init(index: Int(index), entry: entryBytes, treeSize: Int(size), root: rootBytes, checkpointNote: note, hashes: hashes)
    }
}
