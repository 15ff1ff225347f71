/// The C2SP signed-note signature types this module speaks. Keeping them distinct in the type
/// system stops a log key from being used as a witness key (design: no key reuse across types).
public enum NoteKeyType: UInt8, Sendable, Equatable {
    /// Plain Ed25519 note signature (signed-note v1): used for a node's log checkpoints.
    case ed25519 = 0x01
    /// Timestamped Ed25519 cosignature (tlog-cosignature v1): used by witnesses.
    case cosignatureV1 = 0x04
}
