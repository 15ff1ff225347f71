import Foundation
import Hummingbird
import IOCModel
import IOCStore
import IOCSync

/// The user API over records: create, get, list, patch, transition and delete for every kind,
/// observation batches, conflicts and the summary report. Handlers validate, check the caller's
/// role and scope, then call one store command (one transaction).
struct RecordRoutes: Sendable {
    let store: NodeStore
    let topology: Topology
    let nodeUnit: String
    let limits: Limits
    let metrics: NodeMetrics

    var scope: AccessScope { AccessScope(topology: topology) }

    func register(on api: RouterGroup<NodeRequestContext>) {
        for kind in RecordKind.allCases where !kind.isLocalOnly {
            let path = RouterPath(kind.pathComponent)
            api.post(path) { request, context in try await create(kind, request, context) }
            api.get(path) { request, context in try await list(kind, request, context) }
            api.get("\(kind.pathComponent)/:id") { _, context in try await get(kind, context) }
            api.patch("\(kind.pathComponent)/:id") { request, context in try await patch(kind, request, context) }
            api.post("\(kind.pathComponent)/:id/transitions") { request, context in
                try await transition(kind, request, context)
            }
            api.delete("\(kind.pathComponent)/:id") { _, context in try await delete(kind, context) }
        }
        api.get("conflicts") { request, context in try await conflicts(request, context) }
        api.post("conflicts/:id/resolve") { request, context in try await resolve(request, context) }
        api.get("reports/summary") { request, context in try await summary(request, context) }
    }

    // MARK: Handlers

    func create(_ kind: RecordKind, _ request: Request, _ context: NodeRequestContext) async throws -> Response {
        let actor = try requireUser(context).actor
        guard actor.role.canWrite else { throw APIError.forbidden("Your role cannot create records.") }
        if kind == .directive && !actor.role.canSupervise {
            throw APIError.forbidden("Only supervisors and admins issue directives.")
        }
        let json = try await readJSON(request)
        let now = store.now()
        if kind == .observation { return try await createObservations(json, actor: actor, now: now) }
        guard case .object(var body) = json else { throw notAnObject() }
        var reporter: [String: JSONValue]?
        if kind == .fieldReport, let r = body.removeValue(forKey: "reporter"), !r.isNull {
            reporter = try validateReporter(r, now: now)
        }
        let fields = try kind.schema.validateCreate(body, now: now)
        try scope.checkUnits(fields, schema: kind.schema)
        try checkOwnUnit(fields["unit"]?.stringValue, actor: actor)
        let unit = actor.unit ?? nodeUnit
        let state: RecordState
        var contact: RecordState?
        if kind == .fieldReport {
            (state, contact) = try await store.createFieldReport(fields: fields, reporter: reporter, actor: actor, unit: unit)
        } else {
            state = try await store.create(kind: kind, fields: fields, actor: actor, unit: unit)
        }
        metrics.recordCreated(kind)
        return JSONResponse.make(.created, withContact(state.view(), contact: contact, actor: actor))
    }

    func createObservations(_ json: JSONValue, actor: Actor, now: Int64) async throws -> Response {
        let items: [JSONValue]
        switch json {
        case .array(let a): items = a
        case .object(let o) where o["observations"] != nil:
            guard o.count == 1, let a = o["observations"]?.arrayValue else {
                throw APIError.validation(
                    ValidationError(code: .wrongType, message: "'observations' must be the only field and an array.", field: "observations"))
            }
            items = a
        case .object: items = [json]
        default: throw notAnObject()
        }
        guard !items.isEmpty else {
            throw APIError.validation(ValidationError(code: .missingField, message: "The batch is empty."))
        }
        guard items.count <= limits.observationBatchMax else {
            throw APIError.validation(
                ValidationError(code: .tooMany, message: "A batch holds at most \(limits.observationBatchMax) observations."))
        }
        var batch: [[String: JSONValue]] = []
        for (i, item) in items.enumerated() {
            guard case .object(let o) = item else {
                throw APIError.validation(
                    ValidationError(code: .wrongType, message: "Observation \(i) must be an object.", field: "[\(i)]"))
            }
            do {
                batch.append(try RecordKind.observation.schema.validateCreate(o, now: now))
            } catch {
                var e = error
                e.field = "[\(i)]." + (e.field ?? "")
                e.message = "Observation \(i): " + e.message
                throw APIError.validation(e)
            }
        }
        let (observations, alerts) = try await store.addObservations(batch, actor: actor, unitScope: scope.units(for: actor))
        metrics.recordCreated(.observation, count: observations.count)
        for _ in alerts { metrics.recordCreated(.alert) }
        return JSONResponse.make(
            .created,
            [
                "items": .array(observations.map { $0.view(includeTimeline: false) }),
                "alerts": .array(alerts.map { $0.view() }),
            ])
    }

    func get(_ kind: RecordKind, _ context: NodeRequestContext) async throws -> Response {
        let actor = try requireUser(context).actor
        let state = try await visibleRecord(kind, context, actor: actor)
        var contact: RecordState?
        if kind == .fieldReport && actor.role.canSeePersonalData {
            contact = try await store.list(kind: .reporterContact, filter: RecordFilter(ref: state.id), cursor: nil, limit: 1)
                .records.first
        }
        return JSONResponse.make(.ok, withContact(state.view(), contact: contact, actor: actor))
    }

    func list(_ kind: RecordKind, _ request: Request, _ context: NodeRequestContext) async throws -> Response {
        let actor = try requireUser(context).actor
        guard actor.role.canRead else { throw APIError.forbidden("Auditors read audit data, not records.") }
        let q = request.uri.queryParameters
        let known: Set<String> = ["status", "category", "unit", "from", "to", "cursor", "limit", "stationId"]
        for key in q.map(\.key) where !known.contains(String(key)) {
            throw APIError.validation(
                ValidationError(
                    code: .unknownField,
                    message: "Unknown query parameter '\(key)'. Known: \(known.sorted().joined(separator: ", ")).",
                    field: String(key)))
        }
        var filter = RecordFilter(
            status: q.get("status"), category: q.get("category"), unit: q.get("unit"), unitScope: scope.units(for: actor),
            categoryScope: kind == .fieldReport ? scope.categories(for: actor) : nil)
        filter.from = try queryTime(q.get("from"), "from")
        filter.to = try queryTime(q.get("to"), "to")
        if let s = q.get("stationId") {
            guard kind == .observation else { throw badQuery("stationId", "filters observations only") }
            guard let id = RecordID(s) else { throw badQuery("stationId", "must be a record id") }
            filter.ref = id
        }
        let limit: Int
        if let l = q.get("limit") {
            guard let n = Int(l), (1...limits.pageSizeMax).contains(n) else {
                throw badQuery("limit", "must be a whole number from 1 to \(limits.pageSizeMax)")
            }
            limit = n
        } else {
            limit = limits.pageSizeDefault
        }
        var cursor: RecordID?
        if let c = q.get("cursor") {
            guard let id = RecordID(c) else { throw badQuery("cursor", "is not a cursor returned by this API") }
            cursor = id
        }
        let page = try await store.list(kind: kind, filter: filter, cursor: cursor, limit: limit)
        return JSONResponse.make(
            .ok,
            [
                "items": .array(page.records.map { $0.view(includeTimeline: false) }),
                "nextCursor": page.nextCursor.map { .string($0.description) } ?? .null,
            ])
    }

    func patch(_ kind: RecordKind, _ request: Request, _ context: NodeRequestContext) async throws -> Response {
        let actor = try requireUser(context).actor
        guard actor.role.canWrite else { throw APIError.forbidden("Your role cannot change records.") }
        let current = try await visibleRecord(kind, context, actor: actor)
        guard case .object(let body) = try await readJSON(request) else { throw notAnObject() }
        let now = store.now()
        let topology = self.topology
        let state = try await store.patch(id: current.id, kind: kind, actor: actor) { fields in
            let changes = try kind.schema.validatePatch(body, current: fields, now: now)
            try AccessScope(topology: topology).checkUnits(changes, schema: kind.schema)
            return changes
        }
        return JSONResponse.make(.ok, state.view())
    }

    func transition(_ kind: RecordKind, _ request: Request, _ context: NodeRequestContext) async throws -> Response {
        let actor = try requireUser(context).actor
        guard actor.role.canWrite else { throw APIError.forbidden("Your role cannot change records.") }
        guard kind.lifecycle != nil else {
            throw APIError.validation(ValidationError(code: .invalidValue, message: "\(kind.rawValue) records have no lifecycle."))
        }
        let current = try await visibleRecord(kind, context, actor: actor)
        guard case .object(let body) = try await readJSON(request) else { throw notAnObject() }
        for key in body.keys where !["to", "note", "set"].contains(key) {
            throw APIError.validation(
                ValidationError(code: .unknownField, message: "Unknown field '\(key)'. Known: to, note, set.", field: key))
        }
        guard let toValue = body["to"] else {
            throw APIError.validation(ValidationError(code: .missingField, message: "Field 'to' is required.", field: "to"))
        }
        guard let to = toValue.stringValue else {
            throw APIError.validation(ValidationError(code: .wrongType, message: "Field 'to' must be a string.", field: "to"))
        }
        let note = try body["note"].map { try FieldType.text(maxLength: 2000).normalise($0, path: "note").stringValue! }
        var changes: [String: JSONValue] = [:]
        if let set = body["set"] {
            guard case .object(let s) = set else {
                throw APIError.validation(ValidationError(code: .wrongType, message: "'set' must be an object.", field: "set"))
            }
            if !s.isEmpty {
                changes = try kind.schema.validatePatch(s, current: current.visibleFields(), now: store.now())
                try scope.checkUnits(changes, schema: kind.schema)
            }
        }
        let state = try await store.transition(id: current.id, kind: kind, to: to, note: note, changes: changes, actor: actor)
        return JSONResponse.make(.ok, state.view())
    }

    func delete(_ kind: RecordKind, _ context: NodeRequestContext) async throws -> Response {
        let actor = try requireUser(context).actor
        guard actor.role.canSupervise else { throw APIError.forbidden("Only supervisors and admins delete records.") }
        let current = try await visibleRecord(kind, context, actor: actor)
        let state = try await store.delete(id: current.id, kind: kind, actor: actor)
        return JSONResponse.make(.ok, state.view())
    }

    func conflicts(_ request: Request, _ context: NodeRequestContext) async throws -> Response {
        let actor = try requireUser(context).actor
        guard actor.role.canRead else { throw APIError.forbidden("Auditors read audit data, not records.") }
        let records = try await store.conflicted(unitScope: scope.units(for: actor), limit: limits.pageSizeMax)
        return JSONResponse.make(.ok, ["items": .array(records.filter { scope.canSee($0, actor: actor) }.map { $0.conflictsView() })])
    }

    func resolve(_ request: Request, _ context: NodeRequestContext) async throws -> Response {
        let actor = try requireUser(context).actor
        guard actor.role.canSupervise else { throw APIError.forbidden("Only supervisors and admins resolve conflicts.") }
        guard let id = context.parameters.get("id").flatMap(RecordID.init), let current = try await store.get(id),
            scope.canSee(current, actor: actor), let kind = current.recordKind
        else { throw APIError.notFound("No such record.") }
        guard case .object(let body) = try await readJSON(request) else { throw notAnObject() }
        for key in body.keys where key != "field" && key != "value" {
            throw APIError.validation(ValidationError(code: .unknownField, message: "Unknown field '\(key)'.", field: key))
        }
        guard let fieldValue = body["field"] else {
            throw APIError.validation(ValidationError(code: .missingField, message: "Field 'field' is required.", field: "field"))
        }
        guard let field = fieldValue.stringValue else {
            throw APIError.validation(ValidationError(code: .wrongType, message: "Field 'field' must be a string.", field: "field"))
        }
        guard let raw = body["value"] else {
            throw APIError.validation(ValidationError(code: .missingField, message: "Field 'value' is required.", field: "value"))
        }
        var value = raw
        if let spec = kind.schema.field(field) {
            if raw.isNull {
                guard !spec.required else {
                    throw APIError.validation(
                        ValidationError(code: .missingField, message: "Field '\(field)' is required and cannot be cleared.", field: "value"))
                }
            } else {
                value = try spec.type.normalise(raw, path: "value")
                try scope.checkUnits([field: value], schema: kind.schema)
                var merged = current.visibleFields()
                merged[field] = value
                try kind.schema.crossCheck(merged, now: store.now())
            }
        }
        let state = try await store.resolveConflict(id: id, kind: kind, field: field, value: value, actor: actor)
        return JSONResponse.make(.ok, state.view())
    }

    func summary(_ request: Request, _ context: NodeRequestContext) async throws -> Response {
        let actor = try requireUser(context).actor
        guard actor.role.canRead else { throw APIError.forbidden("Auditors read audit data, not records.") }
        let q = request.uri.queryParameters
        for key in q.map(\.key) where key != "period" && key != "from" {
            throw badQuery(String(key), "is not a parameter of the summary (use period and from)")
        }
        let periodName = q.get("period") ?? "day"
        guard let granularity = ReportingPeriod.Granularity(rawValue: periodName), granularity != .year else {
            throw badQuery("period", "must be day, week, month or quarter")
        }
        // Days are Vietnam's civil days (UTC+07:00, no daylight saving).
        let offset: Int64 = 7 * 3_600_000
        let startDay: Int64
        if let from = q.get("from") {
            guard let ms = Timestamp.parseDate(from) ?? Timestamp.parse(from).map({ ($0 + offset) / 86_400_000 * 86_400_000 })
            else { throw badQuery("from", "must be a date like 2026-11-24") }
            startDay = ms / 86_400_000
        } else {
            startDay = (store.now() + offset) / 86_400_000
        }
        // The calendar period that contains the day: its week (from Monday), month or quarter.
        let (y, m, d) = Timestamp.civilFromDays(startDay)
        let alignedDay: Int64
        switch granularity {
        case .day, .year: alignedDay = startDay
        case .week: alignedDay = startDay - (startDay + 3) % 7
        case .month: alignedDay = startDay - Int64(d - 1)
        case .quarter: alignedDay = Timestamp.daysFromCivil(year: y, month: (m - 1) / 3 * 3 + 1, day: 1)
        }
        let period = ReportingPeriod(granularity, from: alignedDay)
        var result = try await store.summary(
            from: period.start - offset, to: period.end - offset, unitScope: scope.units(for: actor),
            categoryScope: scope.categories(for: actor))
        if case .object(var o) = result {
            o["period"] = .string(granularity.rawValue)
            o["timeZone"] = "+07:00"
            result = .object(o)
        }
        return JSONResponse.make(.ok, result)
    }

    // MARK: Helpers

    func requireUser(_ context: NodeRequestContext) throws -> User {
        guard let user = context.user else { throw APIError.unauthorized }
        return user
    }

    func visibleRecord(_ kind: RecordKind, _ context: NodeRequestContext, actor: Actor) async throws -> RecordState {
        guard actor.role.canRead else { throw APIError.forbidden("Auditors read audit data, not records.") }
        guard let id = context.parameters.get("id").flatMap(RecordID.init), let state = try await store.get(id),
            state.kind == kind.rawValue, !state.isDeleted, scope.canSee(state, actor: actor)
        else { throw APIError.notFound("No \(kind.rawValue) with that id. / Không tìm thấy bản ghi.") }
        return state
    }

    func readJSON(_ request: Request) async throws -> JSONValue {
        let max = limits.requestBodyBytesMax
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > max {
            throw tooLarge()
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: max)
        } catch {
            throw tooLarge()
        }
        return try JSONValue.parse(buffer.readableBytesView)
    }

    func tooLarge() -> APIError {
        .validation(
            ValidationError(
                code: .bodyTooLarge, message: "The request body is larger than \(limits.requestBodyBytesMax) bytes."))
    }

    func notAnObject() -> APIError {
        .validation(ValidationError(code: .wrongType, message: "The request body must be a JSON object."))
    }

    func badQuery(_ name: String, _ why: String) -> APIError {
        .validation(ValidationError(code: .invalidValue, message: "Query parameter '\(name)' \(why).", field: name))
    }

    func queryTime(_ text: String?, _ name: String) throws -> Int64? {
        guard let text else { return nil }
        guard let ms = Timestamp.parse(text) ?? Timestamp.parseDate(text) else {
            throw badQuery(name, "must be an ISO 8601 time or a date")
        }
        return ms
    }

    func checkOwnUnit(_ unit: String?, actor: Actor) throws {
        guard let unit, let units = scope.units(for: actor), !units.contains(unit) else { return }
        throw APIError.forbidden("You may create records only for your own unit and the units under it.")
    }

    func validateReporter(_ value: JSONValue, now: Int64) throws -> [String: JSONValue] {
        guard case .object(let o) = value else {
            throw APIError.validation(ValidationError(code: .wrongType, message: "'reporter' must be an object.", field: "reporter"))
        }
        let allowed: Set<String> = ["name", "phone", "email", "idNumber"]
        for key in o.keys where !allowed.contains(key) {
            throw APIError.validation(
                ValidationError(
                    code: .unknownField, message: "Unknown field 'reporter.\(key)'. Known: email, idNumber, name, phone.",
                    field: "reporter.\(key)"))
        }
        var out: [String: JSONValue] = [:]
        for (key, v) in o where !v.isNull {
            do {
                out[key] = try RecordKind.reporterContact.schema.field(key)!.type.normalise(v, path: "reporter.\(key)")
            } catch { throw APIError.validation(error) }
        }
        if let phone = out["phone"]?.stringValue,
            !phone.unicodeScalars.allSatisfy({ CharacterSet(charactersIn: "+0123456789 .-").contains($0) })
        {
            throw APIError.validation(
                ValidationError(code: .invalidValue, message: "'reporter.phone' must contain digits only.", field: "reporter.phone"))
        }
        return out
    }

    func withContact(_ view: JSONValue, contact: RecordState?, actor: Actor) -> JSONValue {
        guard let contact, actor.role.canSeePersonalData, case .object(var o) = view else { return view }
        var c = contact.visibleFields()
        for key in ["reportId", "unit", "createdAt", "createdBy", "originNode"] { c.removeValue(forKey: key) }
        o["reporter"] = .object(c)
        return .object(o)
    }
}
