import Foundation

/// The JSON beside an archive (`backup_complet_<db>_<ts>.json`), keys in the documented order:
/// backup_file, timestamp, datetime, database, type, size_mb, hash, includes, status, then
/// Kura's extra keys.
public struct ArchiveManifest: Equatable, Sendable {
    /// The sidecar is well under a kilobyte (plus a table list); a larger file is not one.
    static let maxFileSize = 16 << 20

    public var backupFile: String
    /// `YYYYMMDD_HHMMSS`, local time of the snapshot.
    public var timestamp: String
    /// ISO 8601 local time, as Python's `datetime.isoformat()` writes it.
    public var datetime: String
    public var database: String
    public var sizeBytes: Int64
    /// SHA-256 (hex) of the .tar.gz bytes.
    public var hash: String
    public var includes: [String]
    public var snapshot: String?
    public var files: Int?
    public var databaseEngine: String?
    public var pgDumpVersion: String?

    /// `size_mb`: bytes / 1,048,576 rounded to 2 decimals.
    public var sizeMB: Double { (Double(sizeBytes) / 1_048_576 * 100).rounded() / 100 }

    /// The JSON text, with the documented keys first and in order.
    public func encoded() -> String {
        func string(_ value: String) -> String {
            String(decoding: (try? JSONEncoder.kura.encode(value)) ?? Data("\"\"".utf8), as: UTF8.self)
        }
        var pairs: [(String, String)] = [
            ("backup_file", string(backupFile)), ("timestamp", string(timestamp)), ("datetime", string(datetime)),
            ("database", string(database)), ("type", string("COMPLETE")), ("size_mb", String(format: "%.2f", sizeMB)),
            ("hash", string(hash)), ("includes", "[" + includes.map(string).joined(separator: ", ") + "]"),
            ("status", string("completed")),
        ]
        if let snapshot { pairs.append(("snapshot", string(snapshot))) }
        pairs.append(("size_bytes", String(sizeBytes)))
        if let files { pairs.append(("files", String(files))) }
        if let databaseEngine { pairs.append(("database_engine", string(databaseEngine))) }
        if let pgDumpVersion { pairs.append(("pg_dump_version", string(pgDumpVersion))) }
        pairs.append(("kura_version", string(KuraVersion.current)))
        return "{\n" + pairs.map { "  \(string($0.0)): \($0.1)" }.joined(separator: ",\n") + "\n}\n"
    }
}
