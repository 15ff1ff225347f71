/// The closed set of things a node records in its audit log. Closed on purpose: an auditor must
/// know what every entry means, so an unknown type is an error rather than something skipped.
public enum AuditEventType: String, Sendable, Equatable, CaseIterable {
    case bundleSent = "bundle.sent"
    case bundleReceived = "bundle.received"
    case bundleApplied = "bundle.applied"
    case bundleRefused = "bundle.refused"
    case bundleHeld = "bundle.held"
    case purge
    case revocationApplied = "revocation.applied"
    case policyApplied = "policy.applied"
    case checkpointSigned = "checkpoint.signed"
    case cosignatureIssued = "cosignature.issued"
    case cosignatureReceived = "cosignature.received"

    /// Bundle events that prove the receiver logged a bundle (for cross-checks).
    public var isReceipt: Bool { [.bundleReceived, .bundleApplied, .bundleHeld, .bundleRefused].contains(self) }
    /// Events about one bundle on a channel: they need peer, seq and hash.
    public var isBundle: Bool { self == .bundleSent || isReceipt }
}
