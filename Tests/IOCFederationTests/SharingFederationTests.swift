import AsyncHTTPClient
import Foundation
import GRDB
import IOCModel
import IOCNode
import IOCSharing
import IOCStore
import IOCSync
import IOCTesting
import IOCTopology
import NIOHTTP1
import Testing

/// Role-based sharing (issue 5) with real `iocnode serve` processes syncing over mutual TLS:
/// province, two wards (hai-chau, thanh-khe) and two sector OCs (health, environment). Each test
/// starts all five, drives them through the user API only, stops them, then inspects their SQLite
/// files and bundle files directly.
@Suite(.serialized) struct SharingFederationTests {
    static let nodes = ["province", "hai-chau", "thanh-khe", "health", "environment"]

    // MARK: 1. Isolation matrix and no personal data leaves

    @Test func everyNodeHoldsExactlyWhatThePolicyGrantsAndNoPersonalDataLeaves() async throws {
        try await SharingSession.run("sharing-matrix") { s in
            // label → (id, intake node); reporters by label.
            var ids: [String: String] = [:]
            var reporters: [String: (node: String, name: String, phone: String)] = [:]
            var titles: [String: String] = [:]
            var i = 0
            func report(_ label: String, at node: String, unit: String, category: String, assigned: String? = nil) async throws {
                let name = "Lê Thị Bí Mật \(i)"
                let phone = "0912345678\(i)"
                let title = "Phản ánh \(label) số \(i) — \(category)"
                i += 1
                var body: [String: JSONValue] = [
                    "channel": "hotline-1022", "category": .string(category), "title": .string(title), "unit": .string(unit),
                    "reporter": ["name": .string(name), "phone": .string(phone)],
                ]
                if let assigned { body["assignedUnit"] = .string(assigned) }
                ids[label] = try await s.create(node, "field-reports", .object(body))
                reporters[label] = (node, name, phone)
                titles[label] = title
            }
            try await report("hc-flood", at: "hai-chau", unit: "20194", category: "flooding")
            try await report("hc-food", at: "hai-chau", unit: "20194", category: "food-safety")
            try await report("hc-security", at: "hai-chau", unit: "20194", category: "security")
            try await report("tk-flood", at: "thanh-khe", unit: "20200", category: "flooding")
            try await report("tk-food", at: "thanh-khe", unit: "20200", category: "food-safety")
            try await report("tk-security", at: "thanh-khe", unit: "20200", category: "security")
            try await report("p-epidemic-to-tk", at: "province", unit: "48", category: "epidemic", assigned: "20200")

            ids["p-alert-hc"] = try await s.create("province", "alerts", Self.alert("Cảnh báo ngập phường Hải Châu", area: ["20194"]))
            ids["p-alert-all"] = try await s.create("province", "alerts", Self.alert("Cảnh báo mưa lớn toàn thành phố", area: ["48"]))
            ids["p-directive-tk"] = try await s.create(
                "province", "directives",
                [
                    "title": "Khơi thông cống thoát nước phường Thanh Khê", "instruction": "Báo cáo kết quả trước 17 giờ.",
                    "targetUnit": "20200", "priority": "urgent",
                ])
            ids["hc-alert"] = try await s.create("hai-chau", "alerts", Self.alert("Ngập cục bộ đường Bạch Đằng", area: ["20194"]))
            ids["hc-station"] = try await s.create(
                "hai-chau", "stations",
                [
                    "code": "DN-MUA-HC-02", "name": "Trạm đo mưa Công viên 29 Tháng 3", "stationType": "rain",
                    "measure": "rainfall_1h", "unitOfMeasure": "mm", "location": ["lat": 16.0599, "lon": 108.2058],
                    "warningThreshold": 50, "dangerThreshold": 100, "thresholdDirection": "above",
                ])
            let (obsStatus, obs) = try await s.fed.request(
                s.client, "hai-chau", .POST, "/api/v1/observations", token: try s.token("hai-chau"),
                body: ["observations": [["stationId": .string(ids["hc-station"]!), "value": 38.5, "observedAt": "2025-10-28T06:00:00+07:00"]]])
            #expect(obsStatus == 201 || obsStatus == 200, "observations: \(obsStatus) \(obs)")
            ids["hc-kpi"] = try await s.create(
                "hai-chau", "kpis",
                ["code": "FR_ONTIME_RATE", "name": "Tỷ lệ phản ánh được xử lý đúng hạn", "period": "2025-10", "value": 93.7, "target": 95])
            ids["health-kpi"] = try await s.create(
                "health", "kpis", ["code": "FOOD_INSPECTIONS", "name": "Số cơ sở thực phẩm được kiểm tra", "period": "2025-10", "value": 42])

            let knowledge = try await s.waitForConvergence(seconds: 40)
            #expect(knowledge != nil, "the five nodes never reached the same knowledge\n\(s.logTails())")
            s.stopNodes()

            // Bundle files, exported after the nodes stopped: every node to every other node. Files to
            // a node it never exchanged with carry its whole (filtered) journal.
            var bundleFiles: [String] = []
            for from in Self.nodes {
                for to in Self.nodes where to != from {
                    let file = s.root + "/export-\(from)-to-\(to).iocb"
                    let out = try ProcessSupport.run([
                        "bundle", "export", "--data", s.root + "/" + from, "--to", to, "--out", file, "--certs", s.root + "/certs",
                        "--topology", s.fed.topologyPath,
                    ])
                    #expect(out.status == 0, "export \(from) → \(to): \(out.output)")
                    if out.status == 0 { bundleFiles.append(file) }
                }
            }

            // The oracle: from the topology file's policy and each record's facts at its origin.
            let policy = try ActivePolicy(topology: TopologyLoader.load(path: s.fed.topologyPath))
            let stores = try s.openStores()
            var facts: [RecordID: RecordFacts] = [:]
            var held: [String: Set<RecordID>] = [:]
            for node in Self.nodes {
                let records = try SharingOracle.records(stores[node]!)
                held[node] = Set(records.map(\.0))
                for (id, f) in records where f.origin == node { facts[id] = f }
            }
            let everywhere = held.values.reduce(into: Set<RecordID>()) { $0.formUnion($1) }
            for id in everywhere where facts[id] == nil {
                Issue.record("record \(id) is held somewhere but not by an origin node that created it")
            }
            let names = Dictionary(uniqueKeysWithValues: ids.compactMap { k, v in RecordID(v).map { ($0, k) } })
            func describe(_ id: RecordID) -> String {
                guard let f = facts[id] else { return "\(id)" }
                return "\(names[id] ?? f.kind) \(id) (origin \(f.origin), units \(f.units), area \(f.area), category \(f.category ?? "-"))"
            }
            for node in Self.nodes {
                let expected = Set(facts.filter { policy.mayHold($0.value, node: node) }.keys)
                let extra = held[node]!.subtracting(expected)
                let missing = expected.subtracting(held[node]!)
                #expect(
                    extra.isEmpty && missing.isEmpty,
                    """
                    \(node) differs from the policy oracle:
                      extra:   \(extra.map(describe).sorted().joined(separator: "\n           "))
                      missing: \(missing.map(describe).sorted().joined(separator: "\n           "))
                    """)
                for id in held[node]!.intersection(expected) {
                    let origin = facts[id]!.origin
                    let mine = try stores[node]!.state(id)?.digest
                    let theirs = try stores[origin]!.state(id)?.digest
                    #expect(mine != nil && mine == theirs, "\(node)'s copy of \(describe(id)) differs from \(origin)'s")
                }
            }
            // The oracle is not vacuous: the rules in plain words, record by record.
            let matrix: [String: Set<String>] = [
                "hc-flood": ["hai-chau", "province", "environment"],
                "hc-food": ["hai-chau", "province", "health"],
                "hc-security": ["hai-chau", "province"],
                "tk-flood": ["thanh-khe", "province", "environment"],
                "tk-food": ["thanh-khe", "province", "health"],
                "tk-security": ["thanh-khe", "province"],
                "p-epidemic-to-tk": ["province", "thanh-khe", "health"],
                "p-alert-hc": ["province", "hai-chau"],
                "p-alert-all": Set(Self.nodes),
                "p-directive-tk": ["province", "thanh-khe"],
                "hc-alert": ["hai-chau", "province"],
                "hc-station": ["hai-chau", "province"],
                "hc-kpi": ["hai-chau", "province"],
                "health-kpi": ["health", "province"],
            ]
            for (label, holders) in matrix.sorted(by: { $0.key < $1.key }) {
                guard let id = ids[label].flatMap(RecordID.init) else {
                    Issue.record("\(label) was not created")
                    continue
                }
                let actual = Set(Self.nodes.filter { held[$0]!.contains(id) })
                #expect(actual == holders, "\(label): held by \(actual.sorted()), expected \(holders.sorted())")
            }
            let observations = try stores["province"]!.counts()["observation", default: 0]
            #expect(observations == 1, "the province should hold hai-chau's observation")

            // No personal data leaves the node that took it in: not in any other node's database file,
            // not in any exported bundle (raw bytes, and every payload decompressed).
            let payloads = try bundleFiles.map { file in (file, try Self.bundleBytes(file)) }
            for (label, r) in reporters.sorted(by: { $0.key < $1.key }) {
                let needles = Self.needles(r.name) + Self.needles(r.phone)
                for node in Self.nodes where node != r.node {
                    for file in Self.databaseFiles(s.root + "/" + node) {
                        let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
                        for n in needles where bytes.range(of: n) != nil {
                            Issue.record("\(label)'s reporter (\(String(decoding: n, as: UTF8.self))) found in \(file)")
                        }
                    }
                }
                for (file, blobs) in payloads {
                    for blob in blobs {
                        for n in needles where blob.range(of: n) != nil {
                            Issue.record("\(label)'s reporter (\(String(decoding: n, as: UTF8.self))) found in bundle \(file)")
                        }
                    }
                }
                // The search can fail: the intake node's own database holds both.
                let intake = try Self.databaseFiles(s.root + "/" + r.node).map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
                for value in [r.name, r.phone] {
                    #expect(
                        intake.contains { bytes in Self.needles(value).contains { bytes.range(of: $0) != nil } },
                        "\(r.node)'s database should hold its reporter's \(value) (else this search proves nothing)")
                }
            }
            // …and would find what the bundles do carry: the title of every field report that some
            // node besides its origin and the province may hold (a file to a node that never
            // exchanged with the exporter carries it; security reports go to the province only,
            // which already has them, so no file carries those).
            for (label, title) in titles.sorted(by: { $0.key < $1.key })
            where !matrix[label]!.subtracting([reporters[label]!.node, "province"]).isEmpty {
                let found = payloads.contains { $0.1.contains { $0.range(of: Data(title.utf8)) != nil } }
                #expect(found, "no exported bundle carries \(label)'s title: the bundle search would prove nothing")
            }
        }
    }

    // MARK: 2. Re-categorisation

    @Test func recategorisedReportMovesFromEnvironmentToHealth() async throws {
        try await SharingSession.run("sharing-recategorise") { s in
            let id = try await s.create(
                "hai-chau", "field-reports",
                [
                    "channel": "app", "category": "flooding", "title": "Ngập sau mưa, bếp ăn tập thể trường tiểu học bị nước tràn vào",
                    "unit": "20194", "reporter": ["name": "Trần Văn Bảo", "phone": "0987000111"],
                ])
            let head = try await s.knowledge("hai-chau")["hai-chau"]?.int64Value ?? 0
            let before = try await s.fed.waitFor(seconds: 20) { () async throws -> Bool? in
                let (env, _) = try await s.get("environment", "/api/v1/field-reports/\(id)")
                let known = try await s.knowledge("health")["hai-chau"]?.int64Value ?? 0
                return env == 200 && known >= head ? true : nil
            }
            #expect(before == true, "the flooding report never reached environment\n\(s.logTails())")
            #expect(try await s.get("health", "/api/v1/field-reports/\(id)").0 == 404, "health must not see a flooding report")

            let (patched, body) = try await s.fed.request(
                s.client, "hai-chau", .PATCH, "/api/v1/field-reports/\(id)", token: try s.token("hai-chau"),
                body: ["category": "food-safety"])
            #expect(patched == 200 && body["category"]?.stringValue == "food-safety", "PATCH: \(patched) \(body)")

            let moved = try await s.fed.waitFor(seconds: 20) { () async throws -> Bool? in
                let (h, view) = try await s.get("health", "/api/v1/field-reports/\(id)")
                let (e, _) = try await s.get("environment", "/api/v1/field-reports/\(id)")
                return h == 200 && view["category"]?.stringValue == "food-safety" && e == 404 ? true : nil
            }
            #expect(moved == true, "the re-categorised report did not move from environment to health\n\(s.logTails())")
            s.stopNodes()

            let stores = try s.openStores()
            let rid = try #require(RecordID(id))
            let source = try #require(try stores["hai-chau"]!.state(rid))
            #expect(try stores["health"]!.state(rid)?.digest == source.digest, "health's copy differs from hai-chau's")
            #expect(try stores["environment"]!.state(rid) == nil)
            // Health holds the record's full history, byte for byte, each entry matching its hash.
            let origin = try Self.journal(stores["hai-chau"]!, origin: "hai-chau")
            let positions = Set(origin.filter { $0.record == rid }.map(\.seq))
            #expect(positions.count >= 2, "create and patch at least")
            let atHealth = try Self.journal(stores["health"]!, origin: "hai-chau")
            for e in atHealth where positions.contains(e.seq) {
                let o = origin.first { $0.seq == e.seq }
                #expect(e.bytes != nil && e.bytes == o?.bytes, "health lacks hai-chau:\(e.seq) of the moved report")
                #expect(e.bytes.map { Data(JournalEntry.leafHash(Array($0))) } == e.hash, "hai-chau:\(e.seq) does not match its hash")
            }
            #expect(Set(atHealth.map(\.seq)).isSuperset(of: positions))
            // Environment purged it with a receipt, and keeps every position as its hash.
            let receipts = try stores["environment"]!.purgeReceipts()
            #expect(receipts.contains { $0.recordID == rid }, "environment has no purge receipt: \(receipts)")
            let atEnvironment = try Self.journal(stores["environment"]!, origin: "hai-chau")
            #expect(atEnvironment.map(\.seq) == origin.map(\.seq), "environment's copy of hai-chau's journal has gaps")
            #expect(atEnvironment.map(\.hash) == origin.map(\.hash))
            #expect(atEnvironment.filter { positions.contains($0.seq) }.allSatisfy { $0.bytes == nil })
            #expect(try stores["environment"]!.knowledge()["hai-chau"] == stores["hai-chau"]!.knowledge()["hai-chau"])
        }
    }

    // MARK: 3. Revocation and grant, without restart

    @Test func revokingTheSectorGrantPurgesLiveAndRestoringItBackfills() async throws {
        try await SharingSession.run("sharing-revoke") { s in
            var food: [String] = []
            var intake: [String: String] = [:]
            for (node, unit) in [("hai-chau", "20194"), ("hai-chau", "20194"), ("thanh-khe", "20200"), ("thanh-khe", "20200")] {
                food.append(
                    try await s.create(
                        node, "field-reports",
                        [
                            "channel": "hotline-1022", "category": "food-safety", "unit": .string(unit),
                            "title": .string("Nghi ngộ độc thực phẩm tại \(node) số \(food.count)"),
                        ]))
                intake[food.last!] = node
            }
            _ = try await s.create(
                "hai-chau", "field-reports", ["channel": "app", "category": "flooding", "unit": "20194", "title": "Ngập cục bộ"])
            func healthLists() async throws -> Set<String> {
                let (_, list) = try await s.get("health", "/api/v1/field-reports?limit=100")
                return Set((list["items"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue })
            }
            let all = try await s.fed.waitFor(seconds: 20) { () async throws -> Bool? in
                try await healthLists() == Set(food) ? true : nil
            }
            #expect(all == true, "health never listed the \(food.count) food-safety reports\n\(s.logTails())")

            // The administrator removes the sector rule (version 2) while every node runs.
            let original = try ProcessSupport.shippedSharing()
            let revoked = try Self.withoutSectorRule(original, version: 2)
            try s.fed.setSharing(revoked)
            // 30 s: seconds when quiet, but the whole suite runs beside it (15 s timed out there).
            let gone = try await s.fed.waitFor(seconds: 30) { () async throws -> Bool? in
                try await healthLists().isEmpty ? true : nil
            }
            #expect(gone == true, "health still lists food-safety reports 30 s after the grant was revoked\n\(s.logTails())")
            for id in food {
                #expect(try await s.get("health", "/api/v1/field-reports/\(id)").0 == 404)
                #expect(try await s.get("province", "/api/v1/field-reports/\(id)").0 == 200, "the province must keep \(id)")
            }

            // Granted back (version 3): every record returns.
            try s.fed.setSharing(original.replacingOccurrences(of: "\n  version: 1\n", with: "\n  version: 3\n"))
            let back = try await s.fed.waitFor(seconds: 30) { () async throws -> Bool? in
                try await healthLists() == Set(food) ? true : nil
            }
            #expect(back == true, "health did not get the food-safety reports back within 30 s\n\(s.logTails())")
            s.stopNodes()

            let stores = try s.openStores()
            for (text, origin) in intake {
                let id = try #require(RecordID(text))
                let digest = try stores[origin]!.state(id)?.digest
                let atHealth = try stores["health"]!.state(id)?.digest
                let atProvince = try stores["province"]!.state(id)?.digest
                #expect(digest != nil && atHealth == digest, "health's copy of \(id) differs from \(origin)'s")
                #expect(atProvince == digest, "the province's copy of \(id) differs from \(origin)'s")
            }
            let purged = Set(try stores["health"]!.purgeReceipts().map(\.recordID))
            #expect(purged == Set(food.compactMap(RecordID.init)), "health's purge receipts: \(purged)")
            #expect(try stores["province"]!.purgeReceipts().isEmpty, "the province purged something")
        }
    }

    // MARK: 4. Forged scope

    @Test func receiverRefusesAndLogsWhatAPermissiveSenderForwards() async throws {
        try await SharingSession.run("sharing-forged") { s in
            var reports: [String: String] = [:]  // id → title
            for category in ["security", "flooding", "food-safety"] {
                let title = "Tin báo \(category) chỉ dành cho phường Hải Châu"
                let id = try await s.create(
                    "hai-chau", "field-reports",
                    ["channel": "officer", "category": .string(category), "unit": "20194", "title": .string(title)])
                reports[id] = title
            }
            let head = try await s.knowledge("hai-chau")["hai-chau"]?.int64Value ?? 0
            let known = try await s.fed.waitFor(seconds: 20) { () async throws -> Bool? in
                let tk = try await s.knowledge("thanh-khe")["hai-chau"]?.int64Value ?? 0
                let p = try await s.knowledge("province")["hai-chau"]?.int64Value ?? 0
                return tk >= head && p >= head ? true : nil
            }
            #expect(known == true, "thanh-khe never caught up with hai-chau's journal\n\(s.logTails())")
            s.stopNodes()

            // A province that ignores the rules: the same version, plus a grant of every field report
            // to every mode.
            let permissive = s.root + "/permissive.yaml"
            let real = try String(contentsOfFile: s.fed.topologyPath, encoding: .utf8)
            let forgedText = real.hasSuffix("\n") ? real : real + "\n"
            try (forgedText + """
                    - name: Every field report to every node (forged)
                      kinds: [fieldReport]
                      to: [province, district, sector]

                """).write(toFile: permissive, atomically: true, encoding: .utf8)
            let forgedPolicy = try ActivePolicy(topology: TopologyLoader.load(path: permissive))
            let realPolicy = try ActivePolicy(topology: TopologyLoader.load(path: s.fed.topologyPath))
            #expect(forgedPolicy.version == realPolicy.version && forgedPolicy.fingerprint != realPolicy.fingerprint)

            let file = s.root + "/forged-province-to-thanh-khe.iocb"
            let exported = try ProcessSupport.run([
                "bundle", "export", "--data", s.root + "/province", "--to", "thanh-khe", "--out", file, "--certs", s.root + "/certs",
                "--topology", permissive,
            ])
            #expect(exported.status == 0, "\(exported.output)")
            // The forged file does carry hai-chau's reports (else the test proves nothing).
            let blobs = try Self.bundleBytes(file)
            for (id, title) in reports {
                #expect(blobs.contains { $0.range(of: Data(title.utf8)) != nil }, "the forged bundle does not carry \(id)")
            }

            let imported = try ProcessSupport.run([
                "bundle", "import", "--data", s.root + "/thanh-khe", file, "--certs", s.root + "/certs", "--topology", s.fed.topologyPath,
            ])
            #expect(
                imported.status != 0 || imported.output.contains("does not let 'thanh-khe' hold"),
                "the import does not report the refused entries (exit \(imported.status)):\n\(imported.output)")

            let tk = try s.openStores()["thanh-khe"]!
            let leaked = try SharingOracle.records(tk).filter { $0.1.origin == "hai-chau" }
            #expect(leaked.isEmpty, "thanh-khe holds hai-chau records: \(leaked.map { "\($0.0) \($0.1.kind) \($0.1.category ?? "")" })")
            #expect(try Self.journal(tk, origin: "hai-chau").allSatisfy { $0.bytes == nil }, "thanh-khe stored hai-chau content")
            let refusals = try tk.readSync { db in
                try Row.fetchAll(db, sql: "SELECT record_id, reason FROM refusal").map { (RecordID(bytes: Array($0[0] as Data)), $0[1] as String) }
            }
            let refusedRecords = Set(refusals.filter { $0.1.contains("sharing policy v\(realPolicy.version) does not let 'thanh-khe' hold this fieldReport") }.compactMap(\.0))
            #expect(
                refusedRecords == Set(reports.keys.compactMap(RecordID.init)),
                "refusal rows naming the policy should cover every forwarded report: \(refusals.map(\.1))")
        }
    }

    // MARK: Helpers

    static func alert(_ headline: String, area: [String]) -> JSONValue {
        [
            "headline": .string(headline), "category": "Met", "severity": "Severe", "urgency": "Immediate", "certainty": "Likely",
            "areaUnits": .array(area.map(JSONValue.string)), "source": "operator",
        ]
    }

    /// The shipped sharing section without the rule that relays reports to sector OCs, at `version`.
    static func withoutSectorRule(_ sharing: String, version: Int) throws -> String {
        var out: [Substring] = []
        var skipping = false
        for line in sharing.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("    - ") { skipping = line.contains("sector OC") }
            if line == "  version: 1" {
                out.append("  version: \(version)")
            } else if !skipping {
                out.append(line)
            }
        }
        let text = out.joined(separator: "\n")
        guard text.count < sharing.count, text.contains("version: \(version)"), !text.contains("scope: category") else {
            throw TestFailure("could not remove the sector rule from the shipped sharing section:\n\(sharing)")
        }
        return text
    }

    /// A value's UTF-8 bytes in NFC and NFD (whichever way a layer normalised it).
    static func needles(_ value: String) -> [Data] {
        Array(Set([value, value.precomposedStringWithCanonicalMapping, value.decomposedStringWithCanonicalMapping].map { Data($0.utf8) }))
    }

    static func databaseFiles(_ dir: String) -> [String] {
        ["node.sqlite", "node.sqlite-wal", "node.sqlite-shm"].map { dir + "/" + $0 }.filter { FileManager.default.fileExists(atPath: $0) }
    }

    /// A bundle file's raw bytes, then each envelope's payload decompressed.
    static func bundleBytes(_ path: String) throws -> [Data] {
        var out = [try Data(contentsOf: URL(fileURLWithPath: path))]
        let reader = try BundleFileReader(path: path)
        while let bytes = try reader.next() {
            let envelope = try Envelope(decoding: bytes, maxPayloadBytes: 64 << 20)
            out.append(Data(try Zstd.decompress(envelope.payload, maxBytes: 256 << 20)))
        }
        return out
    }

    static func journal(_ store: NodeStore, origin: String) throws -> [(seq: Int64, bytes: Data?, hash: Data, record: RecordID?)] {
        try store.readSync { db in
            try Row.fetchAll(
                db, sql: "SELECT seq, bytes, leaf_hash, record_id FROM journal WHERE origin = ? ORDER BY seq", arguments: [origin]
            ).map { ($0[0], $0[1], $0[2], ($0[3] as Data?).flatMap { RecordID(bytes: Array($0)) }) }
        }
    }
}

/// Five `iocnode serve` processes over mutual TLS in a temporary directory, a client for their
/// user API, and their logs (kept for failure messages).
final class SharingSession: @unchecked Sendable {
    let root: String
    let fed: LocalFederation
    let client: HTTPClient
    private let logs = ProcessLogTails()
    private var tokens: [String: String] = [:]

    /// Starts all five nodes, runs `body`, and always stops them, shuts the client down and
    /// removes the directory.
    static func run(_ label: String, _ body: (SharingSession) async throws -> Void) async throws {
        let root = try ProcessSupport.tempDirectory(label)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fed = try LocalFederation(root: root, nodes: SharingFederationTests.nodes)
        defer { fed.stopAll() }
        let s = SharingSession(root: root, fed: fed, client: try fed.httpClient())
        defer { s.stopNodes() }
        do {
            try s.startAll()
            try await body(s)
        } catch {
            Issue.record("\(error)\n\(s.logTails())")
        }
        try await s.client.shutdown()
    }

    private init(root: String, fed: LocalFederation, client: HTTPClient) {
        self.root = root
        self.fed = fed
        self.client = client
    }

    /// Launches every node at once, then waits for each one's sync listener (bounded); each node's
    /// output is drained from then on so it can never block on a full pipe.
    func startAll() throws {
        var pipes: [(String, Process, Pipe)] = []
        for node in SharingFederationTests.nodes {
            let (p, out) = try ProcessSupport.start([
                "serve", "--topology", fed.topologyPath, "--node", node, "--data", root + "/\(node)", "--certs", root + "/certs",
                "--sync-interval", "1",
            ])
            fed.processes[node] = p
            pipes.append((node, p, out))
        }
        for (node, p, out) in pipes {
            guard ProcessSupport.waitForLine(out, containing: "sync (mutual TLS) listening on", timeout: 30) != nil else {
                throw TestFailure("\(node) did not start")
            }
            drain(node, p, out)
        }
        for node in SharingFederationTests.nodes { tokens[node] = try fed.token(node) }
    }

    private func drain(_ node: String, _ process: Process, _ pipe: Pipe) { logs.drain(node, process, pipe) }

    /// The last lines each node wrote, for failure messages.
    func logTails(lines: Int = 12) -> String { logs.text(lines: lines) }

    /// SIGTERM to every node at once, then wait for each (bounded by `ProcessSupport.stop`).
    func stopNodes() {
        for p in fed.processes.values where p.isRunning { kill(p.processIdentifier, SIGTERM) }
        fed.stopAll()
    }

    func token(_ node: String) throws -> String {
        if let t = tokens[node] { return t }
        return try fed.token(node)
    }

    func openStores() throws -> [String: NodeStore] {
        var out: [String: NodeStore] = [:]
        for node in SharingFederationTests.nodes {
            out[node] = try NodeStore(.init(path: root + "/\(node)/node.sqlite", nodeID: node, federation: "test-fed"))
        }
        return out
    }

    /// Creates a record through the user API as admin and returns its id.
    func create(_ node: String, _ collection: String, _ body: JSONValue) async throws -> String {
        let (status, json) = try await fed.request(client, node, .POST, "/api/v1/\(collection)", token: try token(node), body: body)
        guard status == 201, let id = json["id"]?.stringValue else {
            throw TestFailure("POST /api/v1/\(collection) at \(node): \(status) \(json)")
        }
        return id
    }

    func get(_ node: String, _ path: String) async throws -> (Int, JSONValue) {
        try await fed.request(client, node, .GET, path, token: try token(node))
    }

    func knowledge(_ node: String) async throws -> [String: JSONValue] {
        let (_, status) = try await get(node, "/api/v1/sync/status")
        return status["knowledge"]?.objectValue ?? [:]
    }

    /// Waits until every node states the same knowledge vector, and still does (with the same
    /// record counts) two sync intervals later. Returns the vector.
    func waitForConvergence(seconds: Double) async throws -> [String: JSONValue]? {
        func snapshot() async throws -> ([String: JSONValue], [Int64])? {
            var vectors: [[String: JSONValue]] = []
            var records: [Int64] = []
            for node in SharingFederationTests.nodes {
                let (status, s) = try await get(node, "/api/v1/sync/status")
                guard status == 200, let k = s["knowledge"]?.objectValue else { return nil }
                vectors.append(k)
                records.append(s["records"]?.int64Value ?? -1)
            }
            guard let first = vectors.first, !first.isEmpty, vectors.allSatisfy({ $0 == first }) else { return nil }
            return (first, records)
        }
        return try await fed.waitFor(seconds: seconds) { () async throws -> [String: JSONValue]? in
            guard let a = try await snapshot() else { return nil }
            try await Task.sleep(for: .seconds(2))
            guard let b = try await snapshot(), a.0 == b.0, a.1 == b.1 else { return nil }
            return b.0
        }
    }
}
