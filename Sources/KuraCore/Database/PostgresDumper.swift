import Foundation

/// Dumps a PostgreSQL database for a backup.
///
/// A libpq connection opens a repeatable-read transaction and exports its snapshot
/// (`pg_export_snapshot()`); the exact row count of every user table is taken in that
/// transaction, and `pg_dump --snapshot` reads the very same snapshot while the connection holds
/// it open. The dump is custom format, uncompressed (the store compresses, and night-to-night
/// changes deduplicate), spooled to a temp file so that its table of contents carries data
/// offsets (`pg_restore -j` and reordering need them). A dump that fails, is empty, or that
/// `pg_restore --list` cannot read is an error and is deleted.
enum PostgresDumper {
    static func dump(_ url: DatabaseURL, temporaryDirectory: String) throws -> DatabaseDump {
        let parameters = try PostgresParameters(url: url)
        let connection = try PostgresConnection(parameters)
        let tools = try PostgresTools.find(forServerVersion: connection.serverVersion)
        try connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        guard let snapshotName = try connection.query("SELECT pg_export_snapshot()").first?.first ?? nil else {
            throw KuraError.database(.noExportedSnapshot)
        }
        let tables = try connection.tableStatistics()
        let serverVersion = try connection.query("SHOW server_version").first?.first.flatMap { $0 } ?? String(connection.serverVersion)
        let name = try url.name
        let file = temporaryDirectory + "/dump-" + FileSystem.randomName()
        do {
            // pg_dump keeps the mode of a file that exists; it would create its own readable by everyone.
            try FileSystem.createEmptyPrivateFile(file)
            let result = try Subprocess.run(tools.pgDump, ["--format=custom", "--compress=0", "--snapshot=\(snapshotName)",
                                                           "--file=\(file)", "--no-password"],
                                            environment: parameters.environment)
            guard result.status == 0 else {
                throw KuraError.database(.dumpFailed(server: parameters.redacted, stderr: result.stderr.isEmpty ? "exit \(result.status)" : result.stderr))
            }
            try connection.query("COMMIT")
            var info = stat()
            guard lstat(file, &info) == 0, info.st_size > 0 else { throw KuraError.database(.emptyDump(server: parameters.redacted)) }
            let list = try Subprocess.run(tools.pgRestore, ["--list", file], captureOutput: false)
            guard list.status == 0 else {
                throw KuraError.database(.unreadableDump(server: parameters.redacted, stderr: list.stderr))
            }
        } catch {
            unlink(file)
            throw error
        }
        return DatabaseDump(engine: .postgresql, name: name, file: file, serverVersion: serverVersion,
                            toolVersion: "pg_dump \(tools.version)", tables: tables, locator: url.locator)
    }
}
