import Foundation

/// The small immutable record under `snapshots/<id>`: what `kura snapshots` lists without opening
/// any snapshot database, and the chunk list of the snapshot database itself. Its id is the
/// SHA-256 of its JSON bytes.
public struct SnapshotRecord: Codable, Equatable, Sendable {
    /// A record lists its snapshot database's chunks (~70 bytes per 32 KiB of database): 64 MiB
    /// is a database of ~30 GB. A larger file is not a record (verification records share it).
    static let maxFileSize = 64 << 20

    public var version: Int
    /// RFC 3339 with nanoseconds and the local offset at backup time.
    public var time: String
    public var host: String
    public var tags: [String]
    /// The absolute source paths, as given to `backup`.
    public var paths: [String]
    /// The database name, when the snapshot holds a database dump (nil: media only).
    public var database: String?
    /// `postgresql` or `sqlite` when the snapshot holds a database.
    public var databaseEngine: DatabaseEngine?
    /// The parent snapshot's id (hex), whose entries were used for change detection.
    public var parent: String?
    /// The snapshot database, stored as chunks.
    public var tree: Tree
    public var kuraVersion: String
    public var summary: BackupSummary

    public struct Tree: Codable, Equatable, Sendable {
        public var size: Int64
        public var chunks: [String]
    }

    enum CodingKeys: String, CodingKey {
        case version, time, host, tags, paths, database, parent, tree, summary
        case kuraVersion = "kura_version"
        case databaseEngine = "database_engine"
    }

    /// Seconds since the epoch.
    public var epochSeconds: Double { Timestamp.parse(time) ?? 0 }

    /// `YYYYMMDD_HHMMSS` in the local time of the backup, as in export file names.
    public var compactLocalTime: String {
        let digits = Array(time.utf8)
        guard digits.count >= 19 else { return time }
        let pick: (Range<Int>) -> String = { String(decoding: digits[$0], as: UTF8.self) }
        return pick(0..<4) + pick(5..<7) + pick(8..<10) + "_" + pick(11..<13) + pick(14..<16) + pick(17..<19)
    }

    /// The path of the database dump in the snapshot tree, if any.
    public var databaseFile: String? {
        guard let database, let databaseEngine else { return nil }
        return "database_\(database).\(databaseEngine.dumpExtension)"
    }

    /// `backup_complet_<db>_<YYYYMMDD_HHMMSS>`: the name of this snapshot's export archive.
    public var exportName: String {
        "backup_complet_\(database ?? "files")_\(compactLocalTime)"
    }
}

/// A snapshot: its id and record.
public struct Snapshot: Equatable, Sendable {
    public var id: ChunkID
    public var record: SnapshotRecord
}
