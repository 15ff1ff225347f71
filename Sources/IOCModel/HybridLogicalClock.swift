/// A hybrid logical clock timestamp: 48 bits of wall-clock milliseconds and 16 bits of counter.
///
/// The sync engine orders *causally related* changes with version vectors, never with time; the HLC
/// only breaks ties between truly concurrent edits and gives people a readable time. That is what
/// keeps a node whose clock is hours off from blocking or reordering anyone's edits.
public struct HLC: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(milliseconds: UInt64, counter: UInt16) {
        rawValue = (milliseconds & 0xFFFF_FFFF_FFFF) << 16 | UInt64(counter)
    }

    public var milliseconds: UInt64 { rawValue >> 16 }
    public var counter: UInt16 { UInt16(truncatingIfNeeded: rawValue) }

    public static func < (a: HLC, b: HLC) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "\(milliseconds).\(counter)" }
}

/// The state of one node's hybrid logical clock. A value type: the owner (the store's writer)
/// keeps it and persists `last` with every journal append, so the clock never runs backwards
/// across restarts.
public struct HLClock: Sendable, Hashable {
    /// Remote timestamps further ahead of our wall clock than this are not folded into our clock
    /// (they are flagged instead), so one node with a clock days fast cannot drag everyone along.
    public static let maxForwardDriftMilliseconds: UInt64 = 5 * 60 * 1000

    public private(set) var last: HLC

    public init(last: HLC = HLC(rawValue: 0)) { self.last = last }

    /// A timestamp for a local event at wall time `now`.
    public mutating func tick(now wallMilliseconds: UInt64) -> HLC {
        if wallMilliseconds > last.milliseconds {
            last = HLC(milliseconds: wallMilliseconds, counter: 0)
        } else if last.counter == .max {
            last = HLC(milliseconds: last.milliseconds + 1, counter: 0)
        } else {
            last = HLC(milliseconds: last.milliseconds, counter: last.counter + 1)
        }
        return last
    }

    /// Folds in a timestamp received from a peer. Returns `false` (and leaves the clock alone) when
    /// the remote time is implausibly far in the future: the caller flags the origin's clock skew.
    @discardableResult
    public mutating func observe(_ remote: HLC, now wallMilliseconds: UInt64) -> Bool {
        guard remote.milliseconds <= wallMilliseconds + Self.maxForwardDriftMilliseconds else { return false }
        if remote > last { last = remote }
        return true
    }
}
