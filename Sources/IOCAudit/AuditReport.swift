/// The outcome of an offline audit (single log or cross-check): findings plus a few counters,
/// with the exit status the CLI returns, a stable JSON form and a short human summary.
public struct AuditReport: Sendable, Equatable {
    /// What was checked ("verify" or "cross-check").
    public let kind: String
    /// The directories or nodes checked.
    public let subjects: [String]
    public let findings: [Finding]
    /// Counters such as entries, checkpoints, cosignatures checked.
    public let stats: [String: Int]

    public init(kind: String, subjects: [String], findings: [Finding], stats: [String: Int]) {
        self.kind = kind
        self.subjects = subjects
        self.findings = findings
        self.stats = stats
    }

    /// 0 verified, 1 integrity failure, 2 incomplete input (failure wins over incomplete).
    public var exitCode: Int32 {
        if findings.contains(where: { $0.severity == .failure }) { return 1 }
        if findings.contains(where: { $0.severity == .incomplete }) { return 2 }
        return 0
    }

    public var status: String { exitCode == 0 ? "verified" : exitCode == 1 ? "integrity-failure" : "incomplete" }

    /// Findings of a given code (handy in tests and tooling).
    public func findings(_ code: Finding.Code) -> [Finding] { findings.filter { $0.code == code } }

    /// Stable JSON: sorted keys, findings in check order.
    public var json: String {
        CanonicalJSON.object([
            "kind": .string(kind),
            "subjects": .array(subjects.map(CanonicalJSON.string)),
            "status": .string(status),
            "exitCode": .int(Int64(exitCode)),
            "findings": .array(findings.map(\.json)),
            "stats": .object(stats.mapValues { .int(Int64($0)) }),
        ]).text
    }

    /// A few lines for a terminal: status, counters, then the problems (most severe first).
    public var summary: String {
        var lines = ["\(kind) \(subjects.joined(separator: ", ")): \(status.uppercased()) (exit \(exitCode))"]
        if !stats.isEmpty {
            lines.append("  " + stats.keys.sorted().map { "\($0)=\(stats[$0] ?? 0)" }.joined(separator: " "))
        }
        let notable = findings.filter { $0.severity != .info }.sorted { $0.severity > $1.severity }
        for f in notable.prefix(50) { lines.append("  \(f.severity.rawValue.uppercased()) [\(f.code.rawValue)] \(f.message)") }
        if notable.count > 50 { lines.append("  … \(notable.count - 50) more findings in the JSON report") }
        return lines.joined(separator: "\n") + "\n"
    }
}
