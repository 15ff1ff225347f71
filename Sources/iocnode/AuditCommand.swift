import ArgumentParser
import Foundation
import IOCAudit
import IOCIdentity
import IOCNode
import IOCStore

/// The auditor's tools. `export` reads a node's data directory (no node needs to run); `verify`,
/// `cross-check` and `check-proof` need nothing but the exported files and work offline.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Export and verify tamper-evident sync logs (C2SP tlog-tiles, signed notes).",
        subcommands: [Export.self, Verify.self, CrossCheckCommand.self, Prove.self, CheckProof.self])

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a node's audit log as a self-contained directory: tiles, checkpoints, cosignatures, keys.")
        @OptionGroup var data: DataOptions
        @Option(help: "Output directory (created).")
        var out: String
        @Option(help: "Certificates directory with this node's signing key, to sign a checkpoint covering every entry.")
        var certs: String = "certs"

        func run() async throws {
            let store = try data.openStore()
            let federation = try NodeStore.identity(path: data.data + "/node.sqlite").federation
            let keys = try? AuditKeys(
                federation: federation, node: store.nodeID, signingKey: CertsDirectory(path: certs).readSigningKey(store.nodeID))
            if let keys { try keys.checkpoint(store, force: true) }
            guard let latest = try store.latestAuditCheckpoint() else {
                throw ValidationError("\(store.nodeID) has no signed audit checkpoint yet; pass --certs with its signing key.")
            }
            let logKeyText = try keys?.log.verifierKey.text ?? store.auditLogKeyText()
            guard let logKeyText else { throw ValidationError("The node's log key is unknown; pass --certs with its signing key.") }
            var peerKeys: [String: NoteVerifierKey] = [:]
            for (peer, text) in try store.peerWitnessKeys() { peerKeys[peer] = try NoteVerifierKey(parsing: text) }
            let export = AuditExport(
                meta: try ExportMeta(federation: federation, node: store.nodeID, exportedAt: store.now()),
                entries: try store.auditEntries(to: latest.size), checkpointNote: latest.note,
                earlierCheckpointNotes: try store.auditCheckpoints().map(\.note), cosignatures: try store.cosignatures(),
                nodeKey: try NoteVerifierKey(parsing: logKeyText), witnessKey: keys?.witness.verifierKey, peerWitnessKeys: peerKeys)
            try export.write(to: URL(fileURLWithPath: out))
            try keys?.journalExport(store).write(to: URL(fileURLWithPath: out))
            let uncovered = try store.auditSize() - latest.size
            say("exported \(latest.size) audit entries of \(store.nodeID) to \(out)" + (uncovered > 0 ? " (\(uncovered) newer entries are not covered by a checkpoint yet)" : ""))
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check an exported audit directory: signatures, every tile, checkpoints, cosignatures. Exit 0 verified, 1 integrity failure, 2 incomplete input.")
        @Argument(help: "Directory written by `iocnode audit export`.")
        var directory: String
        @Flag(help: "Print the report as JSON.")
        var json = false

        func run() async throws {
            try report(AuditVerifier.verify(directory: URL(fileURLWithPath: directory)), json: json)
        }
    }

    struct CrossCheckCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cross-check",
            abstract: "Check several nodes' exports against each other: every bundle sent was received, no forks, cosignatures agree, knowledge only grows.")
        @Argument(help: "One exported directory per node.")
        var directories: [String]
        @Flag(help: "Print the report as JSON.")
        var json = false

        func run() async throws {
            guard directories.count >= 2 else { throw ValidationError("Give at least two exported directories.") }
            try report(CrossCheck.run(directories: directories.map { URL(fileURLWithPath: $0) }), json: json)
        }
    }

    struct Prove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print an inclusion proof of one audit entry under the latest signed checkpoint (JSON), for an auditor to check alone.")
        @OptionGroup var data: DataOptions
        @Option(help: "Index of the entry (from 0).")
        var entry: Int

        func run() async throws {
            let store = try data.openStore()
            guard let latest = try store.latestAuditCheckpoint() else { throw ValidationError("\(store.nodeID) has no signed audit checkpoint yet.") }
            guard entry >= 0 && entry < latest.size else {
                throw ValidationError("Entry \(entry) is not covered by the latest checkpoint (\(latest.size) entries); export first to sign a newer one.")
            }
            let proof = try InclusionProof.make(entries: try store.auditEntries(to: latest.size), index: entry, checkpointNote: latest.note)
            print(proof.json)
        }
    }

    struct CheckProof: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check-proof", abstract: "Check an inclusion proof printed by `audit prove` against the node's log key (vkey file).")
        @Argument(help: "The proof (JSON file).")
        var proof: String
        @Option(help: "The node's log verifier key, e.g. keys/node.vkey of an export.")
        var key: String

        func run() async throws {
            let proof = try InclusionProof(json: try String(contentsOfFile: self.proof, encoding: .utf8))
            let key = try NoteVerifierKey(parsing: try String(contentsOfFile: self.key, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))
            do {
                let checkpoint = try proof.verify(logKey: key)
                say("verified: entry \(proof.index) is in \(checkpoint.origin) at size \(checkpoint.size)")
                say(String(decoding: proof.entry, as: UTF8.self))
            } catch {
                say("NOT verified: \(error)")
                throw ExitCode(1)
            }
        }
    }
}

/// Prints a report (human summary, or stable JSON) and exits with its code.
func report(_ r: AuditReport, json: Bool) throws {
    print(json ? r.json : r.summary)
    if r.exitCode != 0 { throw ExitCode(r.exitCode) }
}
