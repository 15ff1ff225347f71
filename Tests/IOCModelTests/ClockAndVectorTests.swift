import IOCModel
import Testing

@Suite struct HLCTests {
    @Test func packsMillisecondsAndCounter() {
        let h = HLC(milliseconds: 1_767_225_600_000, counter: 7)
        #expect(h.milliseconds == 1_767_225_600_000)
        #expect(h.counter == 7)
        #expect(h.rawValue == 1_767_225_600_000 << 16 | 7)
        #expect(h.description == "1767225600000.7")
        #expect(HLC(milliseconds: 5, counter: .max) < HLC(milliseconds: 6, counter: 0))
    }

    @Test func tickIsMonotonicWhenTheWallClockGoesBackwards() {
        var clock = HLClock()
        #expect(clock.tick(now: 1000) == HLC(milliseconds: 1000, counter: 0))
        #expect(clock.tick(now: 1000) == HLC(milliseconds: 1000, counter: 1))
        #expect(clock.tick(now: 400) == HLC(milliseconds: 1000, counter: 2))
        #expect(clock.tick(now: 999) == HLC(milliseconds: 1000, counter: 3))
        #expect(clock.tick(now: 1001) == HLC(milliseconds: 1001, counter: 0))
        #expect(clock.last == HLC(milliseconds: 1001, counter: 0))
    }

    @Test func tickStaysStrictlyIncreasingUnderARandomWallClock() {
        var rng = SeededGenerator(seed: 5)
        var clock = HLClock()
        var previous = HLC(rawValue: 0)
        var wall: UInt64 = 1_767_225_600_000
        for _ in 0..<5000 {
            wall = UInt64(Int64(wall) + Int64.random(in: -2000...1000, using: &rng))
            let t = clock.tick(now: wall)
            #expect(t > previous)
            #expect(t.milliseconds >= wall || t.milliseconds == previous.milliseconds)
            previous = t
        }
    }

    @Test func counterOverflowCarriesIntoMilliseconds() {
        var clock = HLClock(last: HLC(milliseconds: 1000, counter: .max))
        #expect(clock.tick(now: 900) == HLC(milliseconds: 1001, counter: 0))
        #expect(clock.tick(now: 900) == HLC(milliseconds: 1001, counter: 1))
    }

    @Test func observeFoldsInPlausibleRemoteTimes() {
        let now: UInt64 = 1_767_225_600_000
        var clock = HLClock(last: HLC(milliseconds: now, counter: 3))
        let older = clock.observe(HLC(milliseconds: now - 10, counter: 9), now: now)
        #expect(older)
        #expect(clock.last == HLC(milliseconds: now, counter: 3))
        let edge = HLC(milliseconds: now + HLClock.maxForwardDriftMilliseconds, counter: 2)
        let atEdge = clock.observe(edge, now: now)
        #expect(atEdge)
        #expect(clock.last == edge)
        #expect(clock.tick(now: now) == HLC(milliseconds: edge.milliseconds, counter: 3))
    }

    @Test func observeRefusesFarFutureAndLeavesTheClockAlone() {
        let now: UInt64 = 1_767_225_600_000
        #expect(HLClock.maxForwardDriftMilliseconds == 300_000)
        var clock = HLClock(last: HLC(milliseconds: now, counter: 1))
        let justTooFar = clock.observe(HLC(milliseconds: now + 300_001, counter: 0), now: now)
        let aDayAhead = clock.observe(HLC(milliseconds: now + 86_400_000, counter: 0), now: now)
        #expect(!justTooFar)
        #expect(!aDayAhead)
        #expect(clock.last == HLC(milliseconds: now, counter: 1))
        #expect(clock.tick(now: now) == HLC(milliseconds: now, counter: 2))
    }
}

@Suite struct VersionVectorTests {
    static func random(_ rng: inout SeededGenerator) -> VersionVector {
        var v = VersionVector()
        for origin in ["a", "b", "c", "d"] where Bool.random(using: &rng) { v[origin] = UInt64.random(in: 0...5, using: &rng) }
        return v
    }

    @Test func zeroCountersAreDropped() {
        #expect(VersionVector(["a": 0, "b": 2]) == VersionVector(["b": 2]))
        var v = VersionVector(["a": 3])
        v["a"] = 0
        #expect(v.isEmpty)
        #expect(v == VersionVector())
        #expect(VersionVector(["b": 1, "a": 2]).origins == ["a", "b"])
        #expect(VersionVector(["b": 1, "a": 2]).description == "{a:2,b:1}")
    }

    @Test func containsAndAdd() {
        var v = VersionVector(["a": 3])
        #expect(v.contains(Dot(origin: "a", seq: 3)))
        #expect(!v.contains(Dot(origin: "a", seq: 4)))
        #expect(!v.contains(Dot(origin: "b", seq: 1)))
        v.add(Dot(origin: "a", seq: 2))
        #expect(v["a"] == 3)
        v.add(Dot(origin: "b", seq: 4))
        #expect(v == VersionVector(["a": 3, "b": 4]))
    }

    @Test func mergeAndMeetExamples() {
        let a = VersionVector(["x": 3, "y": 1])
        let b = VersionVector(["y": 4, "z": 2])
        #expect(a.merged(with: b) == VersionVector(["x": 3, "y": 4, "z": 2]))
        #expect(a.meet(b) == VersionVector(["y": 1]))
        #expect(!a.dominatesOrEquals(b))
        #expect(a.merged(with: b).dominatesOrEquals(a))
        #expect(a.dominatesOrEquals(VersionVector()))
        #expect(!VersionVector().dominatesOrEquals(a))
    }

    @Test(arguments: [UInt64(1), 2, 3, 4])
    func lattice(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        for _ in 0..<500 {
            let a = Self.random(&rng), b = Self.random(&rng), c = Self.random(&rng)
            #expect(a.merged(with: b) == b.merged(with: a))
            #expect(a.merged(with: b).merged(with: c) == a.merged(with: b.merged(with: c)))
            #expect(a.merged(with: a) == a)
            #expect(a.meet(b) == b.meet(a))
            #expect(a.meet(b).meet(c) == a.meet(b.meet(c)))
            #expect(a.meet(a) == a)
            #expect(a.merged(with: a.meet(b)) == a)  // absorption
            #expect(a.meet(a.merged(with: b)) == a)
            #expect(a.merged(with: b).dominatesOrEquals(a) && a.merged(with: b).dominatesOrEquals(b))
            #expect(a.dominatesOrEquals(a.meet(b)) && b.dominatesOrEquals(a.meet(b)))
            #expect(a.dominatesOrEquals(b) == (a.merged(with: b) == a))
            #expect(a.dominatesOrEquals(b) == (a.meet(b) == b))
            for o in ["a", "b", "c", "d"] {
                #expect(a.merged(with: b)[o] == max(a[o], b[o]))
                #expect(a.meet(b)[o] == min(a[o], b[o]))
                for s in UInt64(1)...6 { #expect(a.contains(Dot(origin: o, seq: s)) == (a[o] >= s)) }
            }
        }
    }
}
