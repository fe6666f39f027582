/// Why a database could not be reached, dumped or restored (exit 1). Server names are shown
/// without passwords.
public enum DatabaseFailure: Equatable, Sendable, CustomStringConvertible {
    case connect(server: String, reason: String)
    case query(message: String)
    case noExportedSnapshot
    case dumpFailed(server: String, stderr: String)
    case emptyDump(server: String)
    case unreadableDump(server: String, stderr: String)
    case dumpUnfinished
    case restoreFailed(server: String, stderr: String)
    case noTools(major: Int, found: String)
    case sqliteMissing(path: String)
    case sqliteCopyFailed(path: String, reason: String)
    case cannotRun(executable: String, reason: String)

    /// True for a connection refused because the database does not exist.
    var isMissingDatabase: Bool {
        if case .connect(_, let reason) = self { return reason.contains("does not exist") }
        return false
    }

    public var description: String {
        switch self {
        case .connect(let server, let reason): return "cannot connect to \(server): \(reason)"
        case .query(let message): return "PostgreSQL: \(message)"
        case .noExportedSnapshot: return "PostgreSQL did not export a snapshot"
        case .dumpFailed(let server, let stderr): return "pg_dump of \(server) failed: \(stderr)"
        case .emptyDump(let server): return "pg_dump of \(server) wrote an empty dump"
        case .unreadableDump(let server, let stderr): return "the dump of \(server) is unreadable (pg_restore --list: \(stderr))"
        case .dumpUnfinished: return "the database dump did not finish"
        case .restoreFailed(let server, let stderr): return "pg_restore into \(server) failed, nothing was applied: \(stderr)"
        case .noTools(let major, let found): return "no pg_dump of version \(major) or newer (found: \(found)): install postgresql-client-\(major)"
        case .sqliteMissing(let path): return "SQLite database \(path) does not exist: check --database"
        case .sqliteCopyFailed(let path, let reason): return "cannot copy SQLite database \(path): \(reason)"
        case .cannotRun(let executable, let reason): return "cannot run \(executable): \(reason)"
        }
    }
}
