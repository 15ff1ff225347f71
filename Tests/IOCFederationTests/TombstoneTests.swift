import Foundation
import IOCModel
import IOCNode
import IOCSharing
import IOCStore
import IOCSync
import IOCTesting
import Testing

/// Tombstones are collected only at causal stability: never while a node that could hold the
/// record, or a change concurrent with the delete, is unaccounted for.
@Suite struct TombstoneTests {
    @Test func collectedOnlyOnceEveryNodeHasAcknowledged() async throws {
        let root = try ProcessSupport.tempDirectory("tombstone")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let a = try ProcessSupport.store(root + "/a", node: "hai-chau")
        let p = try ProcessSupport.store(root + "/p", node: "province")
        let b = try ProcessSupport.store(root + "/b", node: "thanh-khe")
        let nodes = ["hai-chau", "province", "thanh-khe"]
        var federation = try TestFederation(root: root, nodes: nodes)
        // Every node may hold the report: stability is about acknowledgements, not sharing.
        federation.sharing = SharingGate(ActivePolicy(policy: SharingOracle.shareEverything, topology: TopologyFixtures.small()))
        let fields = try RecordKind.fieldReport.schema.validateCreate(SampleData.fieldReport(0, now: a.now()).fields, now: a.now())
        let report = try await a.create(kind: .fieldReport, fields: fields, actor: .system, unit: "20194")

        func sync(_ from: NodeStore, _ to: NodeStore) async throws {
            for r in try await federation.transfer(from: from, to: to) { #expect(["applied", "replay"].contains(r.outcome), "\(r.reason ?? "")") }
        }
        try await sync(a, p)
        try await sync(p, b)
        try await sync(b, p)  // b reports knowledge that includes the report
        // b edits concurrently with a's delete and has not sent it yet.
        _ = try await b.patch(id: report.id, kind: .fieldReport, actor: .system) { _ in ["title": "Ngập sâu, cần hỗ trợ gấp"] }
        _ = try await a.delete(id: report.id, kind: .fieldReport, actor: .system)
        try await sync(a, p)
        try await sync(p, a)
        #expect(try p.collectTombstones(nodes: nodes) == 0, "b has not acknowledged the delete")

        try await sync(p, b)  // b learns the delete; its own concurrent edit is still unsent to p
        try await sync(b, p)  // now p holds b's concurrent edit and b's knowledge covers the delete
        let state = try #require(try p.state(report.id))
        #expect(state.isDeleted)
        #expect(state.value("title") == "Ngập sâu, cần hỗ trợ gấp")
        try await sync(p, a)  // a must report knowledge covering b's edit too
        #expect(try p.collectTombstones(nodes: nodes) == 0, "a has not yet reported knowledge covering b's edit")
        try await sync(a, p)
        func scopes() throws -> Int {
            try p.readSync { try Int.fetchOne($0, sql: "SELECT count(*) FROM peer_scope WHERE record_id = ?", arguments: [Data(report.id.bytes)]) ?? 0 }
        }
        #expect(try scopes() == 1, "the province sent the report to thanh-khe")
        #expect(try p.collectTombstones(nodes: nodes) == 1)
        #expect(try p.state(report.id) == nil)
        #expect(try scopes() == 0, "a collected record stays in no peer's scope")
        // A district that has heard from only one node keeps its tombstone.
        #expect(try a.collectTombstones(nodes: nodes) == 0)
        // Re-delivering old bundles does not resurrect the record.
        try await sync(b, p)
        #expect(try p.state(report.id) == nil)
    }
}
