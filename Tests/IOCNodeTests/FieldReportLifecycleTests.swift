import IOCModel
import Testing

/// Create, get, list and the full lifecycle of a field report over real HTTP.
@Suite struct FieldReportLifecycleTests {
    @Test func fullLifecycleFromReceivedToClosed() async throws {
        try await TestNode.run { t, api in
            let now = t.now()
            let created = try await api.create("field-reports", token: t.operator_, reportBody(0, now: now))
            let id = created.id
            #expect(RecordID(id) != nil)
            #expect(created.json["kind"] == "fieldReport")
            #expect(created.json["status"] == "received")
            #expect(created.json["unit"] == "48", "an unscoped user's report belongs to the node's unit")
            #expect(created.json["category"] == "flooding")
            #expect(created.json["title"] == "Ngập sâu tại đường Nguyễn Văn Linh")
            #expect(created.json["originNode"] == "province")
            #expect(created.json["receivedAt"]?.stringValue.flatMap(Timestamp.parse) != nil)
            #expect(created.json["timeline"]?.arrayValue?.count == 1)

            let got = try await api.get("/api/v1/field-reports/\(id)", token: t.operator_)
            #expect(got.status == .ok)
            #expect(got.json == created.json, "GET returns exactly what POST returned")

            let list = try await api.get("/api/v1/field-reports", token: t.operator_)
            #expect(list.status == .ok)
            #expect(list.items.compactMap { $0["id"]?.stringValue } == [id])
            #expect(list.items.first?["timeline"] == nil, "lists leave the timeline out")
            #expect(list.json["nextCursor"] == .null)

            try await api.move("field-reports", id, to: "verified", token: t.operator_)

            // Entering 'assigned' needs assignedUnit: refused without it, nothing written.
            let before = try await api.get("/api/v1/field-reports/\(id)", token: t.operator_)
            let noUnit = try await api.post("/api/v1/field-reports/\(id)/transitions", token: t.operator_, ["to": "assigned"])
            #expect(noUnit.status == .badRequest)
            #expect(noUnit.errorCode == "missing_field")
            #expect(noUnit.errorField == "assignedUnit")
            #expect(try await api.get("/api/v1/field-reports/\(id)", token: t.operator_).json == before.json)

            let assigned = try await api.move(
                "field-reports", id, to: "assigned", set: ["assignedUnit": .string(TestNode.ward)], token: t.operator_)
            #expect(assigned.json["assignedUnit"] == .string(TestNode.ward))
            try await api.move("field-reports", id, to: "in_progress", token: t.operator_)

            let noResolution = try await api.post(
                "/api/v1/field-reports/\(id)/transitions", token: t.operator_, ["to": "resolved"])
            #expect(noResolution.status == .badRequest)
            #expect(noResolution.errorCode == "missing_field")
            #expect(noResolution.errorField == "resolution")

            let resolved = try await api.move(
                "field-reports", id, to: "resolved", set: ["resolution": "Đã hút nước, thông cống."], token: t.operator_)
            #expect(resolved.json["resolution"] == "Đã hút nước, thông cống.")
            #expect(resolved.json["resolvedAt"]?.stringValue.flatMap(Timestamp.parse) != nil)

            let closed = try await api.post(
                "/api/v1/field-reports/\(id)/transitions", token: t.operator_,
                ["to": "closed", "note": "Người dân xác nhận đã xử lý."])
            #expect(closed.status == .ok)
            #expect(closed.json["status"] == "closed")

            // The timeline holds creation plus five transitions, in order, with the note.
            let final = try await api.get("/api/v1/field-reports/\(id)", token: t.viewer)
            let timeline = final.json["timeline"]?.arrayValue ?? []
            #expect(timeline.map { $0["type"]?.stringValue ?? "" } == ["created"] + Array(repeating: "transition", count: 5))
            #expect(timeline.compactMap { $0["to"]?.stringValue } == ["received", "verified", "assigned", "in_progress", "resolved", "closed"])
            #expect(timeline.last?["from"] == "resolved")
            #expect(timeline.last?["note"] == "Người dân xác nhận đã xử lý.")

            let byStatus = try await api.get("/api/v1/field-reports?status=closed", token: t.viewer)
            #expect(byStatus.items.compactMap { $0["id"]?.stringValue } == [id])
            let none = try await api.get("/api/v1/field-reports?status=received", token: t.viewer)
            #expect(none.items.isEmpty)
        }
    }

    @Test func rejectAndDuplicateBranches() async throws {
        try await TestNode.run { t, api in
            let now = t.now()
            let original = try await api.create("field-reports", token: t.operator_, reportBody(1, now: now)).id
            let spam = try await api.create("field-reports", token: t.operator_, reportBody(2, now: now)).id
            let copy = try await api.create("field-reports", token: t.operator_, reportBody(1, now: now)).id

            try await api.move("field-reports", spam, to: "rejected", token: t.operator_)
            let dup = try await api.move(
                "field-reports", copy, to: "duplicate", set: ["duplicateOf": .string(original)], token: t.operator_)
            #expect(dup.json["duplicateOf"] == .string(original))
            #expect(try await api.count("field-reports", token: t.viewer, query: "status=received") == 1)
        }
    }
}
