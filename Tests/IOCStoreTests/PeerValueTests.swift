import Foundation
import IOCModel
import IOCStore
import IOCSync
import Testing

/// Values that arrive from peers are merged without schema checks (a newer node's fields and
/// vocabulary must survive relaying), so local rules must cope with values they do not know.
@Suite struct PeerValueTests {
    @Test func aStationLevelFromANewerPeerDoesNotCrashThresholdChecks() async throws {
        // The parent owns the directory: a crashing child never runs its own cleanup.
        try await withTemporaryDirectory { dir in
            do {
                await #expect(processExitsWith: .success) { [dir = dir as String] in
                    try await stationWithForeignLevelTakesAReading(dir: dir)
                }
            }
        }
    }
}

/// Applies a peer's station whose `level` is "extreme" (unknown here), then records a reading.
private func stationWithForeignLevelTakesAReading(dir: String) async throws {
    do {
        let store = try openStore(dir, clock: ManualClock(t0))
        var rng = SystemRandomNumberGenerator()
        let id = RecordID.generate(milliseconds: UInt64(t0), using: &rng)
        let entry = JournalEntry(
            origin: "province", seq: 1, hlc: HLC(milliseconds: UInt64(t0), counter: 0), recordID: id, kind: "station",
            op: .create, context: VersionVector(),
            body: [
                "code": "S-9", "name": "Trạm sông Hàn", "stationType": "river-level", "status": "active", "unit": "20194",
                "location": ["lat": 16.07, "lon": 108.22], "warningThreshold": 2.5, "dangerThreshold": 3.5,
                "level": "extreme", "originNode": "province",
            ])
        let report = try store.apply([.entry(entry.encoded())], from: "province")
        precondition(report.applied == 1)
        let (obs, _) = try await store.addObservations(
            [["stationId": .string(id.description), "value": 1.0, "observedAt": .string(Timestamp.format(t0))]],
            actor: .system)
        precondition(obs.count == 1)
    }
}
