/// The kinds of record a node keeps (design.md §3). The schema, lifecycle and audience of each
/// kind are data here, so storage, sync, policy and the HTTP API treat every kind the same way.
public enum RecordKind: String, CaseIterable, Sendable, Hashable, Codable {
    case fieldReport
    case reporterContact
    case dossier
    case station
    case observation
    case alert
    case directive
    case kpi

    /// Path segment under `/api/v1/`.
    public var pathComponent: String {
        switch self {
        case .fieldReport: "field-reports"
        case .reporterContact: "reporter-contacts"
        case .dossier: "dossiers"
        case .station: "stations"
        case .observation: "observations"
        case .alert: "alerts"
        case .directive: "directives"
        case .kpi: "kpis"
        }
    }

    public init?(pathComponent: String) {
        guard let k = RecordKind.allCases.first(where: { $0.pathComponent == pathComponent }) else { return nil }
        self = k
    }

    /// Local-only records hold citizens' personal data: they never enter a journal entry that
    /// leaves the node, under any policy.
    public var isLocalOnly: Bool { self == .reporterContact }

    /// Append-only records are never edited or transitioned after creation.
    public var isAppendOnly: Bool { self == .observation }

    public var lifecycle: Lifecycle? {
        switch self {
        case .fieldReport: .fieldReport
        case .dossier: .dossier
        case .station: .station
        case .alert: .alert
        case .directive: .directive
        case .kpi: .kpi
        case .reporterContact, .observation: nil
        }
    }

    /// Built once per kind: the apply path consults schemas for every record it saves.
    public var schema: KindSchema { KindSchema.all[self]! }
}

/// Field vocabularies shared by several kinds.
public enum Vocabulary {
    public static let channels = ["app", "web", "hotline-1022", "camera-ai", "officer"]
    public static let reportCategories = [
        "flooding", "pollution", "environment", "food-safety", "epidemic", "traffic", "infrastructure",
        "urban-order", "security", "public-service", "other",
    ]
    public static let stationTypes = ["rain", "flood-depth", "river-level", "air-quality", "water-quality"]
    public static let capCategories = [
        "Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra", "CBRNE", "Other",
    ]
    public static let capSeverity = ["Extreme", "Severe", "Moderate", "Minor", "Unknown"]
    public static let capUrgency = ["Immediate", "Expected", "Future", "Past", "Unknown"]
    public static let capCertainty = ["Observed", "Likely", "Possible", "Unlikely", "Unknown"]
    public static let alertSources = [
        "operator", "sensor-threshold", "dossier-sla", "camera-ai", "citizen-reports", "soc", "directive",
    ]
}

/// The fields of one record kind.
public struct KindSchema: Sendable {
    public let kind: RecordKind
    public let fields: [FieldSpec]
    /// The field whose value is the record's primary time (list filters `from`/`to` use it).
    public let timeField: String?
    /// The field whose value is the record's category (list filter `category`).
    public let categoryField: String?

    public func field(_ name: String) -> FieldSpec? { fields.first { $0.name == name } }

    /// Fields every record has, maintained by the node.
    public static let systemFieldNames: Set<String> = [
        "id", "kind", "status", "createdAt", "updatedAt", "originNode", "version", "timeline", "deleted", "conflicts",
    ]

    static let all: [RecordKind: KindSchema] = Dictionary(uniqueKeysWithValues: RecordKind.allCases.map { ($0, of($0)) })

    static func of(_ kind: RecordKind) -> KindSchema {
        switch kind {
        case .fieldReport:
            KindSchema(
                kind: kind,
                fields: [
                    FieldSpec("channel", .token(Vocabulary.channels), required: true, .createOnly),
                    FieldSpec("category", .token(Vocabulary.reportCategories), required: true),
                    FieldSpec("title", .text(maxLength: 300), required: true),
                    FieldSpec("description", .text(maxLength: 8000)),
                    FieldSpec("location", .location),
                    FieldSpec("address", .text(maxLength: 500)),
                    FieldSpec("unit", .unitCode, .createOnly),
                    FieldSpec("assignedUnit", .unitCode),
                    FieldSpec("receivedAt", .time, .createOnly),
                    FieldSpec("dueAt", .time),
                    FieldSpec("resolvedAt", .time, .system),
                    FieldSpec("resolution", .text(maxLength: 4000)),
                    FieldSpec("duplicateOf", .recordRef),
                    FieldSpec("rating", .integer(1...5)),
                    FieldSpec("mediaUrls", .list(.text(maxLength: 1000), maxCount: 20)),
                ],
                timeField: "receivedAt", categoryField: "category")
        case .reporterContact:
            KindSchema(
                kind: kind,
                fields: [
                    FieldSpec("reportId", .recordRef, required: true, .createOnly),
                    FieldSpec("name", .text(maxLength: 200)),
                    FieldSpec("phone", .text(maxLength: 32)),
                    FieldSpec("email", .text(maxLength: 254)),
                    FieldSpec("idNumber", .text(maxLength: 20)),
                    FieldSpec("unit", .unitCode, .createOnly),
                ],
                timeField: nil, categoryField: nil)
        case .dossier:
            KindSchema(
                kind: kind,
                fields: [
                    FieldSpec("code", .text(maxLength: 64), required: true, .createOnly),
                    FieldSpec("procedure", .text(maxLength: 500), required: true),
                    FieldSpec("procedureCode", .text(maxLength: 64)),
                    FieldSpec("sector", .text(maxLength: 100)),
                    FieldSpec("unit", .unitCode, .createOnly),
                    FieldSpec("receivedAt", .time, required: true, .createOnly),
                    FieldSpec("dueAt", .time, required: true),
                    FieldSpec("finishedAt", .time),
                    FieldSpec("dueSoonAlertId", .recordRef, .system),
                ],
                timeField: "receivedAt", categoryField: "procedureCode")
        case .station:
            KindSchema(
                kind: kind,
                fields: [
                    FieldSpec("code", .text(maxLength: 64), required: true, .createOnly),
                    FieldSpec("name", .text(maxLength: 300), required: true),
                    FieldSpec("stationType", .token(Vocabulary.stationTypes), required: true, .createOnly),
                    FieldSpec("measure", .text(maxLength: 64)),
                    FieldSpec("unitOfMeasure", .text(maxLength: 16)),
                    FieldSpec("location", .location, required: true),
                    FieldSpec("unit", .unitCode, .createOnly),
                    FieldSpec("warningThreshold", .number(-1e9...1e9)),
                    FieldSpec("dangerThreshold", .number(-1e9...1e9)),
                    FieldSpec("thresholdDirection", .token(["above", "below"])),
                    FieldSpec("level", .token(["normal", "warning", "danger"]), .system),
                ],
                timeField: nil, categoryField: "stationType")
        case .observation:
            KindSchema(
                kind: kind,
                fields: [
                    FieldSpec("stationId", .recordRef, required: true, .createOnly),
                    FieldSpec("value", .number(-1e9...1e9), required: true, .createOnly),
                    FieldSpec("observedAt", .time, required: true, .createOnly),
                    FieldSpec("measure", .text(maxLength: 64), .createOnly),
                    FieldSpec("unit", .unitCode, .createOnly),
                ],
                timeField: "observedAt", categoryField: "measure")
        case .alert:
            KindSchema(
                kind: kind,
                fields: [
                    FieldSpec("headline", .text(maxLength: 300), required: true),
                    FieldSpec("description", .text(maxLength: 8000)),
                    FieldSpec("instruction", .text(maxLength: 4000)),
                    FieldSpec("event", .text(maxLength: 200)),
                    FieldSpec("category", .token(Vocabulary.capCategories), required: true),
                    FieldSpec("severity", .token(Vocabulary.capSeverity), required: true),
                    FieldSpec("urgency", .token(Vocabulary.capUrgency), required: true),
                    FieldSpec("certainty", .token(Vocabulary.capCertainty), required: true),
                    FieldSpec("areaDesc", .text(maxLength: 500)),
                    FieldSpec("areaUnits", .list(.unitCode, maxCount: 200)),
                    FieldSpec("effective", .time),
                    FieldSpec("expires", .time),
                    FieldSpec("source", .token(Vocabulary.alertSources), .createOnly),
                    FieldSpec("sourceRef", .recordRef, .createOnly),
                    FieldSpec("unit", .unitCode, .createOnly),
                ],
                timeField: "effective", categoryField: "category")
        case .directive:
            KindSchema(
                kind: kind,
                fields: [
                    FieldSpec("title", .text(maxLength: 300), required: true),
                    FieldSpec("instruction", .text(maxLength: 8000), required: true),
                    FieldSpec("targetUnit", .unitCode, required: true),
                    FieldSpec("priority", .token(["normal", "urgent", "critical"])),
                    FieldSpec("dueAt", .time),
                    FieldSpec("alertId", .recordRef),
                    FieldSpec("report", .text(maxLength: 4000)),
                    FieldSpec("unit", .unitCode, .createOnly),
                ],
                timeField: "dueAt", categoryField: "priority")
        case .kpi:
            KindSchema(
                kind: kind,
                fields: [
                    FieldSpec("code", .text(maxLength: 64), required: true, .createOnly),
                    FieldSpec("name", .text(maxLength: 300), required: true),
                    FieldSpec("domain", .text(maxLength: 100)),
                    FieldSpec("period", .period, required: true, .createOnly),
                    FieldSpec("value", .number(-1e15...1e15), required: true),
                    FieldSpec("target", .number(-1e15...1e15)),
                    FieldSpec("unitOfMeasure", .text(maxLength: 32)),
                    FieldSpec("unit", .unitCode, .createOnly),
                ],
                timeField: nil, categoryField: "code")
        }
    }
}
