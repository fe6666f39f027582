import CPostgres
import Foundation

/// A libpq connection: simple queries whose results come back as text.
final class PostgresConnection {
    private let connection: OpaquePointer
    let parameters: PostgresParameters

    init(_ parameters: PostgresParameters) throws {
        self.parameters = parameters
        let keywords = Array(parameters.values.keys)
        let values = keywords.map { parameters.values[$0] ?? "" }
        let keywordPointers = keywords.map { strdup($0) } + [nil]
        let valuePointers = values.map { strdup($0) } + [nil]
        defer { (keywordPointers + valuePointers).forEach { free($0) } }
        let connection: OpaquePointer? = keywordPointers.map { UnsafePointer($0) }.withUnsafeBufferPointer { keys in
            valuePointers.map { UnsafePointer($0) }.withUnsafeBufferPointer { vals in
                PQconnectdbParams(keys.baseAddress, vals.baseAddress, 0)
            }
        }
        guard let connection else { throw KuraError.database(.connect(server: parameters.redacted, reason: "out of memory")) }
        guard PQstatus(connection) == CONNECTION_OK else {
            let reason = Self.message(connection)
            PQfinish(connection)
            throw KuraError.database(.connect(server: parameters.redacted, reason: reason))
        }
        // Server notices ("does not exist, skipping") are not for the user: Kura reports what matters.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        // Assigned only once connected: a throwing initializer whose properties are all set runs deinit.
        self.connection = connection
    }

    deinit { PQfinish(connection) }

    /// The server's version number, e.g. 150018.
    var serverVersion: Int { Int(PQserverVersion(connection)) }

    /// Runs a statement; returns the rows (values as text, nil for NULL).
    @discardableResult
    func query(_ sql: String) throws -> [[String?]] {
        guard let result = PQexec(connection, sql) else { throw KuraError.database(.query(message: Self.message(connection))) }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK else {
            throw KuraError.database(.query(message: String(cString: PQresultErrorMessage(result)).trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        let rows = Int(PQntuples(result)), columns = Int(PQnfields(result))
        return (0..<rows).map { row in
            (0..<columns).map { column in
                PQgetisnull(result, Int32(row), Int32(column)) == 1 ? nil : String(cString: PQgetvalue(result, Int32(row), Int32(column)))
            }
        }
    }

    /// A quoted identifier (`"my table"`).
    func identifier(_ name: String) -> String {
        guard let escaped = PQescapeIdentifier(connection, name, name.utf8.count) else { return "\"\(name)\"" }
        defer { PQfreemem(escaped) }
        return String(cString: escaped)
    }

    /// A quoted literal (`'it''s'`).
    func literal(_ value: String) -> String {
        guard let escaped = PQescapeLiteral(connection, value, value.utf8.count) else { return "'\(value)'" }
        defer { PQfreemem(escaped) }
        return String(cString: escaped)
    }

    private static func message(_ connection: OpaquePointer) -> String {
        String(cString: PQerrorMessage(connection)).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: "; ")
    }

    /// The user tables with their total size and exact row count, as seen by the current
    /// transaction (so, inside an exported snapshot, exactly what `pg_dump` reads).
    func tableStatistics() throws -> [TableStatistics] {
        let rows = try query("""
            SELECT n.nspname, c.relname, pg_total_relation_size(c.oid)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
              AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
            ORDER BY 1, 2
            """)
        return try rows.map { row in
            let schema = row[0] ?? "", name = row[1] ?? ""
            let count = try query("SELECT count(*) FROM \(identifier(schema)).\(identifier(name))")
            return TableStatistics(schema: schema, name: name, sizeBytes: Int64(row[2] ?? "0") ?? 0,
                                   rows: Int64(count.first?.first.flatMap { $0 } ?? "0") ?? 0)
        }
    }
}
