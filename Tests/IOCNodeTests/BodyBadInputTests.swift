import Foundation
import IOCModel
import Testing

/// Request bodies refused before any field is looked at: malformed JSON, invalid UTF-8, a body that
/// is not an object, a body over the size limit.
@Suite struct BodyBadInputTests {
    @Test func malformedJSON() async throws {
        try await TestNode.run { t, api in
            for text in [#"{"channel": "app", "title": "#, "{channel: app}", #"{"a":1}}"#, ""] {
                try await api.expectRefused(
                    t, "/api/v1/field-reports", raw: Array(text.utf8), code: "malformed_json", field: nil)
            }
        }
    }

    @Test func invalidUTF8() async throws {
        try await TestNode.run { t, api in
            // "Ngập" with its 3-byte "ậ" cut after two bytes, then a lone continuation byte and 0xFF.
            for bad: [UInt8] in [[0x4E, 0x67, 0xE1, 0xBA], [0x80], [0xFF, 0x41]] {
                let raw = Array(#"{"channel":"app","category":"flooding","title":""#.utf8) + bad + Array(#""}"#.utf8)
                try await api.expectRefused(t, "/api/v1/field-reports", raw: raw, code: "invalid_utf8", field: nil)
            }
        }
    }

    @Test func nonObjectBodies() async throws {
        try await TestNode.run { t, api in
            for text in ["[1, 2]", #""Ngập nước""#, "42", "null", "true"] {
                try await api.expectRefused(
                    t, "/api/v1/field-reports", raw: Array(text.utf8), code: "wrong_type", field: nil)
            }
            // Observations take an array, but its items must be objects; a bare number is refused.
            try await api.expectRefused(t, "/api/v1/observations", raw: Array("42".utf8), code: "wrong_type", field: nil)
            try await api.expectRefused(t, "/api/v1/observations", json: [1], code: "wrong_type", field: "[0]")
            try await api.expectRefused(t, "/api/v1/observations", json: [], code: "missing_field", field: nil)
            // PATCH and transitions need objects too.
            let id = try await api.create("field-reports", token: t.operator_, reportBody(now: t.now())).id
            try await api.expectRefused(
                t, "/api/v1/field-reports/\(id)", method: .patch, json: ["title"], code: "wrong_type", field: nil)
            try await api.expectRefused(
                t, "/api/v1/field-reports/\(id)/transitions", json: "verified", code: "wrong_type", field: nil)
        }
    }

    @Test func bodyOverASmallConfiguredLimit() async throws {
        var limits = Limits()
        limits.requestBodyBytesMax = 2048
        try await TestNode.run(limits: limits) { t, api in
            let now = t.now()
            // Just under the limit is accepted…
            let fits = reportBody(now: now, ["description": .string(String(repeating: "a", count: 1500))])
            #expect(fits.jsonData().count <= 2048)
            _ = try await api.create("field-reports", token: t.operator_, fits)
            // …one over it is refused before parsing (Vietnamese text: multi-byte characters count as bytes).
            let tooBig = reportBody(now: now, ["description": .string(String(repeating: "ngập ", count: 400))])
            #expect(tooBig.jsonData().count > 2048)
            let r = try await api.expectRefused(
                t, "/api/v1/field-reports", json: tooBig, code: "body_too_large", field: nil)
            #expect(r.errorMessage.contains("2048"))
        }
    }

    @Test func bodyOverOneMebibyteWithDefaultLimits() async throws {
        try await TestNode.run { t, api in
            let huge = reportBody(now: t.now(), ["description": .string(String(repeating: "x", count: (1 << 20) + 10))])
            #expect(huge.jsonData().count > Limits.default.requestBodyBytesMax)
            try await api.expectRefused(t, "/api/v1/field-reports", json: huge, code: "body_too_large", field: nil)
            // The same for an observation batch.
            let item: JSONValue = ["stationId": "x", "value": 1, "observedAt": "2026-01-01T00:00:00Z"]
            let batch = JSONValue.array(Array(repeating: item, count: 20_000))
            #expect(batch.jsonData().count > Limits.default.requestBodyBytesMax)
            try await api.expectRefused(t, "/api/v1/observations", json: batch, code: "body_too_large", field: nil)
        }
    }
}
