import Foundation

/// Restores a pg_dump custom-format dump into a PostgreSQL database.
///
/// The target is created when it does not exist (connecting to the `postgres` database of the
/// same server). A target that holds tables is refused unless `force`; with `force` every user
/// schema is dropped first, so the result equals the snapshot exactly (`pg_restore --clean`
/// alone would leave objects the dump does not know). The restore runs
/// `pg_restore --no-owner --no-acl --exit-on-error --single-transaction`: it either applies
/// whole or not at all.
enum PostgresRestorer {
    /// Number of user tables, views and sequences in the target; nil when it does not exist.
    static func objectCount(_ url: DatabaseURL) throws -> Int? {
        let parameters = try PostgresParameters(url: url)
        do {
            let connection = try PostgresConnection(parameters)
            return try count(connection)
        } catch KuraError.database(let failure) where failure.isMissingDatabase {
            return nil
        }
    }

    private static func count(_ connection: PostgresConnection) throws -> Int {
        let rows = try connection.query("""
            SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
              AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
            """)
        return Int(rows.first?.first.flatMap { $0 } ?? "0") ?? 0
    }

    static func restore(dump file: String, into url: DatabaseURL, force: Bool) throws {
        let parameters = try PostgresParameters(url: url)
        let name = try url.name
        if try objectCount(url) == nil {
            let maintenance = try PostgresConnection(parameters.with(database: "postgres"))
            try maintenance.query("CREATE DATABASE \(maintenance.identifier(name))")
        }
        let connection = try PostgresConnection(parameters)
        let existing = try count(connection)
        if existing > 0 {
            guard force else { throw KuraError.databaseNotEmpty(database: parameters.redacted, tables: existing) }
            let schemas = try connection.query("""
                SELECT nspname FROM pg_namespace
                WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg_toast%' AND nspname NOT LIKE 'pg_temp%'
                """).compactMap { $0.first ?? nil }
            try connection.query("BEGIN")
            for schema in schemas { try connection.query("DROP SCHEMA \(connection.identifier(schema)) CASCADE") }
            try connection.query("CREATE SCHEMA public")
            try connection.query("COMMIT")
        }
        let tools = try PostgresTools.find(forServerVersion: connection.serverVersion)
        let result = try Subprocess.run(tools.pgRestore, ["--no-owner", "--no-acl", "--exit-on-error", "--single-transaction",
                                                          "--no-password", "--dbname=\(name)", file],
                                        environment: parameters.environment, captureOutput: false)
        guard result.status == 0 else {
            throw KuraError.database(.restoreFailed(server: parameters.redacted, stderr: result.stderr))
        }
    }

    /// Exact row counts of `tables` in the restored database (nil for a missing table).
    static func rowCounts(_ url: DatabaseURL, tables: [TableStatistics]) throws -> [Int64?] {
        let connection = try PostgresConnection(try PostgresParameters(url: url))
        return tables.map { table in
            let rows = try? connection.query("SELECT count(*) FROM \(connection.identifier(table.schema)).\(connection.identifier(table.name))")
            return rows?.first?.first.flatMap { $0 }.flatMap { Int64($0) }
        }
    }
}
