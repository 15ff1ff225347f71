import Foundation

/// One thing wrong with a topology, with where it is, so an operator can fix it without guessing.
public struct TopologyProblem: Hashable, Sendable, CustomStringConvertible {
    /// Path to the offending value, e.g. `nodes[3].parent`, `units[2].validTo`; the YAML loader
    /// appends `, line N` when it knows the line.
    public var location: String
    /// What is wrong and what would be right.
    public var message: String

    public init(location: String, message: String) {
        self.location = location
        self.message = message
    }

    public var description: String { "\(location): \(message)" }
}

/// A topology that cannot be used, with every problem found (not just the first), so one edit
/// round fixes the file.
public struct TopologyError: Error, Hashable, Sendable, CustomStringConvertible, LocalizedError {
    public var problems: [TopologyProblem]
    /// The file (or other source) the topology came from, when known; named in the description.
    public var source: String?

    public init(problems: [TopologyProblem], source: String? = nil) {
        self.problems = problems
        self.source = source
    }

    /// A header line, then one line per problem.
    public var description: String {
        let subject = source.map { "The topology in \($0)" } ?? "The topology"
        let count = problems.count == 1 ? "1 problem" : "\(problems.count) problems"
        return (["\(subject) has \(count):"] + problems.map { "  \($0)" }).joined(separator: "\n")
    }

    public var errorDescription: String? { description }
}
