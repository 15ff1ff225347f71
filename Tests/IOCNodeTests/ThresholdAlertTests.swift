import IOCModel
import Testing

/// Observations crossing a station's thresholds upward raise exactly one alert per crossing.
@Suite struct ThresholdAlertTests {
    @Test func warningThenDanger() async throws {
        try await TestNode.run { t, api in
            let now = t.now()
            let station = try await api.create(
                "stations", token: t.operator_,
                [
                    "code": "DN-MUA-01", "name": "Trạm đo mưa Hải Châu", "stationType": "rain", "measure": "rainfall_1h",
                    "unitOfMeasure": "mm", "location": ["lat": 16.0678, "lon": 108.2208], "warningThreshold": 50,
                    "dangerThreshold": 100,
                ]
            ).id
            var minute: Int64 = 40
            func post(_ value: Int64) async throws -> Reply {
                minute -= 5
                return try await api.create(
                    "observations", token: t.operator_,
                    ["stationId": .string(station), "value": .int(value), "observedAt": .string(iso(now - minute * 60_000))])
            }
            func alerts() async throws -> [JSONValue] { try await api.get("/api/v1/alerts", token: t.viewer).items }

            let r30 = try await post(30)
            #expect(r30.json["alerts"] == [])
            #expect(try await alerts().isEmpty)

            let r60 = try await post(60)
            #expect(r60.json["alerts"]?.arrayValue?.count == 1)
            let warning = try await alerts()
            #expect(warning.count == 1)
            #expect(warning.first?["severity"] == "Moderate")
            #expect(warning.first?["source"] == "sensor-threshold")
            #expect(warning.first?["category"] == "Met")
            #expect(warning.first?["urgency"] == "Immediate")
            #expect(warning.first?["sourceRef"] == r60.items.first?["id"], "the alert points at the observation")
            #expect(warning.first?["effective"] == r60.items.first?["observedAt"])
            #expect(try await api.get("/api/v1/stations/\(station)", token: t.viewer).json["level"] == "warning")

            let r70 = try await post(70)
            #expect(r70.json["alerts"] == [])
            #expect(try await alerts().count == 1, "staying above the warning level raises nothing new")

            let r120 = try await post(120)
            #expect(r120.json["alerts"]?.arrayValue?.count == 1)
            let all = try await alerts()
            #expect(all.count == 2)
            #expect(all.first?["severity"] == "Severe", "newest first: the danger alert")
            #expect(all.first?["sourceRef"] == r120.items.first?["id"])
            #expect(all.compactMap { $0["severity"]?.stringValue }.sorted() == ["Moderate", "Severe"])
            #expect(try await api.get("/api/v1/stations/\(station)", token: t.viewer).json["level"] == "danger")
            #expect(try await api.count("observations", token: t.viewer) == 4)
        }
    }

    @Test func batchCrossingBothThresholdsAtOnce() async throws {
        try await TestNode.run { t, api in
            let now = t.now()
            let station = try await api.create(
                "stations", token: t.operator_,
                [
                    "code": "DN-MUA-03", "name": "Trạm đo mưa Thanh Khê", "stationType": "rain",
                    "location": ["lat": 16.07, "lon": 108.19], "warningThreshold": 50, "dangerThreshold": 100,
                ]
            ).id
            func o(_ v: Int64, _ m: Int64) -> JSONValue {
                ["stationId": .string(station), "value": .int(v), "observedAt": .string(iso(now - m * 60_000))]
            }
            // Straight to danger: one Severe alert, not a warning as well.
            let r = try await api.create("observations", token: t.operator_, [o(10, 30), o(130, 20), o(40, 10), o(55, 5)])
            let raised = r.json["alerts"]?.arrayValue ?? []
            #expect(raised.compactMap { $0["severity"]?.stringValue } == ["Severe", "Moderate"])
            #expect(try await api.count("alerts", token: t.viewer) == 2)
        }
    }
}
