import IOCIdentity
import IOCModel
import IOCStore
import IOCSync
import NIOCore

/// Receives a run of bundles on two cores: bundle n+1 is verified and decoded (signature,
/// decompression, entry parsing) on another thread while bundle n is written. Used by
/// `bundle import` and by the streamed `POST /sync/v1/bundles`, so a catch-up over HTTP overlaps
/// the two halves of the work as a file import does. Receipts come out in submission order.
public struct BundlePipeline: Sendable {
    public let receiver: BundleReceiver
    let snapshot: TrustSnapshot
    let transportPeer: String?
    private var inFlight: [Task<Result<VerifiedBundle, BundleRefusal>, Never>] = []
    /// The last bundle applied, kept until the next submission hands it to a task that frees it.
    private var applied: [Task<Result<VerifiedBundle, BundleRefusal>, Never>] = []

    /// `transportPeer` is the node proven by the TLS client certificate (nil for a file).
    public init(receiver: BundleReceiver, transportPeer: String?) async {
        self.receiver = receiver
        self.snapshot = await receiver.trust.snapshot()
        self.transportPeer = transportPeer
    }

    /// Starts verifying `envelope`, and applies the bundle before it (whose verification has been
    /// running meanwhile). Returns the receipts of bundles finished by this call.
    public mutating func submit(_ envelope: [UInt8]) async throws -> [Receipt] {
        let me = receiver.store.nodeID
        let (snapshot, limits, peer) = (self.snapshot, receiver.limits, transportPeer)
        if !applied.isEmpty {
            // Freeing an applied bundle (thousands of entries) is work too: done by a task of its
            // own, off the writer's path, instead of between two applies.
            Task.detached(priority: .utility) { [applied = self.applied] in _ = applied }
            applied = []
        }
        inFlight.append(
            Task.detached {
                do throws(BundleRefusal) {
                    return .success(try BundleReceiver.verify(envelope, me: me, trust: snapshot, limits: limits, transportPeer: peer))
                } catch {
                    return .failure(error)
                }
            })
        var done: [Receipt] = []
        while inFlight.count > 1 { done.append(try await finishOldest()) }
        return done
    }

    /// Applies whatever is still being verified; call once the run has ended.
    public mutating func finish() async throws -> [Receipt] {
        var done: [Receipt] = []
        while !inFlight.isEmpty { done.append(try await finishOldest()) }
        return done
    }

    /// Drops bundles not yet applied (after a refusal, the rest of a run would only be held).
    public mutating func cancel() {
        for task in inFlight { task.cancel() }
        inFlight.removeAll()
    }

    private mutating func finishOldest() async throws -> Receipt {
        let task = inFlight.removeFirst()
        let checked = await task.value
        switch checked {
        case .success(let verified):
            let receipt = try await receiver.accept(verified)
            applied.append(task)
            return receipt
        case .failure(let refusal):
            return try receiver.refused(refusal)
        }
    }
}

/// The framing of a run of envelopes, shared by bundle files and streamed HTTP bodies: each
/// envelope as a 4-byte big-endian length and its bytes (docs/wire-format.md §4).
public enum BundleFrames {
    public static func encode(_ envelopes: [[UInt8]]) -> [UInt8] {
        var w = BinaryWriter(capacity: envelopes.reduce(0) { $0 + $1.count + 4 })
        for e in envelopes {
            w.u32be(UInt32(e.count))
            w.raw(e)
        }
        return w.bytes
    }

    /// Cuts complete frames out of bytes as they arrive; each length is checked against the
    /// limit before the frame's bytes are waited for.
    public struct Parser: Sendable {
        let maxFrame: Int
        var buffer = ByteBuffer()

        public init(maxFrame: Int) { self.maxFrame = maxFrame }

        public mutating func append(_ chunk: ByteBuffer) {
            var chunk = chunk
            buffer.writeBuffer(&chunk)
        }

        /// The next complete frame, or nil until more bytes arrive.
        public mutating func next() throws(DecodeError) -> [UInt8]? {
            guard let n = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self).map(Int.init) else { return nil }
            guard n <= maxFrame else { throw DecodeError("envelope of \(n) bytes exceeds the \(maxFrame)-byte limit") }
            guard buffer.readableBytes >= 4 + n else { return nil }
            buffer.moveReaderIndex(forwardBy: 4)
            let frame = buffer.readBytes(length: n) ?? []
            buffer.discardReadBytes()
            return frame
        }

        /// Bytes left that do not make a whole frame (non-zero at the end of a body: truncated).
        public var leftover: Int { buffer.readableBytes }
    }
}
