import Foundation
import Testing
@testable import IOCAudit

/// Stand-alone inclusion proofs: built from an export, checked with only the log key, and bound
/// to the signed checkpoint so that no field can be changed.
@Suite struct InclusionProofTests {
    @Test func proofFromExportVerifiesAndRoundTripsAsJSON() throws {
        let dir = T.scratch()
        let (a, _) = NodeFixture.pair()
        try a.export(to: dir)
        let key = T.logSigner("n1").verifierKey
        for index in 0..<4 {
            let proof = try InclusionProof.make(logDirectory: dir.appending(path: "log"), index: index)
            #expect(try proof.verify(logKey: key).size == 4)
            let decoded = try InclusionProof(json: proof.json)
            #expect(decoded == proof)
            #expect(try AuditEvent(decoding: decoded.entry) == a.events[index])
        }
        #expect(T.errorCode { _ = try InclusionProof.make(logDirectory: dir.appending(path: "log"), index: 4) } == .invalidArgument)
    }

    @Test func everyFieldIsBound() throws {
        var n = NodeFixture(node: "n1", events: [], checkpointSizes: [300], cosigners: [])
        n.events = (1...300).map { NodeFixture.sent("n1", to: "n2", seq: Int64($0), at: Int64($0)) }
        let signer = T.logSigner("n1")
        let note = try n.checkpoint(size: 300).signed(by: signer)
        let proof = try InclusionProof.make(entries: n.entries, index: 123, checkpointNote: note)
        try proof.verify(logKey: signer.verifierKey)
        #expect(throws: AuditError.self) { try proof.verify(logKey: T.logSigner("n2").verifierKey) }
        for bit in 0..<62 {
            let badSize = InclusionProof(index: proof.index, entry: proof.entry, treeSize: proof.treeSize ^ (1 << bit), root: proof.root,
                                         checkpointNote: note, hashes: proof.hashes)
            #expect(throws: AuditError.self) { try badSize.verify(logKey: signer.verifierKey) }
            let badIndex = InclusionProof(index: proof.index ^ (1 << bit), entry: proof.entry, treeSize: proof.treeSize, root: proof.root,
                                          checkpointNote: note, hashes: proof.hashes)
            #expect(throws: AuditError.self) { try badIndex.verify(logKey: signer.verifierKey) }
        }
        let badEntry = InclusionProof(index: proof.index, entry: T.flip(proof.entry, bit: 9), treeSize: proof.treeSize, root: proof.root,
                                      checkpointNote: note, hashes: proof.hashes)
        #expect(throws: AuditError.self) { try badEntry.verify(logKey: signer.verifierKey) }
        let badNote = InclusionProof(index: proof.index, entry: proof.entry, treeSize: proof.treeSize, root: proof.root,
                                     checkpointNote: note.replacingOccurrences(of: "\n300\n", with: "\n301\n"), hashes: proof.hashes)
        #expect(throws: AuditError.self) { try badNote.verify(logKey: signer.verifierKey) }
    }
}
