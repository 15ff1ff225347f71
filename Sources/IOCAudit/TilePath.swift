/// C2SP tlog-tiles resource paths (`tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]`), relative
/// to the log prefix. One function so writer and checker can never disagree on a name.
public enum TilePath {
    /// Hashes per full tile (tile height 8).
    public static let width = 256

    /// Encodes a tile index in zero-padded 3-digit groups, all but the last prefixed with `x`
    /// (1234067 → `x001/x234/067`).
    public static func encodeIndex(_ n: Int) -> String {
        precondition(n >= 0, "tile index must not be negative")
        var n = n
        var path = pad3(n % 1000)
        var guardCount = 0
        while n >= 1000 && guardCount < 8 {
            n /= 1000
            path = "x" + pad3(n % 1000) + "/" + path
            guardCount += 1
        }
        return path
    }

    /// Path of the hash tile at `level`, `index`; `partialWidth` in 1...255 for a partial tile.
    public static func tile(level: Int, index: Int, partialWidth: Int? = nil) -> String {
        "tile/\(level)/\(encodeIndex(index))" + suffix(partialWidth)
    }

    /// Path of the entry bundle `index`.
    public static func entries(index: Int, partialWidth: Int? = nil) -> String {
        "tile/entries/\(encodeIndex(index))" + suffix(partialWidth)
    }

    private static func suffix(_ w: Int?) -> String {
        guard let w, w > 0, w < width else { return "" }
        return ".p/\(w)"
    }

    private static func pad3(_ v: Int) -> String {
        v < 10 ? "00\(v)" : v < 100 ? "0\(v)" : "\(v)"
    }
}
