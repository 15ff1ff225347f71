/// A record kind's state machine: which statuses exist, which moves are legal, and a rank used to
/// merge concurrent transitions deterministically (the further along the lifecycle wins).
///
/// Pure data, checked when a change is written *and* when a peer's change is merged, so a node that
/// skips the check on its side still cannot push an illegal move into anyone's store.
public struct Lifecycle: Sendable, Hashable {
    public let states: [String]
    public let initialStates: [String]
    public let transitions: [String: [String]]
    /// Fields that must be set (already, or in the same request) to enter a status.
    public let requiredFields: [String: [String]]

    public init(
        states: [String], initial: [String], transitions: [String: [String]], requiredFields: [String: [String]] = [:]
    ) {
        self.states = states
        self.initialStates = initial
        self.transitions = transitions
        self.requiredFields = requiredFields
    }

    public var defaultInitial: String { initialStates[0] }

    public func allowedNext(from state: String) -> [String] { transitions[state] ?? [] }

    public func canMove(from: String, to: String) -> Bool { allowedNext(from: from).contains(to) }

    /// Position in the lifecycle; concurrent status changes merge to the highest rank.
    public func rank(of state: String) -> Int { states.firstIndex(of: state) ?? -1 }

    /// Checks a move and explains a refusal with the current state and the legal next states.
    public func check(from: String, to: String) -> ValidationError? {
        guard states.contains(to) else {
            return ValidationError(
                code: .invalidValue,
                message: "Unknown status '\(to)'. Known statuses: \(states.joined(separator: ", ")).", field: "to")
        }
        guard canMove(from: from, to: to) else {
            let next = allowedNext(from: from)
            let allowed = next.isEmpty ? "none (final state)" : next.joined(separator: ", ")
            return ValidationError(
                code: .illegalTransition,
                message: "Cannot move from '\(from)' to '\(to)'. Allowed next states from '\(from)': \(allowed). "
                    + "/ Không thể chuyển từ '\(from)' sang '\(to)'. Trạng thái tiếp theo hợp lệ: \(allowed).",
                field: "to")
        }
        return nil
    }
}

extension Lifecycle {
    /// Field report (phản ánh hiện trường), design.md §3.
    public static let fieldReport = Lifecycle(
        states: ["received", "verified", "rejected", "duplicate", "assigned", "in_progress", "resolved", "reopened", "closed"],
        initial: ["received"],
        transitions: [
            "received": ["verified", "rejected", "duplicate"],
            "verified": ["assigned"],
            "assigned": ["in_progress"],
            "in_progress": ["resolved"],
            "resolved": ["closed", "reopened"],
            "reopened": ["assigned", "in_progress"],
        ],
        requiredFields: ["assigned": ["assignedUnit"], "duplicate": ["duplicateOf"], "resolved": ["resolution"]])

    /// Public-service dossier (hồ sơ dịch vụ công).
    public static let dossier = Lifecycle(
        states: ["received", "processing", "supplement_requested", "withdrawn", "refused", "completed"],
        initial: ["received", "processing"],
        transitions: [
            "received": ["processing", "withdrawn"],
            "processing": ["supplement_requested", "completed", "refused", "withdrawn"],
            "supplement_requested": ["processing", "withdrawn"],
        ])

    public static let station = Lifecycle(
        states: ["active", "faulty", "retired"], initial: ["active"],
        transitions: ["active": ["faulty", "retired"], "faulty": ["active", "retired"]])

    /// CAP-style alert handling.
    public static let alert = Lifecycle(
        states: ["new", "acknowledged", "dismissed", "resolved", "closed"], initial: ["new"],
        transitions: [
            "new": ["acknowledged", "dismissed", "resolved"],
            "acknowledged": ["resolved", "dismissed"],
            "dismissed": ["closed"],
            "resolved": ["closed"],
        ])

    /// A directive (chỉ đạo điều hành) from the province to a unit.
    public static let directive = Lifecycle(
        states: ["issued", "acknowledged", "in_progress", "cancelled", "done"], initial: ["issued"],
        transitions: [
            "issued": ["acknowledged", "cancelled"],
            "acknowledged": ["in_progress", "done", "cancelled"],
            "in_progress": ["done", "cancelled"],
        ])

    public static let kpi = Lifecycle(
        states: ["draft", "published", "superseded"], initial: ["published", "draft"],
        transitions: ["draft": ["published"], "published": ["superseded"]])
}
