import IOCModel


/// Field-report bodies of about 1 KB with varied Vietnamese text (a few hundred common words),
/// like the records the performance anchors measured, so compression figures stay honest.
public enum BenchmarkData {
    static let words = """
        người dân phản ánh tình trạng ngập nước kéo dài tại khu vực tổ dân phố sau mưa lớn đêm qua gây khó khăn cho \
        việc đi lại của học sinh và công nhân đề nghị chính quyền địa phương sớm kiểm tra khơi thông cống rãnh thu gom \
        rác thải xử lý dứt điểm lấn chiếm vỉa hè lòng đường đèn tín hiệu giao thông hư hỏng cây xanh gãy đổ nguy hiểm \
        mùi hôi từ kênh thoát nước ô nhiễm không khí tiếng ồn công trình xây dựng ban đêm tụ tập đông người gây mất trật \
        tự an ninh khu dân cư đường ống cấp nước bị vỡ áp lực nước yếu mất điện cục bộ trạm biến áp chợ tạm bày bán hàng \
        rong thực phẩm không rõ nguồn gốc xuất xứ nghi ngộ độc sốt xuất huyết muỗi phát triển nhiều ổ dịch phun thuốc \
        diệt muỗi vệ sinh môi trường đoàn kiểm tra liên ngành phường xã đã tiếp nhận chuyển xử lý đúng hạn phản hồi kết quả
        """.split(separator: " ").map(String.init)

    public static func fieldReport(_ i: Int, rng: inout SeededRandom, unit: String, now: Int64) -> [String: JSONValue] {
        var description = ""
        while description.utf8.count < 620 { description += rng.pick(words) + " " }
        return [
            "channel": .string(["hotline-1022", "app", "web", "camera-ai"][i % 4]),
            "category": .string(Vocabulary.reportCategories[i % 8]),
            "title": .string("Phản ánh số \(i): " + (0..<6).map { _ in rng.pick(words) }.joined(separator: " ")),
            "description": .string(description.trimmingCharacters(in: .whitespaces)),
            "address": .string("Số \(i % 300 + 1) đường Nguyễn Văn Linh, phường Hải Châu, thành phố Đà Nẵng"),
            "location": ["lat": .double(16.0 + Double(i % 1000) / 10000), "lon": .double(108.2 + Double(i % 977) / 10000)],
            "assignedUnit": .string(unit),
            "dueAt": .string(Timestamp.format(now + 86_400_000)),
        ]
    }
}
