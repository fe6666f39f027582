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
    /// SHA-256 (hex) of the archive file's bytes (the `.tar.gz`, or the `.tar.gz.age`).
    public var hash: String
    public var includes: [String]
    public var snapshot: String?
    public var files: Int?
    public var databaseEngine: String?
    public var pgDumpVersion: String?
    /// Every table of the dump with its exact row count at backup (`"tables": {"schema.table":
    /// rows}`), so that a restore from the archive checks them as a snapshot restore does.
    public var tables: [TableStatistics]?
    /// `"age"` for an archive encrypted with age (`backup_file` then ends in `.tar.gz.age`).
    public var encryption: String?

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
        if let encryption { pairs.append(("encryption", string(encryption))) }
        if let snapshot { pairs.append(("snapshot", string(snapshot))) }
        pairs.append(("size_bytes", String(sizeBytes)))
        if let files { pairs.append(("files", String(files))) }
        if let databaseEngine { pairs.append(("database_engine", string(databaseEngine))) }
        if let pgDumpVersion { pairs.append(("pg_dump_version", string(pgDumpVersion))) }
        if let tables {
            let rows = tables.map { "    \(string($0.qualifiedName)): \($0.rows)" }
            pairs.append(("tables", rows.isEmpty ? "{}" : "{\n" + rows.joined(separator: ",\n") + "\n  }"))
        }
        pairs.append(("kura_version", string(KuraVersion.current)))
        return "{\n" + pairs.map { "  \(string($0.0)): \($0.1)" }.joined(separator: ",\n") + "\n}\n"
    }

    /// The `"tables"` a sidecar JSON announces; nil when it has none (exported before Kura wrote
    /// them). PostgreSQL names are `schema.table`, split at the first dot; SQLite names are whole.
    static func tables(json bytes: [UInt8], name: String, engine: DatabaseEngine) throws -> [TableStatistics]? {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else {
            throw KuraError.integrity(.archive(path: name, .invalidManifest))
        }
        guard let tables = object["tables"] else { return nil }
        guard let counts = tables as? [String: Any] else { throw KuraError.integrity(.archive(path: name, .invalidManifest)) }
        return try counts.keys.sorted().map { key in
            guard let rows = (counts[key] as? NSNumber)?.int64Value, rows >= 0 else {
                throw KuraError.integrity(.archive(path: name, .invalidManifest))
            }
            if engine == .postgresql, let dot = key.firstIndex(of: ".") {
                return TableStatistics(schema: String(key[..<dot]), name: String(key[key.index(after: dot)...]), sizeBytes: 0, rows: rows)
            }
            return TableStatistics(schema: "", name: key, sizeBytes: 0, rows: rows)
        }
    }
}
