import ArgumentParser
import Foundation
import IOCNode
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
            let envelopes = try BundleExchange(store: store).export(to: to)
            let bytes = BundleFile.encode(envelopes)
            let tmp = out + ".partial"
            try Data(bytes).write(to: URL(fileURLWithPath: tmp))
            _ = try FileManager.default.replaceItemAt(URL(fileURLWithPath: out), withItemAt: URL(fileURLWithPath: tmp))
            print("wrote \(envelopes.count) bundle(s), \(bytes.count) bytes, for \(to) to \(out)")
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Verify and apply a bundle file addressed to this node.")
        @OptionGroup var data: DataOptions
        @Argument(help: "The bundle file.")
        var file: String

        func run() async throws {
            let store = try data.openStore()
            guard let attrs = try? FileManager.default.attributesOfItem(atPath: file), let size = attrs[.size] as? Int else {
                throw ValidationError("Cannot read \(file).")
            }
            guard size <= 1 << 34 else { throw ValidationError("\(file) is too large to be a bundle file.") }
            let envelopes: [Envelope]
            do {
                envelopes = try BundleFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: file))))
            } catch {
                throw ValidationError("\(file) is not a valid bundle file: \(error)")
            }
            let r = try BundleExchange(store: store).import(envelopes)
            print(
                "applied \(r.applied), hash-only \(r.withheld), duplicates \(r.duplicates), gaps \(r.gaps), refused \(r.refused.count), records changed \(r.recordsChanged)"
            )
            for line in r.refused.prefix(20) { print("  refused \(line)") }
        }
    }
}
