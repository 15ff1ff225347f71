import Crypto
import Foundation
import IOCAudit
import IOCModel
import IOCStore

/// This node's audit keys: a log key that signs checkpoints (C2SP signed note, type 0x01) and a
/// witness key that cosigns peers' checkpoints (tlog-cosignature, type 0x04). Both are derived
/// from the node's Ed25519 bundle-signing key with HKDF, so the node keeps one secret file yet no
/// key signs two kinds of message. The bundle key signs the pair (``binding``), so a peer ties
/// them to the CA-signed registry rather than trusting them on first use.
public struct AuditKeys: Sendable {
    public let origin: String
    public let log: NoteSigner
    public let witness: CosignatureSigner
    /// Signs checkpoints of this node's own journal (origin `<federation>/journal/<node>`).
    public let journal: NoteSigner
    /// The bundle key's signature over ``bindingMessage(log:witness:)``.
    public let binding: [UInt8]

    public init(federation: String, node: String, signingKey: Curve25519.Signing.PrivateKey) throws {
        func derive(_ label: String) throws -> Curve25519.Signing.PrivateKey {
            let seed = HKDF<SHA256>.deriveKey(
                inputKeyMaterial: SymmetricKey(data: signingKey.rawRepresentation), info: Data(label.utf8), outputByteCount: 32)
            return try Curve25519.Signing.PrivateKey(rawRepresentation: seed.withUnsafeBytes { Data($0) })
        }
        origin = Checkpoint.logOrigin(federation: federation, node: node)
        log = try NoteSigner(name: origin, privateKey: derive("ioc-federation audit log key v1"))
        witness = try CosignatureSigner(
            name: "\(federation)/witness/\(node)", privateKey: derive("ioc-federation audit witness key v1"))
        journal = try NoteSigner(
            name: Checkpoint.journalOrigin(federation: federation, node: node), privateKey: derive("ioc-federation journal key v1"))
        binding = Array(
            try signingKey.signature(for: Self.bindingMessage(log: log.verifierKey.text, witness: witness.verifierKey.text)))
    }

    public static func bindingMessage(log: String, witness: String) -> [UInt8] {
        Array("ioc-federation audit keys v1\n\(log)\n\(witness)\n".utf8)
    }

    /// True when `binding` is the registered bundle key's signature over the two key texts.
    public static func verifyBinding(log: String, witness: String, binding: [UInt8], signingKey: Curve25519.Signing.PublicKey)
        -> Bool
    {
        signingKey.isValidSignature(binding, for: bindingMessage(log: log, witness: witness))
    }

    /// This node's journal and its copies of every other origin's, signed for an audit export.
    public func journalExport(_ store: NodeStore) throws -> JournalExport {
        let mine = try store.journalLeaves(origin: store.nodeID)
        let note = try Checkpoint(origin: journal.name, size: mine.count, root: MerkleTree(leafHashes: mine).root).signed(by: journal)
        var copies: [String: (size: Int, root: [UInt8])] = [:]
        for origin in try store.knowledge().origins {
            let leaves = try store.journalLeaves(origin: origin)
            copies[origin] = (leaves.count, MerkleTree(leafHashes: leaves).root)
        }
        return JournalExport(checkpointNote: note, leaves: mine, key: journal.verifierKey, copies: copies)
    }

    /// The newest checkpoint of this node's log, signing a new one when the log has news.
    @discardableResult
    public func checkpoint(_ store: NodeStore, force: Bool = false) throws -> AuditCheckpoint? {
        try store.signAuditCheckpoint(origin: origin, logKey: log.verifierKey.text, force: force) { try $0.signed(by: log) }
    }
}

/// One side's checkpoint as shown to a peer for witnessing: the signed note, a consistency proof
/// from the size the peer last cosigned, and the keys with their binding.
struct WitnessOffer: Sendable {
    var note: String
    var old: Int
    var proof: [[UInt8]]
    var logKey: String
    var witnessKey: String
    var binding: [UInt8]

    var json: JSONValue {
        [
            "note": .string(note), "old": .int(Int64(old)), "proof": .array(proof.map { .string(Data($0).base64EncodedString()) }),
            "logKey": .string(logKey), "witnessKey": .string(witnessKey), "binding": .string(Data(binding).base64EncodedString()),
        ]
    }

    init(note: String, old: Int, proof: [[UInt8]], logKey: String, witnessKey: String, binding: [UInt8]) {
        self.note = note
        self.old = old
        self.proof = proof
        self.logKey = logKey
        self.witnessKey = witnessKey
        self.binding = binding
    }

    init(json: JSONValue) throws {
        guard let note = json["note"]?.stringValue, let old = json["old"]?.int64Value, old >= 0,
            let proof = json["proof"]?.arrayValue, let logKey = json["logKey"]?.stringValue,
            let witnessKey = json["witnessKey"]?.stringValue, let b = json["binding"]?.stringValue,
            let binding = Data(base64Encoded: b)
        else { throw WitnessError("malformed witness offer") }
        self.note = note
        self.old = Int(old)
        self.proof = try proof.map {
            guard let s = $0.stringValue, let d = Data(base64Encoded: s), d.count == 32 else { throw WitnessError("malformed proof hash") }
            return Array(d)
        }
        self.logKey = logKey
        self.witnessKey = witnessKey
        self.binding = Array(binding)
    }

    /// This node's offer to a peer that last cosigned `old` entries of our log.
    static func make(_ keys: AuditKeys, store: NodeStore, peerOld: Int) throws -> WitnessOffer? {
        guard let latest = try keys.checkpoint(store) else { return nil }
        let old = min(peerOld, latest.size)
        let proof = old == 0 || old == latest.size ? [] : try store.auditTree(size: latest.size).consistencyProof(oldSize: old, newSize: latest.size)
        return WitnessOffer(
            note: latest.note, old: old, proof: proof, logKey: keys.log.verifierKey.text, witnessKey: keys.witness.verifierKey.text,
            binding: keys.binding)
    }

    /// Checks a peer's offer and, if it extends what we witnessed of that peer's log, cosigns it
    /// and records it (logging `cosignature.issued`). Returns the cosigned note. Refuses a
    /// checkpoint signed by another key than the registered one, and one inconsistent with what we
    /// cosigned before (the peer rewrote or forked its history).
    func witness(by keys: AuditKeys, peer: String, store: NodeStore, registered: Curve25519.Signing.PublicKey?) throws -> String {
        guard let registered, AuditKeys.verifyBinding(log: logKey, witness: witnessKey, binding: binding, signingKey: registered)
        else { throw WitnessError("the audit keys of '\(peer)' are not signed by its registered bundle key") }
        let key = try NoteVerifierKey(parsing: logKey)
        let (checkpoint, _) = try Checkpoint.verified(note, logKey: key)
        guard checkpoint.origin == key.name else { throw WitnessError("checkpoint origin '\(checkpoint.origin)' is not '\(key.name)'") }
        let seen = try store.witnessed(peer)
        // A new log key (after the bundle key was re-issued) is accepted because the registered
        // key signs it; the history it signs must still extend what was cosigned before.
        guard checkpoint.size >= seen.size else {
            throw WitnessError("'\(peer)' shows a log of \(checkpoint.size) entries after showing \(seen.size): history rolled back")
        }
        guard old == seen.size else { throw WitnessError.stale(witnessed: seen.size, peer: peer) }
        if seen.size > 0 {
            let consistent =
                checkpoint.size == seen.size
                ? checkpoint.root == seen.root
                : Merkle.verifyConsistency(
                    oldSize: seen.size, newSize: checkpoint.size, oldRoot: seen.root, newRoot: checkpoint.root, proof: proof)
            guard consistent else {
                throw WitnessError(
                    "'\(peer)' shows a log of \(checkpoint.size) entries that is not an extension of the \(seen.size) entries this node cosigned: a rewritten or forked history")
            }
        }
        let cosigned = try keys.witness.cosign(note: note, timestamp: UInt64(max(0, store.now() / 1000)))
        if checkpoint.size > seen.size || seen.logKey != logKey {
            try store.recordWitnessed(peer: peer, checkpoint: checkpoint, logKey: logKey, witnessKey: witnessKey)
        }
        return cosigned
    }
}

/// A witnessing step that was refused, with the reason (a fork, a rolled-back log, a bad key).
struct WitnessError: Error, CustomStringConvertible {
    var description: String
    /// Set when the offer's starting size is not what this node last cosigned: the child asks
    /// for that size and offers again (its copy of the last cosignature may have been lost).
    var witnessed: Int?
    init(_ d: String) { description = d }

    static func stale(witnessed: Int, peer: String) -> WitnessError {
        var e = WitnessError("stale: this node last cosigned \(witnessed) entries of \(peer)'s log")
        e.witnessed = witnessed
        return e
    }
}

/// The witnessing exchange on the sync listener (parent side): a child shows its checkpoint and
/// gets it cosigned, and receives the parent's checkpoint to cosign in return.
struct WitnessRoutes: Sendable {
    let store: NodeStore
    let trust: TrustStore
    let keys: AuditKeys

    /// `{offer, peerOld}` → `{cosigned, keys: {logKey, witnessKey, binding}, offer?}`.
    func witness(peer: String, body: JSONValue) async throws -> JSONValue {
        let offer = try WitnessOffer(json: body["offer"] ?? .null)
        let peerOld = Int(body["peerOld"]?.int64Value ?? 0)
        let registered = await trust.snapshot().registry.signingKey(of: peer)
        let cosigned: String
        do {
            cosigned = try offer.witness(by: keys, peer: peer, store: store, registered: registered)
        } catch let e as WitnessError {
            if let witnessed = e.witnessed { return ["stale": true, "witnessed": .int(Int64(witnessed))] }
            try store.logBundleRefusal(peer: peer, seq: nil, hash: nil, reason: "witness: \(e.description)")
            throw APIError(.conflict, code: "witness_refused", message: e.description)
        }
        var out: [String: JSONValue] = [
            "cosigned": .string(cosigned),
            "keys": [
                "logKey": .string(keys.log.verifierKey.text), "witnessKey": .string(keys.witness.verifierKey.text),
                "binding": .string(Data(keys.binding).base64EncodedString()),
            ],
        ]
        if let mine = try WitnessOffer.make(keys, store: store, peerOld: peerOld) { out["offer"] = mine.json }
        return .object(out)
    }

    /// `{note}`: the child's cosignature over one of our checkpoints, kept with our log.
    func cosignature(peer: String, body: JSONValue) async throws -> JSONValue {
        guard let note = body["note"]?.stringValue, let keyText = try store.peerWitnessKeys()[peer] else {
            throw APIError(.badRequest, code: "invalid_cosignature", message: "Expected {note} from a peer whose witness key is known.")
        }
        do {
            let (checkpoint, _) = try CosignatureVerifier(key: try NoteVerifierKey(parsing: keyText)).verify(note: note)
            let ours = try store.auditCheckpoints().first { $0.size == checkpoint.size }
            guard let ours, try Checkpoint(parsingBody: try SignedNote(parsing: ours.note).text) == checkpoint else {
                throw WitnessError("the cosigned checkpoint is not one this node signed")
            }
            try store.storeCosignature(peer: peer, checkpoint: checkpoint, note: note, witnessKey: keyText)
        } catch {
            throw APIError(.conflict, code: "cosignature_refused", message: "\(error)")
        }
        return ["stored": true]
    }
}

extension SyncService {
    /// The child's half of witnessing, after a round with its parent: shows our checkpoint, keeps
    /// the parent's cosignature, and cosigns the parent's checkpoint in return.
    func witness(_ s: PeerSession, _ peer: String, moved: Bool) async throws {
        guard let keys = audit else { return }
        // A quiet round (no bundle either way, nothing of ours left uncosigned) has nothing to witness.
        let signed = try keys.checkpoint(store)?.size ?? 0
        guard try moved || signed > store.cosignedSize(by: peer) else { return }
        var status = 0
        var answer: [UInt8] = []
        var from = try store.cosignedSize(by: peer)
        // At most twice: once from what we hold, once from what the parent says it cosigned.
        for _ in 0..<2 {
            guard let mine = try WitnessOffer.make(keys, store: store, peerOld: from) else { return }
            let body: JSONValue = ["offer": mine.json, "peerOld": .int(Int64(try store.witnessed(peer).size))]
            (status, answer) = try await s.request(.POST, "/sync/v1/witness", body: Array(body.jsonData()), contentType: "application/json")
            guard status == 200, let reply = try? JSONValue.parse(answer), reply["stale"] == .bool(true),
                let witnessed = reply["witnessed"]?.int64Value, Int(witnessed) != from
            else { break }
            from = Int(witnessed)
        }
        guard status == 200, let json = try? JSONValue.parse(answer), let cosigned = json["cosigned"]?.stringValue,
            let witnessKey = json["keys"]?["witnessKey"]?.stringValue, let logKey = json["keys"]?["logKey"]?.stringValue,
            let binding = json["keys"]?["binding"]?.stringValue.flatMap({ Data(base64Encoded: $0) })
        else { throw PeerError("\(peer) refused to witness our audit log (\(status)): \(String(decoding: answer.prefix(300), as: UTF8.self))") }
        guard let registered = await trust.snapshot().registry.signingKey(of: peer),
            AuditKeys.verifyBinding(log: logKey, witness: witnessKey, binding: Array(binding), signingKey: registered)
        else { throw PeerError("the audit keys of \(peer) are not signed by its registered bundle key") }
        let (checkpoint, _) = try CosignatureVerifier(key: try NoteVerifierKey(parsing: witnessKey)).verify(note: cosigned)
        try store.storeCosignature(peer: peer, checkpoint: checkpoint, note: cosigned, witnessKey: witnessKey)
        guard let offer = json["offer"] else { return }
        let theirs = try WitnessOffer(json: offer)
        let cosignedTheirs: String
        do {
            cosignedTheirs = try theirs.witness(by: keys, peer: peer, store: store, registered: registered)
        } catch let e as WitnessError {
            try store.logBundleRefusal(peer: peer, seq: nil, hash: nil, reason: "witness: \(e.description)")
            throw PeerError("refused to cosign \(peer)'s audit log: \(e.description)")
        }
        let (st, reply) = try await s.request(
            .POST, "/sync/v1/cosignature", body: Array(JSONValue.object(["note": .string(cosignedTheirs)]).jsonData()),
            contentType: "application/json")
        guard st == 200 else { throw PeerError("\(peer) refused our cosignature (\(st)): \(String(decoding: reply.prefix(300), as: UTF8.self))") }
    }
}
