import Foundation
import Hummingbird
import IOCIdentity
import IOCModel
import IOCStore
import NIOCore
import NIOSSL
import X509

/// Identifies the peer node on the sync listener from its TLS client certificate (already
/// verified at the handshake) and checks it again per request: a denylist installed since the
/// connection opened refuses its next request. Only topology neighbours (parent, children) sync.
struct PeerIdentityMiddleware: RouterMiddleware {
    typealias Context = NodeRequestContext
    let trust: TrustStore
    let neighbours: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard let nio = try await context.channel.nioSSL_peerCertificate().get(),
            let leaf = try? Certificate(derEncoded: try nio.toDERBytes())
        else { throw APIError(.unauthorized, code: "certificate_required", message: "A client certificate is required.") }
        let snapshot = await trust.snapshot()
        let node: String
        switch NodeIdentityPolicy.identify(leaf, federation: snapshot.federation, role: .client) {
        case .success(let n): node = n
        case .failure(let e): throw APIError.forbidden(e.message)
        }
        if snapshot.denylist.revokes(serial: leaf.serialNumber.hex) {
            throw APIError.forbidden("The certificate of node '\(node)' is revoked.")
        }
        guard neighbours.contains(node) else {
            throw APIError.forbidden("Node '\(node)' is not a sync neighbour of this node (only parent and children sync).")
        }
        var context = context
        context.peer = node
        return try await next(request, context)
    }
}

/// The node-to-node endpoints under `/sync/v1`, served only on the mutual-TLS listener.
struct SyncRoutes: Sendable {
    let store: NodeStore
    let receiver: BundleReceiver
    let outbox: Outbox
    let trust: TrustStore
    let limits: Limits
    let witness: WitnessRoutes

    static let envelopeType = "application/vnd.ioc.envelope"
    /// A run of envelopes in bundle-file framing (length-prefixed), pushed in one request.
    static let streamType = "application/vnd.ioc.envelope-stream"

    func register(on group: RouterGroup<NodeRequestContext>) {
        group.post("bundles") { request, context in try await push(request, context) }
        group.get("bundles") { request, context in try await pull(request, context) }
        group.get("trust") { _, _ in try await trustDocuments() }
        group.post("trust") { request, _ in try await installTrust(request) }
        group.post("witness") { request, context in
            JSONResponse.make(.ok, try await witness.witness(peer: try context.requirePeer(), body: try await Self.json(request)))
        }
        group.post("cosignature") { request, context in
            JSONResponse.make(.ok, try await witness.cosignature(peer: try context.requirePeer(), body: try await Self.json(request)))
        }
    }

    /// A peer pushes one signed bundle; the answer is a receipt with our high-water mark.
    func push(_ request: Request, _ context: NodeRequestContext) async throws -> Response {
        let peer = try context.requirePeer()
        if request.headers[.contentType] == Self.streamType { return try await pushStream(request, peer: peer) }
        let body = try await Self.readBody(request, max: limits.bundleWireBytesMax)
        let receipt = try await receiver.receive(body, transportPeer: peer)
        return JSONResponse.make(Self.status(of: receipt), receipt.json)
    }

    /// A peer pushes a run of bundles in one request (bundle-file framing, at most
    /// `bundlesPerRequestMax`). Each is verified while the one before it is written, as soon as its
    /// bytes have arrived; the run stops at the first bundle not applied. The answer lists a
    /// receipt per bundle handled, in order; its status is that of the last one.
    func pushStream(_ request: Request, peer: String) async throws -> Response {
        var parser = BundleFrames.Parser(maxFrame: limits.bundleWireBytesMax)
        var pipeline = await BundlePipeline(receiver: receiver, transportPeer: peer)
        var receipts: [Receipt] = []
        var submitted = 0
        func take(_ done: [Receipt]) -> Bool {
            receipts += done
            return done.allSatisfy { $0.isAccepted && $0.outcome != "held" }
        }
        var stopped = false
        body: for try await chunk in request.body {
            parser.append(chunk)
            while true {
                let frame: [UInt8]?
                do {
                    frame = try parser.next()
                } catch {
                    throw APIError(.contentTooLarge, code: "body_too_large", message: "\(error)")
                }
                guard let frame else { break }
                submitted += 1
                guard submitted <= limits.bundlesPerRequestMax else {
                    throw APIError(
                        .contentTooLarge, code: "too_many_bundles",
                        message: "A request carries at most \(limits.bundlesPerRequestMax) bundles.")
                }
                if !take(try await pipeline.submit(frame)) {
                    stopped = true
                    break body
                }
            }
        }
        if stopped {
            pipeline.cancel()
        } else {
            _ = take(try await pipeline.finish())
            if parser.leftover > 0 {
                throw APIError(.badRequest, code: "truncated_stream", message: "The body ends inside a bundle (\(parser.leftover) bytes left).")
            }
        }
        return JSONResponse.make(receipts.last.map(Self.status(of:)) ?? .ok, ["receipts": .array(receipts.map(\.json))])
    }

    /// 200 for a bundle taken (applied, replayed or held), 409 for a fork, 422 for a refusal.
    static func status(of receipt: Receipt) -> HTTPResponse.Status {
        receipt.isAccepted ? .ok : receipt.outcome == "fork" ? .conflict : .unprocessableContent
    }

    /// A peer pulls the next bundle for it, acknowledging with `after` every bundle it holds.
    func pull(_ request: Request, _ context: NodeRequestContext) async throws -> Response {
        let peer = try context.requirePeer()
        guard let text = request.uri.queryParameters.get("after"), let after = UInt64(text) else {
            throw APIError(.badRequest, code: "invalid_parameter", message: "Query parameter 'after' (a bundle sequence) is required.")
        }
        try store.acknowledge(peer: peer, upTo: after)
        guard let bundle = try outbox.next(to: peer, after: after) else { return Response(status: .noContent) }
        return Response(
            status: .ok, headers: [.contentType: Self.envelopeType],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bundle.envelope)))
    }

    func trustDocuments() async throws -> Response {
        let docs = await trust.documents()
        return JSONResponse.make(.ok, .object(docs.mapValues { .string(Data($0).base64EncodedString()) }))
    }

    /// The parent hands down newer CA-signed documents (denylist, registry); each is verified.
    func installTrust(_ request: Request) async throws -> Response {
        let body = try await Self.readBody(request, max: 1 << 20)
        guard case .object(let docs) = try JSONValue.parse(body) else {
            throw APIError(.badRequest, code: "invalid_json", message: "Expected an object of trust documents.")
        }
        var installed: [JSONValue] = []
        for (kind, value) in docs {
            guard let b64 = value.stringValue, let bytes = Data(base64Encoded: b64) else { continue }
            do {
                if try await trust.install(kind: kind, bytes: Array(bytes)) { installed.append(.string(kind)) }
            } catch {
                throw APIError.forbidden("Refused the \(kind) document: \(error)")
            }
        }
        return JSONResponse.make(.ok, ["installed": .array(installed)])
    }

    static func json(_ request: Request) async throws -> JSONValue {
        do {
            return try JSONValue.parse(try await readBody(request, max: 1 << 20))
        } catch let e as APIError {
            throw e
        } catch {
            throw APIError(.badRequest, code: "invalid_json", message: "The body is not valid JSON: \(error)")
        }
    }

    /// Reads a body only after checking its declared length against the limit, and stops reading
    /// at the limit whatever the peer declared.
    static func readBody(_ request: Request, max: Int) async throws -> [UInt8] {
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > max {
            throw APIError(.contentTooLarge, code: "body_too_large", message: "The body of \(declared) bytes exceeds \(max) bytes.")
        }
        do {
            var buffer = try await request.body.collect(upTo: max)
            return buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch {
            throw APIError(.contentTooLarge, code: "body_too_large", message: "The body exceeds \(max) bytes.")
        }
    }
}

extension NodeRequestContext {
    func requirePeer() throws -> String {
        guard let peer else { throw APIError(.unauthorized, code: "certificate_required", message: "A client certificate is required.") }
        return peer
    }
}
