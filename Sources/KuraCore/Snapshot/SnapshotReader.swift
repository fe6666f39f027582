import Foundation
import GRDB

/// Read-only access to one snapshot database.
public final class SnapshotReader {
    private let database: DatabaseQueue
    public let path: String

    public init(path: String) throws {
        self.path = path
        do {
            var configuration = Configuration()
            configuration.readonly = true
            database = try DatabaseQueue(path: path, configuration: configuration)
            let applicationID = try database.read { try Int32.fetchOne($0, sql: "PRAGMA application_id") }
            guard applicationID == SnapshotSchema.applicationID else {
                throw KuraError.integrity("\(path) is not a Kura snapshot database")
            }
        } catch let error as KuraError {
            throw error
        } catch {
            throw KuraError.integrity("snapshot database \(path) is unreadable (\(error))")
        }
    }

    /// The metadata table.
    public func metadata() throws -> [String: String] {
        try read { db in
            Dictionary(try Row.fetchAll(db, sql: "SELECT key, value FROM snapshot").map { ($0[0] as String, $0[1] as String) },
                       uniquingKeysWith: { first, _ in first })
        }
    }

    /// The database tables recorded at backup, with size and exact row count.
    public func databaseTables() throws -> [TableStatistics] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT schema, name, size_bytes, row_count FROM database_tables ORDER BY schema, name").map {
                TableStatistics(schema: $0[0], name: $0[1], sizeBytes: $0[2], rows: $0[3])
            }
        }
    }

    /// One entry by exact path.
    public func entry(_ path: String) throws -> Entry? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT \(SnapshotSchema.entryColumns) FROM entries WHERE path = ?", arguments: [path])
                .flatMap(Self.entry(from:))
        }
    }

    /// Calls `body` for each entry in path order, optionally only `prefix` and what lies below it.
    /// Rows are streamed: memory does not grow with the snapshot.
    public func forEachEntry(under prefix: String? = nil, _ body: (Entry) throws -> Void) throws {
        try read { db in
            let cursor: RowCursor
            if let prefix, !prefix.isEmpty {
                // Paths below `prefix/` sort between "prefix/" and "prefix0" ('0' follows '/').
                cursor = try Row.fetchCursor(db, sql: """
                    SELECT \(SnapshotSchema.entryColumns) FROM entries
                    WHERE path = ? OR (path >= ? AND path < ?) ORDER BY path
                    """, arguments: [prefix, prefix + "/", prefix + "0"])
            } else {
                cursor = try Row.fetchCursor(db, sql: "SELECT \(SnapshotSchema.entryColumns) FROM entries ORDER BY path")
            }
            while let row = try cursor.next() {
                guard let entry = Self.entry(from: row) else {
                    throw KuraError.integrity("snapshot database \(path) holds an invalid entry")
                }
                try body(entry)
            }
        }
    }

    /// Up to `limit` entries whose paths sort after `path` (from the first when nil), in path
    /// order: for walking a snapshot in pages, or two of them side by side.
    public func entries(after path: String?, limit: Int) throws -> [Entry] {
        try read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT \(SnapshotSchema.entryColumns) FROM entries WHERE ? IS NULL OR path > ? ORDER BY path LIMIT ?
                """, arguments: [path, path, limit])
            return try rows.map { row in
                guard let entry = Self.entry(from: row) else {
                    throw KuraError.integrity("snapshot database \(self.path) holds an invalid entry")
                }
                return entry
            }
        }
    }

    /// File count, directory count and total file bytes.
    public func totals() throws -> (files: Int, directories: Int, bytes: Int64) {
        try read { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT sum(type = 'file'), sum(type = 'dir'), coalesce(sum(CASE WHEN type = 'file' THEN size END), 0) FROM entries
                """)
            return ((row?[0] as Int?) ?? 0, (row?[1] as Int?) ?? 0, (row?[2] as Int64?) ?? 0)
        }
    }

    /// `PRAGMA integrity_check`: empty when the database is sound, else SQLite's findings.
    public func integrityProblems() throws -> [String] {
        try read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check").filter { $0 != "ok" } }
    }

    /// Runs a read-only query against the snapshot database.
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try database.read(body)
        } catch let error as KuraError {
            throw error
        } catch {
            throw KuraError.integrity("snapshot database \(path): \(error)")
        }
    }

    static func entry(from row: Row) -> Entry? {
        guard let kind = Entry.Kind(rawValue: row[1]) else { return nil }
        let blob: Data = row[10] ?? Data()
        guard blob.count % 32 == 0 else { return nil }
        let chunks: [ChunkID] = blob.withUnsafeBytes { raw in
            stride(from: 0, to: raw.count, by: 32).compactMap { ChunkID(bytes: UnsafeRawBufferPointer(rebasing: raw[$0..<($0 + 32)])) }
        }
        let path: String = row[0]
        guard Entry.isSafeRelativePath(path) else { return nil }
        return Entry(path: path, kind: kind, mode: UInt32(truncatingIfNeeded: row[2] as Int64), uid: UInt32(truncatingIfNeeded: row[3] as Int64),
                     gid: UInt32(truncatingIfNeeded: row[4] as Int64), mtimeNanoseconds: row[5], ctimeNanoseconds: row[6],
                     inode: UInt64(bitPattern: row[7] as Int64), size: row[8], linkTarget: row[9], chunks: chunks)
    }
}
