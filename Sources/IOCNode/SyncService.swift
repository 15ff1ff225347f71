import Foundation
import IOCModel
import IOCStore
import Logging
import NIOHTTP1
import ServiceLifecycle

/// One sync link as the scheduler sees it: up to the parent (push and pull) or down to a child
/// (push: alerts, directives and the denylist reach a child without waiting for it to ask).
public struct SyncLink: Sendable, Hashable {
    public enum Direction: String, Sendable { case up = "push+pull (parent)", down = "push (child)" }
    public var peer: String
    public var host: String
    public var port: Int
    public var direction: Direction

    /// The links of `node`: its parent, and every node whose parent it is.
    public static func links(of node: String, in topology: Topology) -> [SyncLink] {
        var out: [SyncLink] = []
        if let parent = topology.node(id: node)?.parent, let p = topology.node(id: parent) {
            let (host, port) = p.syncEndpoint
            out.append(SyncLink(peer: parent, host: host, port: port, direction: .up))
        }
        for child in topology.nodes where child.parent == node {
            let (host, port) = child.syncEndpoint
            out.append(SyncLink(peer: child.id, host: host, port: port, direction: .down))
        }
        return out
    }
}

/// Per-peer sync health, for `GET /api/v1/sync/status` and the demo's progress display.
public actor SyncStatusBoard {
    public struct PeerStatus: Sendable {
        public var peer: String
        public var direction: String
        public var lastAttempt: Int64?
        public var lastSuccess: Int64?
        public var lastError: String?
        public var consecutiveFailures = 0
        public var bundlesSent = 0
        public var bundlesReceived = 0
    }

    private var peers: [String: PeerStatus] = [:]

    public init(links: [SyncLink]) {
        for l in links { peers[l.peer] = PeerStatus(peer: l.peer, direction: l.direction.rawValue) }
    }

    func attempt(_ peer: String, at now: Int64) { peers[peer]?.lastAttempt = now }

    func success(_ peer: String, at now: Int64, sent: Int, received: Int) {
        peers[peer]?.lastSuccess = now
        peers[peer]?.lastError = nil
        peers[peer]?.consecutiveFailures = 0
        peers[peer]?.bundlesSent += sent
        peers[peer]?.bundlesReceived += received
    }

    func failure(_ peer: String, _ message: String) -> Int {
        peers[peer]?.lastError = message
        peers[peer]?.consecutiveFailures += 1
        return peers[peer]?.consecutiveFailures ?? 1
    }

    public func all() -> [PeerStatus] { peers.values.sorted { $0.peer < $1.peer } }
}

/// The sync scheduler: for every link, a loop that syncs when this node's journal changed, when
/// the interval has passed, and retries an unreachable peer with exponential backoff and jitter.
/// Each round is bounded (bundles per round); a backlog continues in the next round at once,
/// from the last acknowledged bundle.
public struct SyncService: Service {
    let store: NodeStore
    let links: [SyncLink]
    let client: PeerClient
    let outbox: Outbox
    let receiver: BundleReceiver
    let trust: TrustStore
    let board: SyncStatusBoard
    /// This node's audit keys: each round with the parent ends with mutual witnessing.
    let audit: AuditKeys?
    let interval: Duration
    /// Signed bundles an offline node keeps ready for its parent (``NodeConfiguration/offlineOutboxBytes``):
    /// when the link returns, the catch-up only sends them.
    let offlineOutboxBytes: Int
    let logger: Logger
    /// Bundles pushed or pulled per round before yielding to the other links.
    let bundlesPerRound = 64
    /// Bundles per streamed push request (within `Limits.bundlesPerRequestMax`).
    let bundlesPerRequest = Limits.default.bundlesPerRequestMax

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for link in links { group.addTask { await loop(link) } }
            }
        }
    }

    func loop(_ link: SyncLink) async {
        var failures = 0
        var lastKnowledge: VersionVector?
        var lastRound = ContinuousClock.now - interval
        var ahead = OutboxAhead()
        // What the link moved lately sizes the next round's first request too.
        var budget = RunBudget(maxBundles: bundlesPerRequest)
        while !Task.isCancelled {
            let knowledge = try? store.knowledge()
            let due = ContinuousClock.now - lastRound >= (failures > 0 ? Self.backoff(failures) : interval)
            let changed = failures == 0 && knowledge != lastKnowledge
            if !due && !changed {
                var built = 0
                if failures > 0, link.direction == .up {
                    let mark = OutboxAhead.Mark(knowledge: knowledge, policy: outbox.sharing.current?.fingerprint)
                    if ahead.wants(mark, now: .now) {
                        // Sealing blocks its thread on the store (seconds for a first scope
                        // evaluation of a large store): off the cooperative pool that serves the API.
                        (ahead, built) = await withCheckedContinuation { done in
                            DispatchQueue.global().async { [self, ahead] in
                                var next = ahead
                                let n = buildAhead(link.peer, &next, at: mark)
                                done.resume(returning: (next, n))
                            }
                        }
                    }
                }
                // Straight on while bundles are being sealed; otherwise (nothing full yet while
                // writes keep coming, or nothing to do) at most five looks a second.
                if built == 0 { try? await Task.sleep(for: .milliseconds(200)) }
                continue
            }
            // A round woken by a change, not by the interval, carries content only: hashes of
            // records the peer may not see wait for the interval. A child's link is not even
            // dialled when there is no content for it (a province with 50 wards would otherwise
            // connect to all of them whenever any one of them sent something).
            let hurry = !due
            if hurry, link.direction == .down,
                (try? outbox.batch(to: link.peer, count: 1, bytes: 1 << 20, contentOnly: true).isEmpty) ?? false
            {
                lastKnowledge = knowledge
                continue
            }
            lastRound = ContinuousClock.now
            lastKnowledge = knowledge
            await board.attempt(link.peer, at: store.now())
            do {
                var more = true
                var rounds = 0
                while more && rounds < 1000 && !Task.isCancelled {
                    let r = try await round(link, contentOnly: hurry, budget: &budget)
                    more = r.more
                    rounds += 1
                    await board.success(link.peer, at: store.now(), sent: r.sent, received: r.received)
                }
                failures = 0
                ahead = OutboxAhead()
            } catch {
                failures = await board.failure(link.peer, "\(error)")
                budget = RunBudget(maxBundles: bundlesPerRequest)
                // The first failure is news; the retries behind it are on the status page.
                logger.log(level: failures == 1 ? .info : .debug, "sync with \(link.peer) failed (attempt \(failures)): \(error)")
            }
        }
    }

    /// Where building ahead for the parent stopped: with nothing full left to seal (until a local
    /// write or a new policy), or at the cap or on an error (until the re-check interval).
    struct OutboxAhead: Sendable {
        /// The local knowledge and sharing policy at which nothing full was left: building resumes
        /// after a local write, or under a new policy (a record may now go up).
        var idleAt: Mark?
        /// When building stopped at the cap, or failed. Looked at again after ``recheck``:
        /// acknowledgements can arrive by file (`bundle import` of the parent's bundle), not only
        /// in a round.
        var pausedAt: ContinuousClock.Instant?

        static let recheck: Duration = .seconds(5)

        struct Mark: Sendable, Equatable {
            var knowledge: VersionVector?
            var policy: String?
        }

        func wants(_ mark: Mark, now: ContinuousClock.Instant) -> Bool {
            if let pausedAt { return now - pausedAt >= Self.recheck }
            return idleAt != mark
        }
    }

    /// While the parent cannot be reached, seals full bundles ahead, a few per step so the retry
    /// and shutdown stay prompt, until ``offlineOutboxBytes`` wait: the scope evaluation, journal
    /// reads, compression and signing are done while the node waits, and the catch-up after the
    /// link returns only sends (``push`` takes unacknowledged bundles first, same bytes). A
    /// partial bundle is left for the round itself, so days of trickling writes do not become
    /// hundreds of small bundles. Returns the number of bundles sealed.
    func buildAhead(_ peer: String, _ ahead: inout OutboxAhead, at mark: OutboxAhead.Mark) -> Int {
        var built = 0
        ahead.pausedAt = nil
        do {
            // Measured at every step (one sum over the unacknowledged rows): bundles also leave
            // the outbox by file, and a `bundle export` seals more.
            var waiting = try store.pending(for: peer).bytesPending
            while built < 4 {
                guard waiting < offlineOutboxBytes else {
                    ahead.pausedAt = .now
                    break
                }
                guard let bundle = try outbox.next(to: peer, after: .max, fullOnly: true) else {
                    ahead.idleAt = mark
                    break
                }
                waiting += bundle.envelope.count
                built += 1
            }
        } catch {
            ahead.pausedAt = .now  // tried again after the re-check interval
            logger.debug("could not build bundles ahead for \(peer): \(error)")
        }
        return built
    }

    /// Exponential backoff from 1 s, capped at 60 s, with ±25 % jitter so reconnecting children
    /// do not hit the province in step.
    static func backoff(_ failures: Int) -> Duration {
        let base = min(60.0, pow(2.0, Double(min(failures, 10) - 1)))
        return .milliseconds(Int(base * 1000 * Double.random(in: 0.75...1.25)))
    }

    struct RoundResult {
        var sent = 0
        var received = 0
        var more = false
    }

    func round(_ link: SyncLink, contentOnly: Bool = false, budget: inout RunBudget) async throws -> RoundResult {
        try await client.session(node: link.peer, host: link.host, port: link.port) { session in
            var result = RoundResult()
            try await exchangeTrust(session, link)
            result.sent = try await push(session, link.peer, contentOnly: contentOnly, budget: &budget)
            if link.direction == .up {
                result.received = try await pull(session, link.peer)
                try await witness(session, link.peer, moved: result.sent + result.received > 0)
            }
            result.more = result.sent >= bundlesPerRound || result.received >= bundlesPerRound
            return result
        }
    }

    /// Children take newer trust documents from their parent; parents hand theirs down.
    func exchangeTrust(_ s: PeerSession, _ link: SyncLink) async throws {
        if link.direction == .up {
            let (status, body) = try await s.request(.GET, "/sync/v1/trust")
            guard status == 200, case .object(let docs) = try JSONValue.parse(body) else {
                throw PeerError("\(link.peer) answered \(status) for its trust documents")
            }
            for (kind, value) in docs {
                guard let b64 = value.stringValue, let bytes = Data(base64Encoded: b64) else { continue }
                do {
                    try await trust.install(kind: kind, bytes: Array(bytes))
                } catch {
                    logger.warning("refused a \(kind) document from \(link.peer): \(error)")
                }
            }
        } else {
            await trust.reloadFromDisk()
            let docs = await trust.documents()
            guard !docs.isEmpty else { return }
            let body = JSONValue.object(docs.mapValues { .string(Data($0).base64EncodedString()) }).jsonData()
            let (status, answer) = try await s.request(.POST, "/sync/v1/trust", body: Array(body), contentType: "application/json")
            guard status == 200 else { throw PeerError("\(link.peer) refused our trust documents (\(status)): \(String(decoding: answer, as: UTF8.self))") }
        }
    }

    /// Sends unacknowledged bundles first (same bytes), then new ones, as streamed requests of up
    /// to ``bundlesPerRequest``. Each bundle is read from the outbox (or sealed) just before it is
    /// written, so this node holds about one at a time and seals the next while the peer verifies
    /// and writes the ones before; the first bundle of the next request is ready before this one
    /// ends. A request's acknowledgement is stored once the next request's first bundle is on its
    /// way, so between two requests the peer's writer waits for one round trip and that bundle's
    /// transfer and verification. A run is sized to what the link moved lately (``RunBudget``,
    /// kept per link), so a slow link never holds a request past its timeout.
    func push(_ s: PeerSession, _ peer: String, contentOnly: Bool = false, budget: inout RunBudget) async throws -> Int {
        var sent = 0
        // The last answer's final receipt, not stored yet.
        var unstored: Receipt?
        func storeAcknowledgement() throws {
            guard let receipt = unstored else { return }
            try store.acknowledge(peer: peer, upTo: receipt.highWater, knowledge: receipt.knowledge)
            unstored = nil
        }
        do {
            // The next bundle to send: read (or sealed) ahead, before the request carrying the one
            // before it ends. A bundle the run had no room for stays unacknowledged in the outbox.
            var ahead = try outbox.next(to: peer, contentOnly: contentOnly)
            while sent < bundlesPerRound, let first = ahead {
                var run: [UInt64] = []
                var bytes = 0
                let started = ContinuousClock.now
                let (status, answer) = try await s.stream("/sync/v1/bundles", contentType: SyncRoutes.streamType) { write in
                    var next: OutboundBundle? = first
                    while let bundle = next {
                        try await write(BundleFrames.encode([bundle.envelope]))
                        run.append(bundle.seq)
                        bytes += bundle.envelope.count
                        try storeAcknowledgement()
                        // The round's last bundle is not followed by one read (or sealed) ahead.
                        guard sent + run.count < bundlesPerRound else {
                            next = nil
                            break
                        }
                        next = try outbox.next(to: peer, after: bundle.seq, contentOnly: contentOnly)
                        if let n = next, !budget.admits(count: run.count, bytes: bytes, next: n.envelope.count) { break }
                    }
                    ahead = next
                }
                budget.observe(bytes: bytes, took: ContinuousClock.now - started)
                let receipts: [Receipt]
                do {
                    guard case .object(let o) = try JSONValue.parse(answer), case .array(let list)? = o["receipts"], !list.isEmpty else {
                        throw PeerError("no receipts")
                    }
                    receipts = try list.map(Receipt.init(json:))
                } catch {
                    throw PeerError("\(peer) answered \(status) to bundles \(run[0])–\(run[run.count - 1]): \(String(decoding: answer.prefix(300), as: UTF8.self))")
                }
                let final = receipts[receipts.count - 1]
                unstored = final
                sent += receipts.count
                for receipt in receipts where !receipt.isAccepted {
                    throw PeerError("\(peer) refused bundle \(receipt.seq): \(receipt.reason ?? receipt.outcome)")
                }
                let last = run[run.count - 1]
                if final.highWater == last { continue }
                // The peer holds more than this run (bundles it took by file): go on past them.
                // Or it holds a bundle but misses an earlier one: resend from its high-water mark,
                // unless that is a bundle it has acknowledged before (then neither side can mend it).
                try storeAcknowledgement()
                if final.highWater < last {
                    let held = receipts.first { $0.outcome == "held" }?.seq ?? run[0]
                    if try store.firstUnacknowledged(peer, after: 0)?.seq == held {
                        throw PeerError("\(peer) holds bundle \(held) but lacks \(final.highWater + 1), which we no longer have")
                    }
                }
                ahead = sent < bundlesPerRound ? try outbox.next(to: peer, contentOnly: contentOnly) : nil
            }
        } catch {
            // What the peer acknowledged stays acknowledged, whatever failed after it.
            try? storeAcknowledgement()
            throw error
        }
        try storeAcknowledgement()
        return sent
    }

    /// Pulls bundles from the parent until it has nothing more (or the round's bound).
    func pull(_ s: PeerSession, _ peer: String) async throws -> Int {
        var received = 0
        while received < bundlesPerRound {
            let after = try store.inboundHighWater(peer).seq
            let (status, body) = try await s.request(.GET, "/sync/v1/bundles?after=\(after)")
            if status == 204 { break }
            guard status == 200 else {
                throw PeerError("\(peer) answered \(status) to a pull: \(String(decoding: body.prefix(300), as: UTF8.self))")
            }
            let receipt = try await receiver.receive(body, transportPeer: peer)
            received += 1
            guard receipt.isAccepted else {
                throw PeerError("refused a bundle from \(peer): \(receipt.reason ?? receipt.outcome)")
            }
            let advanced = try store.inboundHighWater(peer).seq > after
            if receipt.outcome != "applied" && !advanced { break }
        }
        return received
    }
}

/// How much one streamed push may carry: sized so a request takes about `targetSeconds` at the
/// throughput the link showed on the last one (starting at 1 MiB), never less than one bundle.
/// On loopback a run grows to `maxBundles`; on a 2 Mbit/s link it stays near 1 MiB, well inside
/// the request timeout.
public struct RunBudget: Sendable {
    public let maxBundles: Int
    public private(set) var bytes = 1 << 20
    static let targetSeconds = 4.0
    static let maxBytes = 16 << 20

    public init(maxBundles: Int) { self.maxBundles = maxBundles }

    public mutating func observe(bytes sent: Int, took: Duration) {
        let rate = Double(sent) / max(0.001, took.seconds)
        bytes = Int(min(Double(Self.maxBytes), max(Double(64 << 10), rate * Self.targetSeconds)))
    }

    /// Whether a run of `count` bundles totalling `bytes` may take one more of `next` bytes: the
    /// first bundle always, then up to `maxBundles` within the budget.
    public func admits(count: Int, bytes: Int, next: Int) -> Bool {
        count == 0 || (count < maxBundles && bytes + next <= self.bytes)
    }
}
