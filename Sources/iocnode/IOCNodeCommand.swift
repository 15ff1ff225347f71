import ArgumentParser
import Foundation
import IOCModel
import IOCNode
import IOCStore
import IOCTopology

@main
struct IOCNodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iocnode",
        abstract: "One node of an IOC federation: province, district (commune/ward) or sector operation centre.",
        subcommands: [
            ServeCommand.self, CertsCommand.self, UserCommand.self, BundleCommand.self, AuditCommand.self, DemoCommand.self,
            BenchCommand.self,
        ])
}

/// Options shared by commands that open a node's data directory.
struct DataOptions: ParsableArguments {
    @Option(help: "The node's data directory.")
    var data: String

    /// Opens an existing data directory, reading which node it belongs to.
    func openStore() throws -> NodeStore {
        let path = data + "/node.sqlite"
        guard FileManager.default.fileExists(atPath: path) else {
            throw ValidationError("No node database in \(data). Start the node once with `iocnode serve`, or check --data.")
        }
        let (nodeID, federation) = try NodeStore.identity(path: path)
        return try NodeStore(.init(path: path, nodeID: nodeID, federation: federation))
    }
}

func loadTopology(_ path: String) throws -> Topology {
    do {
        return try TopologyLoader.load(path: path)
    } catch {
        throw ValidationError("\(error)")
    }
}

/// Parses `HOST:PORT`.
func parseListen(_ text: String) throws -> (String, Int) {
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port)
    else { throw ValidationError("--listen must be HOST:PORT, e.g. 127.0.0.1:8443") }
    return (String(text[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port)
}

/// Prints a line straight to standard output (unbuffered), so a parent process reading the pipe
/// sees it at once.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
