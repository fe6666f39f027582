import Foundation

/// A source's database dump written to a private temp file, every block verified, before any
/// database is touched — so a damaged dump stops a restore with the target database intact.
///
/// Where: a SQLite copy beside its target (it is renamed over it); a PostgreSQL dump in the
/// repository's `tmp/` when there is a repository, else in a new owner-only folder of the
/// system's temp folder. Removed by `remove()` (the SQLite copy is consumed by its rename).
struct DumpSpool {
    let file: String
    let engine: DatabaseEngine
    /// The tables and rows recorded at backup; nil when the source does not say.
    let recordedTables: [TableStatistics]?
    /// A folder made for this spool alone, removed with it.
    private let ownFolder: String?

    /// Writes the dump of `source` for a restore into `database`.
    init(from source: RestoreSource, for database: DatabaseURL, repository: Repository?) throws {
        guard let (entry, engine) = try source.databaseDump() else { throw KuraError.noDatabase(source: source.label) }
        guard engine == database.engine else {
            throw KuraError.engineMismatch(source: source.label, holds: engine, database: "\(database)", wants: database.engine)
        }
        let folder: String
        if engine == .sqlite, let target = database.path {
            folder = FileSystem.parent(of: target)
            try FileSystem.makeDirectories(folder)
            ownFolder = nil
        } else if let repository {
            folder = repository.temporaryDirectory
            ownFolder = nil
        } else {
            folder = (NSTemporaryDirectory() as NSString).appendingPathComponent("kura-restore-" + FileSystem.randomName())
            try FileSystem.makeDirectory(folder)
            ownFolder = folder
        }
        let file = folder + "/.kura-restore-" + FileSystem.randomName()
        do {
            let fd = try FileSystem.createFile(file)
            defer { close(fd) }
            try source.readDump { try FileSystem.writeFully(fd, $0, path: file) }
            if fsync(fd) != 0 { throw KuraError.posix("cannot sync", file) }
            if engine == .sqlite { fchmod(fd, mode_t(entry.mode)) }
        } catch {
            unlink(file)
            if let ownFolder { rmdir(ownFolder) }
            throw error
        }
        self.file = file
        self.engine = engine
        recordedTables = try source.recordedTables()
    }

    /// Loads the dump into `database` (PostgreSQL: `pg_restore`, then every recorded table
    /// counted; SQLite: the checked copy renamed over the target). Returns the restored tables
    /// with their row counts (-1: missing).
    func restore(into database: DatabaseURL, force: Bool) throws -> [TableStatistics] {
        switch engine {
        case .postgresql:
            try PostgresRestorer.restore(dump: file, into: database, force: force)
            let tables = recordedTables ?? []
            return zip(tables, try PostgresRestorer.rowCounts(database, tables: tables)).map { table, rows in
                var restored = table
                restored.rows = rows ?? -1
                return restored
            }
        case .sqlite:
            return try SQLiteRestorer.restore(copy: file, into: database, force: force)
        }
    }

    /// Removes the spooled file (if still there) and the folder made for it.
    func remove() {
        unlink(file)
        if let ownFolder { rmdir(ownFolder) }
    }
}
