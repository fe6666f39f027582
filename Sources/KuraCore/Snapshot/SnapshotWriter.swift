import Foundation
import GRDB

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

    /// Inserts entries in one transaction.
    func add(_ entries: [Entry]) throws {
        guard !entries.isEmpty else { return }
        do {
            try database.inTransaction { db in
                let insert = try db.cachedStatement(sql: "INSERT OR REPLACE INTO entries (\(SnapshotSchema.entryColumns)) VALUES (?,?,?,?,?,?,?,?,?,?,?)")
                for entry in entries {
                    var blob = Data(capacity: entry.chunks.count * 32)
                    for chunk in entry.chunks { withUnsafeBytes(of: chunk.words) { blob.append(contentsOf: $0) } }
                    try insert.execute(arguments: [entry.path, entry.kind.rawValue, Int64(entry.mode), Int64(entry.uid), Int64(entry.gid),
                                                   entry.mtimeNanoseconds, entry.ctimeNanoseconds, Int64(bitPattern: entry.inode),
                                                   entry.size, entry.linkTarget, blob])
                }
                return .commit
            }
        } catch {
            throw KuraError.io(operation: "cannot write snapshot database (\(error))", path: workPath, errno: EIO)
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
