import ArgumentParser
import Foundation
import IOCIdentity
import IOCModel
import IOCNode

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run a node; its mode (province, district, sector) comes from the topology.")

    @Option(help: "Topology file, e.g. Topology/da-nang.yaml.")
    var topology: String
    @Option(help: "This node's id in the topology.")
    var node: String
    @Option(help: "Data directory (created if missing).")
    var data: String
    @Option(help: "HOST:PORT to listen on (default: the port of the node's URL in the topology, on 127.0.0.1).")
    var listen: String?
    @Option(help: "Seconds between runs of the background rules (24-hour dossier warnings).")
    var rulesInterval: Int = 30
    @Flag(help: "Make every commit survive power loss (fsync per commit), not only a process crash.")
    var durable = false
    @Option(help: "Certificates directory laid out by `iocnode certs init` (CA, this node's key and certificate, registry).")
    var certs: String = "certs"
    @Option(help: "HOST:PORT for the mutual-TLS sync listener (default: the node's sync URL in the topology, on 127.0.0.1).")
    var syncListen: String?
    @Option(help: "Seconds between sync rounds when nothing changed (changes sync at once).")
    var syncInterval: Int = 5
    @Option(help: "MiB of signed bundles sealed ahead for the parent while it cannot be reached (0–65536; 0: none).")
    var offlineOutboxMib: Int = 256
    @Flag(help: "Plain HTTP on loopback, no sync listener and no peers: for local development only.")
    var insecureDev = false
    @Option(help: ArgumentHelp("Shift this node's wall clock by this many milliseconds (fault tests only).", visibility: .hidden))
    var clockOffsetMs: Int64 = 0

    func validate() throws {
        guard (0...65536).contains(offlineOutboxMib) else {
            throw ValidationError("--offline-outbox-mib must be 0–65536 (0: seal nothing ahead while offline).")
        }
    }

    func run() async throws {
        let topo = try loadTopology(topology)
        guard let descriptor = topo.node(id: node) else {
            throw ValidationError("Node '\(node)' is not in \(topology). Known: \(topo.nodes.map(\.id).joined(separator: ", ")).")
        }
        let (host, port) = try listen.map(parseListen) ?? ("127.0.0.1", URLComponents(string: descriptor.url)?.port ?? 0)
        let (syncHost, syncPort) = try syncListen.map(parseListen) ?? ("127.0.0.1", descriptor.syncEndpoint.port)
        let security: NodeConfiguration.Security
        if insecureDev {
            guard ["127.0.0.1", "::1", "localhost"].contains(host) else {
                throw ValidationError("--insecure-dev serves plain HTTP and is allowed on loopback only (127.0.0.1, ::1), not on \(host).")
            }
            security = .insecureDev
        } else {
            do {
                security = .mutualTLS(try NodeCredentials(certs: CertsDirectory(path: certs), nodeID: node))
            } catch let e as IdentityError {
                throw ValidationError("\(e.message)\n(For local development without certificates: --insecure-dev.)")
            }
        }
        var configuration = NodeConfiguration(
            topology: topo, nodeID: node, dataDirectory: data, listenHost: host, listenPort: port,
            rulesInterval: .seconds(max(1, rulesInterval)), durableCommits: durable, security: security,
            syncListenHost: syncHost, syncListenPort: syncPort, syncInterval: .seconds(max(1, syncInterval)))
        configuration.topologyPath = topology
        configuration.clockOffsetMilliseconds = clockOffsetMs
        configuration.offlineOutboxBytes = offlineOutboxMib << 20
        let n: Node
        do {
            n = try Node(configuration: configuration)
        } catch let e as TopologyError {
            throw ValidationError("\(TopologyError(problems: e.problems, source: topology))")
        }
        let mode = descriptor.mode.rawValue
        let scheme = insecureDev ? "http" : "https"
        try await n.run(
            onListening: { port in say("iocnode \(node) (\(mode)) listening on \(scheme)://\(host):\(port)") },
            onSyncListening: { port in say("iocnode \(node) sync (mutual TLS) listening on https://\(syncHost):\(port)") })
    }
}

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Manage the people who use a node's API.", subcommands: [Add.self, List.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a user and print their bearer token (shown once).")
        @OptionGroup var data: DataOptions
        @Option(help: "The person's name.")
        var name: String
        @Option(help: "viewer | operator | supervisor | admin | auditor")
        var role: String
        @Option(help: "Restrict to this administrative unit (and the units under it).")
        var unit: String?
        @Option(help: "Restrict to this sector (e.g. health, environment).")
        var sector: String?

        func run() async throws {
            guard let r = Role(rawValue: role) else {
                throw ValidationError("--role must be one of: \(Role.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            let store = try data.openStore()
            let (user, token) = try store.addUser(name: name, role: r, unit: unit, sector: sector)
            print("user \(user.id) (\(r.rawValue)) added to node \(store.nodeID)")
            print("token (shown once, keep it secret): \(token)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users (never their tokens).")
        @OptionGroup var data: DataOptions
        func run() async throws {
            for u in try data.openStore().users() {
                print([u.id, u.role.rawValue, u.unit ?? "-", u.sector ?? "-", u.name].joined(separator: "\t"))
            }
        }
    }
}
