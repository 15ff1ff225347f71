import AsyncHTTPClient
import Foundation
import IOCModel
import IOCNode
import IOCStore
import IOCSync
import IOCTesting
import NIOCore
import Testing

/// `kill -9` with real processes: nothing acknowledged is lost, nothing is half-applied.
@Suite(.serialized) struct CrashTests {
    /// Kills `iocnode bundle import` in the middle of a large backlog, checks the store is
    /// consistent (every journal position matches knowledge and the records), re-imports, and
    /// checks that the result equals the source with nothing duplicated.
    @Test func killDuringApplyLeavesBeforeOrAfterState() async throws {
        let root = try ProcessSupport.tempDirectory("crash-apply")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let source = try ProcessSupport.store(root + "/district", node: "hai-chau")
        var rng = SeededRandom(seed: 5)
        let total = 12_000
        for start in stride(from: 0, to: total, by: 1000) {
            let now = source.now()
            let bodies = (start..<start + 1000).map { BenchmarkData.fieldReport($0, rng: &rng, unit: "20194", now: now) }
            try source.writeSync { tx in
                for b in bodies {
                    try tx.create(
                        kind: .fieldReport, fields: try RecordKind.fieldReport.schema.validateCreate(b, now: now), actor: .system,
                        unit: "20194")
                }
            }
        }
        let file = root + "/backlog.iocb"
        let certs = try TestFederation(root: root, nodes: ["hai-chau", "province"]).certs.path
        #expect(
            try ProcessSupport.run([
                "bundle", "export", "--data", root + "/district", "--to", "province", "--out", file, "--certs", certs,
                "--topology", ProcessSupport.shippedTopology(),
            ])
                .status == 0)
        let target = try ProcessSupport.store(root + "/province", node: "province")

        var killedMidway = false
        for attempt in 0..<6 where !killedMidway {
            let (p, _) = try ProcessSupport.start(["bundle", "import", "--data", root + "/province", file, "--certs", certs, "--topology", ProcessSupport.shippedTopology()])
            usleep(UInt32(300_000 + attempt * 250_000))
            ProcessSupport.stop(p, signal: SIGKILL)
            let held = try target.knowledge()["hai-chau"]
            killedMidway = held > 0 && held < UInt64(total)
            try Self.checkConsistent(target)
        }
        #expect(killedMidway, "the import was never interrupted midway; the test did not exercise a crash")
        let redo = try ProcessSupport.run(["bundle", "import", "--data", root + "/province", file, "--certs", certs, "--topology", ProcessSupport.shippedTopology()])
        #expect(redo.status == 0, "\(redo.output)")
        try Self.checkConsistent(target)
        #expect(try target.knowledge()["hai-chau"] == UInt64(total))
        #expect(try target.counts()["fieldReport"] == total)
        #expect(try target.stateDigest(kinds: ["fieldReport"]) == source.stateDigest(kinds: ["fieldReport"]))
    }

    /// Journal positions are gapless and match knowledge; every content position is in its record.
    static func checkConsistent(_ store: NodeStore) throws {
        let (rows, maxSeq, known, records) = try store.readSync { db in
            (
                try Int.fetchOne(db, sql: "SELECT count(*) FROM journal WHERE origin = 'hai-chau'") ?? 0,
                try Int.fetchOne(db, sql: "SELECT max(seq) FROM journal WHERE origin = 'hai-chau'") ?? 0,
                try Int.fetchOne(db, sql: "SELECT seq FROM knowledge WHERE origin = 'hai-chau'") ?? 0,
                try Int.fetchOne(db, sql: "SELECT count(*) FROM record WHERE kind = 'fieldReport'") ?? 0
            )
        }
        #expect(rows == maxSeq)
        #expect(known == maxSeq)
        #expect(records == rows)
    }

    /// Writes acknowledged over HTTP survive `kill -9` of the serving process.
    @Test func acknowledgedWritesSurviveKill9() async throws {
        let root = try ProcessSupport.tempDirectory("crash-serve")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let topology = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Topology/test-small.yaml").path
        let topo = try IOCTopologyShim.load(topology)
        let district = try #require(topo.nodes.first { $0.mode == .district })
        let args = ["serve", "--topology", topology, "--node", district.id, "--data", root, "--listen", "127.0.0.1:0", "--insecure-dev"]
        var (server, out) = try ProcessSupport.start(args)
        defer { ProcessSupport.stop(server, signal: SIGKILL) }
        var line = try #require(ProcessSupport.waitForLine(out, containing: "listening on"))
        let added = try ProcessSupport.run(["user", "add", "--data", root, "--name", "Trần Thị Bích", "--role", "operator"])
        let token = try #require(added.output.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) })
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        var acknowledged: [String] = []
        do {
            let base = String(line.split(separator: " ").last!)
            for i in 0..<40 {
                var req = HTTPClientRequest(url: base + "/api/v1/field-reports")
                req.method = .POST
                req.headers.add(name: "Authorization", value: "Bearer \(token)")
                req.body = .bytes(ByteBuffer(string: #"{"channel":"hotline-1022","category":"flooding","title":"Ngập số \#(i)"}"#))
                let res = try await client.execute(req, timeout: .seconds(10))
                let body = try await res.body.collect(upTo: 1 << 20)
                #expect(res.status == .created)
                if res.status == .created, case .object(let o) = try JSONValue.parse(body.readableBytesView),
                    let id = o["id"]?.stringValue
                {
                    acknowledged.append(id)
                }
            }
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
            (server, out) = try ProcessSupport.start(args)
            line = try #require(ProcessSupport.waitForLine(out, containing: "listening on"))
            let base2 = String(line.split(separator: " ").last!)
            for id in acknowledged {
                var req = HTTPClientRequest(url: base2 + "/api/v1/field-reports/" + id)
                req.headers.add(name: "Authorization", value: "Bearer \(token)")
                let res = try await client.execute(req, timeout: .seconds(10))
                _ = try await res.body.collect(upTo: 1 << 20)
                #expect(res.status == .ok, "acknowledged report \(id) lost after kill -9")
            }
        } catch {
            Issue.record("\(error)")
        }
        #expect(acknowledged.count == 40)
        try await client.shutdown()
    }
}
