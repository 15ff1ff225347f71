import IOCModel
import IOCSync

/// An in-memory replica running the real merge (``RecordState``), journal rules (gapless
/// per-origin positions, dedup by origin and sequence) and delta selection, without SQLite, so
/// property tests can run thousands of seeded histories quickly. The store-backed path is covered
/// by the federation tests with the same entry bytes.
public struct SimulatedReplica: Sendable {
    public let id: String
    /// Per origin, the entry bytes at positions 1…n.
    public private(set) var journal: [String: [[UInt8]]] = [:]
    /// Arrival order of (origin, seq), which is causal order, for delta selection.
    public private(set) var arrival: [Dot] = []
    public private(set) var records: [RecordID: RecordState] = [:]
    public private(set) var clock = HLClock()

    public init(id: String) { self.id = id }

    public var knowledge: VersionVector {
        VersionVector(journal.mapValues { UInt64($0.count) })
    }

    /// Authors a change locally, as the store does: context = the record's applied vector.
    @discardableResult
    public mutating func author(
        record: RecordID, kind: RecordKind, op: ChangeOp, body: [String: JSONValue], wallMilliseconds: UInt64
    ) -> JournalEntry {
        let state = records[record] ?? RecordState(id: record, kind: kind.rawValue)
        let entry = JournalEntry(
            origin: id, seq: UInt64((journal[id]?.count ?? 0) + 1), hlc: clock.tick(now: wallMilliseconds),
            recordID: record, kind: kind.rawValue, op: op, context: state.applied, body: body)
        _ = receive([entry.encoded()], wallMilliseconds: wallMilliseconds)
        return entry
    }

    /// Applies entries: a position already held is a duplicate, a position past a gap is skipped.
    /// Returns how many were applied.
    @discardableResult
    public mutating func receive(_ entries: [[UInt8]], wallMilliseconds: UInt64) -> Int {
        var applied = 0
        for bytes in entries {
            guard let e = try? JournalEntry(decoding: bytes) else { continue }
            let held = journal[e.origin]?.count ?? 0
            guard e.seq == UInt64(held + 1) else { continue }
            journal[e.origin, default: []].append(bytes)
            arrival.append(e.dot)
            clock.observe(e.hlc, now: wallMilliseconds)
            var state = records[e.recordID] ?? RecordState(id: e.recordID, kind: e.kind)
            if state.apply(e) == nil { records[e.recordID] = state }
            applied += 1
        }
        return applied
    }

    /// Every entry beyond `known`, in arrival order.
    public func delta(beyond known: VersionVector) -> [[UInt8]] {
        arrival.compactMap { dot in
            dot.seq > known[dot.origin] ? journal[dot.origin]![Int(dot.seq) - 1] : nil
        }
    }

    /// Digest over every record state, in id order.
    public var digest: [UInt8] {
        var d = IncrementalDigest()
        for id in records.keys.sorted() { d.add(records[id]!.encoded()) }
        return d.finish()
    }
}
