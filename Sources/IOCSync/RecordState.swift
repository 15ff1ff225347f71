import Crypto
import IOCModel

/// One value written to a field by one change.
public struct Sibling: Sendable, Hashable {
    public var dot: Dot
    public var hlc: HLC
    public var value: JSONValue
}

/// A multi-value register for one field: the values no other write has superseded, plus the
/// causal context of every write seen on this field.
///
/// This is the causal-CRDT join (Almeida et al., delta-state CRDTs): applying a write with dot `d`
/// and context `C` keeps existing values whose dots are outside `C`, adds `d` unless it was already
/// seen, and unions the contexts. The join is commutative, associative and idempotent, so replicas
/// that hold the same writes hold the same register whatever the delivery order. At most one value
/// per origin survives (an origin always saw its own earlier writes), which bounds conflicts by the
/// number of truly concurrent writers — no sibling explosion.
public struct Register: Sendable, Hashable {
    public var siblings: [Sibling]
    public var context: VersionVector

    public init(siblings: [Sibling] = [], context: VersionVector = VersionVector()) {
        self.siblings = siblings
        self.context = context
    }

    /// Applies one write. `covered` is the write's context plus its own dot.
    public mutating func write(_ value: JSONValue, dot: Dot, hlc: HLC, covered: VersionVector) {
        let seen = context.contains(dot)
        if !siblings.isEmpty { siblings.removeAll { $0.dot != dot && covered.contains($0.dot) } }
        if !seen && !siblings.contains(where: { $0.dot == dot }) {
            siblings.append(Sibling(dot: dot, hlc: hlc, value: value))
            if siblings.count > 1 { siblings.sort { $0.dot < $1.dot } }
        }
        if context.isEmpty { context = covered } else { context.merge(covered) }
    }

    /// Last writer wins among concurrent values: the later HLC, then the larger origin id and seq.
    public func lwwWinner() -> Sibling? {
        siblings.max { ($0.hlc, $0.dot) < ($1.hlc, $1.dot) }
    }

    /// Concurrent status changes: the one furthest along the lifecycle wins, then the later HLC.
    public func rankWinner(_ lifecycle: Lifecycle) -> Sibling? {
        siblings.max {
            let ra = lifecycle.rank(of: $0.value.stringValue ?? "")
            let rb = lifecycle.rank(of: $1.value.stringValue ?? "")
            return (ra, $0.hlc, $0.dot) < (rb, $1.hlc, $1.dot)
        }
    }

    /// A conflict is two or more surviving writes with different values.
    public var isConflicted: Bool {
        guard siblings.count > 1 else { return false }
        return siblings.dropFirst().contains { $0.value != siblings[0].value }
    }
}

/// A timeline event (status change, comment), kept as a grow-only set keyed by the change's dot.
public struct TimelineItem: Sendable, Hashable {
    public var dot: Dot
    public var hlc: HLC
    public var event: JSONValue
}

/// Why a change was not applied to a record.
public enum MergeRefusal: Sendable, Hashable, CustomStringConvertible {
    case wrongRecord
    case illegalTransition(from: String, to: String)
    case invalidInitialStatus(String)
    case appendOnly
    case malformed(String)

    public var description: String {
        switch self {
        case .wrongRecord: "entry is for another record or kind"
        case .illegalTransition(let f, let t): "illegal transition \(f) → \(t)"
        case .invalidInitialStatus(let s): "'\(s)' is not an initial status"
        case .appendOnly: "append-only records cannot be changed after creation"
        case .malformed(let m): "malformed change: \(m)"
        }
    }
}

/// The replicated state of one record: field registers, timeline and the dots applied.
public struct RecordState: Sendable, Hashable {
    public static let formatVersion: UInt8 = 1

    public let id: RecordID
    public let kind: String
    /// Every change applied to this record (its version vector); the causal context of the next local change.
    public private(set) var applied: VersionVector
    public private(set) var registers: [String: Register]
    public private(set) var timeline: [TimelineItem]

    public init(id: RecordID, kind: String) {
        self.id = id
        self.kind = kind
        applied = VersionVector()
        registers = [:]
        timeline = []
    }

    public var recordKind: RecordKind? { RecordKind(rawValue: kind) }

    /// Checks a change against the record kind's invariants, using only the change itself, so
    /// every replica reaches the same verdict.
    public static func check(_ e: JournalEntry) -> MergeRefusal? {
        let body = e.body
        return check(kind: e.kind, op: e.op) { body[$0] }
    }

    /// ``check(_:)`` of a change whose body is read through `field` (the value as written,
    /// `.null` included; nil when absent): a receiver that decoded only some fields of a
    /// create checks it without a body dictionary. A create reads only `status`.
    public static func check(kind name: String, op: ChangeOp, field: (String) -> JSONValue?) -> MergeRefusal? {
        guard let kind = RecordKind(rawValue: name) else { return nil }  // a newer node's kind: keep it
        if kind.isAppendOnly && op != .create && op != .delete && op != .restore { return .appendOnly }
        guard let lifecycle = kind.lifecycle else { return nil }
        switch op {
        case .create:
            if let s = field("status") {
                guard let status = s.stringValue, lifecycle.initialStates.contains(status) else {
                    return .invalidInitialStatus(s.stringValue ?? s.typeName)
                }
            }
        case .transition:
            guard let event = field(JournalEntry.eventKey), let from = event["from"]?.stringValue,
                let to = event["to"]?.stringValue, field("status")?.stringValue == to
            else { return .malformed("a transition needs _event.from, _event.to and status") }
            if !lifecycle.canMove(from: from, to: to) { return .illegalTransition(from: from, to: to) }
        case .update, .resolve, .delete, .restore:
            if field("status") != nil, op != .resolve {
                return .malformed("status changes only through transitions")
            }
        }
        return nil
    }

    /// Applies one change. Idempotent: applying the same change again changes nothing.
    @discardableResult
    public mutating func apply(_ e: JournalEntry) -> MergeRefusal? {
        guard e.recordID == id, e.kind == kind else { return .wrongRecord }
        if let refusal = Self.check(e) { return refusal }
        let dot = e.dot
        var covered = e.context
        covered.add(dot)
        for (field, value) in e.body where field != JournalEntry.eventKey {
            registers[field, default: Register()].write(value, dot: dot, hlc: e.hlc, covered: covered)
        }
        if let event = e.body[JournalEntry.eventKey], !timeline.contains(where: { $0.dot == dot }) {
            timeline.append(TimelineItem(dot: dot, hlc: e.hlc, event: event))
            timeline.sort { ($0.hlc, $0.dot) < ($1.hlc, $1.dot) }
        }
        applied.add(dot)
        return nil
    }

    /// The value a reader sees for a field.
    public func value(_ field: String) -> JSONValue? {
        guard let reg = registers[field] else { return nil }
        let winner: Sibling?
        if field == "status", let lifecycle = recordKind?.lifecycle {
            winner = reg.rankWinner(lifecycle)
        } else {
            winner = reg.lwwWinner()
        }
        guard let v = winner?.value, !v.isNull else { return nil }
        return v
    }

    public var isDeleted: Bool { value(JournalEntry.deletedKey) == .bool(true) }

    /// Fields with surviving concurrent writes of different values, sorted by name.
    public var hasConflicts: Bool { registers.values.contains { $0.isConflicted } }

    public var conflicts: [(field: String, siblings: [Sibling])] {
        guard hasConflicts else { return [] }
        return registers.keys.sorted().compactMap { name in
            let reg = registers[name]!
            return reg.isConflicted ? (name, reg.siblings) : nil
        }
    }

    /// The latest HLC of any change applied.
    public var updatedHLC: HLC {
        var m = HLC(rawValue: 0)
        for r in registers.values { for s in r.siblings where s.hlc > m { m = s.hlc } }
        for t in timeline where t.hlc > m { m = t.hlc }
        return m
    }

    /// The fields as a reader sees them (winners only; engine keys excluded).
    public func visibleFields() -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for name in registers.keys where !name.hasPrefix("_") {
            if let v = value(name) { out[name] = v }
        }
        return out
    }
}

extension RecordState {
    /// Canonical bytes: equal states encode to equal bytes (registers, siblings and timeline sorted).
    public func encoded() -> [UInt8] {
        var w = BinaryWriter(capacity: 1024)
        w.u8(Self.formatVersion)
        w.raw(id.bytes)
        w.string(kind)
        w.vector(applied)
        w.uvarint(UInt64(registers.count))
        for name in registers.keys.sorted(by: BinaryWriter.utf8Less) {
            let reg = registers[name]!
            w.string(name)
            w.vector(reg.context)
            w.uvarint(UInt64(reg.siblings.count))
            for s in reg.siblings {
                w.string(s.dot.origin)
                w.uvarint(s.dot.seq)
                w.uvarint(s.hlc.rawValue)
                w.value(s.value)
            }
        }
        w.uvarint(UInt64(timeline.count))
        for t in timeline {
            w.string(t.dot.origin)
            w.uvarint(t.dot.seq)
            w.uvarint(t.hlc.rawValue)
            w.value(t.event)
        }
        return w.bytes
    }

    public init(decoding bytes: some Collection<UInt8>) throws(DecodeError) {
        var r = BinaryReader(Array(bytes))
        guard try r.u8() == Self.formatVersion else { throw DecodeError("unsupported record state version") }
        guard let id = RecordID(bytes: Array(try r.take(16))) else { throw DecodeError("bad record id") }
        self.init(id: id, kind: try r.string())
        applied = try r.vector()
        let n = try r.length(max: 10_000)
        for _ in 0..<n {
            let name = try r.string()
            var reg = Register(context: try r.vector())
            let m = try r.length(max: 10_000)
            for _ in 0..<m {
                let dot = Dot(origin: try r.string(), seq: try r.uvarint())
                reg.siblings.append(Sibling(dot: dot, hlc: HLC(rawValue: try r.uvarint()), value: try r.value()))
            }
            registers[name] = reg
        }
        let t = try r.length(max: 1_000_000)
        for _ in 0..<t {
            let dot = Dot(origin: try r.string(), seq: try r.uvarint())
            timeline.append(TimelineItem(dot: dot, hlc: HLC(rawValue: try r.uvarint()), event: try r.value()))
        }
    }

    /// SHA-256 of the canonical bytes: replicas holding the same changes have the same digest.
    public var digest: [UInt8] { Array(SHA256.hash(data: encoded())) }
}
