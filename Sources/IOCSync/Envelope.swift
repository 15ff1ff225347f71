import Crypto
import Foundation

/// A DSSE envelope (secure-systems-lab/dsse v1) in a compact binary frame.
///
/// The signature covers the pre-authentication encoding of the payload type and the exact payload
/// bytes, and is verified *before* the payload is decompressed or parsed. The frame
/// (docs/wire-format.md §4) carries the same fields as DSSE's JSON form without base64, so the
/// bytes on the wire stay near the compressed payload size.
public struct Envelope: Sendable, Hashable {
    public static let magic: [UInt8] = Array("IOCE".utf8)
    public static let formatVersion: UInt8 = 1

    public struct Signature: Sendable, Hashable {
        /// A hint naming the signing key (`<node-id>`); authority comes from the trust registry.
        public var keyID: String
        public var signature: [UInt8]
        public init(keyID: String, signature: [UInt8]) {
            self.keyID = keyID
            self.signature = signature
        }
    }

    public var payloadType: String
    public var payload: [UInt8]
    public var signatures: [Signature]

    public init(payloadType: String, payload: [UInt8], signatures: [Signature] = []) {
        self.payloadType = payloadType
        self.payload = payload
        self.signatures = signatures
    }

    /// DSSE PAE: `"DSSEv1" SP len(type) SP type SP len(body) SP body`.
    public static func pae(payloadType: String, payload: [UInt8]) -> [UInt8] {
        var out = Array("DSSEv1 \(payloadType.utf8.count) \(payloadType) \(payload.count) ".utf8)
        out.append(contentsOf: payload)
        return out
    }

    public mutating func sign(keyID: String, with key: Curve25519.Signing.PrivateKey) throws {
        let sig = try key.signature(for: Self.pae(payloadType: payloadType, payload: payload))
        signatures.append(Signature(keyID: keyID, signature: Array(sig)))
    }

    /// `true` when a signature with `keyID` verifies under `publicKey`. Signature bytes are never
    /// compared (Ed25519 signing is randomised on some platforms); only verification results count.
    public func isSigned(by keyID: String, publicKey: Curve25519.Signing.PublicKey) -> Bool {
        let message = Self.pae(payloadType: payloadType, payload: payload)
        return signatures.contains { $0.keyID == keyID && publicKey.isValidSignature($0.signature, for: message) }
    }

    public func encoded() -> [UInt8] {
        var w = BinaryWriter(capacity: payload.count + 160)
        w.raw(Self.magic)
        w.u8(Self.formatVersion)
        w.string(payloadType)
        w.blob(payload)
        w.uvarint(UInt64(signatures.count))
        for s in signatures {
            w.string(s.keyID)
            w.blob(s.signature)
        }
        return w.bytes
    }

    public init(decoding bytes: [UInt8], maxPayloadBytes: Int) throws(DecodeError) {
        var r = BinaryReader(bytes)
        guard r.remaining >= 5, Array(try r.take(4)) == Self.magic else { throw DecodeError("not a signed envelope") }
        let version = try r.u8()
        guard version == Self.formatVersion else { throw DecodeError("unsupported envelope version \(version)") }
        payloadType = try r.string()
        let n = try r.length(max: maxPayloadBytes)
        payload = Array(try r.take(n))
        let count = try r.length(max: 8)
        signatures = []
        for _ in 0..<count {
            let keyID = try r.string()
            let sig = Array(try r.take(try r.length(max: 128)))
            signatures.append(Signature(keyID: keyID, signature: sig))
        }
        guard r.isAtEnd else { throw DecodeError("trailing bytes after the envelope") }
    }
}
