import Foundation
import GRDB
import IOCModel
import IOCSync

/// Domain commands: each validates against the record's current state and authors one or more
/// changes in a single transaction. Input fields arrive already normalised by ``KindSchema``.
extension NodeStore {
    /// Creates a record. `unit` is the owning unit when the body does not name one.
    public func create(kind: RecordKind, fields: [String: JSONValue], actor: Actor, unit: String) async throws -> RecordState {
        try await write { tx in try tx.create(kind: kind, fields: fields, actor: actor, unit: unit) }
    }

    /// Creates a field report and, when given, its reporter's contact as a separate local-only
    /// record, atomically: the contact never exists without its report or vice versa.
    public func createFieldReport(
        fields: [String: JSONValue], reporter: [String: JSONValue]?, actor: Actor, unit: String
    ) async throws -> (report: RecordState, contact: RecordState?) {
        try await write { tx in
            let report = try tx.create(kind: .fieldReport, fields: fields, actor: actor, unit: unit)
            guard var contact = reporter, !contact.isEmpty else { return (report, nil) }
            contact["reportId"] = .string(report.id.description)
            contact["unit"] = report.value("unit")
            let c = try tx.create(kind: .reporterContact, fields: contact, actor: actor, unit: unit)
            return (report, c)
        }
    }

    public func patch(id: RecordID, kind: RecordKind, actor: Actor, validate: @escaping @Sendable ([String: JSONValue]) throws -> [String: JSONValue])
        async throws -> RecordState
    {
        try await write { tx in
            let state = try tx.existing(id, kind: kind)
            let changes = try validate(state.visibleFields())
            return try tx.author(recordID: id, kind: kind.rawValue, op: .update, body: changes)
        }
    }

    /// Moves a record along its lifecycle, setting `changes` in the same change.
    public func transition(
        id: RecordID, kind: RecordKind, to: String, note: String?, changes: [String: JSONValue], actor: Actor
    ) async throws -> RecordState {
        try await write { tx in try tx.transition(id: id, kind: kind, to: to, note: note, changes: changes, actor: actor) }
    }

    /// Marks a record deleted (a tombstone that replicates like any change).
    public func delete(id: RecordID, kind: RecordKind, actor: Actor) async throws -> RecordState {
        try await write { tx in
            _ = try tx.existing(id, kind: kind)
            return try tx.author(
                recordID: id, kind: kind.rawValue, op: .delete,
                body: [JournalEntry.deletedKey: true, JournalEntry.eventKey: tx.event("deleted", actor: actor)])
        }
    }

    /// Resolves a conflict on `field` by writing `value` over every competing value: an ordinary
    /// change whose causal context covers them all, so it replicates and supersedes everywhere.
    public func resolveConflict(id: RecordID, kind: RecordKind, field: String, value: JSONValue, actor: Actor) async throws
        -> RecordState
    {
        try await write { tx in
            let state = try tx.existing(id, kind: kind, allowDeleted: true)
            guard state.conflicts.contains(where: { $0.field == field }) else {
                throw ValidationError(code: .invalidValue, message: "Field '\(field)' has no open conflict.", field: "field")
            }
            if field == "status", let lifecycle = kind.lifecycle, !lifecycle.states.contains(value.stringValue ?? "") {
                throw ValidationError(code: .invalidValue, message: "Unknown status.", field: "value")
            }
            var event = tx.event("conflict_resolved", actor: actor)
            if case .object(var o) = event {
                o["field"] = .string(field)
                event = .object(o)
            }
            return try tx.author(
                recordID: id, kind: kind.rawValue, op: .resolve, body: [field: value, JournalEntry.eventKey: event])
        }
    }

    /// Stores a batch of observations atomically and raises an alert for each station whose
    /// reading crosses a threshold upward.
    /// `unitScope` limits the stations the caller may report for; others count as unknown.
    public func addObservations(_ batch: [[String: JSONValue]], actor: Actor, unitScope: Set<String>? = nil) async throws -> (
        observations: [RecordState], alerts: [RecordState]
    ) {
        try await write { tx in
            var observations: [RecordState] = []
            var alerts: [RecordState] = []
            for (i, var fields) in batch.enumerated() {
                guard let sid = fields["stationId"]?.stringValue.flatMap(RecordID.init),
                    var station = try tx.load(sid), station.kind == RecordKind.station.rawValue, !station.isDeleted,
                    unitScope.map({ scope in station.value("unit")?.stringValue.map(scope.contains) ?? false }) ?? true
                else {
                    throw ValidationError(
                        code: .invalidValue, message: "Observation \(i): unknown station.", field: "[\(i)].stationId")
                }
                let unit = station.value("unit")?.stringValue ?? tx.nodeID
                fields["unit"] = .string(unit)
                if fields["measure"] == nil, let m = station.value("measure") { fields["measure"] = m }
                let obs = try tx.create(kind: .observation, fields: fields, actor: actor, unit: unit)
                observations.append(obs)
                if let alert = try tx.checkThresholds(station: &station, observation: obs) { alerts.append(alert) }
            }
            return (observations, alerts)
        }
    }

    /// This node's open, not yet warned dossiers due by a time (`?1`; `?2` is this node), read
    /// through the partial index `record_dossier_due` that only such dossiers enter (named: without
    /// statistics the planner prefers an equality on `kind`, i.e. every dossier).
    static let openDossiersDueBy = """
        SELECT id FROM record INDEXED BY record_dossier_due WHERE kind = 'dossier' AND warned = 0 AND deleted = 0
          AND status IN ('received', 'processing', 'supplement_requested')
          AND due_at IS NOT NULL AND due_at <= ? AND origin = ?
        """

    /// Raises one alert for every open dossier of this node due within 24 hours, once: the alert's
    /// id is written back to the dossier, which both marks it and replicates the link.
    public func raiseDueSoonAlerts(horizonMilliseconds: Int64 = 24 * 3_600_000) async throws -> [RecordState] {
        try await write { tx in
            let now = tx.store.now()
            let ids = try Data.fetchAll(tx.db, sql: Self.openDossiersDueBy, arguments: [now + horizonMilliseconds, tx.nodeID])
            var alerts: [RecordState] = []
            for idData in ids {
                guard let id = RecordID(bytes: Array(idData)), let dossier = try tx.load(id) else { continue }
                let code = dossier.value("code")?.stringValue ?? id.description
                let procedure = dossier.value("procedure")?.stringValue ?? ""
                let due = dossier.value("dueAt")?.stringValue ?? ""
                let overdue = (dossier.value("dueAt")?.stringValue.flatMap(Timestamp.parse) ?? now) < now
                let alert = try tx.create(
                    kind: .alert,
                    fields: [
                        "headline": .string(
                            overdue
                                ? "Hồ sơ \(code) đã quá hạn xử lý / Dossier \(code) is overdue"
                                : "Hồ sơ \(code) sắp đến hạn trong 24 giờ / Dossier \(code) is due within 24 hours"),
                        "description": .string("\(procedure) — hạn xử lý / due \(due)"),
                        "event": "Cảnh báo hồ sơ sắp đến hạn",
                        "category": "Other", "severity": overdue ? "Moderate" : "Minor", "urgency": "Expected",
                        "certainty": "Observed", "source": "dossier-sla", "sourceRef": .string(id.description),
                        "effective": .string(Timestamp.format(now)),
                    ], actor: .system, unit: dossier.value("unit")?.stringValue ?? tx.nodeID)
                try tx.author(
                    recordID: id, kind: RecordKind.dossier.rawValue, op: .update,
                    body: ["dueSoonAlertId": .string(alert.id.description)])
                alerts.append(alert)
            }
            return alerts
        }
    }
}

extension StoreTransaction {
    func existing(_ id: RecordID, kind: RecordKind, allowDeleted: Bool = false) throws -> RecordState {
        guard let state = try load(id), state.kind == kind.rawValue, allowDeleted || !state.isDeleted else {
            throw StoreError(.notFound, "No \(kind.rawValue) with id \(id).")
        }
        return state
    }

    func event(_ type: String, actor: Actor, extra: [String: JSONValue] = [:]) -> JSONValue {
        var o: [String: JSONValue] = ["type": .string(type), "by": .string(actor.userID), "at": .string(Timestamp.format(store.now()))]
        for (k, v) in extra { o[k] = v }
        return .object(o)
    }

    @discardableResult
    public func create(kind: RecordKind, fields: [String: JSONValue], actor: Actor, unit: String) throws -> RecordState {
        let id = store.nextRecordID()
        var body = fields
        let now = Timestamp.format(store.now())
        if let lifecycle = kind.lifecycle, body["status"] == nil { body["status"] = .string(lifecycle.defaultInitial) }
        if body["unit"] == nil { body["unit"] = .string(unit) }
        if kind == .fieldReport, body["receivedAt"] == nil { body["receivedAt"] = .string(now) }
        body["createdAt"] = .string(now)
        body["originNode"] = .string(nodeID)
        body["createdBy"] = .string(actor.userID)
        var extra: [String: JSONValue] = [:]
        if let s = body["status"] { extra["to"] = s }
        if !kind.isAppendOnly { body[JournalEntry.eventKey] = event("created", actor: actor, extra: extra) }
        return try author(recordID: id, kind: kind.rawValue, op: .create, body: body)
    }

    func transition(id: RecordID, kind: RecordKind, to: String, note: String?, changes: [String: JSONValue], actor: Actor)
        throws -> RecordState
    {
        guard let lifecycle = kind.lifecycle else {
            throw ValidationError(code: .invalidValue, message: "\(kind.rawValue) records have no lifecycle.")
        }
        let state = try existing(id, kind: kind)
        let from = state.value("status")?.stringValue ?? lifecycle.defaultInitial
        if let error = lifecycle.check(from: from, to: to) { throw error }
        var body = changes
        let now = Timestamp.format(store.now())
        switch (kind, to) {
        case (.fieldReport, "resolved"): body["resolvedAt"] = .string(now)
        case (.dossier, "completed"), (.dossier, "refused"):
            if body["finishedAt"] == nil && state.value("finishedAt") == nil { body["finishedAt"] = .string(now) }
        default: break
        }
        for field in lifecycle.requiredFields[to] ?? [] where (body[field] ?? state.value(field))?.isNull ?? true {
            throw ValidationError(
                code: .missingField,
                message: "Moving to '\(to)' needs field '\(field)' (set it in \"set\" of this request).", field: field)
        }
        var extra: [String: JSONValue] = ["from": .string(from), "to": .string(to)]
        if let note { extra["note"] = .string(note) }
        body["status"] = .string(to)
        body[JournalEntry.eventKey] = event("transition", actor: actor, extra: extra)
        return try author(recordID: id, kind: kind.rawValue, op: .transition, body: body)
    }

    /// Compares an observation with its station's thresholds; on an upward crossing, raises an
    /// alert. The station's level is updated only when it changes, so steady readings write nothing.
    func checkThresholds(station: inout RecordState, observation: RecordState) throws -> RecordState? {
        guard let value = observation.value("value")?.doubleValue else { return nil }
        let below = station.value("thresholdDirection")?.stringValue == "below"
        func crosses(_ t: Double?) -> Bool { t.map { below ? value <= $0 : value >= $0 } ?? false }
        let level =
            crosses(station.value("dangerThreshold")?.doubleValue)
            ? "danger" : crosses(station.value("warningThreshold")?.doubleValue) ? "warning" : "normal"
        let rank = ["normal": 0, "warning": 1, "danger": 2]
        let previous = station.value("level")?.stringValue ?? "normal"
        var alert: RecordState?
        // A level this node does not know (from a newer peer) counts as normal.
        if rank[level, default: 0] > rank[previous, default: 0] {
            let name = station.value("name")?.stringValue ?? "?"
            let uom = station.value("unitOfMeasure")?.stringValue ?? ""
            let type = station.value("stationType")?.stringValue ?? ""
            let levelVi = level == "danger" ? "ngưỡng nguy hiểm" : "ngưỡng cảnh báo"
            alert = try create(
                kind: .alert,
                fields: [
                    "headline": .string(
                        "\(name): vượt \(levelVi) (\(Self.format(value))\(uom.isEmpty ? "" : " " + uom)) / \(level) threshold crossed"),
                    "event": .string(type == "air-quality" || type == "water-quality" ? "Ô nhiễm môi trường" : "Mưa lũ, ngập lụt"),
                    "category": .string(type == "air-quality" || type == "water-quality" ? "Env" : "Met"),
                    "severity": .string(level == "danger" ? "Severe" : "Moderate"),
                    "urgency": "Immediate", "certainty": "Observed", "source": "sensor-threshold",
                    "sourceRef": .string(observation.id.description),
                    "effective": observation.value("observedAt") ?? .string(Timestamp.format(store.now())),
                ], actor: .system, unit: station.value("unit")?.stringValue ?? nodeID)
        }
        if level != previous {
            station = try author(recordID: station.id, kind: station.kind, op: .update, body: ["level": .string(level)])
        }
        return alert
    }

    static func format(_ d: Double) -> String { d == d.rounded() ? String(Int64(d)) : String(d) }
}
