import IOCModel
import Testing

/// Illegal moves are refused with `illegal_transition`, naming the current state and the legal next
/// states, and write nothing.
@Suite struct IllegalTransitionTests {
    @Test func receivedCannotJumpToResolved() async throws {
        try await TestNode.run { t, api in
            let id = try await api.create("field-reports", token: t.operator_, reportBody(now: t.now())).id
            let before = try await api.get("/api/v1/field-reports/\(id)", token: t.operator_)

            let r = try await api.post(
                "/api/v1/field-reports/\(id)/transitions", token: t.operator_,
                ["to": "resolved", "set": ["resolution": "Đã xử lý."]])
            #expect(r.status == .badRequest)
            #expect(r.errorCode == "illegal_transition")
            #expect(r.errorField == "to")
            #expect(r.errorMessage.contains("Cannot move from 'received' to 'resolved'"))
            #expect(r.errorMessage.contains("Allowed next states from 'received': verified, rejected, duplicate."))

            let after = try await api.get("/api/v1/field-reports/\(id)", token: t.operator_)
            #expect(after.json == before.json, "record, version and timeline unchanged")
            #expect(after.json["version"] == before.json["version"])
            #expect(after.json["resolution"] == nil, "the 'set' of a refused move is not applied")
            #expect(try t.store.counts()["fieldReport"] == 1)
        }
    }

    @Test func finalStateHasNoNextStates() async throws {
        try await TestNode.run { t, api in
            let id = try await api.create(
                "kpis", token: t.operator_, ["code": "K1", "name": "Chỉ số", "period": "2026", "value": 1]
            ).id
            try await api.move("kpis", id, to: "superseded", token: t.operator_)
            let before = try await api.get("/api/v1/kpis/\(id)", token: t.operator_)

            let r = try await api.post("/api/v1/kpis/\(id)/transitions", token: t.operator_, ["to": "published"])
            #expect(r.status == .badRequest)
            #expect(r.errorCode == "illegal_transition")
            #expect(r.errorMessage.contains("Cannot move from 'superseded' to 'published'"))
            #expect(r.errorMessage.contains("none (final state)"))
            #expect(try await api.get("/api/v1/kpis/\(id)", token: t.operator_).json == before.json)
        }
    }

    @Test func unknownStatusIsInvalidValue() async throws {
        try await TestNode.run { t, api in
            let id = try await api.create("field-reports", token: t.operator_, reportBody(now: t.now())).id
            let before = try await api.get("/api/v1/field-reports/\(id)", token: t.operator_)
            let r = try await api.post("/api/v1/field-reports/\(id)/transitions", token: t.operator_, ["to": "done"])
            #expect(r.status == .badRequest)
            #expect(r.errorCode == "invalid_value")
            #expect(r.errorField == "to")
            #expect(r.errorMessage.contains("Unknown status 'done'"))
            #expect(try await api.get("/api/v1/field-reports/\(id)", token: t.operator_).json == before.json)
        }
    }

    @Test func transitionBodyIsValidated() async throws {
        try await TestNode.run { t, api in
            let id = try await api.create("field-reports", token: t.operator_, reportBody(now: t.now())).id
            let before = try await api.get("/api/v1/field-reports/\(id)", token: t.operator_)
            let path = "/api/v1/field-reports/\(id)/transitions"
            let cases: [(JSONValue, String, JSONValue)] = [
                (["note": "x"], "missing_field", "to"),
                (["to": 3], "wrong_type", "to"),
                (["to": "verified", "why": "x"], "unknown_field", "why"),
                (["to": "verified", "set": "x"], "wrong_type", "set"),
                (["to": "verified", "set": ["status": "closed"]], "read_only_field", "status"),
                (["to": "verified", "set": ["assignedUnit": "99999"]], "invalid_value", "assignedUnit"),
            ]
            for (body, code, field) in cases {
                let r = try await api.post(path, token: t.operator_, body)
                #expect(r.status == .badRequest, "\(body)")
                #expect(r.errorCode == code, "\(body): \(r)")
                #expect(r.errorField == field, "\(body): \(r)")
            }
            #expect(try await api.get("/api/v1/field-reports/\(id)", token: t.operator_).json == before.json)
        }
    }

    @Test func moveOnAMissingRecordIs404() async throws {
        try await TestNode.run { t, api in
            let r = try await api.post(
                "/api/v1/field-reports/\(RecordID.generate())/transitions", token: t.operator_, ["to": "verified"])
            #expect(r.status == .notFound)
            #expect(r.errorCode == "not_found")
        }
    }
}
