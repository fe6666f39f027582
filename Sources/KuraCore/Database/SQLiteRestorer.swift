import Foundation
import GRDB

/// Restores a SQLite database file: the copy is written beside the target, checked with
/// `integrity_check`, and renamed over the target (its `-wal` and `-shm` files removed first, as
/// they belong to the old database). Stop the site while its SQLite database is restored.
enum SQLiteRestorer {
    /// True when the target file exists and is not empty.
    static func hasData(_ url: DatabaseURL) -> Bool {
        guard let path = url.path else { return false }
        var info = stat()
        return stat(path, &info) == 0 && info.st_size > 0
    }

    /// Tables in the target (at least 1 for a file that is not empty but unreadable); nil when
    /// there is no file.
    static func tableCount(_ url: DatabaseURL) -> Int? {
        guard hasData(url), let path = url.path else { return nil }
        var configuration = Configuration()
        configuration.readonly = true
        let count = try? DatabaseQueue(path: path, configuration: configuration).read {
            try Int.fetchOne($0, sql: "SELECT count(*) FROM sqlite_master WHERE type IN ('table', 'view')")
        }
        return max(count.flatMap { $0 } ?? 1, 1)
    }

    /// Moves the verified copy `file` (in the target's directory) into place.
    static func restore(copy file: String, into url: DatabaseURL, force: Bool) throws -> [TableStatistics] {
        guard let path = url.path else { throw KuraError.invalidArgument("no SQLite path in \(url)") }
        if let tables = tableCount(url), !force { throw KuraError.databaseNotEmpty(database: path, tables: tables) }
        let database = try DatabaseQueue(path: file)
        let (tables, _) = try SQLiteCopier.check(database, label: "restored copy of \(path)")
        try database.close()
        unlink(path + "-wal")
        unlink(path + "-shm")
        try FileSystem.publish(file, as: path)
        return tables
    }
}
