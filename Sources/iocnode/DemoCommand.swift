import ArgumentParser
import AsyncHTTPClient
import Foundation
import IOCIdentity
import IOCModel
import IOCNode
import IOCStore
import NIOCore
import NIOHTTP1
import NIOSSL

/// `iocnode demo`: a local federation on loopback — a province, three commune/ward OCs and a
/// sector OC as separate `iocnode serve` processes over mutual TLS, with a throwaway CA and
/// Vietnamese sample data — and a live table of each node's records and sync state converging.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a local federation (province, 3 wards, 1 sector OC) as real processes over mutual TLS, with sample data.")

    @Option(help: "Topology to take the nodes from.")
    var topology: String = "Topology/da-nang.yaml"
    @Option(help: "Stop after this many seconds (default: run until Ctrl-C).")
    var duration: Int?
    @Flag(help: "Keep the temporary directory (data, certificates, logs) after stopping.")
    var keep = false

    func run() async throws {
        let source = try loadTopology(topology)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("iocnode-demo-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir + "/logs", withIntermediateDirectories: true)
        let stop = StopSignal()
        let federation = try DemoFederation(source: source, directory: dir)
        defer {
            federation.stopAll()
            if !keep { try? FileManager.default.removeItem(atPath: dir) }
        }
        say("IOC Federation demo — creating a federation CA and \(federation.topology.nodes.count) nodes in \(dir)")
        try await federation.prepare()
        try federation.startAll()
        let client = try federation.httpClient()
        do {
            try await federation.waitUntilUp(client)
            say(federation.banner())
            let display = ProgressDisplay(federation: federation, interactive: isatty(STDOUT_FILENO) == 1)
            let started = ContinuousClock.now
            var tick = 0
            while !stop.requested {
                if let duration, ContinuousClock.now - started >= .seconds(duration) { break }
                await display.render(client, elapsed: ContinuousClock.now - started)
                // A little live activity: new reports at the wards, one alert from the province.
                if tick % 4 == 3 { await federation.liveWrite(client, tick: tick) }
                tick += 1
                try await Task.sleep(for: .seconds(1))
            }
            await display.render(client, elapsed: ContinuousClock.now - started, final: true)
        } catch {
            say("demo error: \(error)")
        }
        try? await client.shutdown()
        say("stopping every node…")
        federation.stopAll()
        say(keep ? "demo stopped; data kept in \(dir)" : "demo stopped")
    }
}

/// Ctrl-C and SIGTERM set a flag the demo loop checks, so it can stop its children cleanly
/// (they receive the terminal's SIGINT too and shut down gracefully).
final class StopSignal: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]
    private let flag = Flag()

    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        func set() { lock.withLock { value = true } }
        var isSet: Bool { lock.withLock { value } }
    }

    init() {
        let flag = self.flag
        sources = [SIGINT, SIGTERM].map { sig in
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler { flag.set() }
            s.resume()
            return s
        }
    }

    var requested: Bool { flag.isSet }
}

/// The demo's federation: the chosen nodes of a topology on free loopback ports, their
/// certificates, data, users and processes.
final class DemoFederation: @unchecked Sendable {
    let directory: String
    let topology: Topology
    let topologyPath: String
    var tokens: [String: String] = [:]
    var processes: [String: Process] = [:]

    convenience init(source: Topology, directory: String) throws {
        // The province, its first three commune/ward OCs and its first sector OC.
        guard let province = source.provinceNode else { throw ValidationError("The topology has no province node.") }
        let wards = source.nodes.filter { $0.mode == .district && $0.parent == province.id }.prefix(3)
        let sectors = source.nodes.filter { $0.mode == .sector && $0.parent == province.id }.prefix(1)
        var nodes: [NodeDescriptor] = []
        for var n in [province] + wards + sectors {
            n.url = "https://127.0.0.1:\(try freeLoopbackPort())"
            n.syncURL = "https://127.0.0.1:\(try freeLoopbackPort())"
            nodes.append(n)
        }
        var t = source
        t.nodes = nodes
        try self.init(topology: t, directory: directory)
    }

    /// Every node of `topology` as given: its `url` and `sync` must already be free loopback ports
    /// (`bench fleet` builds such a topology).
    init(topology t: Topology, directory: String) throws {
        self.directory = directory
        topology = t
        topologyPath = directory + "/topology.json"
        // JSON is YAML: the generated topology loads like any other.
        try Data(Self.json(t).jsonData()).write(to: URL(fileURLWithPath: topologyPath))
    }

    var certs: CertsDirectory { CertsDirectory(path: directory + "/certs") }
    func data(_ node: String) -> String { directory + "/\(node)" }
    func port(_ node: String) -> Int { URLComponents(string: topology.node(id: node)!.url)!.port! }

    /// Certificates, sample data and an admin user per node, before any process starts.
    func prepare() async throws {
        try certs.initialise(federation: topology.federation, nodes: topology.nodes.map(\.id), hosts: topology.certificateHosts)
        for node in topology.nodes {
            try FileManager.default.createDirectory(atPath: data(node.id), withIntermediateDirectories: true)
            let store = try NodeStore(.init(path: data(node.id) + "/node.sqlite", nodeID: node.id, federation: topology.federation))
            if node.mode != .sector {
                _ = try await SampleData.seed(store: store, unit: node.unit, reports: node.mode == .province ? 6 : 12)
            }
            let (_, token) = try store.addUser(name: "Quản trị viên demo \(node.id)", role: .admin, unit: nil, sector: nil)
            tokens[node.id] = token
        }
    }

    func startAll() throws {
        for node in topology.nodes { try start(node.id) }
    }

    /// Starts `iocnode serve` for one node, its output in `logs/<node>.log`.
    func start(_ id: String) throws {
        let binary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        for node in topology.nodes where node.id == id {
            let p = Process()
            p.executableURL = binary
            p.arguments = [
                "serve", "--topology", topologyPath, "--node", node.id, "--data", data(node.id), "--certs", certs.path,
                "--sync-interval", "2", "--rules-interval", "10",
            ]
            _ = FileManager.default.createFile(atPath: directory + "/logs/\(node.id).log", contents: nil)
            let log = FileHandle(forWritingAtPath: directory + "/logs/\(node.id).log")
            p.standardOutput = log
            p.standardError = log
            try p.run()
            processes[node.id] = p
        }
    }

    /// SIGTERM to every child, then SIGKILL to any still running after 10 s.
    func stopAll() {
        Self.terminate(Array(processes.values))
        processes = [:]
    }

    /// Stops one node's process the same way.
    func stop(_ id: String) {
        guard let p = processes.removeValue(forKey: id) else { return }
        Self.terminate([p])
    }

    private static func terminate(_ children: [Process]) {
        for p in children where p.isRunning { kill(p.processIdentifier, SIGTERM) }
        let deadline = Date().addingTimeInterval(10)
        while children.contains(where: \.isRunning) && Date() < deadline { usleep(50_000) }
        for p in children where p.isRunning { kill(p.processIdentifier, SIGKILL) }
        for p in children { p.waitUntilExit() }
    }

    func httpClient() throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(certs.caCertificate))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
    }

    func request(_ client: HTTPClient, _ node: String, _ method: HTTPMethod, _ path: String, body: JSONValue? = nil) async throws
        -> (Int, JSONValue)
    {
        var req = HTTPClientRequest(url: "https://127.0.0.1:\(port(node))\(path)")
        req.method = method
        req.headers.add(name: "Authorization", value: "Bearer \(tokens[node] ?? "")")
        if let body { req.body = .bytes(ByteBuffer(data: body.jsonData())) }
        let res = try await client.execute(req, timeout: .seconds(5))
        let bytes = try await res.body.collect(upTo: 4 << 20)
        return (Int(res.status.code), (try? JSONValue.parse(Array(bytes.readableBytesView))) ?? .null)
    }

    func waitUntilUp(_ client: HTTPClient, only: [String]? = nil) async throws {
        for node in topology.nodes where only?.contains(node.id) ?? true {
            var up = false
            for _ in 0..<150 where !up {
                up = (try? await request(client, node.id, .GET, "/healthz").0) == 200
                if !up {
                    if processes[node.id]?.isRunning == false {
                        throw ValidationError("node \(node.id) exited; see \(directory)/logs/\(node.id).log")
                    }
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
            guard up else { throw ValidationError("node \(node.id) did not start; see \(directory)/logs/\(node.id).log") }
        }
    }

    func banner() -> String {
        var lines = ["", "Explore the API (each node trusts only the demo CA: \(certs.caCertificate)):"]
        for node in topology.nodes {
            let unit = topology.unit(code: node.unit)?.name ?? node.unit
            lines.append("  \(node.id.padding(toLength: 11, withPad: " ", startingAt: 0)) \(unit)")
            lines.append("      https://127.0.0.1:\(port(node.id))/api/v1/field-reports   token \(tokens[node.id] ?? "")")
        }
        let first = topology.nodes[0].id
        lines.append("  e.g. curl --cacert \(certs.caCertificate) -H 'Authorization: Bearer \(tokens[first] ?? "")' https://127.0.0.1:\(port(first))/api/v1/sync/status")
        lines.append("  logs: \(directory)/logs/   Ctrl-C stops every node.")
        lines.append("")
        return lines.joined(separator: "\n")
    }

    static let liveTitles = [
        "Ngập nước sau mưa lớn trên đường Nguyễn Văn Linh", "Cây xanh gãy đổ chắn lối đi đường Lê Duẩn",
        "Rác thải tập kết sai quy định tại chợ Hàn", "Đèn tín hiệu giao thông hỏng ngã tư Điện Biên Phủ",
        "Nắp cống bị mất trên đường Trần Phú",
    ]

    /// One new field report at a rotating ward; at the third, an alert from the province.
    func liveWrite(_ client: HTTPClient, tick: Int) async {
        let wards = topology.nodes.filter { $0.mode == .district }
        guard !wards.isEmpty else { return }
        let ward = wards[(tick / 4) % wards.count]
        let title = Self.liveTitles[(tick / 4) % Self.liveTitles.count]
        _ = try? await request(
            client, ward.id, .POST, "/api/v1/field-reports",
            body: [
                "channel": "app", "category": "flooding", "title": .string(title), "unit": .string(ward.unit),
                "reporter": ["name": "Lê Thị Hoa", "phone": "0935123456"],
            ])
        if tick / 4 == 2, let province = topology.provinceNode {
            _ = try? await request(
                client, province.id, .POST, "/api/v1/alerts",
                body: [
                    "headline": "Cảnh báo mưa lớn, nguy cơ ngập úng cục bộ", "category": "Met", "severity": "Severe",
                    "urgency": "Expected", "certainty": "Likely", "areaUnits": .array(wards.map { .string($0.unit) }),
                    "source": "operator",
                ])
        }
    }

    static func json(_ t: Topology) -> JSONValue {
        let units: [JSONValue] = t.units.map { u in
            var o: [String: JSONValue] = ["code": .string(u.code), "name": .string(u.name), "level": .string(u.level.rawValue)]
            if let p = u.parent { o["parent"] = .string(p) }
            if let v = u.validFrom { o["validFrom"] = .string(v) }
            if let v = u.validTo { o["validTo"] = .string(v) }
            if !u.successors.isEmpty { o["successors"] = .array(u.successors.map(JSONValue.string)) }
            if let s = u.sector { o["sector"] = .string(s) }
            if !u.categories.isEmpty { o["categories"] = .array(u.categories.map(JSONValue.string)) }
            return .object(o)
        }
        let nodes: [JSONValue] = t.nodes.map { n in
            var o: [String: JSONValue] = ["id": .string(n.id), "mode": .string(n.mode.rawValue), "unit": .string(n.unit), "url": .string(n.url)]
            if let p = n.parent { o["parent"] = .string(p) }
            if let s = n.syncURL { o["sync"] = .string(s) }
            return .object(o)
        }
        var doc: [String: JSONValue] = ["federation": .string(t.federation), "units": .array(units), "nodes": .array(nodes)]
        if t.sharing != .null { doc["sharing"] = t.sharing }
        return .object(doc)
    }
}

/// The live table: per node, records, journal entries held and how far behind its links are.
/// Redrawn in place on a terminal; on a pipe, printed only when convergence changes.
final class ProgressDisplay: @unchecked Sendable {
    let federation: DemoFederation
    let interactive: Bool
    var drawnLines = 0
    var lastConverged: Bool?

    init(federation: DemoFederation, interactive: Bool) {
        self.federation = federation
        self.interactive = interactive
    }

    func render(_ client: HTTPClient, elapsed: Duration, final: Bool = false) async {
        var rows: [String] = [
            "node        mode       records  entries  peers (✓ synced · n behind · ✗ error)",
        ]
        var vectors: [JSONValue] = []
        for node in federation.topology.nodes {
            guard let (status, s) = try? await federation.request(client, node.id, .GET, "/api/v1/sync/status"), status == 200 else {
                rows.append("\(node.id.padding(toLength: 11, withPad: " ", startingAt: 0)) (not answering)")
                continue
            }
            vectors.append(s["knowledge"] ?? .null)
            let entries = (s["knowledge"]?.objectValue ?? [:]).values.compactMap(\.int64Value).reduce(0, +)
            let links = (s["peers"]?.arrayValue ?? []).map { p -> String in
                let name = p["peer"]?.stringValue ?? "?"
                if p["lastError"]?.stringValue != nil, p["lastSuccess"] == .null { return "\(name) ✗" }
                let behind = p["entriesBehind"]?.int64Value ?? 0
                return behind == 0 ? "\(name) ✓" : "\(name) \(behind) behind"
            }
            rows.append(
                node.id.padding(toLength: 11, withPad: " ", startingAt: 0) + " "
                    + node.mode.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)
                    + String(format: "%9lld %8lld  ", s["records"]?.int64Value ?? 0, entries) + links.joined(separator: "  "))
        }
        let converged = vectors.count == federation.topology.nodes.count && Set(vectors.map { $0.jsonData() }).count == 1
        rows.append(
            (converged ? "converged: every node holds the same journal" : "syncing…") + "   t+\(elapsed.components.seconds)s")
        if interactive {
            var out = drawnLines > 0 ? "\u{1B}[\(drawnLines)A" : ""
            for r in rows { out += "\u{1B}[2K" + r + "\n" }
            FileHandle.standardOutput.write(Data(out.utf8))
            drawnLines = rows.count
        } else if converged != lastConverged || final {
            say(rows.joined(separator: "\n"))
        }
        lastConverged = converged
    }
}
