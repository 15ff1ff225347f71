import IOCModel
import Testing

/// Summary windows are the calendar periods containing `from`, in Vietnam's civil time.
@Suite struct SummaryWindowTests {
    @Test(arguments: [
        ("day", "2026-11-24", "2026-11-23T17:00:00.000Z", "2026-11-24T17:00:00.000Z"),
        ("week", "2026-11-26", "2026-11-22T17:00:00.000Z", "2026-11-29T17:00:00.000Z"),
        ("month", "2026-11-24", "2026-10-31T17:00:00.000Z", "2026-11-30T17:00:00.000Z"),
        ("quarter", "2026-11-24", "2026-09-30T17:00:00.000Z", "2026-12-31T17:00:00.000Z"),
        ("quarter", "2026-01-01", "2025-12-31T17:00:00.000Z", "2026-03-31T17:00:00.000Z"),
    ])
    func windowIsTheCalendarPeriod(period: String, from: String, start: String, end: String) async throws {
        try await TestNode.run { t, api in
            let r = try await api.get("/api/v1/reports/summary?period=\(period)&from=\(from)", token: t.viewer)
            #expect(r.status == .ok)
            #expect(r.json["from"] == .string(start))
            #expect(r.json["to"] == .string(end))
        }
    }
}
