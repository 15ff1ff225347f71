/// "Did you mean …?" for unknown keys: a typo such as `prent` or `valid_from` should point at the
/// key the author meant, not just list every allowed key.
enum KeySuggestion {
    /// The allowed key closest to `key` by edit distance (case-insensitive), if it is close enough
    /// to be a plausible typo.
    static func closest(to key: String, among allowed: [String]) -> String? {
        let typed = Array(key.lowercased())
        let scored = allowed.map { ($0, distance(typed, Array($0.lowercased()))) }
        guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
        return best.1 <= max(2, typed.count / 3) ? best.0 : nil
    }

    /// Levenshtein distance, two rows at a time.
    private static func distance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for (i, left) in a.enumerated() {
            var current = [i + 1]
            current.reserveCapacity(b.count + 1)
            for (j, right) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (left == right ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}
