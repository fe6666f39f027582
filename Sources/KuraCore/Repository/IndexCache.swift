import Foundation
import GRDB
import GRDBSQLite

/// The local SQLite copy of the repository's effective index (`$KURA_CACHE/<repo id>/index.sqlite`).
///
/// It is only a cache: `synchronize(with:)` compares the index files it has loaded with those in
/// the repository, loads new ones, and drops the entries of one it loaded that is gone or
/// superseded (by prune or repair) — only that file's packs, so a prune that rewrote a few index
/// files costs the cache those files, not a rebuild. Lookups go to SQLite, so memory stays bounded
/// whatever the number of chunks. A chunk may lie in more than one pack (two backups at once); every copy is
/// recorded, and lookups return one of them.
public final class IndexCache {
    let database: DatabaseQueue
    public let path: String
    /// Index files that failed their checks at the last `synchronize`: left out of the cache;
    /// `kura verify` reports them and `kura repair index` replaces them.
    public private(set) var damagedIndexFiles: [ChunkID] = []
    /// Bumped when the cache's tables change; an older cache is dropped and rebuilt.
    private static let schemaVersion = 5

    public init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        // SQLite would create the file (and its -wal, -shm, which copy its mode) readable by others.
        if !FileSystem.exists(path) { try? FileSystem.createEmptyPrivateFile(path) }
        do {
            database = try DatabaseQueue(path: path, configuration: configuration)
            try database.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA journal_mode = WAL; PRAGMA cache_size = -\(Self.pageCacheKiB); PRAGMA temp.cache_size = -\(Self.pageCacheKiB)")
                if try Int.fetchOne(db, sql: "PRAGMA user_version") != Self.schemaVersion {
                    try db.execute(sql: """
                        DROP TABLE IF EXISTS index_files; DROP TABLE IF EXISTS chunks; DROP TABLE IF EXISTS superseded;
                        DROP TABLE IF EXISTS headers; DROP TABLE IF EXISTS index_packs; DROP TABLE IF EXISTS checked_snapshots;
                        CREATE TABLE index_files (id BLOB PRIMARY KEY) WITHOUT ROWID;
                        CREATE TABLE index_packs (
                            file BLOB NOT NULL, pack BLOB NOT NULL, entries INTEGER NOT NULL,
                            stored_bytes INTEGER NOT NULL, plain_bytes INTEGER NOT NULL, PRIMARY KEY (file, pack)
                        ) WITHOUT ROWID;
                        CREATE INDEX index_packs_by_pack ON index_packs (pack);
                        CREATE TABLE headers (id BLOB PRIMARY KEY) WITHOUT ROWID;
                        CREATE TABLE superseded (id BLOB NOT NULL, by BLOB NOT NULL, PRIMARY KEY (id, by)) WITHOUT ROWID;
                        CREATE TABLE chunks (
                            id BLOB NOT NULL, pack BLOB NOT NULL, offset INTEGER NOT NULL,
                            stored_length INTEGER NOT NULL, plain_length INTEGER NOT NULL, codec INTEGER NOT NULL,
                            PRIMARY KEY (id, pack)
                        ) WITHOUT ROWID;
                        \(Self.createPackIndex);
                        CREATE TABLE checked_snapshots (id BLOB PRIMARY KEY) WITHOUT ROWID;
                        PRAGMA user_version = \(Self.schemaVersion);
                        """)
                }
            }
        } catch {
            throw KuraError.io(operation: "cannot open index cache (\(error))", path: path, errno: EIO)
        }
    }

    /// Brings the cache in line with the repository's `index/` folder: the effective index is
    /// every index file present that no present index file supersedes. (Only a present file's
    /// word counts: a copy of the repository from before a prune, sharing this cache, still has
    /// its old index.)
    public func synchronize(with repository: Repository) throws {
        let present = Set(try repository.listIndexFiles())
        var (loaded, headersKnown) = try perform { db in
            (Set(try Data.fetchAll(db, sql: "SELECT id FROM index_files").compactMap { ChunkID(bytes: $0) }),
             Set(try Data.fetchAll(db, sql: "SELECT id FROM headers").compactMap { ChunkID(bytes: $0) }))
        }
        let unknown = present.subtracting(headersKnown).sorted()
        if repository.isEncrypted {
            // A sealed index file opens only whole: it is loaded now, header and entries, rather
            // than read twice. (Were it superseded after all, the reload below reads it again.) One
            // that does not open supersedes nothing; verify reports it.
            var opened = Set<ChunkID>()
            try add(unknown, sorted: unknown.count >= Self.sortedLoadFiles, rebuildingPackIndex: loaded.isEmpty) { id in
                guard let index = try? repository.readIndexFile(id) else { return nil }
                opened.insert(id)
                return index
            }
            loaded.formUnion(opened)
            try perform { db in for id in unknown where !opened.contains(id) { try record(id, supersedes: [], in: db) } }
        } else {
            for id in unknown {
                let superseded = try repository.supersededBy(id)
                try perform { db in try record(id, supersedes: superseded, in: db) }
            }
        }
        let superseded = try perform { db in
            try Row.fetchAll(db, sql: "SELECT id, by FROM superseded").compactMap { row -> ChunkID? in
                guard let by = ChunkID(bytes: row[1] as Data), present.contains(by) else { return nil }
                return ChunkID(bytes: row[0] as Data)
            }
        }
        let effective = present.subtracting(superseded)
        try drop(loaded.subtracting(effective))
        let missing = effective.subtracting(loaded).sorted()
        var damaged: [ChunkID] = []
        try add(missing, sorted: missing.count >= Self.sortedLoadFiles, rebuildingPackIndex: loaded.isEmpty) { id in
            do {
                return try repository.readIndexFile(id)
            } catch KuraError.integrity {
                damaged.append(id)
                return nil
            }
        }
        damagedIndexFiles = damaged
    }

    /// From this many index files on, a synchronize loads them sorted (`add(_:sorted:…)`).
    static let sortedLoadFiles = 8
    /// SQLite's page cache for the index (its default is 2 MB): lookups and loads of random
    /// 32-byte keys touch a page each, and more of the B-tree's inner pages then stay in memory
    /// (the temp tables of `ChunkUsage` get as much).
    static let pageCacheKiB = 32 << 10
    /// A pack's entries in offset order, straight from the index (it holds every column):
    /// verify and prune read them pack by pack, and a lookup into `chunks` for each entry cost a
    /// third of a verify.
    private static let createPackIndex = """
        CREATE INDEX IF NOT EXISTS chunks_by_pack ON chunks (pack, offset, stored_length, plain_length, codec)
        """

    /// Forgets loaded index files that are no longer effective: their entries go, except those of
    /// a pack another loaded file also lists (a pack's entries are fixed by its bytes, so every
    /// index file that names it names the same ones). Snapshots recorded as checked are checked
    /// again: a dropped file may have held their chunks.
    private func drop(_ files: Set<ChunkID>) throws {
        guard !files.isEmpty else { return }
        try perform { db in
            try db.inTransaction {
                try db.execute(sql: "CREATE TEMP TABLE IF NOT EXISTS dropped_files (id BLOB PRIMARY KEY) WITHOUT ROWID; DELETE FROM temp.dropped_files")
                for id in files { try db.execute(sql: "INSERT INTO temp.dropped_files (id) VALUES (?)", arguments: [Data(id.bytes)]) }
                try db.execute(sql: """
                    DELETE FROM chunks WHERE pack IN (
                        SELECT pack FROM index_packs WHERE file IN temp.dropped_files
                        EXCEPT SELECT pack FROM index_packs WHERE file NOT IN temp.dropped_files);
                    DELETE FROM index_packs WHERE file IN temp.dropped_files;
                    DELETE FROM index_files WHERE id IN temp.dropped_files;
                    DELETE FROM temp.dropped_files;
                    DELETE FROM checked_snapshots;
                    """)
                return .commit
            }
        }
    }

    private func record(_ id: ChunkID, supersedes: [ChunkID], in db: Database) throws {
        for old in supersedes {
            try db.execute(sql: "INSERT OR IGNORE INTO superseded (id, by) VALUES (?, ?)", arguments: [Data(old.bytes), Data(id.bytes)])
        }
        try db.execute(sql: "INSERT OR IGNORE INTO headers (id) VALUES (?)", arguments: [Data(id.bytes)])
    }

    /// Records an index file's entries (in one transaction with the file's id).
    public func add(_ index: IndexFile, id: ChunkID) throws {
        try add([id], sorted: false, rebuildingPackIndex: false) { _ in index }
    }

    /// Records index files' entries in one transaction: the cache never lists a file whose
    /// entries it lacks. `read` gives each file (nil: leave it out). With `sorted`, entries go
    /// first into a staging table and then into `chunks` in id order: random 32-byte keys
    /// inserted one at a time into a B-tree larger than the page cache cost a page each, while a
    /// sorted insert fills pages in order (a cache built on a fresh machine). With
    /// `rebuildingPackIndex` (an empty cache), `chunks_by_pack` is built once at the end.
    func add(_ ids: [ChunkID], sorted: Bool, rebuildingPackIndex: Bool, read: (ChunkID) throws -> IndexFile?) throws {
        guard !ids.isEmpty else { return }
        try perform { db in
            try db.inTransaction {
                if rebuildingPackIndex && sorted { try db.execute(sql: "DROP INDEX IF EXISTS chunks_by_pack") }
                if sorted {
                    try db.execute(sql: """
                        CREATE TEMP TABLE IF NOT EXISTS staging (
                            id BLOB, pack BLOB, offset INTEGER, stored_length INTEGER, plain_length INTEGER, codec INTEGER);
                        DELETE FROM temp.staging
                        """)
                }
                let table = sorted ? "temp.staging" : "chunks"
                let insert = try db.cachedStatement(sql: """
                    INSERT OR IGNORE INTO \(table) (id, pack, offset, stored_length, plain_length, codec) VALUES (?, ?, ?, ?, ?, ?)
                    """).sqliteStatement
                let listing = try db.cachedStatement(sql: """
                    INSERT OR REPLACE INTO index_packs (file, pack, entries, stored_bytes, plain_bytes) VALUES (?, ?, ?, ?, ?)
                    """).sqliteStatement
                for id in ids {
                    guard let index = try read(id) else { continue }
                    for pack in index.packs {
                        var storedBytes: Int64 = 0, plainBytes: Int64 = 0
                        for entry in pack.entries {
                            storedBytes += Int64(entry.storedLength)
                            plainBytes += Int64(entry.plainLength)
                            SQLiteBinding.bind(entry.chunk, to: 1, of: insert)
                            SQLiteBinding.bind(pack.pack, to: 2, of: insert)
                            sqlite3_bind_int64(insert, 3, Int64(entry.offset))
                            sqlite3_bind_int64(insert, 4, Int64(entry.storedLength))
                            sqlite3_bind_int64(insert, 5, Int64(entry.plainLength))
                            sqlite3_bind_int64(insert, 6, Int64(entry.codec.rawValue))
                            try SQLiteBinding.step(insert, in: db)
                        }
                        SQLiteBinding.bind(id, to: 1, of: listing)
                        SQLiteBinding.bind(pack.pack, to: 2, of: listing)
                        sqlite3_bind_int64(listing, 3, Int64(pack.entries.count))
                        sqlite3_bind_int64(listing, 4, storedBytes)
                        sqlite3_bind_int64(listing, 5, plainBytes)
                        try SQLiteBinding.step(listing, in: db)
                    }
                    try db.execute(sql: "INSERT OR IGNORE INTO index_files (id) VALUES (?)", arguments: [Data(id.bytes)])
                    try record(id, supersedes: index.supersedes, in: db)
                }
                if sorted {
                    try db.execute(sql: """
                        INSERT OR IGNORE INTO chunks (id, pack, offset, stored_length, plain_length, codec)
                            SELECT id, pack, offset, stored_length, plain_length, codec FROM temp.staging ORDER BY id, pack;
                        DELETE FROM temp.staging;
                        \(Self.createPackIndex)
                        """)
                }
                return .commit
            }
        }
    }

    /// The locations of many chunks at once; ids not in the index are absent from the result.
    public func locations<S: Sequence>(_ ids: S) throws -> [ChunkID: ChunkLocation] where S.Element == ChunkID {
        try performReading { db in
            let statement = try db.cachedStatement(sql: "SELECT pack, offset, stored_length, plain_length, codec FROM chunks WHERE id = ? LIMIT 1")
            var result: [ChunkID: ChunkLocation] = [:]
            for id in ids where result[id] == nil {
                guard let row = try Row.fetchOne(statement, arguments: [Data(id.bytes)]),
                      let pack = ChunkID(bytes: row[0] as Data),
                      let entry = Self.entry(id, row, from: 1) else { continue }
                result[id] = ChunkLocation(pack: pack, entry: entry)
            }
            return result
        }
    }

    /// Which of `ids` the index holds.
    public func contained<S: Sequence>(_ ids: S) throws -> Set<ChunkID> where S.Element == ChunkID {
        let unique = Array(Set(ids))
        guard !unique.isEmpty else { return [] }
        return try performReading { db in
            var result = Set<ChunkID>()
            let rows = try Data.fetchCursor(db, sql: Self.eachID + "SELECT substr(?1, i * 32 + 1, 32) FROM k WHERE " + Self.indexed,
                                            arguments: Self.idArguments(unique))
            while let id = try rows.next() {
                if let chunk = ChunkID(bytes: id) { result.insert(chunk) }
            }
            return result
        }
    }

    /// How many of `ids` (counted with repeats) the index lacks: a parent snapshot's check before
    /// a backup trusts its chunk lists.
    public func missingCount(_ ids: [ChunkID]) throws -> Int {
        guard !ids.isEmpty else { return 0 }
        return try performReading { db in
            try Int.fetchOne(db, sql: Self.eachID + "SELECT count(*) FROM k WHERE NOT " + Self.indexed,
                             arguments: Self.idArguments(ids)) ?? 0
        }
    }

    /// Whether every chunk snapshot `id` references was in the cache when it was recorded
    /// (`recordChecked`) and no loaded index file has been dropped since: its chunk lists can be
    /// reused without a `missingCount` of each (DESIGN invariant 46).
    public func isChecked(snapshot id: ChunkID) throws -> Bool {
        try perform { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM checked_snapshots WHERE id = ?)", arguments: [Data(id.bytes)]) ?? false
        }
    }

    /// Records that every chunk snapshot `id` references is in the cache now (a backup that just
    /// stored it, or a parent whose check found nothing missing). Dropping any index file forgets
    /// every such record.
    public func recordChecked(snapshot id: ChunkID) throws {
        try perform { db in
            try db.execute(sql: "INSERT OR IGNORE INTO checked_snapshots (id) VALUES (?)", arguments: [Data(id.bytes)])
        }
    }

    /// Many ids are looked up in one statement, inside SQLite: they go in as one blob (`?1`, the
    /// ids back to back) with their count (`?2`), and `k` numbers them. (One statement per id
    /// cost a no-change backup of a 1 GB site 30 ms in statement overhead; SQLite 3.40 has no
    /// `carray` or `unhex` to pass a list otherwise.)
    private static let eachID = "WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i + 1 < ?2) "
    private static let indexed = "EXISTS (SELECT 1 FROM chunks WHERE id = substr(?1, i * 32 + 1, 32))"

    private static func idArguments(_ ids: [ChunkID]) -> StatementArguments {
        var blob = Data(capacity: ids.count * 32)
        for id in ids { withUnsafeBytes(of: id.words) { blob.append(contentsOf: $0) } }
        return [blob, ids.count]
    }

    /// Totals over the whole index: chunks (stored copies: one stored twice by two backups at
    /// once counts twice), stored bytes, plain bytes, packs. Summed over each pack's totals in
    /// `index_packs` (a pack listed by two files once), not over `chunks`: a nightly run asks,
    /// and a scan of ten million chunks took minutes.
    public func totals() throws -> (chunks: Int, stored: Int64, plain: Int64, packs: Int) {
        try perform { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT count(*), coalesce(sum(entries), 0), coalesce(sum(stored), 0), coalesce(sum(plain), 0) FROM (
                    SELECT max(entries) AS entries, max(stored_bytes) AS stored, max(plain_bytes) AS plain FROM index_packs GROUP BY pack)
                """)
            return (row?[1] ?? 0, row?[2] ?? 0, row?[3] ?? 0, row?[0] ?? 0)
        }
    }

    /// The loaded index files with the packs each lists and their entry counts: prune rewrites
    /// only the files that list a pack it changes, and merges small files (`IndexRewritePlan`).
    func indexFileContents() throws -> [ChunkID: [(pack: ChunkID, entries: Int)]] {
        try perform { db in
            var result: [ChunkID: [(pack: ChunkID, entries: Int)]] = [:]
            let rows = try Row.fetchCursor(db, sql: """
                SELECT p.file, p.pack, p.entries FROM index_packs p JOIN index_files f ON f.id = p.file ORDER BY p.file, p.pack
                """)
            while let row = try rows.next() {
                guard let file = ChunkID(bytes: row[0] as Data), let pack = ChunkID(bytes: row[1] as Data) else { continue }
                result[file, default: []].append((pack, row[2]))
            }
            return result
        }
    }

    /// Every pack the index names, in id order.
    public func packs() throws -> [ChunkID] {
        try perform { db in
            try Data.fetchAll(db, sql: "SELECT DISTINCT pack FROM chunks ORDER BY pack").compactMap { ChunkID(bytes: $0) }
        }
    }

    /// The index's entries for one pack, in offset order.
    public func entries(inPack pack: ChunkID) throws -> [PackEntry] {
        try perform { db in
            try Row.fetchAll(db, sql: """
                SELECT id, offset, stored_length, plain_length, codec FROM chunks WHERE pack = ? ORDER BY offset
                """, arguments: [Data(pack.bytes)]).compactMap { row in
                    ChunkID(bytes: row[0] as Data).flatMap { Self.entry($0, row, from: 1) }
                }
        }
    }

    static func entry(_ id: ChunkID, _ row: Row, from column: Int) -> PackEntry? {
        guard let codec = Codec(rawValue: UInt8(truncatingIfNeeded: row[column + 3] as Int64)) else { return nil }
        return PackEntry(chunk: id, offset: UInt64(row[column] as Int64), storedLength: UInt32(truncatingIfNeeded: row[column + 1] as Int64),
                         plainLength: UInt32(truncatingIfNeeded: row[column + 2] as Int64), codec: codec)
    }

    /// Many lookups in one read transaction: SQLite then takes its file locks once, not once per
    /// statement (a no-change backup checks thousands of chunks of its parent).
    func performReading<T>(_ body: (Database) throws -> T) throws -> T {
        try perform { db in
            try db.execute(sql: "BEGIN DEFERRED TRANSACTION")
            // Only reads happened: ending the transaction cannot lose anything.
            defer { try? db.execute(sql: "COMMIT") }
            return try body(db)
        }
    }

    func perform<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try database.writeWithoutTransaction(body)
        } catch let error as KuraError {
            throw error
        } catch {
            throw KuraError.io(operation: "index cache: \(error)", path: path, errno: EIO)
        }
    }
}
