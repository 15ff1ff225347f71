import Foundation
import Synchronization
import HummingbirdTLS
import IOCIdentity
import IOCModel
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// TLS for both listeners and for the peer client, from one node's credentials. Everything is
/// TLS 1.3; trust roots are always exactly the federation CA (never the system bundle).
public struct TransportSecurity: Sendable {
    public let credentials: NodeCredentials
    public let trust: TrustStore

    public init(credentials: NodeCredentials, trust: TrustStore) {
        self.credentials = credentials
        self.trust = trust
    }

    func chain() throws -> [NIOSSLCertificateSource] {
        try NIOSSLCertificate.fromPEMBytes(credentials.certificatePEM).map { .certificate($0) }
    }

    func key() throws -> NIOSSLPrivateKeySource {
        .privateKey(try NIOSSLPrivateKey(bytes: credentials.privateKeyPEM, format: .pem))
    }

    func roots() throws -> NIOSSLTrustRoots { .certificates(try NIOSSLCertificate.fromPEMBytes(credentials.caPEM)) }

    /// The user API: server certificate only; people authenticate with bearer tokens.
    public func apiServer() throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: try chain(), privateKey: try key())
        tls.minimumTLSVersion = .tlsv13
        return tls
    }

    /// The sync listener: a client certificate is required, and our callback (RFC 5280 plus the
    /// node-identity policy, against the current denylist) decides at the handshake.
    public func syncServer(logger: Logger) throws -> TLSChannelConfiguration {
        var tls = TLSConfiguration.makeServerConfigurationWithMTLS(
            certificateChain: try chain(), privateKey: try key(), trustRoots: try roots())
        tls.minimumTLSVersion = .tlsv13
        tls.certificateVerification = .noHostnameVerification
        let trust = self.trust
        return TLSChannelConfiguration(tlsConfiguration: tls) { certificates in
            let der = certificates.compactMap { try? $0.toDERBytes() }
            switch await trust.snapshot().verifyPeer(chainDER: der, role: .client) {
            case .success:
                return .certificateVerified
            case .failure(let e):
                logger.warning("refused a sync client at the TLS handshake: \(e.message)")
                return .failed
            }
        }
    }

    /// Client side of a sync connection: presents our certificate and accepts only a server
    /// certificate naming `expectedNode`, checked by the same policy.
    public func clientContext() throws -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv13
        tls.trustRoots = try roots()
        tls.certificateChain = try chain()
        tls.privateKey = try key()
        return try NIOSSLContext(configuration: tls)
    }
}

/// A failure talking to a peer, worded for the sync status page.
public struct PeerError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The peer client: HTTP/1.1 over mutual TLS on NIO, verifying the server with our own policy
/// (AsyncHTTPClient offers no verification hook, so it could not check the server's node id,
/// CA flag or revocation). One connection per sync round, requests in sequence.
public struct PeerClient: Sendable {
    public let federation: String
    let context: NIOSSLContext
    let trust: TrustStore
    let limits: Limits
    let timeout: TimeAmount

    public init(security: TransportSecurity, federation: String, limits: Limits, timeout: TimeAmount = .seconds(30)) throws {
        self.federation = federation
        context = try security.clientContext()
        trust = security.trust
        self.limits = limits
        self.timeout = timeout
    }

    /// Opens one connection to `node` at `host:port`, runs `body` with it, then closes it.
    public func session<T: Sendable>(
        node: String, host: String, port: Int, _ body: (PeerSession) async throws -> T
    ) async throws -> T {
        let trust = self.trust
        let context = self.context
        let serverName = NodeName.dnsName(federation: federation, node: node)
        let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
        let failure = FirstChannelError()
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(5))
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let tls = try NIOSSLClientHandler(context: context, serverHostname: serverName) { certificates, promise in
                            let der = certificates.compactMap { try? $0.toDERBytes() }
                            promise.completeWithTask {
                                switch await trust.snapshot().verifyPeer(chainDER: der, role: .server, expectedNode: node) {
                                case .success: return .certificateVerified
                                case .failure: return .failed
                                }
                            }
                        }
                        try channel.pipeline.syncOperations.addHandler(tls)
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(failure)
                        return try NIOAsyncChannel(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw PeerError("cannot connect to \(node) at \(host):\(port): \(error)")
        }
        let limit = limits.bundleWireBytesMax + 65_536
        let timeout = self.timeout
        return try await channel.executeThenClose { inbound, outbound in
            let session = PeerSession(
                node: node, host: "\(serverName)", inbound: inbound.makeAsyncIterator(), outbound: outbound, limit: limit,
                timeout: timeout, channel: channel.channel, failure: failure)
            return try await body(session)
        }
    }
}

/// One open connection to a peer. Not shared across tasks: requests go one after another.
public final class PeerSession {
    public let node: String
    let host: String
    var inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>
    let limit: Int
    let timeout: TimeAmount
    let channel: any Channel
    let failure: FirstChannelError

    init(
        node: String, host: String, inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator,
        outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>, limit: Int, timeout: TimeAmount, channel: any Channel,
        failure: FirstChannelError
    ) {
        self.failure = failure
        self.node = node
        self.host = host
        self.inbound = inbound
        self.outbound = outbound
        self.limit = limit
        self.timeout = timeout
        self.channel = channel
    }

    /// Sends one request and reads the whole response (bounded by the bundle size limit and a
    /// timeout that closes the connection).
    public func request(
        _ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, contentType: String = "application/octet-stream"
    ) async throws -> (status: Int, body: [UInt8]) {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        if let body {
            head.headers.add(name: "Content-Type", value: contentType)
            head.headers.add(name: "Content-Length", value: "\(body.count)")
        } else if method == .POST {
            head.headers.add(name: "Content-Length", value: "0")
        }
        return try await exchange(head) { write in
            if let body { try await write(body) }
        }
    }

    /// Sends one request whose body `produce` writes piece by piece (chunked transfer coding), so
    /// a long run of bundles is never held whole in memory, and reads the whole response. The same
    /// bounds as ``request(_:_:body:contentType:)``: the response size, and the timeout over both.
    /// An error `produce` throws itself comes out as it is.
    public func stream(
        _ path: String, contentType: String, _ produce: (_ write: ([UInt8]) async throws -> Void) async throws -> Void
    ) async throws -> (status: Int, body: [UInt8]) {
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: path)
        head.headers.add(name: "Content-Type", value: contentType)
        head.headers.add(name: "Transfer-Encoding", value: "chunked")
        return try await exchange(head, produce)
    }

    /// One request and its response under one timeout.
    private func exchange(
        _ head: HTTPRequestHead, _ produce: (_ write: ([UInt8]) async throws -> Void) async throws -> Void
    ) async throws -> (status: Int, body: [UInt8]) {
        var head = head
        head.headers.add(name: "Host", value: host)
        let timer = channel.eventLoop.scheduleTask(in: timeout) { [channel] in channel.close(promise: nil) }
        defer { timer.cancel() }
        try await send(.head(head))
        try await produce { piece in try await self.send(.body(.byteBuffer(ByteBuffer(bytes: piece)))) }
        try await send(.end(nil))
        return try await response()
    }

    /// Writes one part. A TLS refusal closes the channel, and a write that finds it closed fails
    /// with "I/O on closed channel": the refusal is reported instead (an expired certificate, say).
    private func send(_ part: HTTPClientRequestPart) async throws {
        do {
            try await outbound.write(part)
        } catch {
            throw failure.error ?? error
        }
    }

    /// Reads one whole response (status and body, at most `limit` bytes).
    private func response() async throws -> (status: Int, body: [UInt8]) {
        var status = 0
        var bytes: [UInt8] = []
        while let part = try await nextPart() {
            switch part {
            case .head(let h):
                status = Int(h.status.code)
            case .body(var buffer):
                guard bytes.count + buffer.readableBytes <= limit else {
                    throw PeerError("\(node) sent a response over \(limit) bytes")
                }
                bytes += buffer.readBytes(length: buffer.readableBytes) ?? []
            case .end:
                return (status, bytes)
            }
        }
        // A TLS refusal can close the stream before its error reaches it: report the error.
        if let error = failure.error { throw error }
        throw PeerError("\(node) closed the connection mid-response")
    }

    private func nextPart() async throws -> HTTPClientResponsePart? {
        do {
            return try await inbound.next()
        } catch {
            throw failure.error ?? error
        }
    }
}

/// Remembers the first error the pipeline saw (a TLS handshake failure, say), so a connection
/// that closes before that error reaches the response stream still reports why.
final class FirstChannelError: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias InboundOut = HTTPClientResponsePart
    private let first = Mutex<(any Error)?>(nil)

    var error: (any Error)? { first.withLock { $0 } }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) { context.fireChannelRead(data) }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        first.withLock { if $0 == nil { $0 = error } }
        context.fireErrorCaught(error)
    }
}

/// A free TCP port on 127.0.0.1: bound, read and released, for a process started a moment later
/// (the demo and the multi-process tests).
public func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    guard ok else { throw PeerError("no free port on 127.0.0.1") }
    return Int(UInt16(bigEndian: addr.sin_port))
}
