import IOCModel
import Testing

/// Observations: accepted as a batch (array), as a single object and as `{"observations": [...]}`;
/// append-only.
@Suite struct ObservationTests {
    func makeStation(_ api: API, token: String, code: String = "DN-SONGHAN-01") async throws -> String {
        try await api.create(
            "stations", token: token,
            [
                "code": .string(code), "name": "Trạm thủy văn sông Hàn", "stationType": "river-level",
                "measure": "water_level", "unitOfMeasure": "m", "location": ["lat": 16.0611, "lon": 108.2272],
            ]
        ).id
    }

    @Test func batchSingleAndWrappedForms() async throws {
        try await TestNode.run { t, api in
            let now = t.now()
            let station = try await makeStation(api, token: t.operator_)
            let other = try await makeStation(api, token: t.operator_, code: "DN-MUA-09")
            func obs(_ v: Double, minutesAgo: Int64, _ s: String = station) -> JSONValue {
                ["stationId": .string(s), "value": .double(v), "observedAt": .string(iso(now - minutesAgo * 60_000))]
            }

            let batch = try await api.create("observations", token: t.operator_, [obs(1.2, minutesAgo: 30), obs(1.4, minutesAgo: 20)])
            #expect(batch.items.count == 2)
            #expect(batch.json["alerts"] == [], "no thresholds, no alerts")
            #expect(batch.items.map { $0["kind"] } == ["observation", "observation"])
            #expect(batch.items.map { $0["measure"] } == ["water_level", "water_level"], "measure copied from the station")
            #expect(batch.items.map { $0["unit"] } == ["48", "48"], "unit copied from the station")
            #expect(batch.items.map { $0["value"]?.doubleValue } == [1.2, 1.4])

            let single = try await api.create("observations", token: t.operator_, obs(1.5, minutesAgo: 10))
            #expect(single.items.count == 1)
            #expect(single.items.first?["value"]?.doubleValue == 1.5)

            let wrapped = try await api.create(
                "observations", token: t.operator_, ["observations": [obs(7, minutesAgo: 5, other)]])
            #expect(wrapped.items.count == 1)

            #expect(try await api.count("observations", token: t.viewer) == 4)
            #expect(try await api.count("observations", token: t.viewer, query: "stationId=\(station)") == 3)
            #expect(try await api.count("observations", token: t.viewer, query: "stationId=\(other)") == 1)

            let id = single.items.first?["id"]?.stringValue ?? ""
            let got = try await api.get("/api/v1/observations/\(id)", token: t.viewer)
            #expect(got.status == .ok)
            #expect(got.json["stationId"] == .string(station))
            #expect(got.json["observedAt"] == .string(iso(now - 10 * 60_000)))
        }
    }

    @Test func observationsAreAppendOnly() async throws {
        try await TestNode.run { t, api in
            let now = t.now()
            let station = try await makeStation(api, token: t.operator_)
            let r = try await api.create(
                "observations", token: t.operator_,
                ["stationId": .string(station), "value": 1.0, "observedAt": .string(iso(now - 60_000))])
            let id = r.items.first?["id"]?.stringValue ?? ""
            let before = try await api.get("/api/v1/observations/\(id)", token: t.admin)

            let patch = try await api.patch("/api/v1/observations/\(id)", token: t.admin, ["value": 2.0])
            #expect(patch.status == .badRequest)
            #expect(patch.errorCode == "read_only_field")

            let move = try await api.post("/api/v1/observations/\(id)/transitions", token: t.admin, ["to": "x"])
            #expect(move.status == .badRequest)
            #expect(move.errorCode == "invalid_value")

            #expect(try await api.get("/api/v1/observations/\(id)", token: t.admin).json == before.json)
        }
    }

    @Test func batchIsAtomicWhenOneItemIsBad() async throws {
        try await TestNode.run { t, api in
            let now = t.now()
            let station = try await makeStation(api, token: t.operator_)
            let unknownStation = RecordID.generate().description
            let r = try await api.post(
                "/api/v1/observations", token: t.operator_,
                [
                    ["stationId": .string(station), "value": 1.0, "observedAt": .string(iso(now - 60_000))],
                    ["stationId": .string(unknownStation), "value": 1.0, "observedAt": .string(iso(now - 60_000))],
                ])
            #expect(r.status == .badRequest)
            #expect(r.errorCode == "invalid_value")
            #expect(r.errorField == "[1].stationId")
            #expect(try await api.count("observations", token: t.viewer) == 0, "the valid first item was not kept")
        }
    }
}
