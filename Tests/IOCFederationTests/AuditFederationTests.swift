import Foundation
import IOCAudit
import IOCIdentity
import IOCModel
import IOCNode
import IOCStore
import Testing

/// After a real sync between a province and two wards (`iocnode serve` over mutual TLS), the
/// auditor's workflow with the CLI alone: `audit export` + `audit verify` + `audit cross-check`
/// pass on untouched exports, and every case of the tamper battery is caught and named.
@Suite(.serialized) struct AuditFederationTests {
    static let nodes = ["province", "hai-chau", "thanh-khe"]

    @Test func exportsVerifyCrossCheckAndEveryTamperingIsCaught() async throws {
        let root = try ProcessSupport.tempDirectory("audit")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fed = try LocalFederation(root: root, nodes: Self.nodes)
        defer { fed.stopAll() }
        let client = try fed.httpClient()
        for n in Self.nodes { try fed.start(n) }
        let ward = try fed.token("hai-chau")
        for i in 0..<4 {
            let body: JSONValue = [
                "channel": "app", "category": "flooding", "title": .string("Ngập đường Trần Phú, điểm \(i)"), "unit": "20194",
            ]
            let (status, _) = try await fed.request(client, "hai-chau", .POST, "/api/v1/field-reports", token: ward, body: body)
            #expect(status == 201)
        }
        let alert: JSONValue = [
            "headline": "Cảnh báo mưa lớn toàn thành phố", "category": "Met", "severity": "Severe", "urgency": "Expected",
            "certainty": "Likely", "areaUnits": ["48"], "source": "operator",
        ]
        let (created, _) = try await fed.request(client, "province", .POST, "/api/v1/alerts", token: try fed.token("province"), body: alert)
        #expect(created == 201)
        // Every ward holds every position and has had its log cosigned by the province since.
        let settled = try await fed.waitFor(seconds: 45) { () -> Bool? in
            var vectors: [JSONValue] = []
            for n in Self.nodes {
                let (_, s) = try await fed.request(client, n, .GET, "/api/v1/sync/status", token: try fed.token(n))
                vectors.append(s["knowledge"] ?? .null)
            }
            return Set(vectors.map { "\($0)" }).count == 1 && vectors[0]["hai-chau"] != nil && vectors[0]["province"] != nil ? true : nil
        }
        #expect(settled == true, "the federation never converged")
        try await Task.sleep(for: .seconds(3))  // let the rounds after convergence witness each other
        // A quiet federation's logs stay still: rounds with nothing new append nothing.
        func logSizes() throws -> [Int] {
            try Self.nodes.map { n in
                try NodeStore(.init(path: root + "/\(n)/node.sqlite", nodeID: n, federation: "test-fed")).auditSize()
            }
        }
        let quiet = try logSizes()
        try await Task.sleep(for: .seconds(4))  // four sync intervals
        #expect(try logSizes() == quiet, "audit logs grew while nothing happened")
        // An auditor reads the checkpoint over HTTPS; a ward operator may not.
        let auditor = try ProcessSupport.run(["user", "add", "--data", root + "/province", "--name", "Kiểm toán viên", "--role", "auditor"])
        let auditorToken = try #require(auditor.output.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("ioc_") }.map(String.init))
        let (cpStatus, _) = try await fed.request(client, "province", .GET, "/audit/v1/checkpoint", token: auditorToken)
        #expect(cpStatus == 200)
        let (recordsStatus, _) = try await fed.request(client, "province", .GET, "/api/v1/field-reports", token: auditorToken)
        #expect(recordsStatus == 403, "an auditor reads audit data, not records")
        fed.stopAll()

        // The auditor's workflow, CLI only.
        var exports: [String: String] = [:]
        for n in Self.nodes {
            let out = root + "/audit-\(n)"
            let r = try ProcessSupport.run(["audit", "export", "--data", root + "/\(n)", "--out", out, "--certs", root + "/certs"])
            #expect(r.status == 0, "\(r.output)")
            exports[n] = out
            let v = try ProcessSupport.run(["audit", "verify", out])
            #expect(v.status == 0, "\(n): \(v.output)")
            #expect(FileManager.default.fileExists(atPath: out + "/log/checkpoint"))
        }
        let all = Self.nodes.map { exports[$0]! }
        let cross = try ProcessSupport.run(["audit", "cross-check", "--json"] + all)
        #expect(cross.status == 0, "\(cross.output)")
        let ward0 = exports["hai-chau"]!
        #expect(try FileManager.default.contentsOfDirectory(atPath: ward0 + "/cosignatures/province").count >= 1, "the province never cosigned the ward's log")
        // An inclusion proof an auditor checks alone.
        let proof = try ProcessSupport.run(["audit", "prove", "--data", root + "/hai-chau", "--entry", "0"])
        #expect(proof.status == 0, "\(proof.output)")
        try proof.output.write(toFile: root + "/proof.json", atomically: true, encoding: .utf8)
        let checked = try ProcessSupport.run(["audit", "check-proof", root + "/proof.json", "--key", ward0 + "/keys/node.vkey"])
        #expect(checked.status == 0 && checked.output.contains("verified"), "\(checked.output)")

        // The tamper battery, each on a fresh copy of the ward's export.
        func tampered(_ name: String, _ change: (String) throws -> Void) throws -> String {
            let copy = root + "/tamper-\(name)"
            try FileManager.default.copyItem(atPath: ward0, toPath: copy)
            try change(copy)
            return copy
        }
        func expectCaught(_ dir: String, code: Int32, _ words: String, _ label: String) throws {
            let r = try ProcessSupport.run(["audit", "verify", dir])
            #expect(r.status == code, "\(label): \(r.output)")
            #expect(r.output.contains(words), "\(label): expected '\(words)' in \(r.output)")
        }
        let bundle = try #require(try Self.entryBundle(ward0))
        try expectCaught(try tampered("flip") { try Self.flip(at: $0 + "/" + bundle, offset: 40) }, code: 1, "entr", "flipped entry byte")
        try expectCaught(
            try tampered("tile") { try FileManager.default.removeItem(atPath: $0 + "/log/tile/0/000" + (try Self.partial($0))) }, code: 2,
            "tile/0/000", "deleted tile")
        try expectCaught(
            try tampered("rollback") { dir in
                let earlier = try FileManager.default.contentsOfDirectory(atPath: dir + "/checkpoints").compactMap(Int.init).sorted()
                let old = try #require(earlier.dropLast().last)
                try FileManager.default.removeItem(atPath: dir + "/log/checkpoint")
                try FileManager.default.copyItem(atPath: dir + "/checkpoints/\(old)", toPath: dir + "/log/checkpoint")
            }, code: 1, "checkpoint", "rolled-back checkpoint")

        // History rewritten (a received bundle dropped) and re-signed with the ward's own key,
        // its stored cosignatures and old checkpoints discarded: alone it verifies, but the
        // province's cosignatures and sent-bundle log catch it.
        let keys = try AuditKeys(
            federation: "test-fed", node: "hai-chau", signingKey: CertsDirectory(path: root + "/certs").readSigningKey("hai-chau"))
        let entries = try TileLogDirectory.readEntries(from: URL(fileURLWithPath: ward0 + "/log"), size: try Self.size(ward0))
        let dropAt = try #require(entries.firstIndex { (try? AuditEvent(decoding: $0))?.type == .bundleApplied })
        var rewritten = entries
        rewritten.remove(at: dropAt)
        let forged = root + "/tamper-rewrite"
        let note = try Checkpoint(origin: keys.origin, size: rewritten.count, root: MerkleTree(entries: rewritten).root).signed(by: keys.log)
        try AuditExport(
            meta: try ExportMeta(federation: "test-fed", node: "hai-chau", exportedAt: Int64(Date().timeIntervalSince1970 * 1000)),
            entries: rewritten, checkpointNote: note, nodeKey: keys.log.verifierKey, witnessKey: keys.witness.verifierKey
        ).write(to: URL(fileURLWithPath: forged))
        let alone = try ProcessSupport.run(["audit", "verify", forged])
        #expect(alone.status == 0, "a self-consistent rewrite verifies alone: \(alone.output)")
        let caught = try ProcessSupport.run(["audit", "cross-check", forged, exports["province"]!, exports["thanh-khe"]!])
        #expect(caught.status == 1, "\(caught.output)")
        #expect(caught.output.contains("different history") || caught.output.contains("rolled back"), "\(caught.output)")
        #expect(caught.output.contains("no receipt"), "the dropped receipt is named: \(caught.output)")
        // A relay's copy of a ward's journal that differs from what the ward signed (one relayed
        // position altered) is caught against the ward's signed journal checkpoint.
        #expect(FileManager.default.fileExists(atPath: ward0 + "/journal/checkpoint"))
        let other = root + "/tamper-journal"
        try FileManager.default.copyItem(atPath: exports["thanh-khe"]!, toPath: other)
        let copies = try String(contentsOfFile: other + "/journals.json", encoding: .utf8)
        let honest = try #require(copies.range(of: #""hai-chau":\{"root":"[^"]+""#, options: .regularExpression))
        let altered = copies.replacingCharacters(in: honest, with: "\"hai-chau\":{\"root\":\"" + Data(repeating: 7, count: 32).base64EncodedString() + "\"")
        try altered.write(toFile: other + "/journals.json", atomically: true, encoding: .utf8)
        let relayCaught = try ProcessSupport.run(["audit", "cross-check", ward0, exports["province"]!, other])
        #expect(relayCaught.status == 1 && relayCaught.output.contains("differs from what hai-chau signed"), "\(relayCaught.output)")

        // Log keys not signed by the node's registered bundle key (someone substituted keys/).
        try expectCaught(
            try tampered("binding") { dir in
                try (Data(repeating: 1, count: 64).base64EncodedString() + "\n").write(toFile: dir + "/trust/binding", atomically: true, encoding: .utf8)
            }, code: 1, "not signed by hai-chau's registered bundle key", "substituted audit keys")

        // Incomplete input: a missing key file.
        try expectCaught(try tampered("nokey") { try FileManager.default.removeItem(atPath: $0 + "/keys/node.vkey") }, code: 2, "node.vkey", "missing key")
        try await client.shutdown()
    }

    static func size(_ export: String) throws -> Int {
        let note = try String(contentsOfFile: export + "/log/checkpoint", encoding: .utf8)
        return Int(note.split(separator: "\n")[1])!
    }

    static func partial(_ export: String) throws -> String {
        let s = try size(export)
        return s >= 256 ? "" : ".p/\(s)"
    }

    /// The first entry bundle file of an export, relative to it.
    static func entryBundle(_ export: String) throws -> String? {
        let base = export + "/log/tile/entries"
        let files = FileManager.default.enumerator(atPath: base)?.compactMap { $0 as? String } ?? []
        return files.sorted().first { file in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: base + "/" + file, isDirectory: &isDirectory) && !isDirectory.boolValue
        }.map { "log/tile/entries/" + $0 }
    }

    static func flip(at path: String, offset: Int) throws {
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[min(offset, bytes.count - 1)] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: path))
    }
}
