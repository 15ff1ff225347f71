import Foundation

/// The level of an administrative (or sector) unit.
///
/// Since 1 July 2025 Vietnam has two local tiers: province, then commune / ward / special zone.
/// The 696 former districts still appear in historic data, so they stay as `legacy-district` units
/// with an end date and successor links rather than disappearing. Sector departments (health,
/// environment, …) are units too, so sharing rules can name them like any other unit.
public enum UnitLevel: String, Sendable, Hashable, CaseIterable {
    case province
    case commune
    case ward
    case specialZone = "special-zone"
    case legacyDistrict = "legacy-district"
    case sector
}

/// What a node is for. Mode changes defaults and permissions, never code paths.
///
/// `district` keeps its historic name but means "any local OC" (commune, ward, special zone or a
/// legacy district that still runs its own centre).
public enum NodeMode: String, Sendable, Hashable, CaseIterable {
    case province
    case district
    case sector

    /// The unit levels a node of this mode may serve; checked by topology validation.
    public var unitLevels: Set<UnitLevel> {
        switch self {
        case .province: [.province]
        case .district: [.commune, .ward, .specialZone, .legacyDistrict]
        case .sector: [.sector]
        }
    }
}

/// One administrative or sector unit, as data.
///
/// Units are data with validity dates and successor links (never code) because the July 2025
/// reform showed that units are merged and renamed by decree: records filed against a legacy
/// district must still resolve to the wards that took over its territory.
public struct AdminUnit: Sendable, Hashable {
    /// Stable code: the national administrative-unit code for territorial units, a slug for sectors.
    public var code: String
    /// Official Vietnamese name, NFC-normalised so equal names have equal bytes on every node.
    public var name: String
    public var level: UnitLevel
    /// Code of the enclosing unit (a ward's province, a sector department's province).
    public var parent: String?
    /// First day the unit exists, `YYYY-MM-DD`, inclusive; `nil` means "since before we knew".
    public var validFrom: String?
    /// Last day the unit exists, `YYYY-MM-DD`, inclusive; `nil` means "still in force".
    public var validTo: String?
    /// Codes of the units that took over this unit's territory or duties when it ended.
    public var successors: [String]
    /// For `sector` units only: the sector served, e.g. `health`, `environment`.
    public var sector: String?
    /// For `sector` units only: field-report categories this sector handles (used for routing and
    /// for sharing rules), e.g. environment ↔ `flooding`, `pollution`.
    public var categories: [String]

    /// Creates a unit; `name` is NFC-normalised here so values built in code match loaded ones.
    public init(
        code: String, name: String, level: UnitLevel, parent: String? = nil,
        validFrom: String? = nil, validTo: String? = nil, successors: [String] = [],
        sector: String? = nil, categories: [String] = []
    ) {
        self.code = code
        self.name = name.precomposedStringWithCanonicalMapping
        self.level = level
        self.parent = parent
        self.validFrom = validFrom
        self.validTo = validTo
        self.successors = successors
        self.sector = sector
        self.categories = categories
    }

    /// Whether the unit exists on `date` (`YYYY-MM-DD`); both bounds are inclusive.
    ///
    /// `YYYY-MM-DD` strings order like the dates they name, so this compares text; validation
    /// guarantees the stored bounds are real dates.
    public func isValid(on date: String) -> Bool {
        if let validFrom, date < validFrom { return false }
        if let validTo, date > validTo { return false }
        return true
    }
}

/// One node (operation centre) of the federation: who it is, what it serves, where it listens.
public struct NodeDescriptor: Sendable, Hashable {
    /// Lowercase slug (`[a-z0-9][a-z0-9-]*`); it becomes part of the node's SPIFFE ID.
    public var id: String
    public var mode: NodeMode
    /// Code of the unit this node serves.
    public var unit: String
    /// Id of the parent node; `nil` only for the province node, the root of the federation.
    public var parent: String?
    /// Base URL of the user API, `http(s)://host:port` with no path, e.g. `https://127.0.0.1:8443`.
    public var url: String
    /// Base URL of the node-to-node sync listener (mutual TLS). When absent: the API's host, port + 1000.
    public var syncURL: String?

    public init(id: String, mode: NodeMode, unit: String, parent: String? = nil, url: String, syncURL: String? = nil) {
        self.id = id
        self.mode = mode
        self.unit = unit
        self.parent = parent
        self.url = url
        self.syncURL = syncURL
    }

    /// Host and port of the sync listener: `syncURL`, or the API's host with its port + 1000.
    public var syncEndpoint: (host: String, port: Int) {
        if let syncURL, let parts = URLComponents(string: syncURL), let host = parts.host, let port = parts.port {
            return (host, port)
        }
        let parts = URLComponents(string: url)
        return (parts?.host ?? "127.0.0.1", (parts?.port ?? 0) + 1000)
    }
}
