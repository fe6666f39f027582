import Foundation
import GRDB

/// How much of one pack the snapshots still use.
public struct PackUsage: Equatable, Sendable {
    public var pack: ChunkID
    public var entries: Int
    public var storedBytes: Int64
    /// Entries that are the live copy of a chunk some snapshot references.
    public var usedEntries: Int
    public var usedBytes: Int64

    public var unusedBytes: Int64 { storedBytes - usedBytes }
    /// Unused share of the pack's stored bytes, 0…1.
    public var unusedShare: Double { storedBytes == 0 ? 0 : Double(unusedBytes) / Double(storedBytes) }
}

/// The set of chunks the snapshots reference, kept in temp tables of the index cache's SQLite
/// connection (spilled to disk when large), so that prune and verify stay within bounded memory
/// whatever the repository size.
///
/// `used` holds every referenced chunk id; `live` maps each referenced chunk that the index holds
/// to the one pack whose copy is kept (the smallest pack id when a chunk is stored twice). Each
/// instance has tables of its own (`used_<n>`, `live_<n>`), so that a prune plan stays valid
/// while another one is made.
public final class ChunkUsage {
    private let index: IndexCache
    private let used: String
    private let live: String
    nonisolated(unsafe) private static var instances = 0
    private static let lock = NSLock()

    /// Starts an empty set; `add` each snapshot, then `finish()`.
    public init(index: IndexCache) throws {
        self.index = index
        let number = Self.lock.withLock {
            Self.instances += 1
            return Self.instances
        }
        (used, live) = ("used_\(number)", "live_\(number)")
        try index.perform { db in
            // `staging_…` takes each snapshot's ids as they come (`add`).
            try db.execute(sql: "CREATE TEMP TABLE \(used) (id BLOB PRIMARY KEY) WITHOUT ROWID; CREATE TEMP TABLE staging_\(used) (id BLOB)")
        }
    }

    /// Adds the chunks a snapshot references: its tree chunks and, from its snapshot database at
    /// `databasePath` (already checked to be one), every entry's chunks.
    public func add(_ snapshot: Snapshot, databasePath: String) throws {
        let tree = snapshot.record.tree.chunks.compactMap { ChunkID(hex: $0) }
        guard tree.count == snapshot.record.tree.chunks.count else {
            throw KuraError.integrity(.snapshotDatabaseDamaged(name: "of snapshot \(snapshot.id.short)", reason: "invalid tree chunk id"))
        }
        try index.perform { db in
            try db.execute(sql: "ATTACH DATABASE ? AS snap", arguments: [databasePath])
            defer { try? db.execute(sql: "DETACH DATABASE snap") }
            try db.inTransaction {
                // The snapshot's ids go first into a staging table as they come, then into `used`
                // in id order: inserted one at a time in random order, each cost a page of a
                // B-tree larger than the page cache (a third of a verify of a million chunks).
                let insert = try db.cachedStatement(sql: "INSERT INTO temp.staging_\(used) (id) VALUES (?)").sqliteStatement
                for id in tree {
                    SQLiteBinding.bind(id, to: 1, of: insert)
                    try SQLiteBinding.step(insert, in: db)
                }
                // Each entry's chunk list is split here, one id at a time: a list can hold tens of
                // thousands of ids (a dump cut in 16 KiB chunks), too many to split in SQL.
                let rows = try Row.fetchCursor(db, sql: "SELECT chunks FROM snap.entries WHERE length(chunks) >= 32")
                while let row = try rows.next() {
                    try row.withUnsafeData(atIndex: 0) { data in
                        guard let list = data, list.count % 32 == 0 else {
                            throw KuraError.integrity(.snapshotDatabaseDamaged(name: "of snapshot \(snapshot.id.short)", reason: "invalid chunk list"))
                        }
                        try list.withUnsafeBytes { bytes in
                            for start in stride(from: 0, to: bytes.count, by: 32) {
                                SQLiteBinding.bindBlob(UnsafeRawBufferPointer(rebasing: bytes[start ..< start + 32]), to: 1, of: insert)
                                try SQLiteBinding.step(insert, in: db)
                            }
                        }
                    }
                }
                try db.execute(sql: """
                    INSERT OR IGNORE INTO temp.\(used) (id) SELECT id FROM temp.staging_\(used) ORDER BY id;
                    DELETE FROM temp.staging_\(used)
                    """)
                return .commit
            }
        }
    }

    /// Resolves which copy of each referenced chunk is the live one. Call after the last `add`.
    public func finish() throws {
        try index.perform { db in
            try db.execute(sql: """
                DROP TABLE IF EXISTS temp.\(live);
                CREATE TEMP TABLE \(live) (id BLOB PRIMARY KEY, pack BLOB NOT NULL) WITHOUT ROWID;
                INSERT INTO temp.\(live) (id, pack) SELECT u.id, min(c.pack) FROM temp.\(used) u JOIN chunks c ON c.id = u.id GROUP BY u.id;
                CREATE INDEX temp.\(live)_by_pack ON \(live) (pack);
                """)
        }
    }

    deinit {
        try? index.perform { db in
            try db.execute(sql: "DROP TABLE IF EXISTS temp.\(used); DROP TABLE IF EXISTS temp.staging_\(used); DROP TABLE IF EXISTS temp.\(live)")
        }
    }

    /// Number of distinct referenced chunks.
    public func referencedCount() throws -> Int {
        try index.perform { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM temp.\(used)") ?? 0 }
    }

    /// Referenced chunks that the index does not hold, up to `limit`.
    public func missing(limit: Int = 1_000_000) throws -> [ChunkID] {
        try index.perform { db in
            try Data.fetchAll(db, sql: """
                SELECT id FROM temp.\(used) WHERE id NOT IN (SELECT id FROM temp.\(live)) LIMIT ?
                """, arguments: [limit]).compactMap { ChunkID(bytes: $0) }
        }
    }

    /// Every pack of the index with its used and unused share, in pack id order.
    public func packUsage() throws -> [PackUsage] {
        try index.perform { db in
            try Row.fetchAll(db, sql: """
                SELECT c.pack, count(*), sum(c.stored_length), count(l.id),
                       coalesce(sum(CASE WHEN l.id IS NOT NULL THEN c.stored_length END), 0)
                FROM chunks c LEFT JOIN temp.\(live) l ON l.id = c.id AND l.pack = c.pack
                GROUP BY c.pack ORDER BY c.pack
                """).compactMap { row in
                    ChunkID(bytes: row[0] as Data).map {
                        PackUsage(pack: $0, entries: row[1], storedBytes: row[2], usedEntries: row[3], usedBytes: row[4])
                    }
                }
        }
    }

    /// The entries of `pack` that hold the kept copy of a referenced chunk, in offset order.
    public func liveEntries(inPack pack: ChunkID) throws -> [PackEntry] {
        try index.perform { db in
            try Row.fetchAll(db, sql: """
                SELECT c.id, c.offset, c.stored_length, c.plain_length, c.codec
                FROM temp.\(live) l JOIN chunks c ON c.id = l.id AND c.pack = l.pack
                WHERE l.pack = ? ORDER BY c.offset
                """, arguments: [Data(pack.bytes)]).compactMap { row in
                    ChunkID(bytes: row[0] as Data).flatMap { IndexCache.entry($0, row, from: 1) }
                }
        }
    }
}
