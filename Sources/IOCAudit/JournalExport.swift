import Foundation

/// The journal part of an audit export: proof that the changes a node holds from other origins
/// are exactly what those origins wrote, however many relays they crossed.
///
/// Layout, beside the audit log (see ``AuditExport``):
///
///     <dir>/journal/checkpoint   this node's own journal: checkpoint (origin `<federation>/journal/<node>`,
///                                size = its last sequence number, root over its entries' leaf hashes in
///                                sequence order) signed with its journal key
///     <dir>/journal/leaves       those leaf hashes, 32 bytes each, in sequence order
///     <dir>/keys/journal.vkey    the journal key (type 0x01, name = the journal origin)
///     <dir>/journals.json        this node's copy of every origin's journal:
///                                {"<origin>": {"size": n, "root": "<base64>"}} over the leaf hashes it holds
///                                (content or hash-only positions alike)
///
/// Cross-checking compares every node's copy of origin O's journal with O's signed journal.
public struct JournalExport: Sendable {
    public var checkpointNote: String
    public var leaves: [[UInt8]]
    public var key: NoteVerifierKey
    /// Origin → (size, root) of this node's copy.
    public var copies: [String: (size: Int, root: [UInt8])]

    public init(checkpointNote: String, leaves: [[UInt8]], key: NoteVerifierKey, copies: [String: (size: Int, root: [UInt8])]) {
        self.checkpointNote = checkpointNote
        self.leaves = leaves
        self.key = key
        self.copies = copies
    }

    public func write(to directory: URL) throws(AuditError) {
        try FileIO.write(checkpointNote, to: directory.appending(path: "journal/checkpoint"))
        try FileIO.write(leaves.flatMap { $0 }, to: directory.appending(path: "journal/leaves"))
        try FileIO.write(key.text + "\n", to: directory.appending(path: "keys/journal.vkey"))
        try FileIO.write(Self.copiesJSON(copies), to: directory.appending(path: "journals.json"))
    }

    static func copiesJSON(_ copies: [String: (size: Int, root: [UInt8])]) -> String {
        let items = copies.keys.sorted().map { o in
            "\"\(o)\":{\"root\":\"\(Bytes.base64(copies[o]!.root))\",\"size\":\(copies[o]!.size)}"
        }
        return "{" + items.joined(separator: ",") + "}\n"
    }

    /// Checks the journal files of the exports in `directories`: each node's signed journal, and
    /// every other node's copy of it against it.
    static func check(directories: [URL]) -> [Finding] {
        var f = [Finding]()
        var signed: [String: MerkleTree] = [:]  // origin node → its journal tree
        var copies: [(holder: String, origin: String, size: Int, root: String)] = []
        for dir in directories {
            guard let meta = try? ExportMeta(parsing: try FileIO.read(dir.appending(path: "meta.json"))) else { continue }
            let node = meta.node
            if FileIO.exists(dir.appending(path: "journal/checkpoint")) {
                do {
                    let key = try NoteVerifierKey(parsing: try FileIO.readText(dir.appending(path: "keys/journal.vkey")).trimmingCharacters(in: .whitespacesAndNewlines))
                    let (cp, _) = try Checkpoint.verified(try FileIO.readText(dir.appending(path: "journal/checkpoint")), logKey: key)
                    let raw = try FileIO.read(dir.appending(path: "journal/leaves"))
                    guard raw.count % 32 == 0 else { throw AuditError(.malformedEvent, "journal/leaves is not a list of 32-byte hashes") }
                    let tree = MerkleTree(leafHashes: stride(from: 0, to: raw.count, by: 32).map { Array(raw[$0..<$0 + 32]) })
                    guard cp.origin == Checkpoint.journalOrigin(federation: meta.federation, node: node), cp.size == tree.size,
                        tree.root == cp.root
                    else {
                        f.append(Finding(.rootMismatch, .failure, "\(node)'s journal/leaves do not give the root of its signed journal checkpoint", subject: "\(node) journal"))
                        continue
                    }
                    signed[node] = tree
                } catch {
                    f.append(Finding(.checkpointSignature, .failure, "\(node)'s journal checkpoint does not verify: \(error)", subject: "\(node) journal"))
                }
            }
            if let text = try? FileIO.readText(dir.appending(path: "journals.json")),
                let json = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: [String: Any]]
            {
                for (origin, v) in json {
                    guard let size = v["size"] as? Int, let root = v["root"] as? String else { continue }
                    copies.append((node, origin, size, root))
                }
            }
        }
        for c in copies where c.holder != c.origin {
            guard let tree = signed[c.origin] else { continue }
            guard c.size <= tree.size else {
                f.append(Finding(.pending, .warning, "\(c.holder) holds \(c.size) entries of \(c.origin)'s journal, more than \(c.origin)'s export signs (\(tree.size)): that export is older", subject: "\(c.holder) journal copy of \(c.origin)"))
                continue
            }
            guard let root = try? tree.root(size: c.size), Bytes.base64(root) == c.root else {
                f.append(Finding(.cosignedTreeMismatch, .failure, "\(c.holder)'s copy of \(c.origin)'s journal (\(c.size) entries) differs from what \(c.origin) signed: a relayed entry was altered, dropped or forged", subject: "\(c.holder) journal copy of \(c.origin)"))
                continue
            }
        }
        return f
    }
}
