import Foundation
import GRDB
import GRDBSQLite

/// Builds a snapshot database: entries are inserted as the archiver completes them (in any order,
/// a transaction per batch), then `finish` writes the metadata and produces a compact, deterministic
/// file with `VACUUM INTO` — the same entries and metadata always give the same bytes.
final class SnapshotWriter {
    private let database: DatabaseQueue
    private let workPath: String

    init(workPath: String) throws {
        self.workPath = workPath
        unlink(workPath)
        try FileSystem.createEmptyPrivateFile(workPath)
        do {
            var configuration = Configuration()
            configuration.prepareDatabase { db in
                try db.execute(sql: "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA page_size = \(SnapshotSchema.pageSize)")
            }
            database = try DatabaseQueue(path: workPath, configuration: configuration)
            try database.writeWithoutTransaction { db in
                try db.execute(sql: SnapshotSchema.create)
            }
        } catch {
            throw KuraError.io(operation: "cannot create snapshot database (\(error))", path: workPath, errno: EIO)
        }
    }

    /// Inserts entries in one transaction. Values are bound straight from each entry's storage
    /// (its path's UTF-8, its chunk ids' 32-byte words back to back): a no-change backup of a
    /// million files inserts a million rows, and building `StatementArguments` for each cost a
    /// third of the archiver thread.
    func add(_ entries: [Entry]) throws {
        guard !entries.isEmpty else { return }
        do {
            try database.inTransaction { db in
                let insert = try db.cachedStatement(sql: "INSERT OR REPLACE INTO entries (\(SnapshotSchema.entryColumns)) VALUES (?,?,?,?,?,?,?,?,?,?,?)")
                for entry in entries { try Self.insert(entry, with: insert.sqliteStatement, in: db) }
                return .commit
            }
        } catch {
            throw KuraError.io(operation: "cannot write snapshot database (\(error))", path: workPath, errno: EIO)
        }
    }

    /// Binds `entry` to the prepared INSERT (columns in `SnapshotSchema.entryColumns` order) and
    /// runs it. The bound bytes are only borrowed: the step happens while they live.
    private static func insert(_ entry: Entry, with statement: OpaquePointer, in db: Database) throws {
        var path = entry.path
        try path.withUTF8 { pathBytes in
            try entry.chunks.withUnsafeBytes { chunkBytes in
                SQLiteBinding.bindText(pathBytes, to: 1, of: statement)
                sqlite3_bind_text(statement, 2, entry.kind.rawValue, -1, SQLiteBinding.transient)
                sqlite3_bind_int64(statement, 3, Int64(entry.mode))
                sqlite3_bind_int64(statement, 4, Int64(entry.uid))
                sqlite3_bind_int64(statement, 5, Int64(entry.gid))
                sqlite3_bind_int64(statement, 6, entry.mtimeNanoseconds)
                sqlite3_bind_int64(statement, 7, entry.ctimeNanoseconds)
                sqlite3_bind_int64(statement, 8, Int64(bitPattern: entry.inode))
                sqlite3_bind_int64(statement, 9, entry.size)
                // A directory's empty chunk list is an empty blob, not NULL.
                SQLiteBinding.bindBlob(chunkBytes, to: 11, of: statement)
                guard var target = entry.linkTarget else {
                    sqlite3_bind_null(statement, 10)
                    return try SQLiteBinding.step(statement, in: db)
                }
                try target.withUTF8 { targetBytes in
                    SQLiteBinding.bindText(targetBytes, to: 10, of: statement)
                    try SQLiteBinding.step(statement, in: db)
                }
            }
        }
    }

    /// Writes the metadata and the final database to `path`; removes the work file.
    func finish(metadata: [String: String], tables: [TableStatistics], to path: String) throws {
        do {
            try database.writeWithoutTransaction { db in
                for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
                    try db.execute(sql: "INSERT INTO snapshot (key, value) VALUES (?, ?)", arguments: [key, value])
                }
                for table in tables {
                    try db.execute(sql: "INSERT INTO database_tables (schema, name, size_bytes, row_count) VALUES (?, ?, ?, ?)",
                                   arguments: [table.schema, table.name, table.sizeBytes, table.rows])
                }
                try db.execute(sql: "PRAGMA application_id = \(SnapshotSchema.applicationID); PRAGMA user_version = \(SnapshotSchema.version)")
                unlink(path)
                // VACUUM INTO fills an empty file and keeps its mode (it would create one readable by others).
                try FileSystem.createEmptyPrivateFile(path)
                try db.execute(sql: "VACUUM INTO ?", arguments: [path])
            }
            try database.close()
        } catch {
            throw KuraError.io(operation: "cannot finish snapshot database (\(error))", path: path, errno: EIO)
        }
        unlink(workPath)
    }

    /// Drops the work file.
    func abandon() {
        try? database.close()
        unlink(workPath)
    }
}
