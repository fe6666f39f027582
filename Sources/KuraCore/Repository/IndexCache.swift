import Foundation
import GRDB

/// The local SQLite copy of all index files of one repository (`$KURA_CACHE/<repo id>/index.sqlite`).
///
/// It is only a cache: `synchronize(with:)` compares the index files it has loaded with those in
/// the repository, loads new ones, and rebuilds from scratch when one it loaded is gone. Lookups
/// go to SQLite, so memory stays bounded whatever the number of chunks.
public final class IndexCache {
    private let database: DatabaseQueue
    public let path: String

    public init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        do {
            database = try DatabaseQueue(path: path, configuration: configuration)
            try database.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA journal_mode = WAL")
                try db.execute(sql: """
                    CREATE TABLE IF NOT EXISTS index_files (id BLOB PRIMARY KEY) WITHOUT ROWID;
                    CREATE TABLE IF NOT EXISTS chunks (
                        id BLOB PRIMARY KEY, pack BLOB NOT NULL, offset INTEGER NOT NULL,
                        stored_length INTEGER NOT NULL, plain_length INTEGER NOT NULL, codec INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    """)
            }
        } catch {
            throw KuraError.io(operation: "cannot open index cache (\(error))", path: path, errno: EIO)
        }
    }

    /// Brings the cache in line with the repository's `index/` folder.
    public func synchronize(with repository: Repository) throws {
        let present = Set(try repository.listIndexFiles())
        let loaded = try perform { db in
            Set(try Data.fetchAll(db, sql: "SELECT id FROM index_files").compactMap { ChunkID(bytes: $0) })
        }
        if !loaded.isSubset(of: present) {
            try perform { db in
                try db.execute(sql: "DELETE FROM chunks; DELETE FROM index_files")
            }
            try load(present.sorted(), from: repository)
        } else {
            try load(present.subtracting(loaded).sorted(), from: repository)
        }
    }

    private func load(_ ids: [ChunkID], from repository: Repository) throws {
        for id in ids {
            let index = try repository.readIndexFile(id)
            try add(index, id: id)
        }
    }

    /// Records an index file's entries (in one transaction with the file's id).
    public func add(_ index: IndexFile, id: ChunkID) throws {
        try perform { db in
            try db.inTransaction {
                let statement = try db.cachedStatement(sql: """
                    INSERT OR IGNORE INTO chunks (id, pack, offset, stored_length, plain_length, codec) VALUES (?, ?, ?, ?, ?, ?)
                    """)
                for pack in index.packs {
                    let packData = Data(pack.pack.bytes)
                    for entry in pack.entries {
                        try statement.execute(arguments: [Data(entry.chunk.bytes), packData, Int64(entry.offset),
                                                          Int64(entry.storedLength), Int64(entry.plainLength), Int64(entry.codec.rawValue)])
                    }
                }
                try db.execute(sql: "INSERT OR IGNORE INTO index_files (id) VALUES (?)", arguments: [Data(id.bytes)])
                return .commit
            }
        }
    }

    /// The locations of many chunks at once; ids not in the index are absent from the result.
    public func locations<S: Sequence>(_ ids: S) throws -> [ChunkID: ChunkLocation] where S.Element == ChunkID {
        try perform { db in
            let statement = try db.cachedStatement(sql: "SELECT pack, offset, stored_length, plain_length, codec FROM chunks WHERE id = ?")
            var result: [ChunkID: ChunkLocation] = [:]
            for id in ids where result[id] == nil {
                guard let row = try Row.fetchOne(statement, arguments: [Data(id.bytes)]) else { continue }
                let packData: Data = row[0]
                guard let pack = ChunkID(bytes: packData), let codec = Codec(rawValue: UInt8(row[4] as Int64)) else { continue }
                result[id] = ChunkLocation(pack: pack, entry: PackEntry(
                    chunk: id, offset: UInt64(row[1] as Int64), storedLength: UInt32(row[2] as Int64),
                    plainLength: UInt32(row[3] as Int64), codec: codec))
            }
            return result
        }
    }

    /// Which of `ids` the index holds.
    public func contained<S: Sequence>(_ ids: S) throws -> Set<ChunkID> where S.Element == ChunkID {
        try perform { db in
            let statement = try db.cachedStatement(sql: "SELECT 1 FROM chunks WHERE id = ?")
            var result = Set<ChunkID>()
            for id in ids where try Int.fetchOne(statement, arguments: [Data(id.bytes)]) != nil {
                result.insert(id)
            }
            return result
        }
    }

    /// Totals over the whole index: chunk count, stored bytes, plain bytes, pack count.
    public func totals() throws -> (chunks: Int, stored: Int64, plain: Int64, packs: Int) {
        try perform { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT count(*), coalesce(sum(stored_length), 0), coalesce(sum(plain_length), 0), count(DISTINCT pack) FROM chunks
                """)
            return (row?[0] ?? 0, row?[1] ?? 0, row?[2] ?? 0, row?[3] ?? 0)
        }
    }

    private func perform<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try database.writeWithoutTransaction(body)
        } catch let error as KuraError {
            throw error
        } catch {
            throw KuraError.io(operation: "index cache: \(error)", path: path, errno: EIO)
        }
    }
}
