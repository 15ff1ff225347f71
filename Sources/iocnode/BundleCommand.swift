import ArgumentParser
import Foundation
import IOCNode
import IOCStore
import IOCSync

struct BundleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle", abstract: "Carry deltas between nodes as files (for a unit with no link).",
        subcommands: [Export.self, Import.self])

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write every change PEER lacks to a bundle file.")
        @OptionGroup var data: DataOptions
        @Option(help: "The node the file is for.")
        var to: String
        @Option(help: "Output file.")
        var out: String

        func run() async throws {
            let store = try data.openStore()
            let writer = try BundleFileWriter(path: out)
            let count = try BundleExchange(store: store).exportStreaming(to: to) { try writer.append($0) }
            try writer.finish()
            print("wrote \(count) bundle(s), \(writer.bytesWritten) bytes, for \(to) to \(out)")
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Verify and apply a bundle file addressed to this node.")
        @OptionGroup var data: DataOptions
        @Argument(help: "The bundle file.")
        var file: String
        @Flag(help: "Print one JSON line of statistics (bundles, entries applied, seconds, peak RSS).")
        var statsJSON = false

        func run() async throws {
            let store = try data.openStore()
            let reader: BundleFileReader
            do {
                reader = try BundleFileReader(path: file)
            } catch {
                throw ValidationError("\(file) is not a valid bundle file: \(error)")
            }
            let exchange = BundleExchange(store: store)
            var r = ApplyReport()
            let started = ContinuousClock.now
            var bundles = 0
            // Two stages on two cores: decode bundle n+1 while bundle n is being written.
            let nodeID = store.nodeID
            let limits = exchange.limits
            func prepare(_ envelope: Envelope?) -> Task<BundleExchange.PreparedBundle, any Error>? {
                envelope.map { e in Task.detached { try BundleExchange.prepare(e, for: nodeID, limits: limits) } }
            }
            var pending = prepare(try reader.next())
            while let task = pending {
                let prepared = try await task.value
                pending = prepare(try reader.next())
                r.absorb(try exchange.apply(prepared))
                bundles += 1
            }
            let seconds = (ContinuousClock.now - started).seconds
            if statsJSON {
                say(
                    "{\"bundles\":\(bundles),\"applied\":\(r.applied),\"seconds\":\(seconds),\"decodeSeconds\":\(r.decodeSeconds),\"writeSeconds\":\(r.writeSeconds),\"peakRSSBytes\":\(ProcessStats.peakRSSBytes())}"
                )
                return
            }
            print(
                "applied \(r.applied), hash-only \(r.withheld), duplicates \(r.duplicates), gaps \(r.gaps), refused \(r.refused.count), records changed \(r.recordsChanged)"
            )
            for line in r.refused.prefix(20) { print("  refused \(line)") }
        }
    }
}
