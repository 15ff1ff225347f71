import IOCModel
import Testing

/// Create, get, list and transitions for dossiers, stations, alerts, directives and KPIs.
@Suite struct KindLifecycleTests {
    /// Creates a record, checks GET and list agree with it, then walks `path` and checks the
    /// final status and the number of timeline events.
    func walk(
        _ api: API, _ kindPath: String, _ kind: String, token: String, body: JSONValue, initial: String,
        path: [(String, JSONValue?)], sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> JSONValue {
        let created = try await api.create(kindPath, token: token, body, sourceLocation: sourceLocation)
        let id = created.id
        #expect(created.json["kind"] == .string(kind), sourceLocation: sourceLocation)
        #expect(created.json["status"] == .string(initial), sourceLocation: sourceLocation)
        let got = try await api.get("/api/v1/\(kindPath)/\(id)", token: token)
        #expect(got.status == .ok, sourceLocation: sourceLocation)
        #expect(got.json == created.json, sourceLocation: sourceLocation)
        #expect(try await api.ids(kindPath, token: token) == [id], sourceLocation: sourceLocation)
        for (to, set) in path {
            try await api.move(kindPath, id, to: to, set: set, token: token, sourceLocation: sourceLocation)
        }
        let final = try await api.get("/api/v1/\(kindPath)/\(id)", token: token).json
        #expect(final["status"] == .string(path.last?.0 ?? initial), sourceLocation: sourceLocation)
        #expect(final["timeline"]?.arrayValue?.count == 1 + path.count, sourceLocation: sourceLocation)
        #expect(
            try await api.ids(kindPath, token: token, query: "status=\(path.last?.0 ?? initial)") == [id],
            sourceLocation: sourceLocation)
        return final
    }

    @Test func dossier() async throws {
        try await TestNode.run { t, api in
            let now = t.now()
            let final = try await walk(
                api, "dossiers", "dossier", token: t.operator_,
                body: [
                    "code": "H17.100-251124-0031", "procedure": "Đăng ký khai sinh", "procedureCode": "1.001193",
                    "receivedAt": .string(iso(now - 2 * hour)), "dueAt": .string(iso(now + 72 * hour)),
                ], initial: "received",
                path: [("processing", nil), ("supplement_requested", nil), ("processing", nil), ("completed", nil)])
            #expect(final["finishedAt"]?.stringValue.flatMap(Timestamp.parse) != nil, "completion stamps finishedAt")
            #expect(final["procedure"] == "Đăng ký khai sinh")
        }
    }

    @Test func dossierMayStartProcessing() async throws {
        try await TestNode.run { t, api in
            let now = t.now()
            let r = try await api.create(
                "dossiers", token: t.operator_,
                [
                    "code": "H17.101-251124-0032", "procedure": "Đăng ký thành lập hộ kinh doanh", "status": "processing",
                    "receivedAt": .string(iso(now - hour)), "dueAt": .string(iso(now + 24 * hour)),
                ])
            #expect(r.json["status"] == "processing")
        }
    }

    @Test func station() async throws {
        try await TestNode.run { t, api in
            let final = try await walk(
                api, "stations", "station", token: t.operator_,
                body: [
                    "code": "DN-MUA-02", "name": "Trạm đo mưa Thanh Khê", "stationType": "rain", "measure": "rainfall_1h",
                    "unitOfMeasure": "mm", "location": ["lat": 16.0678, "lon": 108.2208],
                ], initial: "active",
                path: [("faulty", nil), ("active", nil), ("retired", nil)])
            #expect(final["location"] == ["lat": 16.0678, "lon": 108.2208])
        }
    }

    @Test func alert() async throws {
        try await TestNode.run { t, api in
            let now = t.now()
            let final = try await walk(
                api, "alerts", "alert", token: t.operator_,
                body: [
                    "headline": "Cảnh báo mưa lớn khu vực Hải Châu", "category": "Met", "severity": "Severe",
                    "urgency": "Immediate", "certainty": "Likely", "areaUnits": [.string(TestNode.ward)],
                    "effective": .string(iso(now)), "expires": .string(iso(now + 6 * hour)),
                ], initial: "new",
                path: [("acknowledged", nil), ("resolved", nil), ("closed", nil)])
            #expect(final["areaUnits"] == [.string(TestNode.ward)])
            #expect(final["severity"] == "Severe")
        }
    }

    @Test func directiveIssuedBySupervisor() async throws {
        try await TestNode.run { t, api in
            let now = t.now()
            let final = try await walk(
                api, "directives", "directive", token: t.supervisor,
                body: [
                    "title": "Khắc phục ngập tại đường Nguyễn Văn Linh",
                    "instruction": "Bố trí lực lượng hút nước, báo cáo trước 17 giờ.",
                    "targetUnit": .string(TestNode.ward), "priority": "urgent", "dueAt": .string(iso(now + 8 * hour)),
                ], initial: "issued",
                path: [("acknowledged", nil), ("in_progress", nil), ("done", ["report": "Đã hoàn thành."])])
            #expect(final["report"] == "Đã hoàn thành.")
            #expect(final["targetUnit"] == .string(TestNode.ward))
        }
    }

    @Test func kpi() async throws {
        try await TestNode.run { t, api in
            let final = try await walk(
                api, "kpis", "kpi", token: t.operator_,
                body: [
                    "code": "FR_PROCESSED_RATE", "name": "Tỷ lệ phản ánh đã xử lý", "period": "2026-11", "value": 95.3,
                    "target": 95, "unitOfMeasure": "%", "status": "draft",
                ], initial: "draft",
                path: [("published", nil), ("superseded", nil)])
            #expect(final["value"]?.doubleValue == 95.3)
            #expect(final["period"] == "2026-11")
        }
    }

    @Test func kpiDefaultsToPublished() async throws {
        try await TestNode.run { t, api in
            let r = try await api.create(
                "kpis", token: t.operator_, ["code": "DOSSIER_ON_TIME", "name": "Hồ sơ đúng hạn", "period": "2026-Q3", "value": 98])
            #expect(r.json["status"] == "published")
        }
    }
}
