import Crypto

/// SHA-256 over a sequence of length-prefixed items: a convergence fingerprint that two replicas
/// can compare without shipping their data.
public struct IncrementalDigest {
    private var hasher = SHA256()
    public init() {}
    public mutating func add(_ bytes: [UInt8]) {
        var w = BinaryWriter(capacity: 10)
        w.uvarint(UInt64(bytes.count))
        hasher.update(data: w.bytes)
        hasher.update(data: bytes)
    }
    public func finish() -> [UInt8] { Array(hasher.finalize()) }
}
