#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import IOCModel
@testable import IOCSync
import Testing

/// The receiver's UTF-8 check (`UTF8Validation`) must accept and refuse exactly what the
/// standard library does: a string it let through that the standard library would refuse is a
/// malformed entry stored and relayed; one it refused wrongly is a valid bundle rejected.
///
/// Sized for a debug build in CI. The battery it was written against also ran, in release, every
/// 3-byte string and 200,000 mutations (docs/testing.md).
@Suite struct UTF8ValidationTests {
    /// The standard library's verdict.
    static func reference(_ bytes: UnsafeRawBufferPointer) -> Bool {
        String(validating: bytes.assumingMemoryBound(to: UInt8.self), as: UTF8.self) != nil
    }

    /// Places `sequence` bare and inside ASCII so it lands on every kind of boundary of the
    /// 16-byte blocks: the short path, the first block, between blocks, across the last block
    /// and the tail, and ending the buffer. (An array may have readable bytes past its end, so
    /// reads outside the buffer are caught by the guard-page test, not here.) Returns the
    /// mismatches, at most `limit`.
    static func mismatches(_ sequences: some Sequence<[UInt8]>, limit: Int = 10) -> [String] {
        var found: [String] = []
        for sequence in sequences {
            let n = sequence.count
            for (before, after) in [(0, 0), (5, 0), (15, 17), (31, 20), (32 - n, 0), (45, 0), (47, 5), (16 - n, 0)] where before >= 0 {
                let bytes = [UInt8](repeating: 0x61, count: before) + sequence + [UInt8](repeating: 0x61, count: after)
                let (ours, theirs) = bytes.withUnsafeBytes { (UTF8Validation.isValid($0), reference($0)) }
                if ours != theirs, found.count < limit {
                    found.append("\(sequence.map { String($0, radix: 16) }) after \(before) bytes: \(ours), stdlib \(theirs)")
                }
            }
        }
        return found
    }

    @Test func emptyIsValidAndKnownAnswersHold() {
        #expect(UTF8Validation.isValid(UnsafeRawBufferPointer(start: nil, count: 0)))
        let cases: [([UInt8], Bool)] = [
            (Array("Phản ánh ngập nước tại đường Nguyễn Văn Linh, phường Tân Phong".utf8), true),
            ([0x7F], true), ([0xC2, 0x80], true), ([0xE0, 0xA0, 0x80], true), ([0xED, 0x9F, 0xBF], true),
            ([0xF0, 0x90, 0x80, 0x80], true), ([0xF4, 0x8F, 0xBF, 0xBF], true),
            ([0x80], false), ([0xC0, 0x80], false), ([0xC1, 0xBF], false),  // stray, overlong
            ([0xE0, 0x9F, 0xBF], false), ([0xF0, 0x8F, 0xBF, 0xBF], false),  // overlong
            ([0xED, 0xA0, 0x80], false),  // surrogate
            ([0xF4, 0x90, 0x80, 0x80], false), ([0xF5, 0x80, 0x80, 0x80], false), ([0xFF], false),  // above U+10FFFF
            ([0xC2], false), ([0xE1, 0x80], false), ([0xF0, 0x90, 0x80], false),  // truncated
            ([0xC2, 0x41], false), ([0xE1, 0x80, 0xC2, 0x80], false),  // interrupted
        ]
        for (bytes, valid) in cases {
            #expect(bytes.withUnsafeBytes(UTF8Validation.isValid) == valid, "\(bytes)")
        }
        #expect(Self.mismatches(cases.map(\.0)).isEmpty)
    }

    @Test func everySequenceOfOneAndTwoBytes() {
        let one = (0...255).map { [UInt8($0)] }
        let two = (0...0xFFFF).map { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
        #expect(Self.mismatches(one + two) == [])
    }

    /// Every lead byte with the values at the edges of the Table 3-7 ranges in the bytes after it.
    @Test func threeAndFourByteSequencesAtTheRangeEdges() {
        let edges: [UInt8] = [0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xF0, 0xF4, 0xF5, 0xFF]
        var three: [[UInt8]] = []
        for lead in 0...255 { for b in edges { for c in edges { three.append([UInt8(lead), b, c]) } } }
        var four: [[UInt8]] = []
        for lead in UInt8(0xF0)...0xF7 { for b in edges { for c in edges { for d in edges { four.append([lead, b, c, d]) } } } }
        #expect(Self.mismatches(three) == [])
        #expect(Self.mismatches(four) == [])
    }

    /// Buffers of every length up to 300 bytes that start right after, or end right before, a
    /// page the process may not read: a load outside the buffer crashes the test.
    @Test func neverReadsOutsideTheBuffer() throws {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let mapped = mmap(nil, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let base = mapped, base != MAP_FAILED else {
            Issue.record("mmap failed")
            return
        }
        defer { munmap(base, 3 * page) }
        try #require(mprotect(base, page, PROT_NONE) == 0 && mprotect(base + 2 * page, page, PROT_NONE) == 0)
        let text = Array("Trạm đo mực nước sông Hàn: 2,35 m, vượt báo động 1. ".utf8)
        let middle = (base + page).assumingMemoryBound(to: UInt8.self)
        for length in 0...300 {
            for start in [middle, middle + page - length] {  // after the first guard, before the second
                for k in 0..<length { start[k] = text[k % text.count] }
                if length > 0 { start[length - 1] = length % 3 == 0 ? 0xE1 : start[length - 1] }  // sometimes a cut sequence
                let bytes = UnsafeRawBufferPointer(start: start, count: length)
                #expect(UTF8Validation.isValid(bytes) == Self.reference(bytes), "length \(length)")
            }
        }
    }

    /// Text cut inside its last sequence is refused at every length and alignment.
    @Test func textEndingInsideASequenceIsRefused() {
        for scalar in ["é", "ả", "ễ", "€", "𝄞"] {
            let encoded = Array(scalar.utf8)
            for before in 0...40 {
                let text = [UInt8](repeating: 0x78, count: before)
                #expect((text + encoded).withUnsafeBytes(UTF8Validation.isValid))
                for cut in 1..<encoded.count {
                    #expect(!(text + encoded[..<cut]).withUnsafeBytes(UTF8Validation.isValid), "\(before) + \(cut)")
                }
            }
        }
    }

    /// Seeded mutations of Vietnamese text up to 2,000 bytes: bytes replaced, flipped, removed,
    /// inserted, and invalid sequences spliced in, often in the last bytes; the verdicts must
    /// match and both outcomes must be well represented.
    @Test func mutatedVietnameseTextMatchesTheStandardLibrary() {
        let seed: UInt64 = 0x5EED_2026_1129
        var rng = SeededRandom(seed: seed)
        let sentences = [
            "Phản ánh ngập nước tại đường Nguyễn Văn Linh, phường Tân Phong.",
            "Cây xanh gãy đổ chắn ngang đường Lê Duẩn, phường Hải Châu 1.",
            "Trạm đo mưa Hòa Khánh: lượng mưa 1 giờ vượt ngưỡng cảnh báo 50 mm.",
            "Hồ sơ cấp phép xây dựng sắp đến hạn xử lý trong 24 giờ.", "ID 0190a1b2-c3d4-7e5f; https://ioc.danang.gov.vn/",
        ]
        let invalid: [[UInt8]] = [
            [0x80], [0xC0, 0x80], [0xE0, 0x9F, 0xBF], [0xED, 0xA0, 0x80], [0xF0, 0x8F, 0xBF, 0xBF], [0xF4, 0x90, 0x80, 0x80],
            [0xF5], [0xFF], [0xC2], [0xE1, 0xBA], [0xF0, 0x9F, 0x98],
        ]
        var valid = 0
        var failures: [String] = []
        let runs = 4000
        for run in 0..<runs {
            let length = Int.random(in: 0...2000, using: &rng)
            var bytes: [UInt8] = []
            while bytes.count < length { bytes += Array(sentences.randomElement(using: &rng)!.utf8) + [0x20] }
            bytes.removeLast(bytes.count - length)  // may cut a sequence: that is a mutation too
            for _ in 0..<Int.random(in: 0...2, using: &rng) {
                let at = Bool.random(using: &rng)
                    ? Int.random(in: 0...bytes.count, using: &rng) : max(0, bytes.count - Int.random(in: 1...20, using: &rng))
                switch Int.random(in: 0..<5, using: &rng) {
                case 0 where at < bytes.count: bytes[at] = UInt8.random(in: 0...255, using: &rng)
                case 1 where at < bytes.count: bytes[at] ^= 1 << UInt8.random(in: 0...7, using: &rng)
                case 2 where at < bytes.count: bytes.remove(at: at)
                case 3: bytes.insert(contentsOf: invalid.randomElement(using: &rng)!, at: at)
                default: bytes.insert(contentsOf: Array("ữ".utf8), at: at)
                }
            }
            let (ours, theirs) = bytes.withUnsafeBytes { (UTF8Validation.isValid($0), Self.reference($0)) }
            if theirs { valid += 1 }
            if ours != theirs, failures.count < 5 { failures.append("run \(run): ours \(ours), stdlib \(theirs), \(bytes.count) bytes") }
        }
        #expect(failures == [], "seed \(seed)")
        #expect(valid > runs / 10 && valid < runs * 9 / 10, "seed \(seed): \(valid) of \(runs) valid")
    }
}
