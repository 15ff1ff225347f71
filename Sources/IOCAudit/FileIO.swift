import Foundation

/// The only file-system access in this module: read a file, write one atomically, list a
/// directory. Wrapped so every I/O failure becomes a typed `AuditError` naming the path.
enum FileIO {
    static func exists(_ url: URL) -> Bool { FileManager.default.fileExists(atPath: url.path) }

    static func read(_ url: URL) throws(AuditError) -> [UInt8] {
        guard exists(url) else { throw AuditError(.missingFile, "missing file \(url.path)") }
        do { return [UInt8](try Data(contentsOf: url)) } catch {
            throw AuditError(.io, "cannot read \(url.path): \(error.localizedDescription)")
        }
    }

    static func readText(_ url: URL) throws(AuditError) -> String {
        let bytes = try read(url)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw AuditError(.malformedNote, "\(url.path) is not valid UTF-8")
        }
        return text
    }

    /// Writes via a temporary file and rename, creating parent directories.
    static func write(_ bytes: [UInt8], to url: URL) throws(AuditError) {
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: url, options: .atomic)
        } catch {
            throw AuditError(.io, "cannot write \(url.path): \(error.localizedDescription)")
        }
    }

    static func write(_ text: String, to url: URL) throws(AuditError) { try write(Array(text.utf8), to: url) }

    /// Names in a directory, sorted; empty when the directory does not exist.
    static func list(_ url: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }
}
