import ArgumentParser
import AsyncHTTPClient
import Foundation
import IOCIdentity
import IOCModel
import IOCNode
import IOCSharing
import IOCStore
import IOCSync
import NIOCore

/// `iocnode bench`: the documented benchmarks (docs/benchmarks.md). Run in a release build:
/// `swift run -c release iocnode bench apply --entries 100000`.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure throughput and memory (see docs/benchmarks.md).",
        subcommands: [Apply.self, Catchup.self, Write.self, Latency.self, Fleet.self])

    /// Catch-up of a backlog: a district authors N ~1 KB field reports, exports them as bundles,
    /// and a separate `iocnode bundle import` process applies them into a province store, so the
    /// receiver's peak RSS is its own.
    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Apply a backlog of N field-report changes into a province store.")

        /// The benchmark federation: a ward OC whose field reports go up to the province.
        static let topologyYAML = """
            federation: bench
            units:
              - {code: "48", name: "Thành phố Đà Nẵng", level: province}
              - {code: "20194", name: "Phường Hải Châu", level: ward, parent: "48"}
            nodes:
              - {id: province, mode: province, unit: "48", url: "https://127.0.0.1:8443"}
              - {id: hai-chau, mode: district, unit: "20194", parent: province, url: "https://127.0.0.1:8444"}
            sharing:
              version: 1
              rules:
                - {kinds: [fieldReport], to: [province], direction: up}
            """
        @Option(help: "Number of journal entries in the backlog.")
        var entries: Int = 100_000
        @Option(help: "Working directory (default: a new temporary directory, removed afterwards).")
        var workdir: String?

        func run() async throws {
            let dir = workdir ?? FileManager.default.temporaryDirectory.appendingPathComponent("iocnode-bench-\(getpid())").path
            try FileManager.default.createDirectory(atPath: dir + "/province", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: dir + "/district", withIntermediateDirectories: true)
            defer { if workdir == nil { try? FileManager.default.removeItem(atPath: dir) } }
            let source = try NodeStore(.init(path: dir + "/district/node.sqlite", nodeID: "hai-chau", federation: "bench"))
            _ = try NodeStore(.init(path: dir + "/province/node.sqlite", nodeID: "province", federation: "bench"))

            let authorStart = ContinuousClock.now
            var payloadBytes = 0
            try BenchCommand.authorBacklog(source, count: entries)
            let authorSeconds = (ContinuousClock.now - authorStart).seconds
            payloadBytes = try source.readSync { db in try Int.fetchOne(db, sql: "SELECT sum(length(bytes)) FROM journal") ?? 0 }

            let file = dir + "/backlog.iocb"
            let exportStart = ContinuousClock.now
            let writer = try BundleFileWriter(path: file)
            let certs = CertsDirectory(path: dir + "/certs")
            try certs.initialise(federation: "bench", nodes: ["province", "hai-chau"], force: true)
            let signer = BundleSigner(nodeID: "hai-chau", key: try certs.readSigningKey("hai-chau"))
            // Both ends filter and re-check under a real sharing policy, as in production.
            let topologyPath = dir + "/topology.yaml"
            try Self.topologyYAML.write(toFile: topologyPath, atomically: true, encoding: .utf8)
            let sharing = SharingGate(try ActivePolicy(topology: try loadTopology(topologyPath)))
            let (bundles, _) = try BundleExchange(store: source, signer: signer, sharing: sharing).export(to: "province") {
                try writer.append($0)
            }
            try writer.finish()
            let exportSeconds = (ContinuousClock.now - exportStart).seconds
            // The district's writes (its store and the bundle file, ~2 GB at 1M) are flushed
            // before the clock starts, so the kernel's write-back is not billed to the receiver.
            sync()

            let child = Process()
            child.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            child.arguments = [
                "bundle", "import", "--data", dir + "/province", file, "--certs", certs.path, "--topology", topologyPath,
                "--stats-json",
            ]
            let pipe = Pipe()
            child.standardOutput = pipe
            try child.run()
            let output = pipe.fileHandleForReading.readDataToEndOfFile()
            child.waitUntilExit()
            guard child.terminationStatus == 0,
                case .object(let stats) = try JSONValue.parse(Array(output.split(separator: 0x0A).last ?? Data()))
            else { throw ValidationError("the import process failed: \(String(decoding: output, as: UTF8.self))") }
            let applied = stats["applied"]?.int64Value ?? 0
            let seconds = stats["seconds"]?.doubleValue ?? 0
            let rss = Double(stats["peakRSSBytes"]?.int64Value ?? 0) / 1_048_576
            let wire = writer.bytesWritten
            say(
                """
                backlog entries           \(entries) (mean entry \(payloadBytes / max(1, entries)) B uncompressed)
                author (district)         \(Int(Double(entries) / authorSeconds)) entries/s
                export to bundles         \(bundles) bundles in \(String(format: "%.2f", exportSeconds)) s
                bytes on the wire         \(wire) B = \(String(format: "%.1f", Double(wire) / Double(entries))) B/entry (signed DSSE envelopes, zstd-3)
                apply (province process)  \(applied) entries in \(String(format: "%.2f", seconds)) s = \(Int(Double(applied) / max(seconds, 0.000001))) entries/s
                peak RSS (province)       \(String(format: "%.1f", rss)) MiB
                """)
            guard applied == entries else { throw ValidationError("applied \(applied) of \(entries) entries") }
        }
    }

    /// The local write path: field reports created per second through the store (one
    /// transaction each, as the API does) and through the HTTP API on loopback.
    struct Write: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Field reports created per second, store and HTTP API.")
        @Option(help: "Reports to create on each path.")
        var count: Int = 5000
        @Option(help: "Concurrent HTTP clients.")
        var concurrency: Int = 8

        func run() async throws {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("iocnode-bench-write-\(getpid())").path
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let topology = Topology(
                federation: "bench", units: [AdminUnit(code: "48", name: "Thành phố Đà Nẵng", level: .province)],
                nodes: [NodeDescriptor(id: "province", mode: .province, unit: "48", url: "http://127.0.0.1:0")])
            let node = try Node(configuration: NodeConfiguration(topology: topology, nodeID: "province", dataDirectory: dir))
            var rng = SeededRandom(seed: 7)
            let now = node.store.now()
            let bodies = (0..<count).map { BenchmarkData.fieldReport($0, rng: &rng, unit: "48", now: now) }

            let storeStart = ContinuousClock.now
            for body in bodies {
                let fields = try RecordKind.fieldReport.schema.validateCreate(body, now: now)
                _ = try await node.store.createFieldReport(
                    fields: fields, reporter: ["phone": "0905123456"], actor: .system, unit: "48")
            }
            let storeRate = Double(count) / (ContinuousClock.now - storeStart).seconds

            let (_, token) = try node.store.addUser(name: "bench", role: .operator_, unit: nil, sector: nil)
            let port = AsyncStream<Int>.makeStream()
            let payloads = bodies.map { body -> ByteBuffer in
                var o = body
                o["reporter"] = ["name": "Nguyễn Văn An", "phone": "0905123456"]
                return ByteBuffer(data: JSONValue.object(o).jsonData())
            }
            let concurrency = max(1, self.concurrency)
            let count = self.count
            let apiRate = try await withThrowingTaskGroup(of: Double?.self) { group in
                group.addTask {
                    try await node.run { port.continuation.yield($0) }
                    return nil
                }
                var it = port.stream.makeAsyncIterator()
                guard let p = await it.next() else { return 0.0 }
                let client = HTTPClient(eventLoopGroupProvider: .singleton)
                let start = ContinuousClock.now
                try await withThrowingTaskGroup(of: Void.self) { workers in
                    for w in 0..<concurrency {
                        workers.addTask {
                            for i in stride(from: w, to: count, by: concurrency) {
                                var req = HTTPClientRequest(url: "http://127.0.0.1:\(p)/api/v1/field-reports")
                                req.method = .POST
                                req.headers.add(name: "Authorization", value: "Bearer \(token)")
                                req.body = .bytes(payloads[i])
                                let res = try await client.execute(req, timeout: .seconds(30))
                                guard res.status == .created else { throw ValidationError("HTTP \(res.status)") }
                                _ = try await res.body.collect(upTo: 1 << 20)
                            }
                        }
                    }
                    try await workers.waitForAll()
                }
                let rate = Double(count) / (ContinuousClock.now - start).seconds
                try await client.shutdown()
                group.cancelAll()
                return rate
            }
            say(
                """
                write path, \(count) field reports (~1 KB each, with reporter contact)
                store (one transaction per report)   \(Int(storeRate)) reports/s
                HTTP API (\(concurrency) clients, loopback)       \(Int(apiRate)) reports/s
                peak RSS                             \(String(format: "%.1f", Double(ProcessStats.peakRSSBytes()) / 1_048_576)) MiB
                """)
        }
    }
}

extension BenchCommand {
    /// End-to-end catch-up over mutual TLS (issue 7): a ward OC authors a backlog while its
    /// province is down and, running offline, builds its outbox ahead (``SyncService``); then
    /// the ward is restarted with the province up, both as real `iocnode serve` processes on
    /// loopback, and the clock runs from the ward's process start until the province holds the
    /// whole backlog. With `--cold` the ward never ran while offline: it evaluates its scope and
    /// builds every bundle after it starts, inside the clock.
    struct Catchup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Catch-up of an N-entry backlog between two real serve processes over mutual TLS.")
        @Option(help: "Field-report changes in the backlog.")
        var entries: Int = 10_000
        @Flag(help: "Skip the offline period: the ward first starts when the province is already up.")
        var cold = false

        func run() async throws {
            let entries = self.entries
            let fed = try BenchCommand.benchFederation("catchup") { id, store in
                if id == "hai-chau" { try BenchCommand.authorBacklog(store, count: entries) }
            }
            defer { try? FileManager.default.removeItem(atPath: fed.directory) }
            defer { fed.stopAll() }
            let client = try fed.httpClient()
            let offline = cold ? nil : try await Self.runOffline(fed, client, entries: entries)
            try fed.start("province")
            try await fed.waitUntilUp(client, only: ["province"])
            let provinceCPU = FleetSupport.cpuSeconds(fed)["province", default: 0]
            let started = ContinuousClock.now
            try fed.start("hai-chau")
            var held: Int64 = 0
            // Polled every 10 ms with a point query on the province's SQLite file, as PostgreSQL's
            // subscriber is polled with a primary-key probe (the status API would count records).
            let probe = try StoreProbe(path: fed.data("province") + "/node.sqlite")
            let deadline = ContinuousClock.now + .seconds(max(60, entries / 2000))
            while held < Int64(entries) && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
                held = Int64((try? probe.knowledge(of: "hai-chau")) ?? 0)
            }
            let seconds = (ContinuousClock.now - started).seconds
            // CPU and peak RSS are read at convergence (up to one 10 ms poll late), before the
            // processes stop. VmHWM is the kernel's high-water mark, so one read gives the peak;
            // reading it at every poll only took CPU from the processes being measured.
            let cpu = FleetSupport.cpuSeconds(fed)
            let peaks = fed.processes.mapValues { Self.peakRSS(pid: $0.processIdentifier) }
            try? await client.shutdown()
            fed.stopAll()
            guard held >= Int64(entries) else { throw ValidationError("the province held \(held) of \(entries) entries after \(seconds) s") }
            let ward = try NodeStore(.init(path: fed.data("hai-chau") + "/node.sqlite", nodeID: "hai-chau", federation: "bench"))
            let wire = try ward.readSync { db in
                try Int.fetchOne(db, sql: "SELECT coalesce(sum(bytes), 0) FROM channel_out WHERE peer = 'province'") ?? 0
            }
            say(
                """
                backlog entries           \(entries) (~1.2 KB field reports)
                offline period            \(offline.map { "the ward built \($0.entries) entries into signed bundles ahead in \(String(format: "%.2f", $0.seconds)) s while the province was down, then restarted" } ?? "none (--cold): every bundle is built after the ward starts")
                converged after           \(String(format: "%.2f", seconds)) s from the ward's start (process start, TLS, \(entries) entries applied) = \(Int(Double(entries) / seconds)) entries/s
                bytes on the wire         \(wire) B of signed bundles = \(String(format: "%.1f", Double(wire) / Double(entries))) B/entry (plus TLS and HTTP framing)
                CPU until converged       ward (sender) \(String(format: "%.2f", cpu["hai-chau"] ?? 0)) s, province (receiver) \(String(format: "%.2f", (cpu["province"] ?? 0) - provinceCPU)) s
                peak RSS                  ward (sender) \(String(format: "%.1f", Double(peaks["hai-chau"] ?? 0) / 1_048_576)) MiB, province (receiver) \(String(format: "%.1f", Double(peaks["province"] ?? 0) / 1_048_576)) MiB
                """)
        }

        /// Runs the ward alone, its province unreachable, until it has sealed every full bundle of
        /// the backlog ahead (the last partial one is built when the link returns), then stops it.
        static func runOffline(_ fed: DemoFederation, _ client: HTTPClient, entries: Int) async throws -> (entries: Int, seconds: Double) {
            let started = ContinuousClock.now
            try fed.start("hai-chau")
            defer { fed.stop("hai-chau") }
            // Opened once the node is up: while it starts, it holds its file for the migrations.
            try await fed.waitUntilUp(client, only: ["hai-chau"])
            let probe = try StoreProbe(path: fed.data("hai-chau") + "/node.sqlite")
            let bundle = Limits.default.bundleEntriesMax
            let deadline = ContinuousClock.now + .seconds(max(60, entries / 1000))
            var built = 0
            var still = 0
            // Done when at most a bundle is left (a last bundle is sealed ahead only when more
            // follows it), or when nothing more was built for 30 s (the first bundle waits for the
            // first scope evaluation: seconds at 1M records).
            while entries - built > bundle && still < 600 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
                let now = (try? probe.unacknowledgedEntries(to: "province")) ?? built
                still = now == built ? still + 1 : 0
                built = now
                if fed.processes["hai-chau"]?.isRunning == false {
                    throw ValidationError("the ward exited while offline; see \(fed.directory)/logs/hai-chau.log")
                }
            }
            return (built, (ContinuousClock.now - started).seconds)
        }

        /// VmHWM of a running process, in bytes (0 when unreadable).
        static func peakRSS(pid: Int32) -> Int {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
            else { return 0 }
            return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
        }
    }
}

extension BenchCommand {
    /// Authors `count` ~1.2 KB field reports of the ward Hải Châu into `store`, 1,000 per
    /// transaction, with the same seeded text in every benchmark.
    static func authorBacklog(_ store: NodeStore, count: Int) throws {
        var rng = SeededRandom(seed: 2026)
        var i = 0
        while i < count {
            let batch = min(1000, count - i)
            let now = store.now()
            let bodies = (0..<batch).map { BenchmarkData.fieldReport(i + $0, rng: &rng, unit: "20194", now: now) }
            try store.writeSync { tx in
                for body in bodies {
                    let fields = try RecordKind.fieldReport.schema.validateCreate(body, now: now)
                    try tx.create(kind: .fieldReport, fields: fields, actor: .system, unit: "20194")
                }
            }
            i += batch
        }
    }

    /// A benchmark federation (by default the province and ward of ``Apply/topologyYAML``) in a
    /// new temporary directory, every node kept as given: certificates issued, and each node's
    /// store created with an admin user; `prepare` runs on each store before any process starts.
    /// The caller removes `directory` and stops the processes.
    static func benchFederation(
        _ name: String, topologyYAML: String = Apply.topologyYAML, prepare: (String, NodeStore) throws -> Void = { _, _ in }
    ) throws -> DemoFederation {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("iocnode-bench-\(name)-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir + "/logs", withIntermediateDirectories: true)
        try topologyYAML.write(toFile: dir + "/source.yaml", atomically: true, encoding: .utf8)
        let fed = try DemoFederation(topology: try loadTopology(dir + "/source.yaml"), directory: dir)
        try fed.certs.initialise(
            federation: fed.topology.federation, nodes: fed.topology.nodes.map(\.id), hosts: fed.topology.certificateHosts)
        for node in fed.topology.nodes {
            try FileManager.default.createDirectory(atPath: fed.data(node.id), withIntermediateDirectories: true)
            let store = try NodeStore(.init(path: fed.data(node.id) + "/node.sqlite", nodeID: node.id, federation: "bench"))
            fed.tokens[node.id] = try store.addUser(name: "Đo hiệu năng", role: .admin, unit: nil, sector: nil).token
            try prepare(node.id, store)
        }
        return fed
    }
}
