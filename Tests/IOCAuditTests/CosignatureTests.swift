import Testing
@testable import IOCAudit

/// tlog-cosignature v1 (Ed25519, type 0x04): message form, key IDs, round trip and tampering.
@Suite struct CosignatureTests {
    let witness = T.witness("n2")
    let checkpoint = try! Checkpoint(origin: "fed.example/log/n1", size: 8, root: T.hex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"))

    @Test func messageIsHeaderTimeThenBody() {
        let msg = String(decoding: Cosignature.message(for: checkpoint, timestamp: 1_679_315_147), as: UTF8.self)
        #expect(msg == "cosignature/v1\ntime 1679315147\nfed.example/log/n1\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n")
    }

    @Test func witnessKeyUsesType4() throws {
        let key = witness.verifierKey
        #expect(key.type == .cosignatureV1)
        #expect(key.keyID == NoteVerifierKey.keyID(name: key.name, type: .cosignatureV1, publicKey: key.publicKey))
        #expect(key.keyID != NoteVerifierKey.keyID(name: key.name, type: .ed25519, publicKey: key.publicKey))
        #expect(try NoteVerifierKey(parsing: key.text) == key)
        #expect(T.b64(String(key.text.split(separator: "+")[2]))[0] == 0x04)
        #expect(throws: AuditError.self) { try CosignatureVerifier(key: T.logSigner("n2").verifierKey) }
    }

    @Test func roundTripThroughANote() throws {
        let log = T.logSigner("n1")
        let note = try checkpoint.signed(by: log)
        let cosigned = try witness.cosign(note: note, timestamp: 1_700_000_000)
        let (cp, cosig) = try CosignatureVerifier(key: witness.verifierKey).verify(note: cosigned)
        #expect(cp == checkpoint)
        #expect(cosig.timestamp == 1_700_000_000)
        // The line is base64(keyID ‖ u64 BE time ‖ sig): 4 + 8 + 64 bytes.
        let line = try SignedNote(parsing: cosigned).signatures.last!
        #expect(line.signature.count == 72)
        #expect(Bytes.readUInt64BE(line.signature.prefix(8)) == 1_700_000_000)
        // The log signature is still valid and the witness line is ignored by the log verifier.
        #expect(try NoteVerifier(keys: [log.verifierKey]).verify(cosigned).signers == [log.name])
    }

    @Test func tamperIsRejected() throws {
        let cosig = try witness.cosign(checkpoint, timestamp: 42)
        let verifier = try CosignatureVerifier(key: witness.verifierKey)
        #expect(verifier.isValid(cosig, for: checkpoint))
        let otherRoot = try Checkpoint(origin: checkpoint.origin, size: 8, root: T.flip(checkpoint.root, bit: 0))
        let otherSize = try Checkpoint(origin: checkpoint.origin, size: 9, root: checkpoint.root)
        #expect(!verifier.isValid(cosig, for: otherRoot))
        #expect(!verifier.isValid(cosig, for: otherSize))
        var raw = cosig.noteSignature
        raw = SignedNote.Signature(name: raw.name, keyID: raw.keyID, signature: T.flip(raw.signature, bit: 3))  // time changed
        #expect(!verifier.isValid(try Cosignature(raw), for: checkpoint))
        for bit in stride(from: 64, to: 72 * 8, by: 37) {
            let bad = SignedNote.Signature(name: cosig.name, keyID: cosig.keyID, signature: T.flip(cosig.noteSignature.signature, bit: bit))
            #expect(!verifier.isValid(try Cosignature(bad), for: checkpoint))
        }
        #expect(!(try CosignatureVerifier(key: T.witness("n3").verifierKey)).isValid(cosig, for: checkpoint))
        #expect(throws: AuditError.self) {
            try Cosignature(SignedNote.Signature(name: cosig.name, keyID: cosig.keyID, signature: [UInt8](repeating: 0, count: 64)))
        }
    }
}
