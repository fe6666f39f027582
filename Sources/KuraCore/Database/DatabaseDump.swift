import Foundation

/// A database copied into a temp file for a backup: the file to store, what to call it in the
/// snapshot, and what was recorded about the database at that moment.
struct DatabaseDump {
    var engine: DatabaseEngine
    var name: String
    /// The temp file (under the repository's `tmp/`), removed once stored.
    var file: String
    var serverVersion: String
    var toolVersion: String
    var tables: [TableStatistics]
    /// The database's location without password, recorded as one of the snapshot's paths.
    var locator: String

    /// `database_<name>.sql` or `database_<name>.sqlite3`.
    var snapshotPath: String { "database_\(name).\(engine.dumpExtension)" }

    /// Whether bytes at the start of a file are those of a pg_dump custom-format file (magic `PGDMP`).
    static func isCustomFormat(_ start: UnsafeRawBufferPointer) -> Bool {
        start.count >= 5 && start[0] == 0x50 && start[1] == 0x47 && start[2] == 0x44 && start[3] == 0x4D && start[4] == 0x50
    }

    /// Dumps the database at `url` into `temporaryDirectory`.
    static func make(_ url: DatabaseURL, temporaryDirectory: String) throws -> DatabaseDump {
        switch url.engine {
        case .postgresql: return try PostgresDumper.dump(url, temporaryDirectory: temporaryDirectory)
        case .sqlite: return try SQLiteCopier.copy(url, temporaryDirectory: temporaryDirectory)
        }
    }
}
