import IOCModel
import Testing

@Suite struct LifecycleTests {
    static let all: [(RecordKind, Lifecycle)] = [
        (.fieldReport, .fieldReport), (.dossier, .dossier), (.station, .station), (.alert, .alert),
        (.directive, .directive), (.kpi, .kpi),
    ]

    static func expectedRefusal(_ l: Lifecycle, from: String, to: String) -> ValidationError {
        let next = l.allowedNext(from: from)
        let allowed = next.isEmpty ? "none (final state)" : next.joined(separator: ", ")
        return ValidationError(
            code: .illegalTransition,
            message: "Cannot move from '\(from)' to '\(to)'. Allowed next states from '\(from)': \(allowed). "
                + "/ Không thể chuyển từ '\(from)' sang '\(to)'. Trạng thái tiếp theo hợp lệ: \(allowed).",
            field: "to")
    }

    @Test(arguments: all.map(\.0))
    func everyPairIsAllowedExactlyWhenListed(kind: RecordKind) throws {
        let l = try #require(kind.lifecycle)
        var allowedCount = 0
        for from in l.states {
            for to in l.states {
                let listed = l.transitions[from]?.contains(to) ?? false
                #expect(l.canMove(from: from, to: to) == listed)
                if listed {
                    allowedCount += 1
                    #expect(l.check(from: from, to: to) == nil, "\(kind) \(from) → \(to)")
                } else {
                    #expect(l.check(from: from, to: to) == Self.expectedRefusal(l, from: from, to: to))
                }
            }
        }
        #expect(allowedCount == l.transitions.values.reduce(0) { $0 + $1.count })
    }

    @Test(arguments: all.map(\.0))
    func lifecycleDataIsConsistent(kind: RecordKind) throws {
        let l = try #require(kind.lifecycle)
        #expect(Set(l.states).count == l.states.count)
        #expect(!l.initialStates.isEmpty)
        #expect(l.initialStates.allSatisfy(l.states.contains))
        #expect(l.defaultInitial == l.initialStates[0])
        for (from, tos) in l.transitions {
            #expect(l.states.contains(from))
            #expect(tos.allSatisfy(l.states.contains))
            #expect(!tos.contains(from))
        }
        for (state, fields) in l.requiredFields {
            #expect(l.states.contains(state))
            for f in fields { #expect(kind.schema.field(f) != nil, "\(kind).\(f)") }
        }
        for (i, s) in l.states.enumerated() { #expect(l.rank(of: s) == i) }
        #expect(l.rank(of: "no-such-state") == -1)
    }

    @Test func fieldReportMessagesNameCurrentAndNextStates() {
        let e = Lifecycle.fieldReport.check(from: "received", to: "resolved")
        #expect(e?.code == .illegalTransition)
        #expect(e?.field == "to")
        #expect(
            e?.message
                == "Cannot move from 'received' to 'resolved'. Allowed next states from 'received': verified, rejected, duplicate. "
                + "/ Không thể chuyển từ 'received' sang 'resolved'. Trạng thái tiếp theo hợp lệ: verified, rejected, duplicate.")
    }

    @Test func finalStatesSayNone() {
        let e = Lifecycle.dossier.check(from: "completed", to: "processing")
        #expect(
            e?.message
                == "Cannot move from 'completed' to 'processing'. Allowed next states from 'completed': none (final state). "
                + "/ Không thể chuyển từ 'completed' sang 'processing'. Trạng thái tiếp theo hợp lệ: none (final state).")
    }

    @Test func unknownTargetStatusIsAnInvalidValue() {
        #expect(
            Lifecycle.station.check(from: "active", to: "broken")
                == ValidationError(
                    code: .invalidValue, message: "Unknown status 'broken'. Known statuses: active, faulty, retired.",
                    field: "to"))
    }

    @Test func specificRules() {
        let f = Lifecycle.fieldReport
        #expect(f.initialStates == ["received"])
        #expect(f.allowedNext(from: "resolved") == ["closed", "reopened"])
        #expect(f.allowedNext(from: "reopened") == ["assigned", "in_progress"])
        #expect(f.requiredFields == ["assigned": ["assignedUnit"], "duplicate": ["duplicateOf"], "resolved": ["resolution"]])
        #expect(Lifecycle.dossier.initialStates == ["received", "processing"])
        #expect(Lifecycle.kpi.defaultInitial == "published")
        #expect(RecordKind.observation.lifecycle == nil)
        #expect(RecordKind.reporterContact.lifecycle == nil)
        // Further along the lifecycle ranks higher, so a concurrent "resolved" beats "assigned".
        #expect(f.rank(of: "resolved") > f.rank(of: "assigned"))
        #expect(f.rank(of: "closed") > f.rank(of: "reopened"))
    }
}
