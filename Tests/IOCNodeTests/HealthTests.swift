import IOCModel
import Testing

/// Health, readiness and metrics need no token.
@Suite struct HealthTests {
    @Test func healthAndReadiness() async throws {
        try await TestNode.run { t, api in
            let health = try await api.get("/healthz", token: nil)
            #expect(health.status == .ok)
            #expect(health.headers[.contentType] == "application/json; charset=utf-8")
            #expect(health.json == ["status": "ok", "node": "province"])
            let ready = try await api.get("/readyz", token: nil)
            #expect(ready.status == .ok)
            #expect(ready.json == ["status": "ready"])
        }
    }

    @Test func metricsCountCreatedRecords() async throws {
        try await TestNode.run { t, api in
            _ = try await api.create("field-reports", token: t.operator_, reportBody(0, now: t.now()))
            _ = try await api.create("field-reports", token: t.operator_, reportBody(1, now: t.now()))
            let m = try await api.get("/metrics", token: nil)
            #expect(m.status == .ok)
            #expect(m.headers[.contentType]?.hasPrefix("text/plain") == true)
            #expect(m.text.contains("# TYPE ioc_records_created_total counter"))
            #expect(m.text.contains(#"ioc_records_created_total{kind="fieldReport"} 2"#), "\(m.text)")
            #expect(m.text.contains(#"ioc_http_requests_total{status="201"} 2"#), "\(m.text)")
        }
    }

    @Test func unknownRouteIsA404InTheJSONErrorShape() async throws {
        try await TestNode.run { t, api in
            for (path, token) in [("/api/v1/nothing", Optional(t.admin)), ("/nothing", nil)] {
                let r = try await api.get(path, token: token)
                #expect(r.status == .notFound)
                #expect(r.errorCode != nil, "\(r)")
                #expect(r.errorField == .null)
            }
        }
    }
}
