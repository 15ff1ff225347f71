/// What a signed-in person may do inside a node (design.md §5). Roles are scoped further by unit
/// and sector on the ``Actor``.
public enum Role: String, Sendable, Hashable, CaseIterable, Codable {
    case viewer, operator_ = "operator", supervisor, admin, auditor

    public var canRead: Bool { self != .auditor }
    public var canWrite: Bool { self == .operator_ || self == .supervisor || self == .admin }
    /// Conflict resolution, deletes and directives need a supervisor.
    public var canSupervise: Bool { self == .supervisor || self == .admin }
    public var canAudit: Bool { self == .auditor || self == .admin }
    /// Reporter contacts (personal data) are visible to the intake node's operating staff only.
    public var canSeePersonalData: Bool { canWrite }
}

/// The person (or the node itself, for rules) behind a change or a read.
public struct Actor: Sendable, Hashable {
    public var userID: String
    public var role: Role
    /// When set, the actor sees and changes only records of this unit and its descendants.
    public var unit: String?
    /// When set, the actor sees only records of this sector's categories.
    public var sector: String?

    public init(userID: String, role: Role, unit: String? = nil, sector: String? = nil) {
        self.userID = userID
        self.role = role
        self.unit = unit
        self.sector = sector
    }

    /// The node's own rules (threshold alerts, dossier warnings).
    public static let system = Actor(userID: "system", role: .admin)
}
