import IOCModel
import Testing

/// Refused query parameters on list and summary routes.
@Suite struct QueryBadInputTests {
    @Test func listQueries() async throws {
        try await TestNode.run { t, api in
            _ = try await api.create("field-reports", token: t.operator_, reportBody(now: t.now()))
            try await api.expectBadQuery(t, "/api/v1/field-reports?colour=red", code: "unknown_field", field: "colour")
            try await api.expectBadQuery(t, "/api/v1/field-reports?status=received&sort=asc", code: "unknown_field", field: "sort")
            try await api.expectBadQuery(t, "/api/v1/field-reports?cursor=abc", code: "invalid_value", field: "cursor")
            try await api.expectBadQuery(
                t, "/api/v1/field-reports?cursor=0192f0c8-ffff-7fff-bfff-ffffffffffffff", code: "invalid_value", field: "cursor")
            try await api.expectBadQuery(t, "/api/v1/field-reports?limit=0", code: "invalid_value", field: "limit")
            try await api.expectBadQuery(t, "/api/v1/field-reports?limit=501", code: "invalid_value", field: "limit")
            try await api.expectBadQuery(t, "/api/v1/field-reports?limit=ten", code: "invalid_value", field: "limit")
            try await api.expectBadQuery(t, "/api/v1/field-reports?from=2026-02-30", code: "invalid_value", field: "from")
            try await api.expectBadQuery(t, "/api/v1/field-reports?to=yesterday", code: "invalid_value", field: "to")
            try await api.expectBadQuery(t, "/api/v1/observations?stationId=42", code: "invalid_value", field: "stationId")
            #expect(try t.store.counts() == ["fieldReport": 1])
        }
    }

    @Test func summaryQueries() async throws {
        try await TestNode.run { t, api in
            try await api.expectBadQuery(t, "/api/v1/reports/summary?period=year", code: "invalid_value", field: "period")
            try await api.expectBadQuery(t, "/api/v1/reports/summary?period=decade", code: "invalid_value", field: "period")
            try await api.expectBadQuery(t, "/api/v1/reports/summary?period=day&from=2026-02-30", code: "invalid_value", field: "from")
            try await api.expectBadQuery(t, "/api/v1/reports/summary?unit=48", code: "invalid_value", field: "unit")
        }
    }
}
