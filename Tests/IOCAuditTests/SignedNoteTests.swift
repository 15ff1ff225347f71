import Crypto
import Testing
@testable import IOCAudit

/// signed-note v1 with Ed25519: the published example (the Go `sumdb/note` documentation key
/// PeterNeumann, used throughout C2SP tooling), RFC 8032 test vector 1, and the verification rules.
@Suite struct SignedNoteTests {
    static let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    static let skey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
    static let text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
    static let sigLine = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
    static var note: String { text + "\n" + sigLine }

    @Test func rfc8032TestVector1() throws {
        let key = try Curve25519.Signing.PrivateKey(rawRepresentation: T.hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
        #expect(Array(key.publicKey.rawRepresentation) == T.hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"))
        let sig = T.hex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
        #expect(key.publicKey.isValidSignature(sig, for: [UInt8]()))
        #expect(Array(try key.signature(for: [UInt8]())) == sig)  // Ed25519 is deterministic
    }

    @Test func exampleVerifierKeyParsesAndRoundTrips() throws {
        let key = try NoteVerifierKey(parsing: Self.vkey)
        #expect(key.name == "PeterNeumann")
        #expect(key.keyID == 0xc74f20a3)
        #expect(key.type == .ed25519)
        #expect(key.text == Self.vkey)
    }

    @Test func exampleNoteVerifiesWithSwiftCrypto() throws {
        let verified = try NoteVerifier(keys: [NoteVerifierKey(parsing: Self.vkey)]).verify(Self.note)
        #expect(verified.text == Self.text)
        #expect(verified.signers == ["PeterNeumann"])
    }

    @Test func exampleSignatureIsReproducedByteForByte() throws {
        let signer = try NoteSigner(parsingPrivateKey: Self.skey)
        #expect(signer.verifierKey.text == Self.vkey)
        #expect(try signer.sign(Self.text) == Self.note)
        #expect(signer.privateKeyText == Self.skey)
    }

    @Test func badVerifierKeysAreRejected() {
        for bad in [
            "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  // id mismatch
            "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  // upper-case id
            "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  // space in name
            "PeterNeumann+c74f20a3",
            "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10",  // short key
            "PeterNeumann+c74f20a3+Alpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  // type 0x02
        ] {
            #expect(throws: AuditError.self, "\(bad)") { try NoteVerifierKey(parsing: bad) }
        }
    }

    @Test func verificationRules() throws {
        let peter = try NoteVerifierKey(parsing: Self.vkey)
        let other = T.logSigner("other")
        // Unknown keys are ignored.
        let withUnknown = Self.note + (try other.signature(for: Self.text)).line
        #expect(try NoteVerifier(keys: [peter]).verify(withUnknown).signers == ["PeterNeumann"])
        // No known key: reject.
        #expect(T.errorCode { _ = try NoteVerifier(keys: [other.verifierKey]).verify(Self.note) } == .noTrustedSignature)
        // Known key that fails: reject even when another known key verifies.
        let altered = Self.note.replacingOccurrences(of: "answer", with: "ANSWER") + (try other.signature(for: Self.text.replacingOccurrences(of: "answer", with: "ANSWER"))).line
        #expect(T.errorCode { _ = try NoteVerifier(keys: [peter, other.verifierKey]).verify(altered) } == .signatureInvalid)
        // Same name but different ID is an unknown key, not a failing one.
        var sameName = try SignedNote(parsing: Self.note)
        sameName.add(SignedNote.Signature(name: "PeterNeumann", keyID: 0x01020304, signature: [UInt8](repeating: 0, count: 64)))
        #expect(try NoteVerifier(keys: [peter]).verify(sameName.serialized).signers == ["PeterNeumann"])
    }

    @Test func malformedNotesAreRejected() {
        for bad in [
            Self.text,  // no signatures
            Self.text + "\n",  // blank line, no signature
            Self.text + "\n" + "- PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
            Self.text + "\n" + String(Self.sigLine.dropLast()),  // no final newline
            Self.text + "\n" + "— PeterNeumann !!!\n",
            "a\u{7}b\n\n" + Self.sigLine,
        ] {
            #expect(throws: AuditError.self) { try SignedNote(parsing: bad) }
        }
        #expect(throws: AuditError.self) { try T.logSigner("x").sign("no newline") }
    }
}
