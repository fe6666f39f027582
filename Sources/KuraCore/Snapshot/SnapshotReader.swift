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
                throw KuraError.integrity(.snapshotDatabaseDamaged(name: path, reason: "not a Kura snapshot database"))
            }
        } catch let error as KuraError {
            throw error
        } catch {
            throw KuraError.integrity(.snapshotDatabaseDamaged(name: path, reason: "unreadable (\(error))"))
        }
    }

    /// The metadata table.
    public func metadata() throws -> [String: String] {
        try read { db in
            Dictionary(try Row.fetchAll(db, sql: "SELECT key, value FROM snapshot").map {
                (try $0.decode(String.self, atIndex: 0), try $0.decode(String.self, atIndex: 1))
            }, uniquingKeysWith: { first, _ in first })
        }
    }

    /// The database tables recorded at backup, with size and exact row count.
    public func databaseTables() throws -> [TableStatistics] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT schema, name, size_bytes, row_count FROM database_tables ORDER BY schema, name").map {
                TableStatistics(schema: try $0.decode(atIndex: 0), name: try $0.decode(atIndex: 1),
                                sizeBytes: try $0.decode(atIndex: 2), rows: try $0.decode(atIndex: 3))
            }
        }
    }

    /// One entry by exact path.
    public func entry(_ path: String) throws -> Entry? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT \(SnapshotSchema.entryColumns) FROM entries WHERE path = ?", arguments: [path])
                .map { try self.entry(from: $0) }
        }
    }

    /// Calls `body` for each entry in path order, optionally only `prefix` and what lies below it,
    /// and only paths that match one of `globs` (SQLite `GLOB`; none: every path).
    /// Rows are streamed: memory does not grow with the snapshot.
    public func forEachEntry(under prefix: String? = nil, globbing globs: [String] = [], _ body: (Entry) throws -> Void) throws {
        try read { db in
            var conditions: [String] = []
            var arguments: [DatabaseValueConvertible] = []
            if let prefix, !prefix.isEmpty {
                // Paths below `prefix/` sort between "prefix/" and "prefix0" ('0' follows '/').
                conditions.append("(path = ? OR (path >= ? AND path < ?))")
                arguments += [prefix, prefix + "/", prefix + "0"]
            }
            if !globs.isEmpty {
                // Let SQLite skip rows that cannot match before they become entries.
                conditions.append("(" + globs.map { _ in "path GLOB ?" }.joined(separator: " OR ") + ")")
                arguments += globs
                // One glob with a literal start (`--include /media/…/reçu.pdf`): a range SQLite
                // seeks in the primary key, so one file of a million is found without a scan.
                if globs.count == 1, let literal = globs.first?.prefix(while: { !"*?[".contains($0) }), !literal.isEmpty {
                    conditions.append("(path >= ? AND path < ?)")
                    arguments += [String(literal), String(literal) + "\u{10FFFF}"]
                }
            }
            let condition = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
            let cursor = try Row.fetchCursor(db, sql: "SELECT \(SnapshotSchema.entryColumns) FROM entries\(condition) ORDER BY path",
                                             arguments: StatementArguments(arguments))
            while let row = try cursor.next() {
                try body(try entry(from: row))
            }
        }
    }

    /// Every chunk id the entries reference, handed on in pages of `pageSize` or so, read from
    /// the chunk lists alone (no entry is decoded): a backup checks its parent's with it.
    func forEachChunkPage(pageSize: Int = 4096, _ body: ([ChunkID]) throws -> Void) throws {
        try read { db in
            let rows = try Row.fetchCursor(db, sql: "SELECT chunks FROM entries WHERE length(chunks) >= 32")
            var page: [ChunkID] = []
            page.reserveCapacity(pageSize)
            while let row = try rows.next() {
                try row.withUnsafeData(atIndex: 0) { data in
                    guard let data, data.count % 32 == 0 else {
                        throw KuraError.integrity(.snapshotDatabaseDamaged(name: path, reason: "holds an invalid chunk list"))
                    }
                    data.withUnsafeBytes { raw in
                        for start in stride(from: 0, to: raw.count, by: 32) {
                            if let id = ChunkID(bytes: UnsafeRawBufferPointer(rebasing: raw[start..<(start + 32)])) { page.append(id) }
                        }
                    }
                }
                if page.count >= pageSize {
                    try body(page)
                    page.removeAll(keepingCapacity: true)
                }
            }
            if !page.isEmpty { try body(page) }
        }
    }

    /// Up to `limit` entries whose paths sort after `path` (from the first when nil), in path
    /// order: for walking a snapshot in pages, or two of them side by side.
    public func entries(after path: String?, limit: Int) throws -> [Entry] {
        try read { db in
            // Two statements, not `? IS NULL OR path > ?`: with the OR, SQLite cannot seek the
            // primary key and scans from the first row for every page — quadratic in the
            // snapshot's size (a no-change backup of a million files took 30 s instead of 6).
            let rows = try path.map {
                try Row.fetchCursor(db, sql: "SELECT \(SnapshotSchema.entryColumns) FROM entries WHERE path > ? ORDER BY path LIMIT ?",
                                    arguments: [$0, limit])
            } ?? Row.fetchCursor(db, sql: "SELECT \(SnapshotSchema.entryColumns) FROM entries ORDER BY path LIMIT ?", arguments: [limit])
            var entries: [Entry] = []
            entries.reserveCapacity(limit)
            while let row = try rows.next() { entries.append(try self.entry(from: row)) }
            return entries
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
            throw KuraError.integrity(.snapshotDatabaseDamaged(name: path, reason: "\(error)"))
        }
    }

    /// Decodes one row of `entries`. A snapshot database may come from a repository someone else
    /// can write to: a value of the wrong type, an unsafe path (absolute, `..`), a negative size or
    /// a chunk list of a partial id is an integrity error naming the database, never a trap.
    func entry(from row: Row) throws -> Entry {
        func invalid(_ what: String) -> KuraError {
            .integrity(.snapshotDatabaseDamaged(name: self.path, reason: "holds an invalid entry (\(what))"))
        }
        let entryPath: String
        let kindName: String
        let blob: Data?
        let numbers: [Int64]
        let linkTarget: String?
        do {
            entryPath = try row.decode(atIndex: 0)
            kindName = try row.decode(atIndex: 1)
            numbers = try (2...8).map { try row.decode(Int64.self, atIndex: $0) }
            linkTarget = try row.decode(atIndex: 9)
            blob = try row.decode(atIndex: 10)
        } catch {
            throw invalid("\(error)")
        }
        guard Entry.isSafeRelativePath(entryPath) else { throw invalid("unsafe path '\(entryPath)'") }
        guard let kind = Entry.Kind(rawValue: kindName) else { throw invalid("unknown type '\(kindName)' of \(entryPath)") }
        let size = numbers[6]
        guard size >= 0 else { throw invalid("negative size of \(entryPath)") }
        let chunkBytes = blob ?? Data()
        guard chunkBytes.count % 32 == 0 else { throw invalid("chunk list of \(entryPath)") }
        let chunks: [ChunkID] = chunkBytes.withUnsafeBytes { raw in
            stride(from: 0, to: raw.count, by: 32).compactMap { ChunkID(bytes: UnsafeRawBufferPointer(rebasing: raw[$0..<($0 + 32)])) }
        }
        return Entry(path: entryPath, kind: kind, mode: UInt32(truncatingIfNeeded: numbers[0]) & 0o7777, uid: UInt32(truncatingIfNeeded: numbers[1]),
                     gid: UInt32(truncatingIfNeeded: numbers[2]), mtimeNanoseconds: numbers[3], ctimeNanoseconds: numbers[4],
                     inode: UInt64(bitPattern: numbers[5]), size: size, linkTarget: linkTarget, chunks: chunks)
    }
}
