import IOCModel
import Testing

@Suite struct TimestampTests {
    @Test func referenceConstantIsNewYear2026() {
        #expect(Timestamp.format(reference2026) == "2026-01-01T00:00:00.000Z")
        #expect(Timestamp.parse("2026-01-01T00:00:00Z") == reference2026)
    }

    @Test(arguments: [
        ("2026-11-24T03:00:00.000Z", "2026-11-24T03:00:00.000Z"),
        ("2026-11-24T10:00:00+07:00", "2026-11-24T03:00:00.000Z"),
        ("2026-11-24T00:30:00+07:00", "2026-11-23T17:30:00.000Z"),
        ("2026-11-23T22:00:00-05:30", "2026-11-24T03:30:00.000Z"),
        ("2026-11-24T03:00:00+00:00", "2026-11-24T03:00:00.000Z"),
        ("2026-11-24t03:00:00z", "2026-11-24T03:00:00.000Z"),
        ("2026-11-24T03:00:00.5Z", "2026-11-24T03:00:00.500Z"),
        ("2026-11-24T03:00:00.05Z", "2026-11-24T03:00:00.050Z"),
        ("2026-11-24T03:00:00.123Z", "2026-11-24T03:00:00.123Z"),
        ("2024-02-29T12:00:00Z", "2024-02-29T12:00:00.000Z"),
        ("2000-02-29T00:00:00Z", "2000-02-29T00:00:00.000Z"),
        ("2026-12-31T23:59:59.999Z", "2026-12-31T23:59:59.999Z"),
        ("1970-01-01T07:00:00+07:00", "1970-01-01T00:00:00.000Z"),
    ])
    func parsesToCanonicalUTC(input: String, canonical: String) throws {
        let ms = try #require(Timestamp.parse(input))
        #expect(Timestamp.format(ms) == canonical)
        #expect(Timestamp.parse(canonical) == ms)
    }

    @Test func offsetGivesExactInstant() {
        // 2026-11-24T03:00:00Z is 20,781 days after the epoch plus 3 hours.
        #expect(Timestamp.parse("2026-11-24T10:00:00+07:00") == 20_781 * day + 3 * hour)
        #expect(Timestamp.parse("2026-11-24T10:00:00.250+07:00") == 20_781 * day + 3 * hour + 250)
    }

    @Test(arguments: [
        "2026-02-30T00:00:00Z",  // 30 February
        "2025-02-29T00:00:00Z",  // not a leap year
        "1900-02-29T00:00:00Z",  // century, not a leap year
        "2026-04-31T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-00-10T00:00:00Z",
        "2026-01-00T00:00:00Z",
        "2026-11-24T24:00:00Z",  // hour 24
        "2026-11-24T23:60:00Z",
        "2026-11-24T23:59:60Z",  // leap second
        "2026-11-24T10:00:00",  // no zone
        "2026-11-24T10:00:00.123",  // no zone after a fraction
        "2026-11-24 10:00:00Z",
        "2026-11-24T10:00:00.Z",  // empty fraction
        "2026-11-24T10:00:00+0700",
        "2026-11-24T10:00:00+07",
        "2026-11-24T10:00:00+24:00",
        "2026-11-24T10:00:00+07:60",
        "2026-11-24T10:00:00Z ",
        "2026-11-24T10:00:00ZZ",
        "26-11-24T10:00:00Z",
        "2026-11-24",
        "",
    ])
    func refuses(input: String) {
        #expect(Timestamp.parse(input) == nil)
    }

    @Test func leapDays() {
        #expect(Timestamp.daysInMonth(year: 2024, month: 2) == 29)
        #expect(Timestamp.daysInMonth(year: 2026, month: 2) == 28)
        #expect(Timestamp.daysInMonth(year: 2000, month: 2) == 29)
        #expect(Timestamp.daysInMonth(year: 2100, month: 2) == 28)
        #expect(Timestamp.daysInMonth(year: 2026, month: 11) == 30)
        #expect(Timestamp.daysInMonth(year: 2026, month: 12) == 31)
    }

    @Test func formatsNegativeAndBoundaryInstants() {
        #expect(Timestamp.format(0) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.format(-1) == "1969-12-31T23:59:59.999Z")
        #expect(Timestamp.format(Timestamp.validRange.upperBound) == "2100-01-01T00:00:00.000Z")
        #expect(Timestamp.parse("1969-12-31T23:59:59Z") == -1000)
    }

    @Test func formatRoundTripsAcrossTheValidRange() {
        var rng = SeededGenerator(seed: 7)
        for _ in 0..<2000 {
            let ms = Int64.random(in: Timestamp.validRange, using: &rng)
            let text = Timestamp.format(ms)
            #expect(text.utf8.count == 24)
            #expect(Timestamp.parse(text) == ms)
        }
    }

    @Test func canonicalTextSortsInTimeOrder() {
        var rng = SeededGenerator(seed: 11)
        let instants = (0..<500).map { _ in Int64.random(in: Timestamp.validRange, using: &rng) }
        #expect(instants.sorted().map(Timestamp.format) == instants.map(Timestamp.format).sorted())
    }

    @Test func parseDate() {
        #expect(Timestamp.parseDate("2026-11-24") == 20_781 * day)
        #expect(Timestamp.parseDate("2024-02-29") == Timestamp.parse("2024-02-29T00:00:00Z"))
        #expect(Timestamp.parseDate("2026-02-29") == nil)
        #expect(Timestamp.parseDate("2026-1-24") == nil)
        #expect(Timestamp.parseDate("2026/11/24") == nil)
        #expect(Timestamp.parseDate("2026-11-24T00:00:00Z") == nil)
    }

    @Test(arguments: [
        ("1969-12-31T23:59:59.999Z", false),
        ("1970-01-01T06:59:59+07:00", false),  // before the epoch in UTC
        ("1970-01-01T00:00:00Z", true),
        ("2100-01-01T00:00:00Z", true),
        ("2100-01-01T00:00:00.001Z", false),
        ("2101-01-01T00:00:00Z", false),
    ])
    func timeFieldEnforcesValidRange(input: String, accepted: Bool) {
        let error = validationError { try FieldType.time.normalise(.string(input), path: "at") }
        if accepted {
            #expect(error == nil)
        } else {
            #expect(error == ValidationError(code: .invalidTime, message: "Field 'at' is outside 1970–2100.", field: "at"))
        }
    }

    /// More than three fraction digits are allowed by the format (up to nine); the extra digits are
    /// dropped. Today `parse` traps instead (`for _ in digits..<3` with digits > 3), which would take
    /// the whole node down on one request, so the check runs in a child process.
    @Test func longFractionsTruncateToMilliseconds() async {
        do {
            await #expect(processExitsWith: .success) {
                let ms = Timestamp.parse("2026-11-24T03:00:00.123456789Z")
                precondition(ms == 20_781 * 86_400_000 + 3 * 3_600_000 + 123)
                precondition(Timestamp.parse("2026-11-24T03:00:00.1234567891Z") == nil)
            }
        }
    }
}
