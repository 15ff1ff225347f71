import IOCModel
import Testing

/// SplitMix64: a seeded generator, so property tests reproduce from their seed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Runs `body` and returns the validation error it throws, or nil when it succeeds.
func validationError<T>(_ body: () throws -> T, sourceLocation: SourceLocation = #_sourceLocation) -> ValidationError? {
    do {
        _ = try body()
        return nil
    } catch let error as ValidationError {
        return error
    } catch {
        Issue.record("expected a ValidationError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// 1 January 2026 00:00 UTC, the fixed reference time of the model tests.
let reference2026: Int64 = 1_767_225_600_000
let hour: Int64 = 3_600_000
let day: Int64 = 86_400_000
