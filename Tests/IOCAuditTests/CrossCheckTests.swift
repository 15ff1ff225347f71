import Foundation
import Testing
@testable import IOCAudit

/// `CrossCheck` over two nodes' exports: the clean case and each inconsistency it must name.
@Suite struct CrossCheckTests {
    func run(_ a: NodeFixture, _ b: NodeFixture) throws -> AuditReport {
        let (da, db) = (T.scratch("a"), T.scratch("b"))
        try a.export(to: da)
        try b.export(to: db)
        return CrossCheck.run(directories: [da, db])
    }

    @Test func cleanPairVerifies() throws {
        let (a, b) = NodeFixture.pair()
        let report = try run(a, b)
        #expect(report.exitCode == 0, "\(report.summary)")
        #expect(report.stats["nodes"] == 2)
        #expect(report.summary.contains("VERIFIED"))
    }

    @Test func droppedReceivedEntry() throws {
        var (a, b) = NodeFixture.pair()
        b.events.remove(at: 1)  // n2 drops its receipt of seq 2 but logs seq 3
        b.checkpointSizes = [4]
        let report = try run(a, b)
        #expect(report.exitCode == 1)
        #expect(report.findings(.receiptMissing).first?.message.contains("seq 2") == true, "\(report.summary)")
        #expect(report.findings(.sequenceGap).first?.message.contains("never seq 2") == true)
    }

    @Test func fork() throws {
        var (a, b) = NodeFixture.pair()
        b.events[1] = NodeFixture.applied("n2", from: "n1", seq: 2, at: 2100, knowledge: 20, payload: "another bundle")
        let report = try run(a, b)
        #expect(report.exitCode == 1)
        #expect(report.findings(.fork).first?.message.contains("n1→n2 seq 2") == true, "\(report.summary)")
    }

    @Test func gapInAppliedSequence() throws {
        var (a, b) = NodeFixture.pair()
        b.events[1] = NodeFixture.applied("n2", from: "n1", seq: 2, at: 2100, knowledge: 20, type: .bundleHeld)
        let report = try run(a, b)
        #expect(report.exitCode == 1)
        #expect(report.findings(.sequenceGap).first?.message.contains("never seq 2") == true, "\(report.summary)")
        #expect(report.findings(.receiptMissing).isEmpty)
    }

    @Test func decreasingKnowledge() throws {
        var (a, b) = NodeFixture.pair()
        b.events[2] = NodeFixture.applied("n2", from: "n1", seq: 3, at: 3100, knowledge: 5)
        let report = try run(a, b)
        #expect(report.exitCode == 1)
        #expect(report.findings(.knowledgeDecreased).first?.message.contains("from 20 (entry 1) down to 5 (entry 2)") == true, "\(report.summary)")
    }

    @Test func pendingBundleIsAWarningOnly() throws {
        var (a, b) = NodeFixture.pair()
        a.events.append(NodeFixture.sent("n1", to: "n2", seq: 4, at: 4000))
        a.checkpointSizes = [2, 4, 5]
        // n2 cosigned only sizes 2 and 4 in its log; that stays consistent.
        let report = try run(a, b)
        #expect(report.exitCode == 0, "\(report.summary)")
        #expect(report.findings(.pending).first?.message.contains("seq 4") == true)
    }

    @Test func cosignedTreeThatTheLogDoesNotReproduce() throws {
        var (a, b) = NodeFixture.pair()
        let bogus = try Checkpoint(origin: a.origin, size: 4, root: Merkle.leafHash([1]))
        b.events[4] = AuditEvent(type: .cosignatureIssued, at: 5000, node: "n2", peer: "n1", checkpoint: .init(bogus))
        let report = try run(a, b)
        #expect(report.exitCode == 1)
        #expect(report.findings(.cosignedTreeMismatch).first?.message.contains("different history") == true, "\(report.summary)")
    }

    @Test func receiptWithoutSend() throws {
        var (a, b) = NodeFixture.pair()
        a.events.remove(at: 2)  // n1 hides that it sent seq 3
        a.events.append(AuditEvent(type: .purge, at: 3600, node: "n1", record: "r1"))
        let report = try run(a, b)
        #expect(report.exitCode == 1)
        #expect(report.findings(.unsentReceipt).first?.message.contains("seq 3") == true, "\(report.summary)")
    }

    @Test func witnessKeyMismatchAndBrokenExportPropagate() throws {
        let (a, b) = NodeFixture.pair()
        let (da, db) = (T.scratch("a"), T.scratch("b"))
        try a.export(to: da)
        try b.export(to: db)
        try FileIO.write(T.witness("impostor").verifierKey.text + "\n", to: db.appending(path: "keys/node-witness.vkey"))
        let report = CrossCheck.run(directories: [da, db])
        #expect(report.findings(.witnessKeyMismatch).count == 1, "\(report.summary)")
        try FileManager.default.removeItem(at: db.appending(path: "meta.json"))
        #expect(CrossCheck.run(directories: [da, db]).exitCode == 2)
    }
}
