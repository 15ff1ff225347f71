import HTTPTypes
import IOCModel
import Testing

/// Authentication (401), role checks (403) and unit scoping.
@Suite struct AuthTests {
    @Test func missingOrWrongTokenIs401WithJSON() async throws {
        try await TestNode.run { t, api in
            let attempts: [HTTPFields] = [
                [:], [.authorization: "Bearer ioc_wrongtoken"], [.authorization: "Bearer"],
                [.authorization: "Basic YWRtaW46YWRtaW4="], [.authorization: "Bearer \(t.admin)x"],
            ]
            for headers in attempts {
                for path in ["/api/v1/field-reports", "/api/v1/reports/summary"] {
                    let r = try await api.send(.get, path, token: nil, headers: headers)
                    #expect(r.status == .unauthorized, "\(headers) \(path)")
                    #expect(r.headers[.contentType]?.hasPrefix("application/json") == true)
                    #expect(r.errorCode == "unauthorized")
                    #expect(r.errorField == .null)
                }
            }
            let post = try await api.send(.post, "/api/v1/field-reports", token: nil, raw: Array(reportBody(now: t.now()).jsonData()))
            #expect(post.status == .unauthorized)
            #expect(try t.store.counts().isEmpty)
        }
    }

    @Test func rolesAreEnforced() async throws {
        try await TestNode.run { t, api in
            let now = t.now()
            let id = try await api.create("field-reports", token: t.operator_, reportBody(now: now)).id
            let counts = try t.store.counts()
            func forbidden(_ r: Reply, _ what: String) {
                #expect(r.status == .forbidden, "\(what): \(r)")
                #expect(r.errorCode == "forbidden", "\(what)")
            }
            forbidden(try await api.post("/api/v1/field-reports", token: t.viewer, reportBody(now: now)), "viewer creates")
            forbidden(try await api.patch("/api/v1/field-reports/\(id)", token: t.viewer, ["title": "x"]), "viewer patches")
            forbidden(
                try await api.post("/api/v1/field-reports/\(id)/transitions", token: t.viewer, ["to": "verified"]),
                "viewer moves")
            forbidden(try await api.send(.delete, "/api/v1/field-reports/\(id)", token: t.operator_), "operator deletes")
            let directive: JSONValue = ["title": "Chỉ đạo", "instruction": "Làm ngay", "targetUnit": .string(TestNode.ward)]
            forbidden(try await api.post("/api/v1/directives", token: t.operator_, directive), "operator issues directive")
            forbidden(try await api.get("/api/v1/field-reports", token: t.auditor), "auditor lists")
            forbidden(try await api.get("/api/v1/field-reports/\(id)", token: t.auditor), "auditor reads")
            forbidden(try await api.post("/api/v1/field-reports", token: t.auditor, reportBody(now: now)), "auditor creates")
            #expect(try t.store.counts() == counts, "nothing written by refused requests")
            #expect(try await api.get("/api/v1/field-reports/\(id)", token: t.viewer).json["status"] == "received")

            // The same requests by the roles that may make them succeed.
            #expect(try await api.post("/api/v1/directives", token: t.supervisor, directive).status == .created)
            let deleted = try await api.send(.delete, "/api/v1/field-reports/\(id)", token: t.supervisor)
            #expect(deleted.status == .ok)
            #expect(deleted.json["deleted"] == true)
            #expect(try await api.get("/api/v1/field-reports/\(id)", token: t.admin).status == .notFound)
            #expect(try await api.count("field-reports", token: t.admin) == 0)
        }
    }

    @Test func wardUserSeesOnlyTheirWard() async throws {
        try await TestNode.run { t, api in
            let now = t.now()
            let mine = try await api.create(
                "field-reports", token: t.admin, reportBody(0, now: now, ["unit": .string(TestNode.ward)])).id
            let theirs = try await api.create(
                "field-reports", token: t.admin, reportBody(1, now: now, ["unit": .string(TestNode.otherWard)])).id
            let province = try await api.create("field-reports", token: t.admin, reportBody(2, now: now)).id
            // A report owned elsewhere but assigned to the ward is visible to it.
            let assigned = try await api.create(
                "field-reports", token: t.admin,
                reportBody(3, now: now, ["unit": .string(TestNode.otherWard), "assignedUnit": .string(TestNode.ward)])).id

            for token in [t.wardViewer, t.wardOperator] {
                #expect(Set(try await api.ids("field-reports", token: token)) == [mine, assigned])
                #expect(try await api.get("/api/v1/field-reports/\(mine)", token: token).status == .ok)
                for hidden in [theirs, province] {
                    let r = try await api.get("/api/v1/field-reports/\(hidden)", token: token)
                    #expect(r.status == .notFound)
                    #expect(r.errorCode == "not_found")
                }
            }
            // Hidden records cannot be changed either, and look absent.
            let move = try await api.post(
                "/api/v1/field-reports/\(theirs)/transitions", token: t.wardOperator, ["to": "verified"])
            #expect(move.status == .notFound)
            #expect(try await api.get("/api/v1/field-reports/\(theirs)", token: t.admin).json["status"] == "received")
            // The unscoped viewer sees all four.
            #expect(try await api.count("field-reports", token: t.viewer) == 4)
        }
    }

    @Test func wardUserCreatesOnlyForTheirWard() async throws {
        try await TestNode.run { t, api in
            let now = t.now()
            let own = try await api.create("field-reports", token: t.wardOperator, reportBody(now: now))
            #expect(own.json["unit"] == .string(TestNode.ward), "a scoped user's record belongs to their unit")
            let other = try await api.post(
                "/api/v1/field-reports", token: t.wardOperator, reportBody(now: now, ["unit": .string(TestNode.otherWard)]))
            #expect(other.status == .forbidden)
            #expect(other.errorCode == "forbidden")
            #expect(try t.store.counts() == ["fieldReport": 1])
        }
    }

    /// A ward operator may post observations to their own ward's stations only.
    @Test func wardOperatorCannotWriteObservationsToAnotherWardsStation() async throws {
        try await TestNode.run { t, api in
            let now = t.now()
            func station(_ code: String, unit: String) async throws -> String {
                try await api.create(
                    "stations", token: t.admin,
                    [
                        "code": .string(code), "name": "Trạm đo mưa", "stationType": "rain", "unitOfMeasure": "mm",
                        "location": ["lat": 16.06, "lon": 108.2], "unit": .string(unit), "warningThreshold": 50,
                        "dangerThreshold": 100,
                    ]
                ).id
            }
            let own = try await station("HC-01", unit: TestNode.ward)
            let foreign = try await station("TK-01", unit: TestNode.otherWard)
            func reading(_ s: String) -> JSONValue {
                ["stationId": .string(s), "value": 120, "observedAt": .string(iso(now - 60_000))]
            }
            #expect(try await api.post("/api/v1/observations", token: t.wardOperator, reading(own)).status == .created)
            #expect(try await api.get("/api/v1/stations/\(foreign)", token: t.wardOperator).status == .notFound)

            let counts = try t.store.counts()
            let r = try await api.post("/api/v1/observations", token: t.wardOperator, reading(foreign))
            // BUG: RecordRoutes.create hands observations to createObservations before checkOwnUnit, and
            // neither it nor NodeStore.addObservations checks the caller's unit scope: the ward
            // operator writes into Thanh Khê's station, raising a Severe alert there (201).
            do {
                #expect([.badRequest, .forbidden, .notFound].contains(r.status), "\(r)")
                #expect(r.status != .created)
            }
            let after = try t.store.counts()
            do {
                #expect(after == counts)
            }
            let stationLevel = try await api.get("/api/v1/stations/\(foreign)", token: t.admin).json["level"]
            do {
                #expect(stationLevel == nil)
            }
        }
    }
}
