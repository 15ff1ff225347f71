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
///
/// Stored as a small array sorted by origin: vectors hold a handful of origins and are copied and
/// compared on every merge, where a dictionary's hashing and allocation dominated the profile.
public struct VersionVector: Hashable, Sendable, CustomStringConvertible {
    struct Item: Hashable, Sendable {
        var origin: String
        var counter: UInt64
    }

    private(set) var items: [Item]

    public init(_ counters: [String: UInt64] = [:]) {
        items = counters.filter { $0.value > 0 }.map { Item(origin: $0.key, counter: $0.value) }.sorted { $0.origin < $1.origin }
    }

    /// The counters as a dictionary (for display and JSON).
    public var counters: [String: UInt64] {
        Dictionary(uniqueKeysWithValues: items.map { ($0.origin, $0.counter) })
    }

    private func index(of origin: String) -> (found: Bool, at: Int) {
        var lo = 0
        var hi = items.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if items[mid].origin < origin { lo = mid + 1 } else { hi = mid }
        }
        return (lo < items.count && items[lo].origin == origin, lo)
    }

    public subscript(origin: String) -> UInt64 {
        get {
            let (found, i) = index(of: origin)
            return found ? items[i].counter : 0
        }
        set {
            let (found, i) = index(of: origin)
            if found {
                if newValue == 0 { items.remove(at: i) } else { items[i].counter = newValue }
            } else if newValue > 0 {
                items.insert(Item(origin: origin, counter: newValue), at: i)
            }
        }
    }

    public var isEmpty: Bool { items.isEmpty }
    public var origins: [String] { items.map(\.origin) }

    public func contains(_ dot: Dot) -> Bool { self[dot.origin] >= dot.seq }

    /// Pointwise maximum: the union of the two dot sets.
    public func merged(with other: VersionVector) -> VersionVector {
        var out = self
        out.merge(other)
        return out
    }

    public mutating func merge(_ other: VersionVector) {
        if other.items.isEmpty { return }
        if items.isEmpty {
            items = other.items
            return
        }
        if dominatesOrEquals(other) { return }
        var out: [Item] = []
        out.reserveCapacity(items.count + other.items.count)
        var i = 0
        var j = 0
        while i < items.count || j < other.items.count {
            if j == other.items.count || (i < items.count && items[i].origin < other.items[j].origin) {
                out.append(items[i])
                i += 1
            } else if i == items.count || other.items[j].origin < items[i].origin {
                out.append(other.items[j])
                j += 1
            } else {
                out.append(Item(origin: items[i].origin, counter: max(items[i].counter, other.items[j].counter)))
                i += 1
                j += 1
            }
        }
        items = out
    }

    public mutating func add(_ dot: Dot) { if dot.seq > self[dot.origin] { self[dot.origin] = dot.seq } }

    /// Pointwise minimum over the origins of both (an origin missing on one side counts as 0).
    public func meet(_ other: VersionVector) -> VersionVector {
        var out = VersionVector()
        out.items = items.compactMap { item in
            let m = min(item.counter, other[item.origin])
            return m > 0 ? Item(origin: item.origin, counter: m) : nil
        }
        return out
    }

    /// `true` when every dot of `other` is in `self`.
    public func dominatesOrEquals(_ other: VersionVector) -> Bool {
        other.items.allSatisfy { self[$0.origin] >= $0.counter }
    }

    public var description: String {
        "{" + items.map { "\($0.origin):\($0.counter)" }.joined(separator: ",") + "}"
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
