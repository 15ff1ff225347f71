import Foundation
import Hummingbird
import IOCAudit
import IOCModel
import IOCStore
import NIOCore

/// The audit log over HTTPS for people with the auditor (or admin) role: the latest signed
/// checkpoint, tlog-tiles resources under `/audit/v1/tile/…` (so a generic tiles client can read
/// the log), and inclusion proofs. Records are never served here.
struct AuditRoutes: Sendable {
    let store: NodeStore
    let keys: AuditKeys?

    func register(on group: RouterGroup<NodeRequestContext>) {
        group.get("checkpoint") { _, context in
            try requireAuditor(context)
            return text(try latest().note)
        }
        group.get("tile/**") { _, context in
            try requireAuditor(context)
            let path = "tile/" + context.parameters.getCatchAll().joined(separator: "/")
            let cp = try latest()
            let entries = try store.auditEntries(to: cp.size)
            let resources =
                path.hasPrefix("tile/entries/")
                ? try Tiles.entryBundles(entries) : Tiles.hashTiles(MerkleTree(entries: entries))
            guard let r = resources.first(where: { $0.path == path }) else {
                throw APIError(.notFound, code: "not_found", message: "No tile \(path) in a log of \(cp.size) entries.")
            }
            return Response(
                status: .ok, headers: [.contentType: "application/octet-stream"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: r.bytes)))
        }
        group.get("proof") { request, context in
            try requireAuditor(context)
            let cp = try latest()
            guard let text = request.uri.queryParameters.get("entry"), let index = Int(text), index >= 0, index < cp.size else {
                throw APIError(
                    .badRequest, code: "invalid_parameter",
                    message: "Query parameter 'entry' must be an entry index below \(cp.size) (the latest checkpoint).")
            }
            let proof = try InclusionProof.make(entries: try store.auditEntries(to: cp.size), index: index, checkpointNote: cp.note)
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: proof.json)))
        }
    }

    func requireAuditor(_ context: NodeRequestContext) throws {
        guard let user = context.user, user.actor.role.canAudit else {
            throw APIError.forbidden("Only auditors and admins read the audit log.")
        }
    }

    /// The latest checkpoint, signing a newer one when the log has news.
    func latest() throws -> AuditCheckpoint {
        let cp = try keys.flatMap { try $0.checkpoint(store) } ?? store.latestAuditCheckpoint()
        guard let cp else { throw APIError(.notFound, code: "not_found", message: "This node has not signed an audit checkpoint yet.") }
        return cp
    }

    func text(_ s: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: s)))
    }
}
