import Foundation
import IOCModel
import IOCStore
import IOCSync
import Testing

@Suite struct ThresholdAlertTests {
    func station(_ store: NodeStore, direction: String? = nil, warning: Double = 50, danger: Double = 100) async throws -> RecordState {
        var fields: [String: JSONValue] = [
            "code": "MUA-HC-01", "name": "Trạm đo mưa Hải Châu", "stationType": "rain", "measure": "rainfall",
            "unitOfMeasure": "mm", "location": ["lat": 16.06, "lon": 108.22], "warningThreshold": .double(warning),
            "dangerThreshold": .double(danger),
        ]
        if let direction { fields["thresholdDirection"] = .string(direction) }
        return try await store.create(kind: .station, fields: fields, actor: operatorActor, unit: "20194")
    }

    func reading(_ s: RecordState, _ value: Double, at: Int64) -> [String: JSONValue] {
        ["stationId": .string(s.id.description), "value": .double(value), "observedAt": .string(Timestamp.format(at))]
    }

    @Test func upwardCrossingsRaiseOneAlertEachAndTheLevelIsWrittenOnlyOnChange() async throws {
        try await withStore { store, clock, _ in
            let s = try await station(store)
            #expect(try store.ownSeq() == 1)
            var alerts: [RecordState] = []
            // value → (journal entries written, alert expected, level after)
            let steps: [(Double, UInt64, Bool, String?)] = [
                (30, 1, false, nil), (60, 3, true, "warning"), (70, 1, false, "warning"), (120, 3, true, "danger"),
            ]
            for (i, (value, entries, alerted, level)) in steps.enumerated() {
                clock.advance(minute)
                let before = try store.ownSeq()
                let (obs, raised) = try await store.addObservations([reading(s, value, at: clock.now)], actor: .system)
                #expect(try store.ownSeq() == before + entries, "step \(i): value \(value)")
                #expect(obs.count == 1)
                #expect(raised.count == (alerted ? 1 : 0))
                alerts += raised
                let now = try #require(try await store.get(s.id))
                #expect(now.value("level") == level.map(JSONValue.string))
                if let a = raised.first {
                    #expect(a.value("sourceRef") == .string(obs[0].id.description))
                    #expect(a.value("effective") == .string(Timestamp.format(clock.now)))
                }
            }
            #expect(alerts.count == 2)
            #expect(alerts.map { $0.value("severity") } == ["Moderate", "Severe"])
            #expect(alerts.allSatisfy { $0.value("source") == "sensor-threshold" && $0.value("category") == "Met" })
            #expect(alerts.allSatisfy { $0.value("status") == "new" && $0.value("unit") == "20194" })
            #expect(alerts[0].value("headline") == "Trạm đo mưa Hải Châu: vượt ngưỡng cảnh báo (60 mm) / warning threshold crossed")
            #expect(alerts[1].value("headline") == "Trạm đo mưa Hải Châu: vượt ngưỡng nguy hiểm (120 mm) / danger threshold crossed")
            #expect(try store.ownSeq() == 9)
            let obsPage = try await store.list(kind: .observation, filter: RecordFilter(ref: s.id), cursor: nil, limit: 10)
            #expect(obsPage.records.count == 4)
            #expect(obsPage.records.allSatisfy { $0.value("unit") == "20194" && $0.value("measure") == "rainfall" })
        }
    }

    @Test func oneBatchGivesTheSameResult() async throws {
        try await withStore { store, clock, _ in
            let s = try await station(store)
            clock.advance(hour)
            let batch = [30.0, 60, 70, 120].enumerated().map { reading(s, $1, at: t0 + Int64($0) * minute) }
            let (obs, alerts) = try await store.addObservations(batch, actor: .system)
            #expect(obs.count == 4)
            #expect(alerts.map { $0.value("severity") } == ["Moderate", "Severe"])
            #expect(alerts.map { $0.value("sourceRef") } == [.string(obs[1].id.description), .string(obs[3].id.description)])
            #expect(try store.ownSeq() == 9)
            #expect(try await store.get(s.id)?.value("level") == "danger")
        }
    }

    @Test func fallingBackAndRisingAgainRaisesAgain() async throws {
        try await withStore { store, clock, _ in
            let s = try await station(store)
            for v in [120.0, 10] { _ = try await store.addObservations([reading(s, v, at: clock.now)], actor: .system) }
            #expect(try await store.get(s.id)?.value("level") == "normal")
            let before = try store.ownSeq()
            let (_, alerts) = try await store.addObservations([reading(s, 55, at: clock.now)], actor: .system)
            #expect(alerts.map { $0.value("severity") } == ["Moderate"])
            #expect(try store.ownSeq() == before + 3)
        }
    }

    @Test func belowDirectionStations() async throws {
        try await withStore { store, clock, _ in
            let s = try await station(store, direction: "below", warning: 20, danger: 5)
            let (_, a1) = try await store.addObservations([reading(s, 25, at: clock.now)], actor: .system)
            let (_, a2) = try await store.addObservations([reading(s, 20, at: clock.now)], actor: .system)
            let (_, a3) = try await store.addObservations([reading(s, 4, at: clock.now)], actor: .system)
            #expect(a1.isEmpty)
            #expect(a2.map { $0.value("severity") } == ["Moderate"])
            #expect(a3.map { $0.value("severity") } == ["Severe"])
        }
    }

    @Test func anUnknownStationFailsTheWholeBatch() async throws {
        try await withStore { store, clock, _ in
            let s = try await station(store)
            var rng = SystemRandomNumberGenerator()
            var bad = reading(s, 1, at: clock.now)
            bad["stationId"] = .string(RecordID.generate(milliseconds: 1, using: &rng).description)
            let e = await thrown(ValidationError.self) {
                try await store.addObservations([reading(s, 120, at: clock.now), bad], actor: .system)
            }
            #expect(e?.field == "[1].stationId")
            #expect(try store.ownSeq() == 1)
            #expect(try await store.get(s.id)?.value("level") == nil)
        }
    }
}

@Suite struct DueSoonAlertTests {
    @Test func oncePerOpenDossierOfThisNode() async throws {
        try await withTemporaryDirectory { dir in
            let clock = ManualClock(t0)
            for sub in ["a", "b"] { try FileManager.default.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true) }
            let store = try openStore(dir + "/a", node: "hai-chau", clock: clock)
            let peer = try openStore(dir + "/b", node: "thanh-khe", clock: clock)

            let soon = try await store.dossier(code: "D-SOON", received: t0 - 48 * hour, due: t0 + 20 * hour)
            let late = try await store.dossier(code: "D-LATE", received: t0 - 48 * hour, due: t0 - hour, status: "processing")
            _ = try await store.dossier(code: "D-LATER", received: t0, due: t0 + 25 * hour)
            let done = try await store.dossier(code: "D-DONE", received: t0 - 48 * hour, due: t0 + hour, status: "processing")
            _ = try await store.transition(id: done.id, kind: .dossier, to: "completed", note: nil, changes: [:], actor: operatorActor)
            let foreign = try await peer.dossier(code: "D-PEER", received: t0 - 48 * hour, due: t0 + 2 * hour)
            let applied = try store.apply(try peer.delta(beyond: store.knowledge()).items, from: "thanh-khe")
            #expect(applied.applied == 1)
            #expect(try await store.get(foreign.id)?.value("originNode") == "thanh-khe")

            let before = try store.ownSeq()
            let alerts = try await store.raiseDueSoonAlerts()
            #expect(try store.ownSeq() == before + 4)  // one alert and one dossier update each
            let byRef = Dictionary(uniqueKeysWithValues: alerts.map { ($0.value("sourceRef")?.stringValue ?? "", $0) })
            #expect(Set(byRef.keys) == [soon.id.description, late.id.description])
            let soonAlert = try #require(byRef[soon.id.description])
            #expect(soonAlert.value("severity") == "Minor")
            #expect(soonAlert.value("headline") == "Hồ sơ D-SOON sắp đến hạn trong 24 giờ / Dossier D-SOON is due within 24 hours")
            #expect(soonAlert.value("source") == "dossier-sla")
            #expect(soonAlert.value("effective") == .string(Timestamp.format(t0)))
            let lateAlert = try #require(byRef[late.id.description])
            #expect(lateAlert.value("severity") == "Moderate")
            #expect(lateAlert.value("headline") == "Hồ sơ D-LATE đã quá hạn xử lý / Dossier D-LATE is overdue")
            #expect(try await store.get(soon.id)?.value("dueSoonAlertId") == .string(soonAlert.id.description))
            #expect(try await store.get(foreign.id)?.value("dueSoonAlertId") == nil)

            // Second run: nothing new.
            let seq = try store.ownSeq()
            #expect(try await store.raiseDueSoonAlerts().isEmpty)
            #expect(try store.ownSeq() == seq)
            // Time passes: D-LATER enters the horizon and is warned once.
            clock.advance(2 * hour)
            let later = try await store.raiseDueSoonAlerts()
            #expect(later.map { $0.value("headline")?.stringValue?.hasPrefix("Hồ sơ D-LATER") } == [true])
            #expect(try await store.raiseDueSoonAlerts().isEmpty)
            // The peer, which authored D-PEER, does warn for it.
            let peerAlerts = try await peer.raiseDueSoonAlerts()
            #expect(peerAlerts.map { $0.value("sourceRef") } == [.string(foreign.id.description)])
        }
    }
}
