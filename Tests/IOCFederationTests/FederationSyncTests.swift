import AsyncHTTPClient
import Foundation
import IOCModel
import IOCNode
import IOCStore
import NIOCore
import NIOHTTP1
import NIOSSL
import Testing

/// Real `iocnode serve` processes on loopback over mutual TLS, with nothing but `certs init`
/// beforehand: a district keeps working while the province is down, catches up on its own once
/// the province starts, and an alert written at the province reaches the district.
@Suite(.serialized) struct FederationSyncTests {
    @Test func districtCatchesUpAfterProvinceStartsAndAlertFlowsDown() async throws {
        let root = try ProcessSupport.tempDirectory("federation")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fed = try LocalFederation(root: root, nodes: ["province", "hai-chau", "thanh-khe"])
        defer { fed.stopAll() }
        let client = try fed.httpClient()
        do {
            // The district alone: the province is down.
            try fed.start("hai-chau")
            let district = try fed.token("hai-chau")
            var written: [String] = []
            for i in 0..<6 {
                let body: JSONValue = [
                    "channel": "hotline-1022", "category": "flooding", "title": .string("Ngập sâu đường Bạch Đằng, điểm \(i)"),
                    "unit": "20194", "reporter": ["name": "Nguyễn Văn An", "phone": "0905123456"],
                ]
                let (status, json) = try await fed.request(client, "hai-chau", .POST, "/api/v1/field-reports", token: district, body: body)
                #expect(status == 201)
                if let id = json["id"]?.stringValue { written.append(id) }
            }
            #expect(written.count == 6)
            // The district reports the unreachable parent on its status page.
            let down = try await fed.waitFor(seconds: 15) {
                let (_, s) = try await fed.request(client, "hai-chau", .GET, "/api/v1/sync/status", token: district)
                return s["peers"]?[0]?["lastError"]?.stringValue != nil ? s : nil
            }
            #expect(down?["peers"]?[0]?["entriesBehind"]?.int64Value ?? 0 >= 6)

            // Part of the backlog goes by hand first: a signed file, imported while the province is
            // still down. The HTTP link later continues the same channel with no fork and no gap.
            let file = root + "/hai-chau-to-province.iocb"
            // (No --topology: the district applies the topology it serves with.)
            let exported = try ProcessSupport.run([
                "bundle", "export", "--data", root + "/hai-chau", "--to", "province", "--out", file, "--certs", root + "/certs",
            ])
            #expect(exported.status == 0, "\(exported.output)")
            try FileManager.default.createDirectory(atPath: root + "/province", withIntermediateDirectories: true)
            _ = try NodeStore(.init(path: root + "/province/node.sqlite", nodeID: "province", federation: "test-fed"))
            let imported = try ProcessSupport.run([
                "bundle", "import", "--data", root + "/province", file, "--certs", root + "/certs", "--topology", fed.topologyPath,
            ])
            #expect(imported.status == 0 && imported.output.contains("applied 1"), "\(imported.output)")

            // The province and a second district start; the first catches up without intervention.
            try fed.start("province")
            try fed.start("thanh-khe")
            let province = try fed.token("province")
            let arrived = try await fed.waitFor(seconds: 30) {
                let (_, list) = try await fed.request(client, "province", .GET, "/api/v1/field-reports?limit=100", token: province)
                let ids = Set((list["items"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue })
                return Set(written).isSubset(of: ids) ? ids : nil
            }
            #expect(arrived != nil, "the province never received the district's reports")
            // The reporter's contact stayed at the district.
            let (_, oneAtProvince) = try await fed.request(client, "province", .GET, "/api/v1/field-reports/\(written[0])", token: province)
            #expect(oneAtProvince["reporter"] == nil)

            // An alert written at the province reaches the district, and the other district via the province.
            let alert: JSONValue = [
                "headline": "Cảnh báo ngập lụt phường Hải Châu", "category": "Met", "severity": "Severe", "urgency": "Immediate",
                "certainty": "Observed", "areaUnits": ["20194"], "source": "operator",
            ]
            let (created, a) = try await fed.request(client, "province", .POST, "/api/v1/alerts", token: province, body: alert)
            #expect(created == 201)
            let alertID = try #require(a["id"]?.stringValue)
            let atDistrict = try await fed.waitFor(seconds: 30) {
                let (status, _) = try await fed.request(client, "hai-chau", .GET, "/api/v1/alerts/\(alertID)", token: district)
                return status == 200 ? true : nil
            }
            #expect(atDistrict == true, "the province's alert never reached the district")
            // The other ward holds Hải Châu's journal positions (its knowledge is complete) but, under
            // the sharing policy, none of the reports' content.
            let other = try fed.token("thanh-khe")
            let caughtUp = try await fed.waitFor(seconds: 30) {
                let (_, s) = try await fed.request(client, "thanh-khe", .GET, "/api/v1/sync/status", token: other)
                return (s["knowledge"]?["hai-chau"]?.int64Value ?? 0) >= 12 ? true : nil
            }
            #expect(caughtUp == true, "the second district never caught up with the first district's journal")
            let (hidden, _) = try await fed.request(client, "thanh-khe", .GET, "/api/v1/field-reports/\(written[5])", token: other)
            #expect(hidden == 404, "a ward must not hold another ward's field reports")

            // Both ends show a healthy link and no refused bundle.
            let (_, status) = try await fed.request(client, "province", .GET, "/api/v1/sync/status", token: province)
            #expect(status["recentRefusals"]?.arrayValue?.isEmpty == true, "\(status)")

            // Revocation without restarts: the operator revokes thanh-khe at the province's certs
            // directory; the province picks the denylist up, hands it down to hai-chau through sync,
            // and refuses thanh-khe from then on.
            let revoked = try ProcessSupport.run([
                "certs", "revoke", "--topology", fed.topologyPath, "--out", root + "/certs", "--node", "thanh-khe",
                "--reason", "máy chủ bị đánh cắp",
            ])
            #expect(revoked.status == 0, "\(revoked.output)")
            let spread = try await fed.waitFor(seconds: 30) {
                let (_, s) = try await fed.request(client, "hai-chau", .GET, "/api/v1/sync/status", token: district)
                return s["denylistVersion"]?.int64Value == 1 ? true : nil
            }
            #expect(spread == true, "the denylist never reached hai-chau through sync")
            let cutOff = try await fed.waitFor(seconds: 30) {
                let (_, s) = try await fed.request(client, "thanh-khe", .GET, "/api/v1/sync/status", token: other)
                return (s["peers"]?[0]?["consecutiveFailures"]?.int64Value ?? 0) >= 1 ? true : nil
            }
            #expect(cutOff == true, "the province kept syncing with a revoked node")
        } catch {
            Issue.record("\(error)")
        }
        try await client.shutdown()
    }
}

/// A federation of real `iocnode serve` processes on free loopback ports, with certificates from
/// `iocnode certs init`. Every process is stopped and every directory removed by the caller.
final class LocalFederation: @unchecked Sendable {
    let root: String
    let topologyPath: String
    let ports: [String: (api: Int, sync: Int)]
    var processes: [String: Process] = [:]
    var tokens: [String: String] = [:]

    /// Units and modes of the nodes a test may start; sector OCs handle the categories listed.
    static let nodeUnits: [String: (code: String, mode: String)] = [
        "province": ("48", "province"), "hai-chau": ("20194", "district"), "thanh-khe": ("20200", "district"),
        "health": ("so-y-te", "sector"), "environment": ("so-nn-mt", "sector"),
    ]

    /// `sharing` is the topology's sharing section as YAML (default: the shipped sample rules).
    init(root: String, nodes: [String], sharing: String? = nil) throws {
        self.root = root
        var ports: [String: (Int, Int)] = [:]
        for n in nodes { ports[n] = (try freeLoopbackPort(), try freeLoopbackPort()) }
        self.ports = ports
        topologyPath = root + "/topology.yaml"
        try Self.topology(ports: ports, nodes: nodes, sharing: try sharing ?? ProcessSupport.shippedSharing())
            .write(toFile: topologyPath, atomically: true, encoding: .utf8)
        let made = try ProcessSupport.run(["certs", "init", "--topology", topologyPath, "--out", root + "/certs"])
        guard made.status == 0 else { throw TestFailure("certs init failed: \(made.output)") }
    }

    /// Rewrites the topology file with another sharing section (running nodes pick it up).
    func setSharing(_ sharing: String) throws {
        try Self.topology(ports: ports, nodes: Array(ports.keys).sorted(), sharing: sharing)
            .write(toFile: topologyPath, atomically: true, encoding: .utf8)
    }

    static func topology(ports: [String: (api: Int, sync: Int)], nodes: [String], sharing: String) -> String {
        var yaml = """
            federation: test-fed
            units:
              - {code: "48", name: "Thành phố Đà Nẵng", level: province}
              - {code: "20194", name: "Phường Hải Châu", level: ward, parent: "48", validFrom: 2025-07-01}
              - {code: "20200", name: "Phường Thanh Khê", level: ward, parent: "48", validFrom: 2025-07-01}
              - {code: so-y-te, name: "Sở Y tế", level: sector, parent: "48", sector: health, categories: [food-safety, epidemic]}
              - {code: so-nn-mt, name: "Sở Nông nghiệp và Môi trường", level: sector, parent: "48", sector: environment, categories: [flooding, pollution, environment]}
            nodes:

            """
        for n in nodes {
            let (api, sync) = ports[n]!
            let u = nodeUnits[n]!
            yaml += "  - {id: \(n), mode: \(u.mode), unit: \"\(u.code)\""
            yaml += u.mode == "province" ? "" : ", parent: province"
            yaml += ", url: \"https://127.0.0.1:\(api)\", sync: \"https://127.0.0.1:\(sync)\"}\n"
        }
        return yaml + sharing
    }

    /// Starts `iocnode serve` for `node` (with `options` added) and waits until both listeners are up.
    func start(_ node: String, options: [String] = []) throws {
        let (p, out) = try ProcessSupport.start([
            "serve", "--topology", topologyPath, "--node", node, "--data", root + "/\(node)", "--certs", root + "/certs",
            "--sync-interval", "1",
        ] + options)
        processes[node] = p
        guard ProcessSupport.waitForLine(out, containing: "sync (mutual TLS) listening on", timeout: 30) != nil else {
            throw TestFailure("\(node) did not start")
        }
    }

    func stopAll() {
        for p in processes.values { ProcessSupport.stop(p) }
    }

    /// Carries what `from` has for `to` on a file, as on a USB stick: `bundle export` in one
    /// process, `bundle import` in another (both data directories must exist).
    func carryByFile(from: String, to: String) throws {
        let file = root + "/\(from)-to-\(to).iocb"
        for args in [["bundle", "export", "--data", root + "/\(from)", "--to", to, "--out", file], ["bundle", "import", "--data", root + "/\(to)", file]] {
            let r = try ProcessSupport.run(args + ["--certs", root + "/certs", "--topology", topologyPath])
            guard r.status == 0 else { throw TestFailure("\(args[0]) \(args[1]) \(from) → \(to) failed: \(r.output)") }
        }
    }

    /// An admin token for `node` (created once; the data directory must exist).
    func token(_ node: String) throws -> String {
        if let t = tokens[node] { return t }
        let added = try ProcessSupport.run(["user", "add", "--data", root + "/\(node)", "--name", "Quản trị \(node)", "--role", "admin"])
        guard let t = added.output.split(whereSeparator: \.isWhitespace).first(where: { $0.hasPrefix("ioc_") }).map(String.init) else {
            throw TestFailure("user add failed: \(added.output)")
        }
        tokens[node] = t
        return t
    }

    /// A client that trusts only the federation CA (the user API's server certificate).
    func httpClient() throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(root + "/certs/ca.crt"))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
    }

    func request(
        _ client: HTTPClient, _ node: String, _ method: HTTPMethod, _ path: String, token: String, body: JSONValue? = nil
    ) async throws -> (Int, JSONValue) {
        var req = HTTPClientRequest(url: "https://127.0.0.1:\(ports[node]!.api)\(path)")
        req.method = method
        req.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body { req.body = .bytes(ByteBuffer(data: body.jsonData())) }
        let res = try await client.execute(req, timeout: .seconds(10))
        let bytes = try await res.body.collect(upTo: 8 << 20)
        let json = (try? JSONValue.parse(Array(bytes.readableBytesView))) ?? .null
        return (Int(res.status.code), json)
    }

    /// Polls `probe` every 200 ms until it returns a value or `seconds` pass.
    func waitFor<T>(seconds: Double, _ probe: () async throws -> T?) async throws -> T? {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if let v = try? await probe() { return v }
            try await Task.sleep(for: .milliseconds(200))
        }
        return nil
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

extension JSONValue {
    subscript(index: Int) -> JSONValue? {
        guard let a = arrayValue, a.indices.contains(index) else { return nil }
        return a[index]
    }
}
