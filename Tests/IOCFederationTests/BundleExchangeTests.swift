import Foundation
import IOCModel
import IOCNode
import IOCSharing
import IOCStore
import IOCSync
import IOCTesting
import Testing

/// Sync between real data directories: files written by `iocnode bundle export` in one process and
/// applied by `iocnode bundle import` in another, and a relay through the province.
@Suite(.serialized) struct BundleExchangeTests {
    static let replicated: Set<String> = Set(RecordKind.allCases.filter { !$0.isLocalOnly }.map(\.rawValue))

    @Test func exportImportBetweenDirectoriesConverges() async throws {
        let root = try ProcessSupport.tempDirectory("exchange")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let a = try ProcessSupport.store(root + "/a", node: "hai-chau")
        let b = try ProcessSupport.store(root + "/b", node: "province")
        try await SampleData.seed(store: a, unit: "20194", reports: 12)
        try await SampleData.seed(store: b, unit: "48", reports: 5)
        let certs = try TestFederation(root: root, nodes: ["hai-chau", "province"]).certs.path
        let topology = ProcessSupport.shippedTopology()

        // Without a topology the file's policy is unknown: refused rather than sent unfiltered.
        let blind = try ProcessSupport.run(["bundle", "export", "--data", root + "/a", "--to", "province", "--out", root + "/x", "--certs", certs])
        #expect(blind.status != 0 && blind.output.contains("--topology"), "\(blind.output)")

        // a → b and b → a, each through a file and a separate process.
        for (from, to, fromDir, toDir) in [("hai-chau", "province", "/a", "/b"), ("province", "hai-chau", "/b", "/a")] {
            let file = root + "/\(from)-to-\(to).iocb"
            let export = try ProcessSupport.run([
                "bundle", "export", "--data", root + fromDir, "--to", to, "--out", file, "--certs", certs, "--topology", topology,
            ])
            #expect(export.status == 0, "\(export.output)")
            let imported = try ProcessSupport.run([
                "bundle", "import", "--data", root + toDir, file, "--certs", certs, "--topology", topology,
            ])
            #expect(imported.status == 0, "\(imported.output)")
            #expect(imported.output.contains("refused 0") && imported.output.contains("fork 0"), "\(imported.output)")
        }
        #expect(try a.knowledge() == b.knowledge())
        // Each side holds exactly what the sample policy grants it, with identical state.
        let policy = try ActivePolicy(topology: TopologyFixtures.small())
        for (holder, other) in [(a, b), (b, a)] {
            for (id, facts) in try SharingOracle.records(other) where facts.origin == other.nodeID {
                let copy = try holder.state(id)
                if policy.mayHold(facts, node: holder.nodeID) {
                    #expect(copy?.digest == (try other.state(id))?.digest, "\(holder.nodeID) should hold \(facts.kind) \(id)")
                } else {
                    #expect(copy == nil, "\(holder.nodeID) must not hold \(facts.kind) \(id)")
                }
            }
        }
        #expect(try b.counts()["fieldReport"] == 17)  // its 5 and the district's 12
        #expect(try a.counts()["fieldReport"] == 12)  // the province's own reports are not the ward's
        // Personal data stayed home: b has no reporter contacts, a has its own.
        #expect(try b.counts()["reporterContact"] == 5)
        #expect(try a.counts()["reporterContact"] == 12)

        // Importing the same file again changes nothing.
        let digest = try b.stateDigest(kinds: Self.replicated)
        let again = try ProcessSupport.run([
            "bundle", "import", "--data", root + "/b", root + "/hai-chau-to-province.iocb", "--certs", certs, "--topology", topology,
        ])
        #expect(again.status == 0, "\(again.output)")
        #expect(again.output.contains("applied 0") && again.output.contains("replay 1"), "\(again.output)")
        #expect(try b.stateDigest(kinds: Self.replicated) == digest)
    }

    @Test func relayForwardsEntriesByteForByte() async throws {
        let root = try ProcessSupport.tempDirectory("relay")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let a = try ProcessSupport.store(root + "/a", node: "hai-chau")
        let p = try ProcessSupport.store(root + "/p", node: "province")
        let b = try ProcessSupport.store(root + "/b", node: "thanh-khe")
        try await SampleData.seed(store: a, unit: "20194", reports: 8)
        var federation = try TestFederation(root: root, nodes: ["hai-chau", "province", "thanh-khe"])
        // A policy that lets every node see every shareable kind, so that relaying is all that is tested.
        federation.sharing = SharingGate(ActivePolicy(policy: SharingOracle.shareEverything, topology: TopologyFixtures.small()))

        try await federation.transfer(from: a, to: p)
        let receipts = try await federation.transfer(from: p, to: b)
        #expect(receipts.allSatisfy { $0.outcome == "applied" })
        #expect(try b.readSync { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM refusal") } == 0)

        func journal(_ s: NodeStore) throws -> [String: [UInt8]] {
            try s.readSync { db in
                var out: [String: [UInt8]] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT seq, bytes, leaf_hash FROM journal WHERE origin = 'hai-chau'") {
                    let seq: Int64 = row[0]
                    let bytes: Data? = row[1]
                    out["\(seq)"] = bytes.map(Array.init) ?? Array(row[2] as Data)
                }
                return out
            }
        }
        let original = try journal(a)
        let relayed = try journal(b)
        #expect(original.count == relayed.count)
        // Content positions are identical bytes; local-only positions arrive as the origin's leaf hash.
        for (seq, bytes) in original {
            let copy = try #require(relayed[seq])
            #expect(copy == bytes || copy == JournalEntry.leafHash(bytes), "position \(seq)")
        }
        let contentCopies = relayed.filter { $0.value.count != 32 }
        #expect(contentCopies.count == original.filter { (try? EntryHeader(decoding: $0.value))?.kind != "reporterContact" }.count)
        #expect(try a.stateDigest(kinds: Self.replicated) == b.stateDigest(kinds: Self.replicated))
    }
}

import GRDB
