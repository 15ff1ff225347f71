import Foundation
import IOCModel
import IOCSync
import IOCTesting
import Testing

/// Seeded histories over 3–7 replicas with random creates, edits, transitions and deletes, random
/// delivery order, duplication, loss and partitions, then a full exchange. Every replica must end
/// with the same state, keep every change, and show exactly the conflicts an independent oracle
/// computes from the whole set of changes. A failure names its seed; rerun one seed with
/// `IOC_SEED=<seed> swift test --filter MergePropertyTests`.
@Suite struct MergePropertyTests {
    static var seeds: [UInt64] {
        if let one = ProcessInfo.processInfo.environment["IOC_SEED"].flatMap(UInt64.init) { return [one] }
        let count = ProcessInfo.processInfo.environment["IOC_PROPERTY_SEEDS"].flatMap(Int.init) ?? 2000
        return (0..<UInt64(count)).map { $0 &* 7919 &+ 11 }
    }

    @Test func replicasConvergeWithExactConflicts() {
        var failures = 0
        var conflicts = 0
        for seed in Self.seeds where failures < 3 {
            switch Self.run(seed: seed) {
            case .failure(let problem):
                failures += 1
                Issue.record("seed \(seed): \(problem.message)")
            case .success(let n): conflicts += n
            }
        }
        // The generated histories must actually exercise concurrent same-field edits.
        if Self.seeds.count > 100 { #expect(conflicts > Self.seeds.count / 10) }
    }

    /// Applying every change of a converged history in any order, twice, gives the same state.
    @Test(arguments: [UInt64(1), 2, 3, 42, 1234])
    func mergeIsOrderIndependentAndIdempotent(seed: UInt64) throws {
        var h = History(seed: seed)
        h.play(steps: 80)
        h.heal()
        let reference = try #require(h.replicas.first)
        var rng = SeededRandom(seed: seed ^ 0xABCD)
        for _ in 0..<5 {
            var byRecord: [RecordID: [JournalEntry]] = [:]
            for e in h.authored { byRecord[e.recordID, default: []].append(e) }
            for (id, entries) in byRecord {
                var state = RecordState(id: id, kind: entries[0].kind)
                let shuffled = entries.shuffled(using: &rng)
                for e in shuffled + shuffled.shuffled(using: &rng) { state.apply(e) }
                #expect(state.digest == reference.records[id]?.digest, "seed \(seed) record \(id)")
            }
        }
    }

    struct Problem: Error { var message: String }

    /// Runs one history; returns the number of conflicts shown, or the first broken property.
    static func run(seed: UInt64) -> Result<Int, Problem> {
        if let problem = check(seed: seed) { return .failure(Problem(message: problem)) }
        var h = History(seed: seed)
        h.play(steps: 60)
        h.heal()
        return .success(h.replicas[0].records.values.reduce(0) { $0 + $1.conflicts.count })
    }

    static func check(seed: UInt64) -> String? {
        var h = History(seed: seed)
        h.play(steps: 60)
        h.heal()
        let expectedKnowledge = VersionVector(Dictionary(grouping: h.authored, by: \.origin).mapValues { UInt64($0.count) })
        for r in h.replicas where r.knowledge != expectedKnowledge {
            return "replica \(r.id) knowledge \(r.knowledge) != authored \(expectedKnowledge)"
        }
        let digests = Set(h.replicas.map(\.digest))
        if digests.count != 1 { return "\(digests.count) different state digests after full exchange" }
        let reference = h.replicas[0]
        for e in h.authored where !(reference.records[e.recordID]?.applied.contains(e.dot) ?? false) {
            return "change \(e.dot) on \(e.recordID) was lost"
        }
        let oracle = ConflictOracle(h.authored)
        for (id, state) in reference.records {
            let shown = Set(state.conflicts.map(\.field))
            let expected = oracle.conflictedFields(id)
            if shown != expected { return "record \(id): conflicts \(shown.sorted()) but oracle says \(expected.sorted())" }
            for (field, reg) in state.registers where Set(reg.siblings.map(\.dot.origin)).count != reg.siblings.count {
                return "record \(id) field \(field): two surviving values from one origin"
            }
        }
        return nil
    }
}

/// Computes conflicts from the whole set of changes, independently of delivery order: a write is
/// superseded when another write to the same field has it in its causal context; a field is in
/// conflict when its surviving writes hold two or more different values.
struct ConflictOracle {
    var writes: [RecordID: [String: [(dot: Dot, context: VersionVector, value: JSONValue)]]] = [:]

    init(_ entries: [JournalEntry]) {
        for e in entries where RecordState.check(e) == nil {
            for (field, value) in e.body where field != JournalEntry.eventKey {
                writes[e.recordID, default: [:]][field, default: []].append((e.dot, e.context, value))
            }
        }
    }

    func conflictedFields(_ id: RecordID) -> Set<String> {
        var out: Set<String> = []
        for (field, ws) in writes[id] ?? [:] {
            let survivors = ws.filter { w in !ws.contains { $0.dot != w.dot && $0.context.contains(w.dot) } }
            if Set(survivors.map(\.value)).count > 1 { out.insert(field) }
        }
        return out
    }
}

/// A random history over simulated replicas.
struct History {
    var rng: SeededRandom
    var replicas: [SimulatedReplica]
    var authored: [JournalEntry] = []
    var wall: UInt64 = 1_790_000_000_000
    /// Replica index → partition group; replicas talk only within a group.
    var groups: [Int]

    init(seed: UInt64) {
        rng = SeededRandom(seed: seed)
        let n = Int.random(in: 3...7, using: &rng)
        replicas = (0..<n).map { SimulatedReplica(id: "n\($0)") }
        groups = Array(repeating: 0, count: n)
    }

    mutating func play(steps: Int) {
        for _ in 0..<steps {
            wall += UInt64.random(in: 0...2000, using: &rng)
            switch Int.random(in: 0..<100, using: &rng) {
            case 0..<60: localChange(at: Int.random(in: 0..<replicas.count, using: &rng))
            case 60..<92: deliver()
            case 92..<96: groups = replicas.indices.map { _ in Int.random(in: 0...1, using: &rng) }
            default: groups = Array(repeating: 0, count: replicas.count)
            }
        }
    }

    /// Full exchange with no faults until everyone holds everything (bounded rounds).
    mutating func heal() {
        for _ in 0..<(replicas.count + 2) {
            for a in replicas.indices {
                for b in replicas.indices where a != b {
                    let delta = replicas[a].delta(beyond: replicas[b].knowledge)
                    replicas[b].receive(delta, wallMilliseconds: wall)
                }
            }
            if Set(replicas.map(\.knowledge)).count == 1 { return }
        }
    }

    /// One bundle from a random replica to another in its partition, with loss, duplication,
    /// truncation and reordering across origins (per-origin order broken sometimes too).
    mutating func deliver() {
        let a = Int.random(in: 0..<replicas.count, using: &rng)
        let peers = replicas.indices.filter { $0 != a && groups[$0] == groups[a] }
        guard let b = peers.randomElement(using: &rng), !rng.chance(0.15) else { return }
        var delta = replicas[a].delta(beyond: replicas[b].knowledge)
        if rng.chance(0.3) { delta = Array(delta.prefix(Int.random(in: 0...delta.count, using: &rng))) }
        if rng.chance(0.3) { delta.shuffle(using: &rng) }
        replicas[b].receive(delta, wallMilliseconds: wall)
        if rng.chance(0.2) { replicas[b].receive(delta, wallMilliseconds: wall) }
    }

    static let titles: [JSONValue] = ["Ngập sâu đường Nguyễn Văn Linh", "Cây đổ chắn đường", "Đèn tín hiệu hỏng", "Rác thải ven sông"]
    static let units: [JSONValue] = ["20194", "20200", "20203"]

    mutating func localChange(at i: Int) {
        // Replicas' clocks drift by up to ±6 h, so HLC order disagrees with causal order.
        let skew = Int64(i % 3 - 1) * 6 * 3_600_000
        let now = UInt64(Int64(wall) + skew)
        let live = replicas[i].records.values.filter { !$0.isDeleted }.map(\.id).sorted()
        if live.isEmpty || rng.chance(0.25) {
            let id = RecordID.generate(milliseconds: now, using: &rng)
            authored.append(
                replicas[i].author(
                    record: id, kind: .fieldReport, op: .create,
                    body: [
                        "title": rng.pick(Self.titles), "category": "flooding", "channel": "hotline-1022",
                        "status": "received",
                        JournalEntry.eventKey: ["type": "created", "to": "received"],
                    ], wallMilliseconds: now))
            return
        }
        let id = rng.pick(live)
        let state = replicas[i].records[id]!
        let roll = Int.random(in: 0..<100, using: &rng)
        if roll < 50 {
            let field = rng.pick(["title", "description", "category", "assignedUnit"])
            let value: JSONValue =
                switch field {
                case "category": rng.pick(["flooding", "pollution", "traffic"])
                case "assignedUnit": rng.pick(Self.units)
                default: rng.pick(Self.titles)
                }
            authored.append(
                replicas[i].author(record: id, kind: .fieldReport, op: .update, body: [field: value], wallMilliseconds: now))
        } else if roll < 92 {
            let from = state.value("status")?.stringValue ?? "received"
            guard let to = Lifecycle.fieldReport.allowedNext(from: from).randomElement(using: &rng) else { return }
            var body: [String: JSONValue] = ["status": .string(to), JournalEntry.eventKey: ["from": .string(from), "to": .string(to)]]
            for f in Lifecycle.fieldReport.requiredFields[to] ?? [] where state.value(f) == nil {
                body[f] = f == "duplicateOf" ? .string(id.description) : f == "assignedUnit" ? rng.pick(Self.units) : "Đã xử lý"
            }
            authored.append(replicas[i].author(record: id, kind: .fieldReport, op: .transition, body: body, wallMilliseconds: now))
        } else {
            authored.append(
                replicas[i].author(
                    record: id, kind: .fieldReport, op: .delete, body: [JournalEntry.deletedKey: true], wallMilliseconds: now))
        }
    }
}
