import ArgumentParser
import Foundation
import IOCAudit
import IOCIdentity
import IOCNode
import IOCStore
import X509
import Crypto

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
            // What ties the keys to the federation: the CA, its signed registry (the node's bundle
            // key) and that key's signature over the log and witness keys.
            let dir = CertsDirectory(path: certs)
            if let keys, FileManager.default.fileExists(atPath: dir.caCertificate), FileManager.default.fileExists(atPath: dir.registry) {
                let trust = URL(fileURLWithPath: out).appending(path: "trust")
                try FileManager.default.createDirectory(at: trust, withIntermediateDirectories: true)
                for (from, name) in [(dir.caCertificate, "ca.crt"), (dir.registry, "registry.json")] {
                    let target = trust.appending(path: name)
                    try? FileManager.default.removeItem(at: target)
                    try FileManager.default.copyItem(at: URL(fileURLWithPath: from), to: target)
                }
                try (Data(keys.binding).base64EncodedString() + "\n").write(
                    to: trust.appending(path: "binding"), atomically: true, encoding: .utf8)
            }
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
            let base = AuditVerifier.verify(directory: URL(fileURLWithPath: directory))
            try report(
                AuditReport(
                    kind: base.kind, subjects: base.subjects, findings: base.findings + Self.trust(directory),
                    stats: base.stats), json: json)
        }

        /// Checks `trust/` when present: the registry is signed by the CA, and the node's
        /// registered bundle key signed its log and witness keys. Without `trust/` the keys in
        /// `keys/` are taken as given (and a warning says so).
        static func trust(_ directory: String) -> [Finding] {
            let trust = directory + "/trust"
            // A missing key is already reported as incomplete input.
            guard FileManager.default.fileExists(atPath: directory + "/keys/node.vkey") else { return [] }
            guard FileManager.default.fileExists(atPath: trust + "/registry.json") else {
                return [Finding(.keyBinding, .warning, "no trust/ directory: the log key is not tied to the federation CA", subject: "trust/")]
            }
            do {
                let ca = try Certificate(pemEncoded: String(contentsOfFile: trust + "/ca.crt", encoding: .utf8))
                guard let caKey = P256.Signing.PublicKey(ca.publicKey) else { throw ValidationError("the CA key is not P-256") }
                let registry = try SignedDocument.decode(Array(try Data(contentsOf: URL(fileURLWithPath: trust + "/registry.json"))))
                    .open(Registry.self, type: Registry.payloadType, key: caKey)
                let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/meta.json"))) as? [String: Any]
                guard let node = meta?["node"] as? String, let bundleKey = registry.signingKey(of: node) else {
                    return [Finding(.keyBinding, .failure, "the registry signed by the CA has no signing key for this node", subject: "trust/registry.json")]
                }
                let log = try String(contentsOfFile: directory + "/keys/node.vkey", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                let witness = try String(contentsOfFile: directory + "/keys/node-witness.vkey", encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                let binding = Data(base64Encoded: try String(contentsOfFile: trust + "/binding", encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines)) ?? Data()
                guard AuditKeys.verifyBinding(log: log, witness: witness, binding: Array(binding), signingKey: bundleKey) else {
                    return [Finding(.keyBinding, .failure, "keys/node.vkey and keys/node-witness.vkey are not signed by \(node)'s registered bundle key", subject: "trust/binding")]
                }
                return [Finding(.verified, .info, "log and witness keys are bound to \(node)'s key in the CA-signed registry v\(registry.version)", subject: "trust/")]
            } catch {
                return [Finding(.keyBinding, .failure, "trust/ does not verify: \(error)", subject: "trust/")]
            }
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
