/// Every limit the node enforces, in one documented place (TigerBeetle's "put a limit on
/// everything"). Relationships between limits are asserted in `LimitsTests`.
public struct Limits: Sendable, Hashable {
    /// Largest JSON request body the user API reads; larger bodies are refused before parsing.
    public var requestBodyBytesMax = 1 << 20
    /// Largest batch of observations in one request.
    public var observationBatchMax = 1000
    /// Largest page a list request returns.
    public var pageSizeMax = 500
    /// Default page size.
    public var pageSizeDefault = 50
    /// Journal entries in one delta bundle.
    public var bundleEntriesMax = 2000
    /// Uncompressed payload bytes in one delta bundle (entries are cut before this is exceeded).
    public var bundlePayloadBytesMax = 4 << 20
    /// Largest bundle or envelope accepted on the wire or from a file (compressed), checked before reading.
    public var bundleWireBytesMax = 8 << 20
    /// Bundles one streamed push request may carry (each still ≤ `bundleWireBytesMax`; they are
    /// verified and applied as they arrive, so memory holds about two at a time).
    public var bundlesPerRequestMax = 16
    /// Largest single journal entry; also fits the tlog-tiles 65,535-byte entry limit.
    public var entryBytesMax = 60_000
    /// Largest decompressed payload a receiver will inflate (zip-bomb guard).
    public var payloadInflateBytesMax = 16 << 20

    /// Bundles held per peer while waiting for a missing one; more are refused (a peer cannot fill
    /// the disk with bundles from the future).
    public var heldBundlesPerPeerMax = 64
    /// Fork evidence envelopes kept per peer; later forks are still refused and logged, without the bytes.
    public var forkEvidencePerPeerMax = 32

    public init() {}

    public static let `default` = Limits()
}
