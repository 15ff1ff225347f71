import Foundation
import Testing
@testable import IOCAudit

/// `AuditVerifier` on an exported directory: a clean export verifies, and every tamper in the
/// battery is caught with a finding that names what is wrong.
@Suite struct AuditVerifierTests {
    /// n1's export with 600 events (three entry bundles), checkpoints at 100, 300, 600, cosigned by n2.
    static func bigExport() throws -> (dir: URL, node: NodeFixture, notes: [Int: String]) {
        let dir = T.scratch("big")
        var n = NodeFixture(node: "n1", events: [], checkpointSizes: [100, 300, 600], cosigners: ["n2"])
        n.events = (1...600).map { NodeFixture.sent("n1", to: "n2", seq: Int64($0), at: Int64($0)) }
        let notes = try n.export(to: dir)
        return (dir, n, notes)
    }

    func mutate(_ url: URL, _ change: (inout [UInt8]) -> Void) throws {
        var bytes = try FileIO.read(url)
        change(&bytes)
        try FileIO.write(bytes, to: url)
    }

    @Test func cleanExportVerifies() throws {
        let (dir, _, _) = try Self.bigExport()
        let report = AuditVerifier.verify(directory: dir)
        #expect(report.exitCode == 0, "\(report.summary)")
        #expect(report.stats["entries"] == 600 && report.stats["checkpoints"] == 3 && report.stats["cosignatures"] == 3)
        #expect(FileIO.exists(dir.appending(path: "log/tile/entries/002.p/88")))
        #expect(report.json.hasPrefix(#"{"exitCode":0,"findings":["#))
        #expect(report.json == AuditVerifier.verify(directory: dir).json)
        #expect(report.summary.contains("VERIFIED"))
    }

    @Test func flippedByteInEntryBundle() throws {
        let (dir, _, _) = try Self.bigExport()
        try mutate(dir.appending(path: "log/tile/entries/001")) { $0[500] ^= 0x01 }
        let report = AuditVerifier.verify(directory: dir)
        #expect(report.exitCode == 1)
        let f = report.findings(.rootMismatch)
        #expect(f.count == 1 && f[0].message.contains("entry 2"), "\(report.summary)")
    }

    @Test func flippedByteInTile() throws {
        let (dir, _, _) = try Self.bigExport()
        try mutate(dir.appending(path: "log/tile/0/001")) { $0[70] ^= 0x80 }
        let report = AuditVerifier.verify(directory: dir)
        #expect(report.exitCode == 1)
        #expect(report.findings(.tileMismatch).first?.message.contains("tile/0/001") == true, "\(report.summary)")
    }

    @Test func deletedTile() throws {
        let (dir, _, _) = try Self.bigExport()
        try FileManager.default.removeItem(at: dir.appending(path: "log/tile/1/000.p/2"))
        let report = AuditVerifier.verify(directory: dir)
        #expect(report.exitCode == 2)
        #expect(report.findings(.missingTile).first?.message.contains("tile/1/000.p/2") == true, "\(report.summary)")
    }

    @Test func truncatedEntries() throws {
        let (dir, _, _) = try Self.bigExport()
        try mutate(dir.appending(path: "log/tile/entries/002.p/88")) { $0.removeLast(10) }
        let report = AuditVerifier.verify(directory: dir)
        #expect(report.exitCode == 1)
        #expect(report.findings(.entriesMalformed).first?.message.contains("tile/entries/002.p/88") == true, "\(report.summary)")
    }

    @Test func reorderedEntries() throws {
        let (dir, node, _) = try Self.bigExport()
        var entries = node.entries
        entries.swapAt(10, 11)
        try FileIO.write(try EntryBundle.encode(Array(entries[0..<256])), to: dir.appending(path: "log/tile/entries/000"))
        let report = AuditVerifier.verify(directory: dir)
        #expect(report.exitCode == 1)
        #expect(report.findings(.rootMismatch).first?.message.contains("entry 10") == true, "\(report.summary)")
    }

    @Test func checkpointRolledBackKeepingEntries() throws {
        let (dir, _, notes) = try Self.bigExport()
        try FileIO.write(notes[300]!, to: dir.appending(path: "log/checkpoint"))
        let report = AuditVerifier.verify(directory: dir)
        #expect(report.exitCode == 1)
        #expect(report.findings(.rollback).first?.message.contains("checkpoints/600") == true, "\(report.summary)")
        #expect(report.findings(.cosignatureInconsistent).first?.message.contains("n2") == true)
    }

    @Test func rewrittenHistoryResignedWithOwnKeyIsCaughtByPeerCosignature() throws {
        let (dir, node, _) = try Self.bigExport()
        var forged = node
        forged.events[42] = NodeFixture.sent("n1", to: "n2", seq: 43, at: 43, payload: "something else")
        // The node rewrites its log and re-signs every checkpoint with its own key...
        let signer = T.logSigner("n1")
        try FileManager.default.removeItem(at: dir.appending(path: "log"))
        let latest = try TileLogDirectory.write(entries: forged.entries, origin: forged.origin, signer: signer, to: dir.appending(path: "log"))
        for size in [100, 300] { try FileIO.write(try forged.checkpoint(size: size).signed(by: signer), to: dir.appending(path: "checkpoints/\(size)")) }
        try FileIO.write(latest, to: dir.appending(path: "checkpoints/600"))
        // ...but cannot forge n2's cosignatures over the original checkpoints.
        let report = AuditVerifier.verify(directory: dir)
        #expect(report.exitCode == 1)
        let f = report.findings(.cosignatureInconsistent)
        #expect(f.count == 3, "\(report.summary)")  // every witnessed size (100, 300, 600) covers entry 42
        #expect(f.allSatisfy { $0.message.contains("peer 'n2'") && $0.message.contains("rewritten") })
        #expect(f.contains { $0.subject == "cosignatures/n2/600" })
        #expect(report.findings(.rootMismatch).isEmpty && report.findings(.tileMismatch).isEmpty)
    }

    @Test func forgedCheckpointSignature() throws {
        let (dir, node, _) = try Self.bigExport()
        try FileIO.write(try node.checkpoint(size: 600).signed(by: T.logSigner("mallory")), to: dir.appending(path: "log/checkpoint"))
        let report = AuditVerifier.verify(directory: dir)
        #expect(report.exitCode == 1)
        #expect(report.findings(.checkpointSignature).count == 1)
    }

    @Test func tamperedCosignatureAndMissingPeerKey() throws {
        let (dir, _, _) = try Self.bigExport()
        let path = dir.appending(path: "cosignatures/n2/300")
        let note = try FileIO.readText(path)
        let original = try SignedNote(parsing: note)
        let line = original.signatures.last!
        let parsed = try SignedNote(text: original.text, signatures: original.signatures.dropLast()
            + [SignedNote.Signature(name: line.name, keyID: line.keyID, signature: T.flip(line.signature, bit: 100))])
        try FileIO.write(parsed.serialized, to: path)
        let report = AuditVerifier.verify(directory: dir)
        #expect(report.exitCode == 1)
        #expect(report.findings(.cosignatureInvalid).first?.subject == "cosignatures/n2/300")

        try FileManager.default.removeItem(at: dir.appending(path: "keys/n2.vkey"))
        #expect(AuditVerifier.verify(directory: dir).findings(.cosignatureKeyMissing).count == 1)
    }

    @Test func incompleteInputsExitTwo() throws {
        for missing in ["meta.json", "keys/node.vkey", "log/checkpoint", "log/tile/entries/001"] {
            let (dir, _, _) = try Self.bigExport()
            try FileManager.default.removeItem(at: dir.appending(path: missing))
            let report = AuditVerifier.verify(directory: dir)
            #expect(report.exitCode == 2, "\(missing): \(report.summary)")
            #expect(report.summary.contains(missing.split(separator: "/").last!), "\(missing)")
        }
    }

    @Test func foreignEventAuthorIsReported() throws {
        let dir = T.scratch()
        var n = NodeFixture(node: "n1", events: [], checkpointSizes: [2], cosigners: [])
        n.events = [NodeFixture.sent("n1", to: "n2", seq: 1, at: 1), NodeFixture.sent("n9", to: "n2", seq: 1, at: 2)]
        try n.export(to: dir)
        let report = AuditVerifier.verify(directory: dir)
        #expect(report.findings(.eventAuthor).first?.message.contains("entry 1") == true)
    }
}
