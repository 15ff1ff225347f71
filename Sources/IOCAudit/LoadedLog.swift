/// One export after `AuditVerifier` has read and checked it: what the cross-check builds on.
/// Only produced when the checkpoint signature and entries could be read.
struct LoadedLog: Sendable {
    let directory: String
    let meta: ExportMeta
    let checkpoint: Checkpoint
    let tree: MerkleTree
    /// Decoded events with their leaf index (undecodable entries are skipped and reported).
    let events: [(index: Int, event: AuditEvent)]
    let nodeKey: NoteVerifierKey
    let witnessKey: NoteVerifierKey?
    let peerWitnessKeys: [String: NoteVerifierKey]
    /// Valid cosignatures stored in the export: peer → cosigned checkpoints.
    let cosigned: [String: [Checkpoint]]
}
