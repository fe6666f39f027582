import Foundation

/// The kinds of database Kura backs up.
public enum DatabaseEngine: String, Codable, Sendable {
    case postgresql
    case sqlite

    /// The file name extension of the dump in the snapshot tree and the export archive.
    var dumpExtension: String { self == .postgresql ? "sql" : "sqlite3" }
}

/// A database named on the command line: a libpq URI (`postgresql://user@host:port/db`,
/// `postgresql:///db?host=/run/postgresql`), `sqlite:///absolute/path/db.sqlite3`, or a bare path
/// to an existing `.sqlite3`/`.db` file.
public struct DatabaseURL: Sendable, CustomStringConvertible {
    public let engine: DatabaseEngine
    /// The URI as given (may hold a password: never print or store it).
    let text: String
    /// SQLite: the database file.
    public let path: String?

    public init(_ text: String) throws {
        self.text = text
        if text.hasPrefix("postgresql://") || text.hasPrefix("postgres://") || text.hasPrefix("host=") || text.hasPrefix("dbname=") {
            engine = .postgresql
            path = nil
        } else if text.hasPrefix("sqlite://") {
            let rest = String(text.dropFirst("sqlite://".count))
            guard rest.hasPrefix("/") else {
                throw KuraError.invalidArgument("SQLite URL '\(text)' needs an absolute path: sqlite:///path/to/db.sqlite3")
            }
            engine = .sqlite
            path = rest.removingPercentEncoding ?? rest
        } else if (text.hasSuffix(".sqlite3") || text.hasSuffix(".db") || text.hasSuffix(".sqlite")) && FileSystem.exists(text) {
            engine = .sqlite
            path = URL(fileURLWithPath: text).standardizedFileURL.path
        } else {
            throw KuraError.invalidArgument("'\(text)' is not a database URL: use postgresql://user@host/db or sqlite:///path/db.sqlite3")
        }
    }

    /// The same PostgreSQL server and credentials with another database (a libpq keyword/value
    /// string inside, so that a password given in the original URL still works).
    func replacingDatabase(with name: String) throws -> DatabaseURL {
        guard engine == .postgresql else { throw KuraError.invalidArgument("\(self) is not a PostgreSQL URL") }
        let parameters = try PostgresParameters(url: self).with(database: name)
        return DatabaseURL(engine: .postgresql, text: parameters.connectionString, path: nil)
    }

    private init(engine: DatabaseEngine, text: String, path: String?) {
        self.engine = engine
        self.text = text
        self.path = path
    }

    /// The database's name: PostgreSQL's database, or the SQLite file name without extension
    /// (`db` for Django's `db.sqlite3`).
    public var name: String {
        get throws {
            switch engine {
            case .postgresql:
                let parameters = try PostgresParameters(url: self)
                return parameters.values["dbname"] ?? parameters.values["user"] ?? ProcessInfo.processInfo.environment["USER"] ?? "postgres"
            case .sqlite:
                let file = FileSystem.name(of: path ?? "db")
                guard let dot = file.lastIndex(of: "."), dot != file.startIndex else { return file }
                return String(file[..<dot])
            }
        }
    }

    /// Where the database is, without any password: recorded as one of a snapshot's paths, so that
    /// a backup's parent is a snapshot of the same database.
    var locator: String {
        switch engine {
        case .postgresql: return description
        case .sqlite: return "sqlite://" + (path ?? text)
        }
    }

    /// The URL without any password: safe to show and to record in a snapshot.
    public var description: String {
        guard engine == .postgresql, let parameters = try? PostgresParameters(url: self) else { return text }
        return parameters.redacted
    }
}
