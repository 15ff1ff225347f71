import ArgumentParser
import Foundation
import IOCIdentity
import IOCModel
import IOCNode
import IOCSharing
import IOCStore
import IOCSync
import IOCTopology

/// The sharing policy a bundle file is filtered or checked under: `--topology`, else the topology
/// the node last applied while serving. Never none: an unfiltered file could carry what the peer
/// may not see.
struct PolicyOptions: ParsableArguments {
    @Option(help: "Topology file whose sharing rules apply (default: the one this node last served with).")
    var topology: String?

    func gate(for store: NodeStore) throws -> SharingGate {
        let topo: Topology
        if let topology {
            topo = try loadTopology(topology)
        } else if let text = try store.appliedTopologyText() {
            topo = try TopologyLoader.parse(yaml: text, source: "the topology stored in the data directory")
        } else {
            throw ValidationError(
                "This data directory has no sharing policy yet (it never ran `iocnode serve`): pass --topology FILE.")
        }
        do {
            return SharingGate(try ActivePolicy(topology: topo))
        } catch {
            throw ValidationError("\(error)")
        }
    }
}

struct BundleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle", abstract: "Carry signed deltas between nodes as files (for a unit with no link).",
        subcommands: [Export.self, Import.self])

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write every change PEER lacks to a signed bundle file (unacknowledged bundles are included again).")
        @OptionGroup var data: DataOptions
        @Option(help: "The node the file is for.")
        var to: String
        @Option(help: "Output file.")
        var out: String
        @Option(help: "Certificates directory written by `iocnode certs init` (holds this node's signing key).")
        var certs: String = "certs"
        @OptionGroup var policy: PolicyOptions

        func run() async throws {
            let store = try data.openStore()
            let sharing = try policy.gate(for: store)
            let key = try CertsDirectory(path: certs).readSigningKey(store.nodeID)
            let writer = try BundleFileWriter(path: out)
            let exchange = BundleExchange(store: store, signer: BundleSigner(nodeID: store.nodeID, key: key), sharing: sharing)
            let (bundles, entries) = try exchange.export(to: to) { try writer.append($0) }
            try writer.finish()
            say("wrote \(bundles) signed bundle(s), \(entries) entries, \(writer.bytesWritten) bytes, for \(to) to \(out)")
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Verify and apply a signed bundle file addressed to this node.")
        @OptionGroup var data: DataOptions
        @Argument(help: "The bundle file.")
        var file: String
        @Option(help: "Certificates directory (CA certificate, registry and denylist).")
        var certs: String = "certs"
        @Flag(help: "Print one JSON line of statistics (bundles, entries applied, seconds, peak RSS).")
        var statsJSON = false
        @OptionGroup var policy: PolicyOptions

        func run() async throws {
            let store = try data.openStore()
            let sharing = try policy.gate(for: store)
            let dir = CertsDirectory(path: certs)
            guard let registry = try dir.readDocument(dir.registry) else {
                throw ValidationError("No registry in \(certs); pass the federation's --certs directory.")
            }
            let ca = try dir.readCA()
            let federation = try NodeStore.identity(path: data.data + "/node.sqlite").federation
            let trust = try TrustStore(
                federation: federation, ca: ca, knownNodes: [], registry: registry, denylist: try dir.readDocument(dir.denylist),
                store: store, certs: dir)
            await trust.reloadFromDisk()
            let reader: BundleFileReader
            do {
                reader = try BundleFileReader(path: file)
            } catch {
                throw ValidationError("\(file) is not a valid bundle file: \(error)")
            }
            let receiver = BundleReceiver(store: store, trust: trust, limits: store.limits, sharing: sharing)
            var outcomes: [String: Int] = [:]
            var applied = 0
            var reasons: [String] = []
            let started = ContinuousClock.now
            var bundles = 0
            // Two stages on two cores: bundle n+1 is verified and decoded while bundle n is written.
            var pipeline = await BundlePipeline(receiver: receiver, transportPeer: nil)
            func count(_ receipts: [Receipt]) {
                for receipt in receipts {
                    bundles += 1
                    outcomes[receipt.outcome, default: 0] += 1
                    applied += receipt.applied
                    if let reason = receipt.reason { reasons.append("bundle \(receipt.seq): \(reason)") }
                }
            }
            while let envelope = try reader.next() { count(try await pipeline.submit(envelope)) }
            count(try await pipeline.finish())
            let seconds = (ContinuousClock.now - started).seconds
            if statsJSON {
                say(
                    "{\"bundles\":\(bundles),\"applied\":\(applied),\"refused\":\(outcomes["refused", default: 0] + outcomes["fork", default: 0]),\"seconds\":\(seconds),\"peakRSSBytes\":\(ProcessStats.peakRSSBytes())}"
                )
            } else {
                let summary = ["applied", "replay", "held", "fork", "refused"].map { "\($0) \(outcomes[$0, default: 0])" }
                say("bundles \(bundles): \(summary.joined(separator: ", ")); entries applied \(applied)")
                for line in reasons.prefix(20) { say("  \(line)") }
            }
            if outcomes["refused", default: 0] + outcomes["fork", default: 0] > 0 { throw ExitCode(1) }
        }
    }
}
