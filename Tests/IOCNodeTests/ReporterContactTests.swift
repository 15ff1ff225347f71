import IOCModel
import Testing

/// The reporter's contact is a separate local-only record, shown only to operating staff on GET.
@Suite struct ReporterContactTests {
    let reporter: JSONValue = [
        "name": "Nguyễn Văn An", "phone": "0905 123 456", "email": "an.nguyen@example.vn", "idNumber": "048090001234",
    ]

    @Test func contactVisibleOnlyToOperatingStaff() async throws {
        try await TestNode.run { t, api in
            let created = try await api.create(
                "field-reports", token: t.operator_, reportBody(now: t.now(), ["reporter": reporter]))
            #expect(created.json["reporter"] == reporter, "the creator (operator) sees what they entered")
            #expect(try t.store.counts() == ["fieldReport": 1, "reporterContact": 1])
            let path = "/api/v1/field-reports/\(created.id)"

            for token in [t.admin, t.operator_, t.supervisor] {
                let r = try await api.get(path, token: token)
                #expect(r.status == .ok)
                #expect(r.json["reporter"]?["phone"] == "0905 123 456")
                #expect(r.json["reporter"] == reporter, "only the contact fields, no bookkeeping")
            }
            let viewer = try await api.get(path, token: t.viewer)
            #expect(viewer.status == .ok)
            #expect(viewer.json["reporter"] == nil)
            #expect(viewer.bytes.firstRange(of: Array("0905 123 456".utf8)) == nil, "no phone anywhere in the body")

            for token in [t.admin, t.operator_, t.viewer] {
                let list = try await api.get("/api/v1/field-reports", token: token)
                #expect(list.items.count == 1)
                #expect(list.items.first?["reporter"] == nil)
                #expect(list.bytes.firstRange(of: Array("0905 123 456".utf8)) == nil)
            }
            // Contacts have no route of their own.
            #expect(try await api.get("/api/v1/reporter-contacts", token: t.admin).status == .notFound)
        }
    }

    @Test func reportWithoutReporterHasNoContact() async throws {
        try await TestNode.run { t, api in
            let created = try await api.create("field-reports", token: t.operator_, reportBody(now: t.now()))
            #expect(created.json["reporter"] == nil)
            #expect(try await api.get("/api/v1/field-reports/\(created.id)", token: t.admin).json["reporter"] == nil)
            #expect(try t.store.counts() == ["fieldReport": 1])
        }
    }

    @Test func invalidPhoneWritesNeitherRecord() async throws {
        try await TestNode.run { t, api in
            try await api.expectRefused(
                t, "/api/v1/field-reports", json: reportBody(now: t.now(), ["reporter": ["phone": "gọi tôi"]]),
                code: "invalid_value", field: "reporter.phone")
            try await api.expectRefused(
                t, "/api/v1/field-reports", json: reportBody(now: t.now(), ["reporter": ["idNumber": 48090001234]]),
                code: "wrong_type", field: "reporter.idNumber")
            #expect(try t.store.counts().isEmpty)
        }
    }
}
