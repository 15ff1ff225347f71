import Foundation
import IOCModel
import IOCNode
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

        // a → b and b → a, each through a file and a separate process.
        for (from, to, fromDir, toDir) in [("hai-chau", "province", "/a", "/b"), ("province", "hai-chau", "/b", "/a")] {
            let file = root + "/\(from)-to-\(to).iocb"
            let export = try ProcessSupport.run(["bundle", "export", "--data", root + fromDir, "--to", to, "--out", file, "--certs", certs])
            #expect(export.status == 0, "\(export.output)")
            let imported = try ProcessSupport.run(["bundle", "import", "--data", root + toDir, file, "--certs", certs])
            #expect(imported.status == 0, "\(imported.output)")
            #expect(imported.output.contains("refused 0") && imported.output.contains("fork 0"), "\(imported.output)")
        }
        #expect(try a.knowledge() == b.knowledge())
        #expect(try a.stateDigest(kinds: Self.replicated) == b.stateDigest(kinds: Self.replicated))
        // Personal data stayed home: b has no reporter contacts, a has its own.
        #expect(try b.counts()["reporterContact"] == 5)
        #expect(try a.counts()["reporterContact"] == 12)

        // Importing the same file again changes nothing.
        let again = try ProcessSupport.run(["bundle", "import", "--data", root + "/b", root + "/hai-chau-to-province.iocb", "--certs", certs])
        #expect(again.status == 0, "\(again.output)")
        #expect(again.output.contains("applied 0") && again.output.contains("replay 1"), "\(again.output)")
        #expect(try a.stateDigest(kinds: Self.replicated) == b.stateDigest(kinds: Self.replicated))
    }

    @Test func relayForwardsEntriesByteForByte() async throws {
        let root = try ProcessSupport.tempDirectory("relay")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let a = try ProcessSupport.store(root + "/a", node: "hai-chau")
        let p = try ProcessSupport.store(root + "/p", node: "province")
        let b = try ProcessSupport.store(root + "/b", node: "thanh-khe")
        try await SampleData.seed(store: a, unit: "20194", reports: 8)
        let federation = try TestFederation(root: root, nodes: ["hai-chau", "province", "thanh-khe"])

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
