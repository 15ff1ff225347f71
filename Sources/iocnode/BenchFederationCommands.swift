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

/// `iocnode bench latency` and `iocnode bench fleet` (issue 7): real `iocnode serve` processes over
/// mutual TLS on loopback, driven through their HTTPS APIs like an operator's client would.
extension BenchCommand {
    /// Write→visible latency: field reports POSTed to a ward OC at a steady open-loop rate, and the
    /// time until each is held by the province.
    struct Latency: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write→visible latency at the province at a steady write rate to a ward (two serve processes, mutual TLS).")
        @Option(help: "Writes per second to the ward's API (open loop: write i is issued at start + i/rate).")
        var rate: Double = 200
        @Option(help: "Seconds of writing.")
        var seconds: Double = 30
        @Option(help: "Writes in flight at most (a write due while this many are open waits, and is counted late).")
        var concurrency: Int = 64
        @Option(help: "Milliseconds between probes of the province's knowledge.")
        var probeInterval: Int = 5
        @Option(
            help: """
                How the province is probed: 'store' (a read-only point query on its SQLite file) or 'api'                 (GET /api/v1/sync/status over HTTPS, which also counts records on every call).
                """)
        var probe: String = "store"

        func run() async throws {
            guard rate > 0, seconds > 0, rate * seconds >= 1, concurrency >= 1, probeInterval >= 1 else {
                throw ValidationError("--rate, --seconds, --concurrency and --probe-interval must be positive (at least one write).")
            }
            guard ["store", "api"].contains(probe) else { throw ValidationError("--probe must be 'store' or 'api'.") }
            var now: Int64 = 0
            let fed = try BenchCommand.benchFederation("latency") { _, store in now = store.now() }
            defer { try? FileManager.default.removeItem(atPath: fed.directory) }
            defer { fed.stopAll() }
            let count = Int(rate * seconds)
            var rng = SeededRandom(seed: 2026)
            // No reporter contact: one journal entry per write, whose sequence the 201 carries.
            let bodies = (0..<count).map { JSONValue.object(BenchmarkData.fieldReport($0, rng: &rng, unit: "20194", now: now)) }

            let client = try FleetSupport.client(fed, connectionsPerHost: concurrency)
            do {
                try await run(fed, client, bodies: bodies)
            } catch {
                try? await client.shutdown()
                throw error
            }
            try? await client.shutdown()
        }

        func run(_ fed: DemoFederation, _ client: HTTPClient, bodies: [JSONValue]) async throws {
            try fed.start("province")
            try fed.start("hai-chau")
            try await fed.waitUntilUp(client)
            // The ward's first round with the province done: the writes do not pay its connect.
            try await FleetSupport.waitForFirstSync(fed, client, nodes: ["hai-chau"], deadline: .now + .seconds(30))

            let servedBefore = await FleetSupport.requestsServed(fed, client, "province")
            let cpuBefore = FleetSupport.cpuSeconds(fed)
            let seen = KnowledgeProbe()
            let interval = probeInterval
            let file = probe == "store" ? try StoreProbe(path: fed.data("province") + "/node.sqlite") : nil
            let prober = Task {
                while !Task.isCancelled {
                    let sent = ContinuousClock.now
                    if let file {
                        if let seq = try? file.knowledge(of: "hai-chau") { seen.observe(Int64(seq), sent: sent, at: .now) }
                    } else {
                        seen.attempt()
                        if let s = try? await fed.request(client, "province", .GET, "/api/v1/sync/status"), s.0 == 200 {
                            seen.observe(s.1["knowledge"]?["hai-chau"]?.int64Value ?? 0, sent: sent, at: .now)
                        }
                    }
                    try? await Task.sleep(for: .milliseconds(interval))
                }
            }
            defer { prober.cancel() }

            let count = bodies.count
            let rate = self.rate
            let cap = concurrency
            let writes = WriteLog(count: count)
            let start = ContinuousClock.now + .milliseconds(50)
            await withTaskGroup(of: Void.self) { group in
                var open = 0
                for i in 0..<count {
                    let due = start + .seconds(Double(i) / rate)
                    try? await Task.sleep(until: due, clock: .continuous)
                    while open >= cap {
                        await group.next()
                        open -= 1
                    }
                    let body = bodies[i]
                    group.addTask {
                        let issued = ContinuousClock.now
                        let r = try? await fed.request(client, "hai-chau", .POST, "/api/v1/field-reports", body: body)
                        let seq = r?.0 == 201 ? r?.1["version"]?["hai-chau"]?.int64Value : nil
                        writes.record(i, due: due, issued: issued, acknowledged: .now, seq: seq)
                    }
                    open += 1
                }
            }
            let log = writes.entries
            let acked = log.filter { $0.seq != nil }
            let last = acked.compactMap(\.seq).max() ?? 0
            // Bounded wait for the last acknowledged write to reach the province.
            let deadline = ContinuousClock.now + .seconds(60)
            while seen.latest < last && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            prober.cancel()
            _ = await prober.value
            let window = (ContinuousClock.now - start).seconds
            let cpu = FleetSupport.cpuSeconds(fed)
            let share = { (id: String) -> String in
                String(format: "%.0f", 100 * (cpu[id, default: 0] - cpuBefore[id, default: 0]) / max(window, 1e-9))
            }
            let provinceSync = await FleetSupport.requestsServed(fed, client, "province") - servedBefore - 1 - seen.attempts
            let rss = fed.processes.mapValues { BenchCommand.Catchup.peakRSS(pid: $0.processIdentifier) }
            let wardStatus = try? await fed.request(client, "hai-chau", .GET, "/api/v1/sync/status").1
            let bundles = (wardStatus?["peers"]?.arrayValue ?? []).first { $0["peer"]?.stringValue == "province" }?["bundlesSent"]?.int64Value ?? 0

            var fromIssue: [Double] = []
            var fromAck: [Double] = []
            var writeTimes: [Double] = []
            for w in acked {
                writeTimes.append((w.acknowledged - w.issued).milliseconds)
                guard let visible = seen.firstTime(atLeast: w.seq!) else { continue }
                fromIssue.append((visible - w.issued).milliseconds)
                fromAck.append((visible - w.acknowledged).milliseconds)
            }
            let firstIssue = log.map(\.issued).min() ?? start
            let lastIssue = log.map(\.issued).max() ?? start
            let lastAck = acked.map(\.acknowledged).max() ?? start
            let late = log.map { ($0.issued - $0.due).milliseconds }.max() ?? 0
            let issueSpan = (lastIssue - firstIssue).seconds
            let (probes, probeMean) = seen.stats
            let p = { (q: Double) -> String in
                let cells = [fromIssue, fromAck, writeTimes].map { String(format: "%9.1f", Self.percentile($0, q)) }
                return cells.joined(separator: " ")
            }
            say(
                """
                write→visible latency, ward hai-chau → province, 2 serve processes over mutual TLS on loopback
                target                    \(String(format: "%g", rate)) writes/s for \(String(format: "%g", seconds)) s, open loop, ≤ \(cap) in flight
                writes                    \(count) issued, \(acked.count) acknowledged (Created), \(fromIssue.count) seen at the province
                achieved rate             \(String(format: "%.1f", Double(max(0, count - 1)) / max(issueSpan, 1e-9))) writes/s issued, \(String(format: "%.1f", Double(acked.count) / max((lastAck - firstIssue).seconds, 1e-9))) writes/s acknowledged; latest issue \(String(format: "%.1f", late)) ms behind schedule
                probe                     every \(interval) ms, \(file == nil ? "province GET /api/v1/sync/status" : "point query on the province's SQLite file"): knowledge of hai-chau ≥ the write's journal seq; \(probes) probes, \(String(format: "%.2f", probeMean)) ms each
                ward → province           \(bundles) bundles pushed (\(String(format: "%.1f", Double(acked.count) / Double(max(bundles, 1)))) writes per bundle); the province served \(provinceSync) sync requests (\(Int(Double(provinceSync) / max(window, 1e-9)))/s)
                                          issue→visible  201→visible  issue→201   (ms)
                p50                       \(p(0.50))
                p90                       \(p(0.90))
                p99                       \(p(0.99))
                max                       \(p(1.00))
                CPU while writing         ward \(share("hai-chau")) %, province \(share("province")) % of one core (\(ProcessInfo.processInfo.activeProcessorCount) cores, shared with this benchmark's client)
                peak RSS                  ward \(FleetSupport.mib(rss["hai-chau"] ?? 0)) MiB, province \(FleetSupport.mib(rss["province"] ?? 0)) MiB
                """)
            guard acked.count == count, fromIssue.count == acked.count else {
                throw ValidationError(
                    "\(count - acked.count) writes were not acknowledged and \(acked.count - fromIssue.count) acknowledged writes were not seen at the province; logs were in \(fed.directory)/logs")
            }
        }

        /// Nearest-rank percentile (q = 1 is the maximum); 0 for no samples.
        static func percentile(_ values: [Double], _ q: Double) -> Double {
            guard !values.isEmpty else { return 0 }
            let sorted = values.sorted()
            return sorted[min(sorted.count - 1, max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1))]
        }
    }

    /// A province and N ward OCs as separate processes on one machine: start-up, then W writes per
    /// ward through its API, and the time until the province holds all of them.
    struct Fleet: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "1 province + N ward OCs as serve processes over mutual TLS: start-up, convergence, memory.")
        @Option(help: "Ward (district-mode) nodes under the province.")
        var districts: Int = 50
        @Option(help: "Field reports written through each ward's API once all nodes are up.")
        var writesPerNode: Int = 20
        @Option(help: "Concurrent writes across all wards.")
        var concurrency: Int = 16
        @Option(help: "Seconds allowed for start-up, and again for convergence.")
        var timeout: Int = 120
        @Flag(help: "Keep the temporary directory (data, certificates, node logs) afterwards.")
        var keep = false

        func run() async throws {
            guard (1...500).contains(districts), writesPerNode >= 0, concurrency >= 1, timeout >= 1 else {
                throw ValidationError("--districts must be 1–500; --writes-per-node ≥ 0; --concurrency and --timeout ≥ 1.")
            }
            let prepared = ContinuousClock.now
            let fed = try BenchCommand.benchFederation("fleet", topologyYAML: Self.topologyYAML(districts: districts))
            defer {
                if keep { say("kept \(fed.directory)") } else { try? FileManager.default.removeItem(atPath: fed.directory) }
            }
            defer { fed.stopAll() }
            let prepareSeconds = (ContinuousClock.now - prepared).seconds
            let client = try FleetSupport.client(fed, connectionsPerHost: 4)
            do {
                try await run(fed, client, prepareSeconds: prepareSeconds)
            } catch {
                try? await client.shutdown()
                throw error
            }
            try? await client.shutdown()
        }

        func run(_ fed: DemoFederation, _ client: HTTPClient, prepareSeconds: Double) async throws {
            let wards = fed.topology.nodes.filter { $0.mode == .district }.map(\.id)
            let all = ["province"] + wards
            let deadline = ContinuousClock.now + .seconds(timeout)
            let started = ContinuousClock.now
            try fed.start("province")
            try await FleetSupport.waitUntilUp(fed, client, nodes: ["province"], deadline: deadline)
            for w in wards { try fed.start(w) }
            try await FleetSupport.waitUntilUp(fed, client, nodes: wards, deadline: deadline)
            let upSeconds = (ContinuousClock.now - started).seconds
            try await FleetSupport.waitForFirstSync(fed, client, nodes: wards, deadline: deadline)
            let linkedSeconds = (ContinuousClock.now - started).seconds
            // The province starts first, so its first pushes down to the wards failed and back off
            // (1 s, 2 s, 4 s, …); its down-links are not needed for field reports going up.
            let provinceUnlinked = try await FleetSupport.waitForFirstSync(fed, client, nodes: ["province"], deadline: deadline, throwing: false)
            let provinceLinkedSeconds = (ContinuousClock.now - started).seconds

            var servedBefore: [String: Int] = [:]
            for id in all { servedBefore[id] = await FleetSupport.requestsServed(fed, client, id) }
            let cpuBefore = FleetSupport.cpuSeconds(fed)

            // W writes per ward through its API, interleaved across wards, `concurrency` at a time.
            let plan = (0..<writesPerNode).flatMap { i in wards.map { (ward: $0, index: i) } }
            var rng = SeededRandom(seed: 2026)
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let bodies = plan.enumerated().map { n, item in
                let unit = fed.topology.node(id: item.ward)!.unit
                return JSONValue.object(BenchmarkData.fieldReport(n, rng: &rng, unit: unit, now: now))
            }
            let writes = WriteLog(count: plan.count)
            let writeStart = ContinuousClock.now
            // The province's knowledge of each ward, polled every 20 ms from the first write on with
            // point queries on its SQLite file (read-only; the status API would count records).
            let watch = FleetWatch()
            let file = try StoreProbe(path: fed.data("province") + "/node.sqlite")
            let watcher = Task {
                while !Task.isCancelled {
                    var held: [String: Int64] = [:]
                    for w in wards { held[w] = Int64((try? file.knowledge(of: w)) ?? 0) }
                    watch.observe(held, at: .now)
                    try? await Task.sleep(for: .milliseconds(20))
                }
            }
            defer { watcher.cancel() }
            let cap = concurrency
            await withTaskGroup(of: Void.self) { group in
                var open = 0
                for (n, item) in plan.enumerated() {
                    while open >= cap {
                        await group.next()
                        open -= 1
                    }
                    let body = bodies[n]
                    group.addTask {
                        let issued = ContinuousClock.now
                        let r = try? await fed.request(client, item.ward, .POST, "/api/v1/field-reports", body: body)
                        let seq = r?.0 == 201 ? r?.1["version"]?[item.ward]?.int64Value : nil
                        writes.record(n, due: issued, issued: issued, acknowledged: .now, seq: seq)
                    }
                    open += 1
                }
            }
            let writeEnd = ContinuousClock.now
            let log = writes.entries
            let acked = log.filter { $0.seq != nil }.count
            guard acked == plan.count else {
                throw ValidationError("\(plan.count - acked) of \(plan.count) writes were not acknowledged; logs were in \(fed.directory)/logs")
            }
            // What each ward holds of its own journal is what the province must come to hold.
            var target: [String: Int64] = [:]
            for (n, item) in plan.enumerated() { target[item.ward] = max(target[item.ward] ?? 0, log[n].seq ?? 0) }
            for w in wards where target[w] == nil {
                target[w] = (try? await fed.request(client, w, .GET, "/api/v1/sync/status").1["knowledge"]?[w]?.int64Value) ?? 0
            }

            let convergeDeadline = ContinuousClock.now + .seconds(timeout)
            let covers = { (held: [String: Int64]) in wards.allSatisfy { held[$0, default: 0] >= target[$0, default: 0] } }
            while !covers(watch.latest) && ContinuousClock.now < convergeDeadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            watcher.cancel()
            _ = await watcher.value
            let held = watch.latest
            let converged = covers(held)
            let convergedAt = watch.firstTime { covers($0) } ?? ContinuousClock.now
            // Per ward: from its last acknowledged write until the province held all its writes.
            var lastAck: [String: ContinuousClock.Instant] = [:]
            for (n, item) in plan.enumerated() { lastAck[item.ward] = max(lastAck[item.ward] ?? log[n].acknowledged, log[n].acknowledged) }
            let perWard = wards.compactMap { w -> Double? in
                guard let ack = lastAck[w], let at = watch.firstTime(where: { $0[w, default: 0] >= target[w, default: 0] }) else { return nil }
                return (at - ack).seconds
            }
            let window = (ContinuousClock.now - writeStart).seconds
            let cpu = FleetSupport.cpuSeconds(fed).map { ($0.key, $0.value - cpuBefore[$0.key, default: 0]) }
            // Sync requests each side served while the writes went up: what the node answered in
            // the window less what this benchmark asked of it (its writes, one scrape).
            var wardSyncRequests = 0
            for w in wards { wardSyncRequests += await FleetSupport.requestsServed(fed, client, w) - servedBefore[w, default: 0] - 1 }
            wardSyncRequests -= plan.count
            let provinceSyncRequests =
                await FleetSupport.requestsServed(fed, client, "province") - servedBefore["province", default: 0] - 1
            let provinceCPU = cpu.first { $0.0 == "province" }?.1 ?? 0
            let wardsCPU = cpu.filter { $0.0 != "province" }.map(\.1).reduce(0, +)
            let totalTarget = target.values.reduce(0, +)
            let totalHeld = held.values.reduce(0, +)

            // Every ward's own view of its link to the province, after the run.
            var failing: [String] = []
            for w in wards {
                guard let (status, s) = try? await fed.request(client, w, .GET, "/api/v1/sync/status"), status == 200 else {
                    failing.append("\(w): status not answering")
                    continue
                }
                let peers = s["peers"]?.arrayValue ?? []
                let bad = peers.filter {
                    ($0["consecutiveFailures"]?.int64Value ?? 0) > 0 || !($0["lastError"]?.isNull ?? true) || ($0["lastSuccess"]?.isNull ?? true)
                }
                let refusals = (s["recentRefusals"]?.arrayValue?.count ?? 0) + (s["recentEntryRefusals"]?.arrayValue?.count ?? 0)
                if !bad.isEmpty || refusals > 0 || peers.isEmpty {
                    failing.append("\(w): \(bad.map { "\($0["peer"]?.stringValue ?? "?") \($0["lastError"]?.stringValue ?? "no success")" }) \(refusals) refusals")
                }
            }
            let province = try? await fed.request(client, "province", .GET, "/api/v1/sync/status").1
            let provincePeers = province?["peers"]?.arrayValue ?? []
            let provinceFailing = provincePeers.filter { !($0["lastError"]?.isNull ?? true) }.count
            let provinceRefusals = (province?["recentRefusals"]?.arrayValue?.count ?? 0) + (province?["recentEntryRefusals"]?.arrayValue?.count ?? 0)

            var rss: [String: Int] = [:]
            for (id, p) in fed.processes where p.isRunning { rss[id] = BenchCommand.Catchup.peakRSS(pid: p.processIdentifier) }
            let exited = all.filter { fed.processes[$0]?.isRunning != true }
            let wardRSS = wards.compactMap { rss[$0] }
            let wardMean = wardRSS.isEmpty ? 0 : wardRSS.reduce(0, +) / wardRSS.count
            say(
                """
                fleet: 1 province + \(wards.count) ward OCs, each its own `iocnode serve` over mutual TLS on loopback (sync interval 2 s)
                prepare                   certificates and stores for \(all.count) nodes in \(String(format: "%.2f", prepareSeconds)) s
                startup                   all \(all.count) answering in \(String(format: "%.2f", upSeconds)) s (province first, then the \(wards.count) wards at once)
                first sync rounds         every ward with the province by \(String(format: "%.2f", linkedSeconds)) s; the province with every ward \(provinceUnlinked.isEmpty ? "by \(String(format: "%.2f", provinceLinkedSeconds)) s" : "NOT by \(timeout) s (\(provinceUnlinked.count) missing)")
                writes                    \(plan.count) field reports (\(writesPerNode) per ward) through the wards' APIs, \(cap) at a time: \(acked) acknowledged in \(String(format: "%.2f", (writeEnd - writeStart).seconds)) s
                \(converged ? "converged" : "NOT converged")                 \(totalHeld) of \(totalTarget) entries from \(wards.count) wards at the province, \(String(format: "%.2f", (convergedAt - writeEnd).seconds)) s after the last write (\(String(format: "%.2f", (convergedAt - writeStart).seconds)) s after the first)
                per ward                  last write acknowledged → all its writes held by the province: p50 \(String(format: "%.2f", Latency.percentile(perWard, 0.5))) s, p90 \(String(format: "%.2f", Latency.percentile(perWard, 0.9))) s, max \(String(format: "%.2f", Latency.percentile(perWard, 1))) s
                sync requests served      while writing and converging (\(String(format: "%.1f", window)) s): province \(provinceSyncRequests) from its wards' up-links (\(Int(Double(provinceSyncRequests) / max(window, 1e-9)))/s), wards \(wardSyncRequests) from the province's down-links (\(Int(Double(wardSyncRequests) / max(window, 1e-9)))/s)
                CPU used                  in the same window: province \(String(format: "%.2f", provinceCPU)) s, wards \(String(format: "%.2f", wardsCPU)) s together (the machine has \(ProcessInfo.processInfo.activeProcessorCount) cores × \(String(format: "%.1f", window)) s = \(String(format: "%.1f", Double(ProcessInfo.processInfo.activeProcessorCount) * window)) s)
                peak RSS                  province \(FleetSupport.mib(rss["province"] ?? 0)) MiB; wards mean \(FleetSupport.mib(wardMean)) MiB, max \(FleetSupport.mib(wardRSS.max() ?? 0)) MiB; sum of all \(all.count - exited.count) processes \(FleetSupport.mib(rss.values.reduce(0, +))) MiB
                ward sync status          \(wards.count - failing.count) of \(wards.count) wards with no failures and no refusals; province: \(provinceFailing) of \(provincePeers.count) down-links failing at the end, \(provinceRefusals) refusals
                """)
            guard converged, failing.isEmpty, exited.isEmpty else {
                throw ValidationError(
                    "fleet run failed: \(converged ? "" : "not converged; ")\(failing.prefix(5).joined(separator: "; "))\(exited.isEmpty ? "" : " exited early: \(exited)")")
            }
        }

        /// The province (unit 48) and `districts` ward units and nodes under it, on free loopback
        /// ports outside the kernel's ephemeral range (so no outgoing connection can take one
        /// between choosing it and the node binding it). Field reports go up to the province.
        static func topologyYAML(districts: Int) throws -> String {
            var ports = try FleetSupport.PortPicker()
            var lines = [
                "federation: bench", "units:", "  - {code: \"48\", name: \"Thành phố Đà Nẵng\", level: province}",
            ]
            for i in 1...districts {
                lines.append("  - {code: \"\(30000 + i)\", name: \"Phường thử nghiệm \(i)\", level: ward, parent: \"48\"}")
            }
            lines.append("nodes:")
            lines.append(
                "  - {id: province, mode: province, unit: \"48\", url: \"https://127.0.0.1:\(try ports.next())\", sync: \"https://127.0.0.1:\(try ports.next())\"}")
            for i in 1...districts {
                lines.append(
                    "  - {id: \(String(format: "ward-%03d", i)), mode: district, unit: \"\(30000 + i)\", parent: province, url: \"https://127.0.0.1:\(try ports.next())\", sync: \"https://127.0.0.1:\(try ports.next())\"}")
            }
            lines += [
                "sharing:", "  version: 1", "  rules:", "    - {kinds: [fieldReport], to: [province], direction: up}",
            ]
            return lines.joined(separator: "\n") + "\n"
        }
    }
}

/// Helpers shared by the two federation benchmarks.
enum FleetSupport {
    static func mib(_ bytes: Int) -> String { String(format: "%.1f", Double(bytes) / 1_048_576) }

    /// An HTTPS client trusting the federation CA, with up to `connectionsPerHost` connections per node.
    static func client(_ fed: DemoFederation, connectionsPerHost: Int) throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(fed.certs.caCertificate))
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, connectionsPerHost))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Waits until every node answers `/healthz`, all polled in turn every 100 ms, until `deadline`.
    static func waitUntilUp(_ fed: DemoFederation, _ client: HTTPClient, nodes: [String], deadline: ContinuousClock.Instant) async throws {
        var waiting = nodes
        while !waiting.isEmpty {
            var still: [String] = []
            for id in waiting {
                if fed.processes[id]?.isRunning == false {
                    throw ValidationError("node \(id) exited during start-up:\n\(logTail(fed, id))")
                }
                if (try? await fed.request(client, id, .GET, "/healthz").0) != 200 { still.append(id) }
            }
            waiting = still
            guard !waiting.isEmpty else { break }
            guard ContinuousClock.now < deadline else {
                throw ValidationError("\(waiting.count) nodes did not answer in time (first: \(waiting[0])):\n\(logTail(fed, waiting[0]))")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Waits until each node's status shows a successful sync round with every peer; with
    /// `throwing: false`, returns the nodes still waiting at the deadline instead of failing.
    @discardableResult
    static func waitForFirstSync(
        _ fed: DemoFederation, _ client: HTTPClient, nodes: [String], deadline: ContinuousClock.Instant, throwing: Bool = true
    ) async throws -> [String] {
        var waiting = nodes
        while !waiting.isEmpty {
            var still: [String] = []
            for id in waiting {
                let peers = (try? await fed.request(client, id, .GET, "/api/v1/sync/status").1["peers"]?.arrayValue) ?? nil
                if peers.map({ $0.isEmpty || $0.contains { $0["lastSuccess"]?.isNull ?? true } }) ?? true { still.append(id) }
            }
            waiting = still
            guard !waiting.isEmpty else { break }
            guard ContinuousClock.now < deadline else {
                if !throwing { return waiting }
                throw ValidationError("\(waiting.count) nodes had no successful sync round in time (first: \(waiting[0])):\n\(logTail(fed, waiting[0]))")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        return []
    }

    /// HTTP requests a node has answered so far, API and sync listener together (its `/metrics`);
    /// the scrape itself is counted after it answers.
    static func requestsServed(_ fed: DemoFederation, _ client: HTTPClient, _ node: String) async -> Int {
        var req = HTTPClientRequest(url: "https://127.0.0.1:\(fed.port(node))/metrics")
        req.method = .GET
        guard let res = try? await client.execute(req, timeout: .seconds(5)), res.status == .ok,
            let body = try? await res.body.collect(upTo: 1 << 20)
        else { return 0 }
        return String(buffer: body).split(separator: "\n").filter { $0.hasPrefix("ioc_http_requests_total") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0) { $0 + Int($1) }
    }

    /// User plus system CPU time a process has used so far, in seconds (0 when unreadable).
    static func cpuSeconds(pid: Int32) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func cpuSeconds(_ fed: DemoFederation) -> [String: Double] {
        fed.processes.mapValues { cpuSeconds(pid: $0.processIdentifier) }
    }

    /// The last lines of a node's log, for error messages (the directory is removed afterwards).
    static func logTail(_ fed: DemoFederation, _ id: String, lines: Int = 15) -> String {
        let text = (try? String(contentsOfFile: fed.directory + "/logs/\(id).log", encoding: .utf8)) ?? "(no log)"
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// Hands out loopback ports that are free now and below the kernel's ephemeral range.
    struct PortPicker {
        var candidate: Int
        let limit: Int

        init() throws {
            let range = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8))?
                .split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).compactMap { Int($0) } ?? []
            limit = min(range.first ?? 32768, 65535)
            // Spread concurrent runs apart by process id.
            candidate = 20000 + Int(getpid() % 40) * 250
            if candidate >= limit { candidate = 10000 }
        }

        mutating func next() throws -> Int {
            while candidate < limit {
                let port = candidate
                candidate += 1
                if Self.isFree(port) { return port }
            }
            throw ValidationError("no free loopback port below \(limit)")
        }

        static func isFree(_ port: Int) -> Bool {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { return false }
            defer { close(fd) }
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            addr.sin_port = in_port_t(UInt16(port).bigEndian)
            return withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
        }
    }
}

/// The province's knowledge of every ward over time, each change with when the poll that saw it
/// returned.
final class FleetWatch: @unchecked Sendable {
    private let lock = NSLock()
    private var changes: [(held: [String: Int64], at: ContinuousClock.Instant)] = []

    func observe(_ held: [String: Int64], at: ContinuousClock.Instant) {
        lock.withLock { if changes.last?.held != held { changes.append((held, at)) } }
    }

    var latest: [String: Int64] { lock.withLock { changes.last?.held ?? [:] } }

    /// When a poll first saw knowledge satisfying `condition` (knowledge only grows).
    func firstTime(where condition: ([String: Int64]) -> Bool) -> ContinuousClock.Instant? {
        lock.withLock { changes.first { condition($0.held) }?.at }
    }
}

/// Each write's schedule, issue and acknowledgement times and journal sequence (nil: not 201).
final class WriteLog: @unchecked Sendable {
    struct Entry {
        var due: ContinuousClock.Instant
        var issued: ContinuousClock.Instant
        var acknowledged: ContinuousClock.Instant
        var seq: Int64?
    }

    private let lock = NSLock()
    private var items: [Entry]

    init(count: Int) {
        let zero = ContinuousClock.now
        items = Array(repeating: Entry(due: zero, issued: zero, acknowledged: zero, seq: nil), count: count)
    }

    func record(_ i: Int, due: ContinuousClock.Instant, issued: ContinuousClock.Instant, acknowledged: ContinuousClock.Instant, seq: Int64?) {
        lock.withLock { items[i] = Entry(due: due, issued: issued, acknowledged: acknowledged, seq: seq) }
    }

    var entries: [Entry] { lock.withLock { items } }
}

/// The province's knowledge of one origin over time: each change, with when the probe that saw it
/// returned (the visibility time used, an upper bound) and was sent.
final class KnowledgeProbe: @unchecked Sendable {
    private let lock = NSLock()
    private var changes: [(seq: Int64, seen: ContinuousClock.Instant)] = []
    private var probes = 0
    private var probeTime: Duration = .zero
    private var attempted = 0

    func attempt() { lock.withLock { attempted += 1 } }
    var attempts: Int { lock.withLock { attempted } }

    func observe(_ seq: Int64, sent: ContinuousClock.Instant, at seen: ContinuousClock.Instant) {
        lock.withLock {
            probes += 1
            probeTime += seen - sent
            if seq > (changes.last?.seq ?? 0) { changes.append((seq, seen)) }
        }
    }

    var latest: Int64 { lock.withLock { changes.last?.seq ?? 0 } }

    /// Probes made and their mean round trip in milliseconds.
    var stats: (Int, Double) { lock.withLock { (probes, probes == 0 ? 0 : probeTime.milliseconds / Double(probes)) } }

    /// When the province was first seen holding `seq` (changes are in increasing order).
    func firstTime(atLeast seq: Int64) -> ContinuousClock.Instant? {
        lock.withLock {
            var lo = 0
            var hi = changes.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if changes[mid].seq >= seq { hi = mid } else { lo = mid + 1 }
            }
            return lo < changes.count ? changes[lo].seen : nil
        }
    }
}

extension Duration {
    fileprivate var milliseconds: Double { seconds * 1000 }
}
