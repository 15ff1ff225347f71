import IOCModel
import IOCStore
import IOCSync

/// Realistic Vietnamese sample data for the demo, tests and benchmarks: field reports from the
/// 1022 hotline and the citizen app, dossiers close to their due time, rain and river-level
/// stations with readings that cross their thresholds. All text is NFC with diacritics.
public enum SampleData {
    static let reports: [(category: String, title: String, description: String, address: String)] = [
        ("flooding", "Ngập sâu tại đường Nguyễn Văn Linh", "Nước ngập khoảng 40 cm sau mưa lớn, xe máy chết máy nhiều.",
         "Đường Nguyễn Văn Linh, phường Hải Châu"),
        ("flooding", "Cống thoát nước bị tắc", "Rác thải chặn miệng cống, nước không thoát được khi mưa.",
         "Kiệt 45 Hoàng Diệu"),
        ("pollution", "Khói bụi từ bãi đốt rác tự phát", "Người dân đốt rác vào buổi tối gây khói ảnh hưởng khu dân cư.",
         "Khu dân cư An Hải Bắc"),
        ("traffic", "Đèn tín hiệu giao thông không hoạt động", "Đèn giao thông tại ngã tư bị tắt từ sáng, ùn tắc kéo dài.",
         "Ngã tư Lê Duẩn – Ông Ích Khiêm"),
        ("infrastructure", "Cây xanh gãy đổ chắn đường", "Cây phượng lớn gãy sau giông, chắn một nửa lòng đường.",
         "Đường Trần Phú"),
        ("food-safety", "Nghi ngộ độc thực phẩm tại quán ăn", "Nhiều người đau bụng sau khi ăn trưa tại quán cơm gần chợ.",
         "Chợ Cồn"),
        ("epidemic", "Nhiều ca sốt xuất huyết trong tổ dân phố", "Tổ dân phố 12 có ba ca sốt xuất huyết trong tuần, cần phun thuốc.",
         "Tổ 12, phường Thanh Khê"),
        ("urban-order", "Lấn chiếm vỉa hè kinh doanh", "Quán nước bày bàn ghế kín vỉa hè, người đi bộ phải xuống lòng đường.",
         "Đường Bạch Đằng"),
        ("environment", "Cá chết hàng loạt trên sông", "Phát hiện cá chết trôi dạt ven sông, nước có mùi hôi.",
         "Bờ sông Hàn, đoạn cầu Rồng"),
    ]
    static let channels = ["hotline-1022", "app", "web", "hotline-1022", "camera-ai", "officer"]
    static let names = ["Nguyễn Văn An", "Trần Thị Bích", "Lê Hoàng Cường", "Phạm Thị Dung", "Võ Minh Đức", "Đặng Thu Hà"]
    static let procedures = [
        ("Cấp giấy phép xây dựng nhà ở riêng lẻ", "1.009972"),
        ("Đăng ký khai sinh", "1.001193"),
        ("Cấp đổi giấy chứng nhận quyền sử dụng đất", "1.004227"),
        ("Đăng ký thành lập hộ kinh doanh", "2.000720"),
        ("Cấp giấy chứng nhận đủ điều kiện an toàn thực phẩm", "1.003348"),
    ]

    /// The `index`-th sample field report body and its reporter (valid API input).
    public static func fieldReport(_ index: Int, dueInHours: Int = 48, now: Int64) -> (fields: [String: JSONValue], reporter: [String: JSONValue]) {
        let r = reports[index % reports.count]
        let fields: [String: JSONValue] = [
            "channel": .string(channels[index % channels.count]), "category": .string(r.category),
            "title": .string(r.title), "description": .string(r.description), "address": .string(r.address),
            "location": ["lat": .double(16.0544 + Double(index % 97) * 0.0007), "lon": .double(108.2022 + Double(index % 89) * 0.0006)],
            "dueAt": .string(Timestamp.format(now + Int64(dueInHours) * 3_600_000)),
        ]
        let reporter: [String: JSONValue] = [
            "name": .string(names[index % names.count]), "phone": .string("09\(String(format: "%08d", 10_000_000 + index * 7919 % 90_000_000))"),
        ]
        return (fields, reporter)
    }

    /// Seeds a node: reports in several statuses, dossiers (some due within 24 h), two stations
    /// with readings that cross their thresholds. Returns how many records were written.
    @discardableResult
    public static func seed(store: NodeStore, unit: String, reports count: Int = 24) async throws -> Int {
        let now = store.now()
        let actor = Actor(userID: "seed", role: .admin)
        var written = 0
        for i in 0..<count {
            let (fields, reporter) = fieldReport(i, dueInHours: 24 + (i % 5) * 12, now: now - Int64(i) * 600_000)
            let (report, _) = try await store.createFieldReport(
                fields: try RecordKind.fieldReport.schema.validateCreate(fields, now: now), reporter: reporter, actor: actor,
                unit: unit)
            written += 2
            let path: [(String, [String: JSONValue])] = [
                ("verified", [:]), ("assigned", ["assignedUnit": .string(unit)]), ("in_progress", [:]),
                ("resolved", ["resolution": "Đã xử lý xong, đã phản hồi người dân."]),
            ]
            for (to, set) in path.prefix(i % 5) {
                _ = try await store.transition(id: report.id, kind: .fieldReport, to: to, note: nil, changes: set, actor: actor)
            }
        }
        for (i, p) in procedures.enumerated() {
            let received = now - Int64(3 + i) * 86_400_000
            let due = now + Int64(i * 10 - 4) * 3_600_000  // some overdue, some due within 24 h, some later
            _ = try await store.create(
                kind: .dossier,
                fields: try RecordKind.dossier.schema.validateCreate(
                    [
                        "code": .string("H17.\(String(format: "%03d", 100 + i))-251124-\(String(format: "%04d", 31 + i))"),
                        "procedure": .string(p.0), "procedureCode": .string(p.1),
                        "receivedAt": .string(Timestamp.format(received)), "dueAt": .string(Timestamp.format(due)),
                        "status": "processing",
                    ], now: now), actor: actor, unit: unit)
            written += 1
        }
        let rain = try await store.create(
            kind: .station,
            fields: try RecordKind.station.schema.validateCreate(
                [
                    "code": "DN-MUA-01", "name": "Trạm đo mưa Hải Châu", "stationType": "rain", "measure": "rainfall_1h",
                    "unitOfMeasure": "mm", "location": ["lat": 16.0678, "lon": 108.2208], "warningThreshold": 50,
                    "dangerThreshold": 100,
                ], now: now), actor: actor, unit: unit)
        let river = try await store.create(
            kind: .station,
            fields: try RecordKind.station.schema.validateCreate(
                [
                    "code": "DN-SONGHAN-01", "name": "Trạm thủy văn sông Hàn", "stationType": "river-level",
                    "measure": "water_level", "unitOfMeasure": "m", "location": ["lat": 16.0611, "lon": 108.2272],
                    "warningThreshold": 1.8, "dangerThreshold": 2.5,
                ], now: now), actor: actor, unit: unit)
        written += 2
        var batch: [[String: JSONValue]] = []
        for h in 0..<6 {
            let at = JSONValue.string(Timestamp.format(now - Int64(5 - h) * 3_600_000))
            batch.append(["stationId": .string(rain.id.description), "value": .double([12, 35, 58, 87, 120, 64][h]), "observedAt": at])
            batch.append(["stationId": .string(river.id.description), "value": .double([1.2, 1.4, 1.7, 2.0, 2.6, 2.3][h]), "observedAt": at])
        }
        let (obs, alerts) = try await store.addObservations(batch, actor: actor)
        written += obs.count + alerts.count
        _ = try await store.create(
            kind: .kpi,
            fields: try RecordKind.kpi.schema.validateCreate(
                [
                    "code": "FR_PROCESSED_RATE", "name": "Tỷ lệ phản ánh hiện trường đã xử lý", "period": "2026-11",
                    "value": 95.3, "target": 95, "unitOfMeasure": "%", "domain": "Chính quyền số",
                ], now: now), actor: actor, unit: unit)
        written += 1
        return written
    }
}
