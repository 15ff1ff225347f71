import Foundation
import IOCModel
import IOCStore
import IOCSync

/// Moves signed bundles between nodes as files: the same envelopes, sequence numbers and checks
/// as over HTTP, so a unit with no link carries its delta on a USB stick.
public struct BundleExchange: Sendable {
    public let outbox: Outbox
    public var store: NodeStore { outbox.store }

    public init(store: NodeStore, signer: BundleSigner, sharing: SharingGate) {
        outbox = Outbox(store: store, signer: signer, sharing: sharing)
    }

    /// Hands `sink` every bundle `peer` has not acknowledged (the same bytes as before, so a lost
    /// file costs nothing), then new bundles until nothing is left — at least one, which carries
    /// our knowledge and acknowledgement even when there are no entries. One bundle at a time, in
    /// channel order: memory stays bounded by one bundle, and a bundle the running node seals
    /// meanwhile (it builds its outbox ahead while offline) is taken in turn, leaving no gap.
    /// Returns bundles and entries written.
    @discardableResult
    public func export(to peer: String, sink: ([UInt8]) throws -> Void) throws -> (bundles: Int, entries: Int) {
        var bundles = 0
        var entries = 0
        var last: UInt64 = 0
        while let next = try outbox.next(to: peer, after: last, force: bundles == 0) {
            try sink(next.envelope)
            bundles += 1
            entries += next.entries
            last = next.seq
        }
        return (bundles, entries)
    }
}

/// A bundle file: `IOCF`, a version byte, then length-prefixed envelopes (docs/wire-format.md §4),
/// written by ``BundleFileWriter`` and read by ``BundleFileReader`` one envelope at a time.
public enum BundleFile {
    public static let magic: [UInt8] = Array("IOCF".utf8)
}

/// Writes a bundle file envelope by envelope (bounded memory), to a temporary name renamed into
/// place on ``finish()``, so a crash never leaves a half-written file under the final name.
public final class BundleFileWriter {
    let handle: FileHandle
    let path: String
    public private(set) var bytesWritten = 0

    public init(path: String) throws {
        self.path = path
        _ = FileManager.default.createFile(atPath: path + ".partial", contents: nil)
        guard let h = FileHandle(forWritingAtPath: path + ".partial") else {
            throw DecodeError("cannot write \(path)")
        }
        handle = h
        try write(BundleFile.magic + [1])
    }

    /// Appends one encoded envelope.
    public func append(_ envelope: [UInt8]) throws {
        try write(BundleFrames.encode([envelope]))
    }

    public func finish() throws {
        try handle.synchronize()
        try handle.close()
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        try FileManager.default.moveItem(atPath: path + ".partial", toPath: path)
    }

    func write(_ bytes: [UInt8]) throws {
        try handle.write(contentsOf: Data(bytes))
        bytesWritten += bytes.count
    }
}

/// Reads a bundle file one envelope at a time; each length is checked against the limit before
/// the envelope is read.
public final class BundleFileReader {
    let handle: FileHandle
    let limits: Limits

    public init(path: String, limits: Limits = .default) throws {
        guard let h = FileHandle(forReadingAtPath: path) else { throw DecodeError("cannot read \(path)") }
        handle = h
        self.limits = limits
        guard let head = try h.read(upToCount: 5), Array(head) == BundleFile.magic + [1] else {
            throw DecodeError("not an iocnode bundle file (v1)")
        }
    }

    /// The next encoded envelope, or nil at the end of the file.
    public func next() throws -> [UInt8]? {
        guard let lengthBytes = try handle.read(upToCount: 4), !lengthBytes.isEmpty else { return nil }
        guard lengthBytes.count == 4 else { throw DecodeError("truncated bundle file") }
        let n = Int(lengthBytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        guard n <= limits.bundleWireBytesMax else { throw DecodeError("envelope of \(n) bytes exceeds the limit") }
        guard let body = try handle.read(upToCount: n), body.count == n else { throw DecodeError("truncated bundle file") }
        return Array(body)
    }

    deinit { try? handle.close() }
}
