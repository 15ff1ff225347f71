import IOCModel
import Testing

/// The 24-hour dossier warning is raised once, for dossiers due within 24 hours only.
@Suite struct DossierDueSoonTests {
    @Test func oneAlertForTheDossierDueWithin24Hours() async throws {
        try await TestNode.run { t, api in
            let now = t.now()
            let received = now - hour
            func dossier(_ code: String, dueIn: Int64) async throws -> String {
                try await api.create(
                    "dossiers", token: t.operator_,
                    [
                        "code": .string(code), "procedure": "Cấp giấy phép xây dựng nhà ở riêng lẻ", "status": "processing",
                        "receivedAt": .string(iso(received)), "dueAt": .string(iso(now + dueIn * hour)),
                    ]
                ).id
            }
            let soon = try await dossier("H17.100-251124-0031", dueIn: 10)
            let later = try await dossier("H17.100-251124-0032", dueIn: 48)

            let first = try await t.store.raiseDueSoonAlerts()
            let second = try await t.store.raiseDueSoonAlerts()
            #expect(first.count == 1)
            #expect(second.isEmpty, "the warning is raised once")

            let alerts = try await api.get("/api/v1/alerts", token: t.viewer).items
            #expect(alerts.count == 1)
            let alert = try #require(alerts.first)
            #expect(alert["sourceRef"] == .string(soon))
            #expect(alert["source"] == "dossier-sla")
            #expect(alert["severity"] == "Minor")
            #expect(alert["headline"]?.stringValue?.contains("H17.100-251124-0031") == true)
            #expect(alert["id"] == .string(first[0].id.description))

            let soonView = try await api.get("/api/v1/dossiers/\(soon)", token: t.viewer).json
            #expect(soonView["dueSoonAlertId"] == alert["id"])
            #expect(try await api.get("/api/v1/dossiers/\(later)", token: t.viewer).json["dueSoonAlertId"] == nil)

            let summary = try await api.get(
                "/api/v1/reports/summary?period=day&from=\(vietnamDate(received))", token: t.viewer)
            #expect(summary.status == .ok)
            #expect(summary.json["dossiers"]?["dueSoonWarnings"] == 1)
            #expect(summary.json["dossiers"]?["received"] == 2)
            #expect(summary.json["alerts"]?["total"]?.int64Value == (vietnamDate(received) == vietnamDate(now) ? 1 : 0))
        }
    }

    @Test func finishedDossiersAreNotWarned() async throws {
        try await TestNode.run { t, api in
            let now = t.now()
            let id = try await api.create(
                "dossiers", token: t.operator_,
                [
                    "code": "H17.100-251124-0040", "procedure": "Đăng ký khai sinh", "status": "processing",
                    "receivedAt": .string(iso(now - hour)), "dueAt": .string(iso(now + 2 * hour)),
                ]
            ).id
            try await api.move("dossiers", id, to: "completed", token: t.operator_)
            #expect(try await t.store.raiseDueSoonAlerts().isEmpty)
            #expect(try await api.count("alerts", token: t.viewer) == 0)
        }
    }
}
