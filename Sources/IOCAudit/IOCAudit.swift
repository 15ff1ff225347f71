/// Tamper-evident logs (RFC 6962/9162 Merkle trees, C2SP signed notes, checkpoints, cosignatures
/// and tiles) and the offline checks an auditor runs over them. Pure logic over bytes and files;
/// no dependency on the node's store.
public enum IOCAudit {}
