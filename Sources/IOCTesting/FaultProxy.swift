import Foundation
import IOCModel
import NIOCore
import NIOPosix
import Synchronization

/// A fault-injecting TCP proxy for tests with real processes: listens on 127.0.0.1 (a free port)
/// and forwards bytes both ways to a target port on 127.0.0.1, with faults switched at run time:
///
/// - ``Fault/cut``: every open connection is closed and every new one is closed at once;
/// - ``Fault/drop(fraction:)``: that fraction of connections (seeded) is closed mid-stream, after a
///   random number of bytes (512 B – 48 KiB); connections already open are drawn too;
/// - ``Fault/delay(milliseconds:)``: every chunk is delivered that much later (each way, so the
///   round trip grows by twice the value), in order;
/// - ``Fault/bandwidth(bytesPerSecond:)``: each direction of the proxy is a pipe of that rate,
///   shared by all its connections (reads pause while a direction has 256 KiB queued).
///
/// It works at the TCP level: TLS passes through untouched, so the nodes' identity checks still
/// apply end to end. One event-loop thread per proxy; ``stop()`` closes everything and joins it.
public final class FaultProxy: Sendable {
    public enum Fault: Sendable, Hashable, CustomStringConvertible {
        case cut
        case drop(fraction: Double)
        case delay(milliseconds: Int)
        case bandwidth(bytesPerSecond: Int)

        public var description: String {
            switch self {
            case .cut: "cut"
            case .drop(let f): "drop \(Int(f * 100)) %"
            case .delay(let ms): "delay \(ms) ms"
            case .bandwidth(let bps): "bandwidth \(bps * 8 / 1000) kbit/s"
            }
        }
    }

    /// Faults injected so far, by type, and what went through.
    public struct Counts: Sendable, Equatable {
        /// Connections closed by a cut (open ones when it began, new ones while it lasted).
        public var cut = 0
        /// Connections closed mid-stream by the drop fault.
        public var drop = 0
        /// Chunks delivered late by the delay fault.
        public var delay = 0
        /// Chunks shaped by the bandwidth limit.
        public var bandwidth = 0
        public var connections = 0
        public var bytesForwarded: Int64 = 0

        public init() {}

        public static func + (a: Counts, b: Counts) -> Counts {
            var c = a
            c.cut += b.cut
            c.drop += b.drop
            c.delay += b.delay
            c.bandwidth += b.bandwidth
            c.connections += b.connections
            c.bytesForwarded += b.bytesForwarded
            return c
        }
    }

    /// The port the proxy listens on (127.0.0.1).
    public let port: Int
    public let targetPort: Int
    let shared: Shared
    let group: MultiThreadedEventLoopGroup
    let server: any Channel

    /// Starts a proxy on 127.0.0.1 (a free port) to `127.0.0.1:targetPort`; `seed` drives the
    /// drop fault's choices. The caller must ``stop()`` it.
    public static func start(targetPort: Int, seed: UInt64, faults: [Fault] = []) async throws -> FaultProxy {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let shared = Shared(targetPort: targetPort, seed: seed)
        shared.set(faults)
        do {
            let server = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.autoRead, value: false)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture(withResultOf: {
                        try channel.pipeline.syncOperations.addHandler(RelayHandler(link: Link(shared: shared, client: channel), side: 0))
                    })
                }
                .bind(host: "127.0.0.1", port: 0).get()
            guard let port = server.localAddress?.port else { throw FaultProxyError("the proxy has no local port") }
            return FaultProxy(port: port, targetPort: targetPort, shared: shared, group: group, server: server)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private init(port: Int, targetPort: Int, shared: Shared, group: MultiThreadedEventLoopGroup, server: any Channel) {
        self.port = port
        self.targetPort = targetPort
        self.shared = shared
        self.group = group
        self.server = server
    }

    /// Replaces the active faults (an empty list heals the link).
    public func set(_ faults: [Fault]) { shared.set(faults) }
    public func heal() { shared.set([]) }
    public var faults: [Fault] { shared.faults }
    public func counts() -> Counts { shared.counts }
    /// Connections open now.
    public var openConnections: Int { shared.openConnections }

    /// Closes the listener and every connection and joins the event-loop thread (bounded: 10 s).
    /// Safe to call more than once and from any thread but the proxy's own.
    public func stop() {
        guard shared.markStopped() else { return }
        server.close(promise: nil)
        for link in shared.takeLinks() { link.loop.execute { link.abort() } }
        let done = DispatchSemaphore(value: 0)
        group.shutdownGracefully(queue: .global()) { _ in done.signal() }
        _ = done.wait(timeout: .now() + 10)
    }
}

struct FaultProxyError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// The proxy's settings, counters and open connections, shared with its event-loop thread.
final class Shared: Sendable {
    struct Settings {
        var cut = false
        var drop = 0.0
        var delayMilliseconds = 0
        var bytesPerSecond = 0
        var faults: [FaultProxy.Fault] = []
    }

    struct State: ~Copyable {
        var settings = Settings()
        var counts = FaultProxy.Counts()
        var links: [Int: Link] = [:]
        var nextID = 0
        var rng: SeededRandom
        var stopped = false
        /// When each direction's shared pipe is free again (bandwidth limit): 0 up, 1 down.
        var busyUntil = [NIODeadline.uptimeNanoseconds(0), .uptimeNanoseconds(0)]
    }

    let targetPort: Int
    let state: Mutex<State>

    init(targetPort: Int, seed: UInt64) {
        self.targetPort = targetPort
        state = Mutex(State(rng: SeededRandom(seed: seed)))
    }

    func set(_ faults: [FaultProxy.Fault]) {
        var s = Settings()
        s.faults = faults
        for f in faults {
            switch f {
            case .cut: s.cut = true
            case .drop(let fraction): s.drop = min(1, max(0, fraction))
            case .delay(let ms): s.delayMilliseconds = max(0, ms)
            case .bandwidth(let bps): s.bytesPerSecond = max(0, bps)
            }
        }
        let (toCut, budgets) = state.withLock { st -> ([Link], [(Link, Int?)]) in
            st.settings = s
            if s.cut {
                let all = Array(st.links.values)
                st.links.removeAll()
                st.counts.cut += all.count
                return (all, [])
            }
            // Every open connection is drawn again: doomed ones get a byte budget, others none.
            let budgets = st.links.keys.sorted().map { id in (st.links[id]!, Self.draw(s.drop, &st.rng)) }
            return ([], budgets)
        }
        for link in toCut { link.loop.execute { link.abort() } }
        for (link, budget) in budgets { link.loop.execute { link.dropBudget = budget } }
    }

    /// A byte budget after which a connection is dropped, with probability `p`.
    static func draw(_ p: Double, _ rng: inout SeededRandom) -> Int? {
        guard p > 0, rng.chance(p) else { return nil }
        return Int.random(in: 512...48 * 1024, using: &rng)
    }

    var faults: [FaultProxy.Fault] { state.withLock { $0.settings.faults } }
    var counts: FaultProxy.Counts { state.withLock { $0.counts } }
    var openConnections: Int { state.withLock { $0.links.count } }

    /// Registers a new connection; nil (counted) when the link is cut or the proxy stopped.
    func register(_ link: Link) -> (id: Int, dropBudget: Int?)? {
        state.withLock { st in
            if st.stopped { return nil }
            if st.settings.cut {
                st.counts.cut += 1
                return nil
            }
            st.nextID += 1
            st.links[st.nextID] = link
            st.counts.connections += 1
            return (st.nextID, Self.draw(st.settings.drop, &st.rng))
        }
    }

    func unregister(_ id: Int) { state.withLock { _ = $0.links.removeValue(forKey: id) } }

    func markStopped() -> Bool {
        state.withLock { st in
            if st.stopped { return false }
            st.stopped = true
            return true
        }
    }

    func takeLinks() -> [Link] {
        state.withLock { st in
            let all = Array(st.links.values)
            st.links.removeAll()
            return all
        }
    }

    func countDrop() { state.withLock { $0.counts.drop += 1 } }

    /// When a chunk of `bytes` read now in direction `dir` is to be delivered, counting the faults
    /// that shaped it.
    func schedule(bytes: Int, direction dir: Int, now: NIODeadline) -> NIODeadline {
        state.withLock { st in
            var at = now
            if st.settings.bytesPerSecond > 0 {
                let start = max(now, st.busyUntil[dir])
                let nanos = Int64(bytes) * 1_000_000_000 / Int64(st.settings.bytesPerSecond)
                st.busyUntil[dir] = start + .nanoseconds(nanos)
                at = st.busyUntil[dir]
                st.counts.bandwidth += 1
            }
            if st.settings.delayMilliseconds > 0 {
                at = at + .milliseconds(Int64(st.settings.delayMilliseconds))
                st.counts.delay += 1
            }
            st.counts.bytesForwarded += Int64(bytes)
            return at
        }
    }
}

/// One proxied connection: the accepted channel (side 0) and the channel to the target (side 1).
/// Every mutable property is touched on `loop` only (hence `@unchecked Sendable`).
final class Link: @unchecked Sendable {
    struct Direction {
        var queue = CircularBuffer<(at: NIODeadline, bytes: ByteBuffer)>()
        var queuedBytes = 0
        var lastDelivery = NIODeadline.uptimeNanoseconds(0)
        var pumpScheduled = false
        /// The source closed: close the link once the queue is delivered.
        var closeWhenDrained = false
    }

    static let highWater = 256 * 1024
    static let lowWater = 64 * 1024

    let shared: Shared
    let loop: any EventLoop
    var channels: [(any Channel)?]
    var directions = [Direction(), Direction()]
    /// Whether each side is being read (both start paused until the target is connected).
    var reading = [false, false]
    var id: Int?
    var dropBudget: Int?
    var closed = false

    init(shared: Shared, client: any Channel) {
        self.shared = shared
        loop = client.eventLoop
        channels = [client, nil]
    }

    /// The accepted connection is up: refuse it (cut) or connect to the target, then start reading.
    func activate() {
        loop.preconditionInEventLoop()
        guard let registered = shared.register(self) else {
            closed = true
            channels[0]?.close(promise: nil)
            return
        }
        id = registered.id
        dropBudget = registered.dropBudget
        let link = self
        ClientBootstrap(group: loop)
            .connectTimeout(.seconds(5))
            .channelOption(.autoRead, value: false)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture(withResultOf: {
                    link.channels[1] = channel
                    try channel.pipeline.syncOperations.addHandler(RelayHandler(link: link, side: 1))
                })
            }
            .connect(host: "127.0.0.1", port: shared.targetPort)
            .whenComplete { result in
                switch result {
                case .success:
                    if link.closed { link.abort() } else { link.updateReading() }
                case .failure:
                    link.abort()
                }
            }
    }

    /// Bytes read on `side`, for the other side.
    func forward(from side: Int, _ bytes: ByteBuffer) {
        guard !closed else { return }
        if let budget = dropBudget {
            let left = budget - bytes.readableBytes
            if left <= 0 {
                shared.countDrop()
                abort()
                return
            }
            dropBudget = left
        }
        let now = NIODeadline.now()
        var at = shared.schedule(bytes: bytes.readableBytes, direction: side, now: now)
        at = max(at, directions[side].lastDelivery)
        directions[side].lastDelivery = at
        if at <= now && directions[side].queue.isEmpty, let target = channels[1 - side] {
            target.writeAndFlush(bytes, promise: nil)
        } else {
            directions[side].queue.append((at, bytes))
            directions[side].queuedBytes += bytes.readableBytes
            schedulePump(side)
        }
        updateReading()
    }

    func schedulePump(_ side: Int) {
        guard !directions[side].pumpScheduled, let head = directions[side].queue.first else { return }
        directions[side].pumpScheduled = true
        let link = self
        loop.scheduleTask(deadline: head.at) { link.pump(side) }
    }

    /// Delivers every queued chunk that is due, then waits for the next.
    func pump(_ side: Int) {
        directions[side].pumpScheduled = false
        guard !closed, let target = channels[1 - side] else { return }
        let now = NIODeadline.now()
        var wrote = false
        while let head = directions[side].queue.first, head.at <= now {
            directions[side].queue.removeFirst()
            directions[side].queuedBytes -= head.bytes.readableBytes
            target.write(head.bytes, promise: nil)
            wrote = true
        }
        if wrote { target.flush() }
        if directions[side].queue.isEmpty && directions[side].closeWhenDrained {
            close()
            return
        }
        schedulePump(side)
        updateReading()
    }

    /// Reads from a side only while its queue is short and the other side can take more.
    func updateReading() {
        guard !closed else { return }
        for side in 0..<2 {
            guard let source = channels[side], let target = channels[1 - side] else { continue }
            let limit = reading[side] ? Self.highWater : Self.lowWater
            let read = directions[side].queuedBytes < limit && target.isWritable
            guard read != reading[side] else { continue }
            reading[side] = read
            source.setOption(ChannelOptions.autoRead, value: read).whenFailure { _ in }
            if read { source.read() }
        }
    }

    /// `side` closed: deliver what it sent, then close the link.
    func sourceClosed(_ side: Int) {
        guard !closed else { return }
        if directions[side].queue.isEmpty { close() } else { directions[side].closeWhenDrained = true }
    }

    func close() {
        guard !closed else { return }
        closed = true
        if let id { shared.unregister(id) }
        for c in channels { c?.close(promise: nil) }
        directions = [Direction(), Direction()]
    }

    /// Closes both sides at once, dropping what is queued (cut, drop, stop).
    func abort() {
        closed = true
        if let id { shared.unregister(id) }
        for c in channels { c?.close(promise: nil) }
        directions = [Direction(), Direction()]
    }
}

final class RelayHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let link: Link
    let side: Int

    init(link: Link, side: Int) {
        self.link = link
        self.side = side
    }

    func channelActive(context: ChannelHandlerContext) {
        if side == 0 { link.activate() }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        link.forward(from: side, unwrapInboundIn(data))
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        link.updateReading()
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        link.sourceClosed(side)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        link.abort()
    }
}
