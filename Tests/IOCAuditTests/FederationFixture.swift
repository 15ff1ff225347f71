import Foundation
@testable import IOCAudit

/// Builds audit exports for small test federations: each node's events, the sizes at which it
/// signed checkpoints, and the peers that cosigned each checkpoint.
struct NodeFixture {
    static let federation = "fed.example"
    let node: String
    var events: [AuditEvent]
    /// Sizes at which the node signed checkpoints; the last one is exported as `log/checkpoint`.
    var checkpointSizes: [Int]
    var cosigners: [String]
    var exportedAt: Int64 = 1_000_000

    var origin: String { Checkpoint.logOrigin(federation: Self.federation, node: node) }
    var entries: [[UInt8]] { events.map { try! $0.encoded() } }

    func checkpoint(size: Int) -> Checkpoint {
        try! Checkpoint(origin: origin, size: size, root: MerkleTree(entries: Array(entries.prefix(size))).root)
    }

    /// Writes the export into `dir` and returns the signed checkpoint notes by size.
    @discardableResult
    func export(to dir: URL) throws -> [Int: String] {
        let signer = T.logSigner(node)
        var notes = [Int: String]()
        for size in checkpointSizes { notes[size] = try checkpoint(size: size).signed(by: signer) }
        var cosignatures = [String: [String]]()
        var keys = [String: NoteVerifierKey]()
        for peer in cosigners {
            keys[peer] = T.witness(peer).verifierKey
            cosignatures[peer] = try checkpointSizes.map { try T.witness(peer).cosign(note: notes[$0]!, timestamp: 1_700_000_000) }
        }
        let latest = checkpointSizes.last!
        let export = AuditExport(
            meta: try ExportMeta(federation: Self.federation, node: node, exportedAt: exportedAt),
            entries: Array(entries.prefix(latest)), checkpointNote: notes[latest]!,
            earlierCheckpointNotes: checkpointSizes.map { notes[$0]! }, cosignatures: cosignatures,
            nodeKey: signer.verifierKey, witnessKey: T.witness(node).verifierKey, peerWitnessKeys: keys)
        try export.write(to: dir)
        return notes
    }

    static func hash(_ label: String) -> String { Bytes.hex(Bytes.sha256(Array(label.utf8))) }

    static func sent(_ from: String, to: String, seq: Int64, at: Int64, payload: String? = nil) -> AuditEvent {
        AuditEvent(type: .bundleSent, at: at, node: from, peer: to, seq: seq, hash: hash(payload ?? "\(from)>\(to)#\(seq)"), entries: 3)
    }

    static func applied(_ at_node: String, from: String, seq: Int64, at: Int64, knowledge: Int64, payload: String? = nil,
                        type: AuditEventType = .bundleApplied) -> AuditEvent {
        AuditEvent(type: type, at: at, node: at_node, peer: from, seq: seq, hash: hash(payload ?? "\(from)>\(at_node)#\(seq)"),
                   entries: 3, knowledge: ["\(federation)/journal/\(from)": knowledge], reason: type == .bundleRefused ? "schema" : nil)
    }

    /// Two nodes: n1 sends bundles 1...3 to n2, n2 applies them and cosigns n1's checkpoints.
    static func pair() -> (a: NodeFixture, b: NodeFixture) {
        var a = NodeFixture(node: "n1", events: [], checkpointSizes: [], cosigners: ["n2"])
        a.events = (1...3).map { sent("n1", to: "n2", seq: $0, at: 1000 * $0) }
        a.events.append(AuditEvent(type: .policyApplied, at: 3500, node: "n1", policyVersion: 4))
        a.checkpointSizes = [2, 4]
        var b = NodeFixture(node: "n2", events: [], checkpointSizes: [], cosigners: ["n1"])
        b.events = (1...3).map { applied("n2", from: "n1", seq: $0, at: 1000 * $0 + 100, knowledge: 10 * $0) }
        b.events += [2, 4].map { AuditEvent(type: .cosignatureIssued, at: 5000, node: "n2", peer: "n1", checkpoint: .init(a.checkpoint(size: $0))) }
        b.checkpointSizes = [5]
        return (a, b)
    }
}
