import IOCModel
import Testing

/// Impossible and implausible times: refused with `invalid_time` on the named field, nothing written.
@Suite struct TimeBadInputTests {
    let path = "/api/v1/field-reports"

    @Test func impossibleCalendarTimes() async throws {
        try await TestNode.run { t, api in
            let now = t.now()
            let cases: [(String, String)] = [
                ("receivedAt", "2026-02-30T08:00:00+07:00"),
                ("receivedAt", "2025-02-29T08:00:00Z"),
                ("dueAt", "2026-03-01T25:00:00+07:00"),
                ("dueAt", "2026-03-01T10:60:00Z"),
                ("dueAt", "2026-13-01T10:00:00Z"),
                ("dueAt", "2026-03-01 10:00:00"),
                ("dueAt", "2026-03-01T10:00:00"),
                ("dueAt", "2101-01-01T00:00:00Z"),
            ]
            for (field, text) in cases {
                try await api.expectRefused(
                    t, path, json: reportBody(now: now, [field: .string(text)]), code: "invalid_time", field: field)
            }
        }
    }

    @Test func dueBeforeReceived() async throws {
        try await TestNode.run { t, api in
            let now = t.now()
            try await api.expectRefused(
                t, path,
                json: reportBody(now: now, ["receivedAt": .string(iso(now - hour)), "dueAt": .string(iso(now - 2 * hour))]),
                code: "invalid_time", field: "dueAt")
            try await api.expectRefused(
                t, "/api/v1/dossiers",
                json: [
                    "code": "H1", "procedure": "Đăng ký khai sinh", "receivedAt": .string(iso(now - hour)),
                    "dueAt": .string(iso(now - 3 * hour)),
                ], code: "invalid_time", field: "dueAt")
            // PATCH is checked against the stored receivedAt.
            let id = try await api.create(
                "field-reports", token: t.operator_, reportBody(now: now, ["receivedAt": .string(iso(now - hour))])
            ).id
            try await api.expectRefused(
                t, "/api/v1/field-reports/\(id)", method: .patch, json: ["dueAt": .string(iso(now - 2 * hour))],
                code: "invalid_time", field: "dueAt")
        }
    }

    @Test func receivedInTheFuture() async throws {
        try await TestNode.run { t, api in
            try await api.expectRefused(
                t, path, json: reportBody(now: t.now(), ["receivedAt": .string(iso(t.now() + 24 * hour))]),
                code: "invalid_time", field: "receivedAt")
        }
    }

    @Test func observationFromTheFarFuture() async throws {
        try await TestNode.run { t, api in
            let station = try await api.create(
                "stations", token: t.operator_,
                ["code": "S1", "name": "Trạm đo mưa", "stationType": "rain", "location": ["lat": 16.06, "lon": 108.22]]
            ).id
            let future: JSONValue = ["stationId": .string(station), "value": 12, "observedAt": "2099-06-01T00:00:00Z"]
            let ok: JSONValue = ["stationId": .string(station), "value": 12, "observedAt": .string(iso(t.now() - 60_000))]
            // As a single object, and as the second item of a batch (nothing of the batch is kept).
            try await api.expectRefused(t, "/api/v1/observations", json: future, code: "invalid_time", field: "[0].observedAt")
            try await api.expectRefused(
                t, "/api/v1/observations", json: [ok, future], code: "invalid_time", field: "[1].observedAt")
            // An hour ahead is beyond the 10-minute clock-skew allowance.
            let hourAhead: JSONValue = [
                "stationId": .string(station), "value": 12, "observedAt": .string(iso(t.now() + hour)),
            ]
            try await api.expectRefused(
                t, "/api/v1/observations", json: [hourAhead], code: "invalid_time", field: "[0].observedAt")
        }
    }
}
