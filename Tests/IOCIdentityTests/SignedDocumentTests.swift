import Crypto
import Foundation
import IOCIdentity
import Testing

/// The CA-signed DSSE envelopes (registry, denylist): round trip and every tampering refused.
@Suite struct SignedDocumentTests {
    let caKey = P256.Signing.PrivateKey()
    let registry = Registry(
        federation: "test", version: 7, issuedAt: Fixture.referenceTime,
        nodes: [.init(id: "a", signingKey: Curve25519.Signing.PrivateKey().publicKey.rawRepresentation.base64EncodedString())])

    func signed() throws -> SignedDocument {
        try SignedDocument(signing: registry, type: Registry.payloadType, by: caKey)
    }

    func payloadBytes(_ d: SignedDocument) throws -> [UInt8] {
        Array(try #require(Data(base64Encoded: d.payload)))
    }

    /// DSSE PAE computed independently of the implementation.
    func pae(_ type: String, _ body: [UInt8]) -> [UInt8] {
        Array("DSSEv1 \(type.utf8.count) \(type) \(body.count) ".utf8) + body
    }

    @Test func roundTripVerifiesWithTheCAKey() throws {
        let doc = try signed()
        #expect(doc.payloadType == Registry.payloadType)
        #expect(doc.signatures.count == 1)
        let decoded = try SignedDocument.decode(try doc.encoded())
        #expect(decoded == doc)
        let opened = try decoded.open(Registry.self, type: Registry.payloadType, key: caKey.publicKey)
        #expect(opened == registry)
        #expect(try decoded.verifiedPayload(expectedType: Registry.payloadType, key: caKey.publicKey) == payloadBytes(doc))
    }

    @Test func signatureIsDSSEOverThePAE() throws {
        let doc = try signed()
        let body = try payloadBytes(doc)
        let der = try #require(Data(base64Encoded: doc.signatures[0].sig))
        let sig = try P256.Signing.ECDSASignature(derRepresentation: der)
        #expect(caKey.publicKey.isValidSignature(sig, for: pae(Registry.payloadType, body)))
        #expect(!caKey.publicKey.isValidSignature(sig, for: body), "the raw payload alone is not what is signed")
        // The JSON envelope has exactly the DSSE fields.
        let json = try #require(try JSONSerialization.jsonObject(with: Data(try doc.encoded())) as? [String: Any])
        #expect(Set(json.keys) == ["payloadType", "payload", "signatures"])
    }

    @Test func payloadIsSignedAsIsNotReEncoded() throws {
        // A payload whose bytes are not what JSONEncoder would produce still opens byte for byte.
        let raw = Array("{ \"federation\":\"test\",\"version\":1,\"issuedAt\":\"x\",\"nodes\":[] }".utf8)
        let doc = try SignedDocument(payloadType: Registry.payloadType, payload: raw, signer: caKey)
        #expect(try doc.verifiedPayload(expectedType: Registry.payloadType, key: caKey.publicKey) == raw)
        #expect(try doc.open(Registry.self, type: Registry.payloadType, key: caKey.publicKey).version == 1)
    }

    @Test func flippedPayloadByteIsRefused() throws {
        let doc = try signed()
        let body = try payloadBytes(doc)
        for index in [0, body.count / 2, body.count - 1] {
            var altered = body
            altered[index] ^= 0x01
            var tampered = doc
            tampered.payload = Data(altered).base64EncodedString()
            let error = #expect(throws: IdentityError.self) {
                try tampered.verifiedPayload(expectedType: Registry.payloadType, key: caKey.publicKey)
            }
            #expect(error?.message.contains("not signed by this federation's CA") == true)
        }
        // A higher version in an otherwise valid document: the attack the signature exists for.
        let text = String(decoding: body, as: UTF8.self).replacingOccurrences(of: "\"version\":7", with: "\"version\":8")
        #expect(text != String(decoding: body, as: UTF8.self))
        var bumped = doc
        bumped.payload = Data(text.utf8).base64EncodedString()
        #expect(throws: IdentityError.self) { try bumped.open(Registry.self, type: Registry.payloadType, key: caKey.publicKey) }
    }

    @Test func alteredSignatureIsRefused() throws {
        let doc = try signed()
        var der = Array(try #require(Data(base64Encoded: doc.signatures[0].sig)))
        der[der.count - 1] ^= 0x01
        var tampered = doc
        tampered.signatures[0].sig = Data(der).base64EncodedString()
        #expect(throws: IdentityError.self) { try tampered.verifiedPayload(expectedType: Registry.payloadType, key: caKey.publicKey) }

        var garbage = doc
        garbage.signatures[0].sig = "not base64!"
        #expect(throws: IdentityError.self) { try garbage.verifiedPayload(expectedType: Registry.payloadType, key: caKey.publicKey) }

        var none = doc
        none.signatures = []
        #expect(throws: IdentityError.self) { try none.verifiedPayload(expectedType: Registry.payloadType, key: caKey.publicKey) }

        // A valid CA signature, but over another document.
        let other = try SignedDocument(signing: Denylist.empty(federation: "test"), type: Registry.payloadType, by: caKey)
        var swapped = doc
        swapped.signatures = other.signatures
        #expect(throws: IdentityError.self) { try swapped.verifiedPayload(expectedType: Registry.payloadType, key: caKey.publicKey) }
    }

    @Test func wrongPayloadTypeIsRefused() throws {
        let doc = try signed()
        let error = #expect(throws: IdentityError.self) {
            try doc.open(Denylist.self, type: Denylist.payloadType, key: caKey.publicKey)
        }
        #expect(error?.message.contains(Denylist.payloadType) == true)
        // Relabelling the envelope does not help: the type is inside the signed PAE.
        var relabelled = doc
        relabelled.payloadType = Denylist.payloadType
        let relabelError = #expect(throws: IdentityError.self) {
            try relabelled.verifiedPayload(expectedType: Denylist.payloadType, key: caKey.publicKey)
        }
        #expect(relabelError?.message.contains("not signed") == true)
    }

    @Test func anotherKeyIsRefused() throws {
        let stranger = P256.Signing.PrivateKey()
        let forged = try SignedDocument(signing: registry, type: Registry.payloadType, by: stranger)
        #expect(try forged.open(Registry.self, type: Registry.payloadType, key: stranger.publicKey) == registry)
        let error = #expect(throws: IdentityError.self) {
            try forged.open(Registry.self, type: Registry.payloadType, key: caKey.publicKey)
        }
        #expect(error?.message.contains("not signed by this federation's CA") == true)
        // The genuine document does not verify under the stranger's key either.
        #expect(throws: IdentityError.self) { try signed().open(Registry.self, type: Registry.payloadType, key: stranger.publicKey) }
        // An extra forged signature next to the genuine one does not hurt; a forged one alone does.
        var both = try signed()
        both.signatures.append(contentsOf: forged.signatures)
        #expect(try both.open(Registry.self, type: Registry.payloadType, key: caKey.publicKey) == registry)
    }

    @Test func malformedEnvelopesAreRefused() throws {
        var notBase64 = try signed()
        notBase64.payload = "%%%"
        let error = #expect(throws: IdentityError.self) {
            try notBase64.verifiedPayload(expectedType: Registry.payloadType, key: caKey.publicKey)
        }
        #expect(error?.message.contains("base64") == true)
        #expect(throws: IdentityError.self) { try SignedDocument.decode(Array("not json".utf8)) }
        #expect(throws: IdentityError.self) { try SignedDocument.decode(Array("{\"payloadType\":\"x\"}".utf8)) }
        // Signed, right type, but not a registry.
        let wrongShape = try SignedDocument(payloadType: Registry.payloadType, payload: Array("[1,2]".utf8), signer: caKey)
        let decodeError = #expect(throws: IdentityError.self) {
            try wrongShape.open(Registry.self, type: Registry.payloadType, key: caKey.publicKey)
        }
        #expect(decodeError?.message.contains("does not decode") == true)
    }
}
