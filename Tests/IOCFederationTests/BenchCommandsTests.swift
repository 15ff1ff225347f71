import Foundation
import Testing

/// `iocnode bench latency` and `iocnode bench fleet` run end to end at a small size: real serve
/// processes over mutual TLS on loopback, every write acknowledged and seen at the province.
@Suite(.serialized) struct BenchCommandsTests {
    /// The numbers on the output line that starts with `label` (after the label itself).
    static func numbers(_ output: String, line label: String) -> [Double] {
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix(label) }) else { return [] }
        return line.dropFirst(label.count).split(whereSeparator: { !"0123456789.".contains($0) }).compactMap { Double($0) }
    }

    @Test func latencyReportsPercentiles() throws {
        let r = try ProcessSupport.run(["bench", "latency", "--rate", "20", "--seconds", "3"], timeout: 90)
        #expect(r.status == 0, "\(r.output)")
        // 60 writes issued, all acknowledged and all seen at the province.
        #expect(Self.numbers(r.output, line: "writes").prefix(3) == [60, 60, 60], "\(r.output)")
        for label in ["p50", "p90", "p99", "max"] {
            let cells = Self.numbers(r.output, line: label)
            #expect(cells.count == 3, "\(label): \(r.output)")
            // issue→visible: positive, and within the 60 s the command waits at most.
            #expect((cells.first ?? 0) > 0 && (cells.first ?? .infinity) < 60_000, "\(label): \(r.output)")
        }
        let p50 = Self.numbers(r.output, line: "p50").first ?? 0
        let p99 = Self.numbers(r.output, line: "p99").first ?? 0
        #expect(p50 <= p99)
        #expect(r.output.contains("peak RSS"), "\(r.output)")
    }

    @Test func fleetConverges() throws {
        let r = try ProcessSupport.run(["bench", "fleet", "--districts", "3", "--writes-per-node", "5"], timeout: 120)
        #expect(r.status == 0, "\(r.output)")
        // "converged  15 of 15 entries from 3 wards at the province, …"
        let converged = Self.numbers(r.output, line: "converged")
        #expect(converged.prefix(3) == [15, 15, 3], "\(r.output)")
        #expect(Self.numbers(r.output, line: "writes").prefix(4) == [15, 5, 16, 15], "\(r.output)")
        #expect(Self.numbers(r.output, line: "ward sync status").prefix(2) == [3, 3], "\(r.output)")
        #expect(r.output.contains("startup"), "\(r.output)")
    }
}
