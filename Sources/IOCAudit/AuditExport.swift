import Foundation

/// Everything an auditor needs to check one node's audit log offline, written as plain files.
///
/// Directory layout (all text files UTF-8; notes are C2SP signed notes):
///
///     <dir>/meta.json                  {"exportedAt":<unix ms>,"federation":"…","node":"…"}
///     <dir>/log/checkpoint             latest checkpoint, signed by the node's log key
///     <dir>/log/tile/<L>/<N>[.p/<W>]   tlog-tiles hash tiles (tile height 8)
///     <dir>/log/tile/entries/<N>[.p/<W>]  entry bundles (uint16-length-prefixed AuditEvent JSON)
///     <dir>/checkpoints/<size>         every checkpoint the node signed, the latest included (signed notes)
///     <dir>/cosignatures/<peer>/<size> a checkpoint of this log with <peer>'s cosignature line added
///     <dir>/keys/node.vkey             this node's log verifier key (type 0x01, name = log origin)
///     <dir>/keys/node-witness.vkey     optional: this node's own witness key (type 0x04)
///     <dir>/keys/<peer>.vkey           each peer's witness key (type 0x04)
///
/// `log/` alone is a standard tlog-tiles log (origin `<federation>/log/<node>`), so generic tools
/// (Tessera `fsck`, Go `sumdb/note`) can check it; the rest is what our auditor adds. Peer ids
/// `node` and `node-witness` are reserved.
public struct AuditExport: Sendable {
    public var meta: ExportMeta
    /// The log entries covered by `checkpointNote` (exactly its size).
    public var entries: [[UInt8]]
    public var checkpointNote: String
    public var earlierCheckpointNotes: [String]
    /// Peer id → checkpoint notes carrying that peer's cosignature.
    public var cosignatures: [String: [String]]
    public var nodeKey: NoteVerifierKey
    public var witnessKey: NoteVerifierKey?
    /// Peer id → that peer's witness key.
    public var peerWitnessKeys: [String: NoteVerifierKey]

    public init(meta: ExportMeta, entries: [[UInt8]], checkpointNote: String, earlierCheckpointNotes: [String] = [],
                cosignatures: [String: [String]] = [:], nodeKey: NoteVerifierKey, witnessKey: NoteVerifierKey? = nil,
                peerWitnessKeys: [String: NoteVerifierKey] = [:]) {
        self.meta = meta
        self.entries = entries
        self.checkpointNote = checkpointNote
        self.earlierCheckpointNotes = earlierCheckpointNotes
        self.cosignatures = cosignatures
        self.nodeKey = nodeKey
        self.witnessKey = witnessKey
        self.peerWitnessKeys = peerWitnessKeys
    }

    static let reservedPeerIDs: Set<String> = ["node", "node-witness"]

    /// Writes the export (log last-but-one, meta last). The directory may exist; files are replaced.
    public func write(to directory: URL) throws(AuditError) {
        for peer in Set(cosignatures.keys).union(peerWitnessKeys.keys) {
            try ExportMeta.checkComponent(peer, what: "peer id")
            guard !Self.reservedPeerIDs.contains(peer) else {
                throw AuditError(.invalidArgument, "peer id '\(peer)' is reserved in the export layout; rename the peer")
            }
        }
        try FileIO.write(nodeKey.text + "\n", to: directory.appending(path: "keys/node.vkey"))
        if let witnessKey { try FileIO.write(witnessKey.text + "\n", to: directory.appending(path: "keys/node-witness.vkey")) }
        for (peer, key) in peerWitnessKeys { try FileIO.write(key.text + "\n", to: directory.appending(path: "keys/\(peer).vkey")) }
        for note in earlierCheckpointNotes {
            let size = try Checkpoint(parsingBody: try SignedNote(parsing: note).text).size
            try FileIO.write(note, to: directory.appending(path: "checkpoints/\(size)"))
        }
        for (peer, notes) in cosignatures {
            for note in notes {
                let size = try Checkpoint(parsingBody: try SignedNote(parsing: note).text).size
                try FileIO.write(note, to: directory.appending(path: "cosignatures/\(peer)/\(size)"))
            }
        }
        try TileLogDirectory.write(entries: entries, checkpointNote: checkpointNote, to: directory.appending(path: "log"))
        try FileIO.write(meta.json + "\n", to: directory.appending(path: "meta.json"))
    }
}
