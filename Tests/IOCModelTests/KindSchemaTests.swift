import IOCModel
import Testing

@Suite struct ValidateCreateTests {
    let reports = RecordKind.fieldReport.schema
    let now = reference2026 + 10 * day

    var minimalReport: [String: JSONValue] { ["channel": "app", "category": "flooding", "title": "Ngập đường"] }

    @Test func normalisesAValidBody() throws {
        var body = minimalReport
        body["title"] = "  Nga\u{0323}\u{0302}p  "  // decomposed "Ngập", padded
        body["receivedAt"] = "2026-01-11T07:00:00+07:00"
        body["location"] = ["lat": 16.05, "lon": 108.2]
        let out = try reports.validateCreate(body, now: now)
        #expect(out["title"] == .string("Ng\u{1EAD}p"))
        #expect(out["receivedAt"] == "2026-01-11T00:00:00.000Z")
        #expect(out["location"] == ["lat": 16.05, "lon": 108.2])
        #expect(Set(out.keys) == ["channel", "category", "title", "receivedAt", "location"])
    }

    @Test func unknownFieldIsNamed() {
        var body = minimalReport
        body["titel"] = "typo"
        let e = validationError { try reports.validateCreate(body, now: now) }
        #expect(e?.code == .unknownField)
        #expect(e?.field == "titel")
        #expect(
            e?.message
                == "Unknown field 'titel' for fieldReport. Known fields: channel, category, title, description, location, "
                + "address, unit, assignedUnit, receivedAt, dueAt, resolution, duplicateOf, rating, mediaUrls.")
    }

    @Test func systemFieldsAreReadOnly() {
        var body = minimalReport
        body["resolvedAt"] = "2026-01-01T00:00:00Z"
        #expect(
            validationError { try reports.validateCreate(body, now: now) }
                == ValidationError(code: .readOnlyField, message: "Field 'resolvedAt' cannot be set by a client.", field: "resolvedAt"))
        var station: [String: JSONValue] = [
            "code": "S1", "name": "Trạm", "stationType": "rain", "location": ["lat": 16, "lon": 108], "level": "danger",
        ]
        #expect(validationError { try RecordKind.station.schema.validateCreate(station, now: now) }?.code == .readOnlyField)
        station["level"] = nil
        #expect(validationError { try RecordKind.station.schema.validateCreate(station, now: now) } == nil)
    }

    @Test func statusOnlyAsAnInitialState() throws {
        var body = minimalReport
        body["status"] = "received"
        #expect(try reports.validateCreate(body, now: now)["status"] == "received")
        body["status"] = "verified"
        #expect(
            validationError { try reports.validateCreate(body, now: now) }
                == ValidationError(code: .invalidValue, message: "A new fieldReport may start only as: received.", field: "status"))
        let dossier: [String: JSONValue] = [
            "code": "D-1", "procedure": "Cấp phép", "receivedAt": "2026-01-02T00:00:00Z", "dueAt": "2026-01-05T00:00:00Z",
            "status": "processing",
        ]
        #expect(try RecordKind.dossier.schema.validateCreate(dossier, now: now)["status"] == "processing")
        var bad = dossier
        bad["status"] = 1
        #expect(
            validationError { try RecordKind.dossier.schema.validateCreate(bad, now: now) }?.message
                == "A new dossier may start only as: received, processing.")
    }

    @Test func missingRequiredAndNullSkipped() throws {
        var body = minimalReport
        body["title"] = nil
        #expect(
            validationError { try reports.validateCreate(body, now: now) }
                == ValidationError(code: .missingField, message: "Field 'title' is required.", field: "title"))
        body["title"] = .null
        #expect(validationError { try reports.validateCreate(body, now: now) }?.field == "title")
        var withNull = minimalReport
        withNull["description"] = .null
        let out = try reports.validateCreate(withNull, now: now)
        #expect(out["description"] == nil)
        #expect(out.count == 3)
    }

    @Test func crossChecks() {
        let dossier: [String: JSONValue] = [
            "code": "D-1", "procedure": "Cấp phép", "receivedAt": "2026-01-05T00:00:00Z", "dueAt": "2026-01-04T23:59:59Z",
        ]
        #expect(
            validationError { try RecordKind.dossier.schema.validateCreate(dossier, now: now) }
                == ValidationError(code: .invalidTime, message: "'dueAt' cannot be before 'receivedAt'.", field: "dueAt"))
        var report = minimalReport
        report["receivedAt"] = "2026-01-05T00:00:00Z"
        report["dueAt"] = "2026-01-04T00:00:00Z"
        #expect(
            validationError { try reports.validateCreate(report, now: now) }
                == ValidationError(code: .invalidTime, message: "'dueAt' cannot be before 'receivedAt'.", field: "dueAt"))
        report["receivedAt"] = .string(Timestamp.format(now + 10 * 60_000 + 1))
        report["dueAt"] = nil
        #expect(
            validationError { try reports.validateCreate(report, now: now) }
                == ValidationError(code: .invalidTime, message: "'receivedAt' is in the future.", field: "receivedAt"))
        var sameInstant = dossier
        sameInstant["dueAt"] = "2026-01-05T07:00:00+07:00"
        #expect(validationError { try RecordKind.dossier.schema.validateCreate(sameInstant, now: now) } == nil)

        let stationID: JSONValue = "01936b2e-1f00-7abc-8def-0123456789ab"
        func observation(_ at: Int64) -> [String: JSONValue] {
            ["stationId": stationID, "value": 12.5, "observedAt": .string(Timestamp.format(at))]
        }
        #expect(validationError { try RecordKind.observation.schema.validateCreate(observation(now + 10 * 60_000), now: now) } == nil)
        #expect(
            validationError { try RecordKind.observation.schema.validateCreate(observation(now + 10 * 60_000 + 1), now: now) }
                == ValidationError(code: .invalidTime, message: "'observedAt' is in the future.", field: "observedAt"))

        let alert: [String: JSONValue] = [
            "headline": "Mưa lớn", "category": "Met", "severity": "Severe", "urgency": "Immediate", "certainty": "Likely",
            "effective": "2026-01-05T00:00:00Z", "expires": "2026-01-04T00:00:00Z",
        ]
        #expect(
            validationError { try RecordKind.alert.schema.validateCreate(alert, now: now) }
                == ValidationError(code: .invalidTime, message: "'expires' cannot be before 'effective'.", field: "expires"))
    }

    @Test(arguments: [
        (50.0, 100.0, nil as String?, true), (100.0, 50.0, nil, false), (100.0, 50.0, "above", false),
        (50.0, 50.0, nil, true), (50.0, 20.0, "below", true), (20.0, 50.0, "below", false),
    ])
    func stationThresholdOrder(warning: Double, danger: Double, direction: String?, ok: Bool) {
        var body: [String: JSONValue] = [
            "code": "S1", "name": "Trạm", "stationType": "river-level", "location": ["lat": 16, "lon": 108],
            "warningThreshold": .double(warning), "dangerThreshold": .double(danger),
        ]
        if let direction { body["thresholdDirection"] = .string(direction) }
        let e = validationError { try RecordKind.station.schema.validateCreate(body, now: now) }
        if ok {
            #expect(e == nil)
        } else {
            #expect(e?.code == .invalidValue)
            #expect(e?.field == "dangerThreshold")
            #expect(
                e?.message
                    == (direction == "below"
                        ? "'dangerThreshold' must not be above 'warningThreshold' when thresholdDirection is below."
                        : "'dangerThreshold' must not be below 'warningThreshold'."))
        }
    }
}

@Suite struct ValidatePatchTests {
    let reports = RecordKind.fieldReport.schema
    let now = reference2026 + 10 * day
    let current: [String: JSONValue] = [
        "channel": "app", "category": "flooding", "title": "Ngập", "description": "sâu 30 cm",
        "receivedAt": "2026-01-05T00:00:00.000Z", "status": "received",
    ]

    @Test func returnsOnlyNormalisedChanges() throws {
        let changes = try reports.validatePatch(
            ["title": " Ngập sâu ", "description": .null, "dueAt": "2026-01-06T07:00:00+07:00"], current: current, now: now)
        #expect(changes == ["title": "Ngập sâu", "description": .null, "dueAt": "2026-01-06T00:00:00.000Z"])
    }

    @Test func refusals() {
        func patch(_ body: [String: JSONValue]) -> ValidationError? {
            validationError { try reports.validatePatch(body, current: current, now: now) }
        }
        #expect(patch(["channel": "web"]) == ValidationError(code: .readOnlyField, message: "Field 'channel' cannot be set by a client.", field: "channel"))
        #expect(patch(["receivedAt": "2026-01-04T00:00:00Z"])?.code == .readOnlyField)
        #expect(patch(["resolvedAt": "2026-01-04T00:00:00Z"])?.code == .readOnlyField)
        #expect(
            patch(["title": .null])
                == ValidationError(code: .missingField, message: "Field 'title' is required and cannot be cleared.", field: "title"))
        #expect(
            patch(["status": "verified"])
                == ValidationError(
                    code: .readOnlyField, message: "Change 'status' with POST …/{id}/transitions, not PATCH.", field: "status"))
        #expect(patch([:]) == ValidationError(code: .missingField, message: "The request changes no field."))
        #expect(patch(["colour": "red"])?.code == .unknownField)
        #expect(patch(["rating": 9])?.field == "rating")
        // Cross-checked against the current fields: due before the (frozen) received time.
        #expect(patch(["dueAt": "2026-01-04T00:00:00Z"])?.field == "dueAt")
        #expect(patch(["dueAt": "2026-01-04T00:00:00Z"])?.code == .invalidTime)
    }

    @Test func appendOnlyKindsCannotBePatched() {
        let e = validationError {
            try RecordKind.observation.schema.validatePatch(["measure": "mm"], current: [:], now: now)
        }
        #expect(
            e == ValidationError(code: .readOnlyField, message: "observation records are append-only and cannot be edited."))
    }

    @Test func clearingAThresholdReopensTheOrderCheck() throws {
        let station: [String: JSONValue] = ["warningThreshold": 50, "dangerThreshold": 100]
        let schema = RecordKind.station.schema
        #expect(validationError { try schema.validatePatch(["dangerThreshold": 40], current: station, now: now) }?.field == "dangerThreshold")
        #expect(try schema.validatePatch(["warningThreshold": .null], current: station, now: now) == ["warningThreshold": .null])
    }
}
