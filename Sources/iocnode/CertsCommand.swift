import ArgumentParser
import Crypto
import Foundation
import IOCIdentity
import IOCModel
import X509

/// `iocnode certs`: the federation's private CA, node certificates, signing keys and denylist.
struct CertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certs", abstract: "Create and manage the federation's CA, node certificates and denylist.",
        subcommands: [Init.self, Issue.self, Revoke.self, Show.self])

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a federation CA and, for every node of the topology, a TLS certificate and a signing key.")
        @Option(help: "Topology file, e.g. Topology/da-nang.yaml.")
        var topology: String
        @Option(help: "Directory to write (see certs/README.md for the layout).")
        var out: String = "certs"
        @Option(help: "Certificate lifetime in days (30–90).")
        var days: Int = 60
        @Flag(help: "Replace an existing CA (every node must then be re-issued).")
        var force = false

        func run() async throws {
            let topo = try loadTopology(topology)
            let dir = CertsDirectory(path: out)
            try identity {
                try dir.initialise(
                    federation: topo.federation, nodes: topo.nodes.map(\.id), hosts: topo.certificateHosts, days: days, force: force)
            }
            say("federation CA for '\(topo.federation)' and \(topo.nodes.count) node(s) written to \(out) (valid \(days) days)")
            say("keys are 0600; keep \(dir.caKey) offline once every node is issued")
        }
    }

    struct Issue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Issue (or renew) one node's TLS certificate.")
        @Option(help: "Topology file.")
        var topology: String
        @Option(help: "Certificates directory holding the CA.")
        var out: String = "certs"
        @Option(help: "The node to issue for.")
        var node: String
        @Option(help: "Certificate lifetime in days (30–90).")
        var days: Int = 60
        @Flag(help: "Also replace the node's bundle-signing key (after a compromise); the registry version goes up.")
        var newSigningKey = false

        func run() async throws {
            let topo = try loadTopology(topology)
            guard topo.node(id: node) != nil else { throw ValidationError("Node '\(node)' is not in \(topology).") }
            let dir = CertsDirectory(path: out)
            let cert = try identity {
                try dir.issue(
                    federation: topo.federation, node: node, hosts: topo.certificateHosts[node] ?? [], days: days,
                    newSigningKey: newSigningKey)
            }
            say("issued \(dir.tlsCertificate(node)) (serial \(cert.serialNumber.hex), valid until \(cert.notValidAfter))")
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a node's certificate and signing key: adds them to the CA-signed denylist, which sync distributes.")
        @Option(help: "Topology file.")
        var topology: String
        @Option(help: "Certificates directory holding the CA.")
        var out: String = "certs"
        @Option(help: "The node whose certificate is revoked.")
        var node: String
        @Option(help: "Revoke this certificate serial (hex) instead of the node's current certificate and key.")
        var serial: String?
        @Option(help: "Why (kept in the denylist).")
        var reason: String = "revoked by operator"

        func run() async throws {
            let topo = try loadTopology(topology)
            let dir = CertsDirectory(path: out)
            let version = try identity { try dir.revoke(federation: topo.federation, node: node, serial: serial, reason: reason) }
            say("denylist version \(version) written to \(dir.denylist); the province hands it to every node on its next sync")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List node certificates, their expiry and revocations.")
        @Option(help: "Topology file.")
        var topology: String
        @Option(help: "Certificates directory.")
        var out: String = "certs"

        func run() async throws {
            let topo = try loadTopology(topology)
            let dir = CertsDirectory(path: out)
            let ca = try identity { try dir.readCA() }
            let denylist = try P256.Signing.PublicKey(ca.publicKey).flatMap { k in
                try dir.readDocument(dir.denylist)?.open(Denylist.self, type: Denylist.payloadType, key: k)
            }
            say("CA: \(ca.subject), valid until \(ca.notValidAfter)")
            for node in topo.nodes {
                guard let pem = FileManager.default.contents(atPath: dir.tlsCertificate(node.id)),
                    let cert = try? Certificate(pemEncoded: String(decoding: pem, as: UTF8.self))
                else {
                    say("  \(node.id): no certificate")
                    continue
                }
                let revoked = denylist?.revokes(serial: cert.serialNumber.hex) == true ? " REVOKED" : ""
                say("  \(node.id): serial \(cert.serialNumber.hex), valid until \(cert.notValidAfter)\(revoked)")
            }
            say("denylist version \(denylist?.version ?? 0), \(denylist?.revoked.count ?? 0) entries")
        }
    }
}

/// Runs an identity operation, turning its error into a command-line error.
func identity<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let e as IdentityError {
        throw ValidationError(e.message)
    }
}

extension Topology {
    /// Per node, the hosts of its API and sync URLs (plus `localhost` for loopback nodes): what a
    /// user or tool may connect to and the certificate must name.
    var certificateHosts: [String: [String]] {
        var out: [String: [String]] = [:]
        for node in nodes {
            var hosts = [URLComponents(string: node.url)?.host, node.syncEndpoint.host].compactMap { $0 }
            if hosts.contains("127.0.0.1") || hosts.contains("::1") { hosts.append("localhost") }
            out[node.id] = hosts
        }
        return out
    }
}
