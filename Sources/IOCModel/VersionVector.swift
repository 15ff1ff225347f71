/// One change's identity: the node that authored it and that node's journal sequence number.
public struct Dot: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var origin: String
    public var seq: UInt64
    public init(origin: String, seq: UInt64) {
        self.origin = origin
        self.seq = seq
    }
    public static func < (a: Dot, b: Dot) -> Bool { (a.origin, a.seq) < (b.origin, b.seq) }
    public var description: String { "\(origin):\(seq)" }
}

/// A version vector: for each origin node, the highest sequence number covered.
///
/// Used both as a node's *knowledge* (highest contiguous journal sequence held per origin) and as
/// a record's causal context (highest sequence per origin whose change to the record was seen).
/// Read as a set of dots it is downward closed, so union is the pointwise maximum.
public struct VersionVector: Hashable, Sendable, CustomStringConvertible {
    public private(set) var counters: [String: UInt64]

    public init(_ counters: [String: UInt64] = [:]) { self.counters = counters.filter { $0.value > 0 } }

    public subscript(origin: String) -> UInt64 {
        get { counters[origin] ?? 0 }
        set { counters[origin] = newValue == 0 ? nil : newValue }
    }

    public var isEmpty: Bool { counters.isEmpty }
    public var origins: [String] { counters.keys.sorted() }

    public func contains(_ dot: Dot) -> Bool { self[dot.origin] >= dot.seq }

    /// Pointwise maximum: the union of the two dot sets.
    public func merged(with other: VersionVector) -> VersionVector {
        var out = self
        out.merge(other)
        return out
    }

    public mutating func merge(_ other: VersionVector) {
        for (o, s) in other.counters where s > self[o] { self[o] = s }
    }

    public mutating func add(_ dot: Dot) { if dot.seq > self[dot.origin] { self[dot.origin] = dot.seq } }

    /// Pointwise minimum over the origins of both (an origin missing on one side counts as 0).
    public func meet(_ other: VersionVector) -> VersionVector {
        var out = VersionVector()
        for (o, s) in counters { out[o] = min(s, other[o]) }
        return out
    }

    /// `true` when every dot of `other` is in `self`.
    public func dominatesOrEquals(_ other: VersionVector) -> Bool {
        other.counters.allSatisfy { self[$0.key] >= $0.value }
    }

    public var description: String {
        "{" + origins.map { "\($0):\(self[$0])" }.joined(separator: ",") + "}"
    }
}

extension VersionVector: Codable {
    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode([String: UInt64].self))
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(counters)
    }
}
