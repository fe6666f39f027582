import Foundation
import GRDB

/// Copies a SQLite database for a backup with SQLite's online backup API, which sees one
/// consistent state even while the site writes (WAL or rollback journal alike), then checks the
/// copy with `PRAGMA integrity_check` and counts every table's rows.
enum SQLiteCopier {
    static func copy(_ url: DatabaseURL, temporaryDirectory: String) throws -> DatabaseDump {
        guard let path = url.path else { throw KuraError.invalidArgument("no SQLite path in \(url)") }
        guard FileSystem.exists(path) else {
            throw KuraError.database(.sqliteMissing(path: path))
        }
        let file = temporaryDirectory + "/sqlite-" + FileSystem.randomName()
        do {
            try FileSystem.createEmptyPrivateFile(file)
            var configuration = Configuration()
            configuration.readonly = true
            configuration.busyMode = .timeout(30)
            let source = try DatabaseQueue(path: path, configuration: configuration)
            let copy = try DatabaseQueue(path: file)
            try source.backup(to: copy)
            try source.close()
            let (tables, version) = try check(copy, label: path)
            try copy.close()
            return DatabaseDump(engine: .sqlite, name: try url.name, file: file, serverVersion: version,
                                toolVersion: "SQLite backup API \(version)", tables: tables, locator: url.locator)
        } catch let error as KuraError {
            unlink(file)
            throw error
        } catch {
            unlink(file)
            throw KuraError.database(.sqliteCopyFailed(path: path, reason: "\(error)"))
        }
    }

    /// Runs `integrity_check` and counts the rows of each table; throws when the check fails.
    static func check(_ database: DatabaseQueue, label: String) throws -> (tables: [TableStatistics], sqliteVersion: String) {
        try database.read { db in
            let result = try String.fetchAll(db, sql: "PRAGMA integrity_check")
            guard result == ["ok"] else {
                throw KuraError.integrity(.databaseCheck(label: label, findings: result))
            }
            let version = try String.fetchOne(db, sql: "SELECT sqlite_version()") ?? "?"
            let names = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            let tables = try names.map { name in
                TableStatistics(schema: "", name: name, sizeBytes: 0,
                                rows: try Int64.fetchOne(db, sql: "SELECT count(*) FROM \(name.quotedDatabaseIdentifier)") ?? 0)
            }
            return (tables, version)
        }
    }
}
