import CPostgres
import Foundation

/// libpq connection parameters parsed from a URI with `PQconninfoParse`: used to connect, to
/// hand the same connection to `pg_dump`/`pg_restore` through their `PG*` environment variables
/// (so no password ever appears on a command line), and to show the URL without its password.
struct PostgresParameters {
    /// keyword → value, for the parameters the URI sets.
    var values: [String: String]
    /// keyword → libpq environment variable (`host` → `PGHOST`).
    private var environmentNames: [String: String]

    init(url: DatabaseURL) throws {
        var message: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(url.text, &message) else {
            let reason = message.map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? "cannot parse"
            if let message { PQfreemem(message) }
            throw KuraError.invalidArgument("invalid PostgreSQL URL: \(reason)")
        }
        defer { PQconninfoFree(options) }
        values = [:]
        environmentNames = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            let name = String(cString: keyword)
            if let value = option.pointee.val { values[name] = String(cString: value) }
            if let variable = option.pointee.envvar { environmentNames[name] = String(cString: variable) }
            option += 1
        }
    }

    /// The same connection with another database (e.g. `postgres` to create the target).
    func with(database: String) -> PostgresParameters {
        var copy = self
        copy.values["dbname"] = database
        return copy
    }

    /// The parameters as a libpq keyword/value connection string (`host='…' dbname='…'`).
    var connectionString: String {
        values.keys.sorted().map { key in
            let value = (values[key] ?? "").replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
            return "\(key)='\(value)'"
        }.joined(separator: " ")
    }

    /// `PG*` variables for a child process; other `PG*` variables of ours are kept unless set here.
    var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        for (keyword, value) in values {
            if let name = environmentNames[keyword] { environment[name] = value }
        }
        return environment
    }

    /// `postgresql://user@host:port/db` without password.
    var redacted: String {
        let user = values["user"].map { $0 + "@" } ?? ""
        let host = values["host"] ?? ""
        let port = values["port"].map { ":" + $0 } ?? ""
        let database = values["dbname"] ?? ""
        if host.hasPrefix("/") { return "postgresql://\(user)\(port.isEmpty ? "" : "localhost" + port)/\(database)?host=\(host)" }
        return "postgresql://\(user)\(host)\(port)/\(database)"
    }
}
