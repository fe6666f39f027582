import Foundation

extension Repository {
    /// The local path of a snapshot's database, fetching it from the chunk store into the cache
    /// when it is not there yet (every chunk verified as it is read).
    public func snapshotDatabasePath(_ snapshot: Snapshot) throws -> String {
        let path = cachedSnapshotDatabasePath(snapshot.id)
        if FileSystem.exists(path) { return path }
        let temporary = path + ".tmp-" + FileSystem.randomName()
        defer { unlink(temporary) }
        try materializeSnapshotDatabase(snapshot, at: temporary)
        if rename(temporary, path) != 0 { throw KuraError.posix("cannot rename", temporary) }
        return path
    }

    /// Calls `body` with the path of a snapshot's database: the cached copy when there is one,
    /// else a temp copy fetched from the store and deleted afterwards. For scans over every
    /// snapshot (verify, prune), so that the cache does not grow with the number of snapshots.
    public func withSnapshotDatabase<T>(_ snapshot: Snapshot, _ body: (String) throws -> T) throws -> T {
        let cached = cachedSnapshotDatabasePath(snapshot.id)
        if FileSystem.exists(cached) { return try body(cached) }
        let temporary = cached + ".scan-" + FileSystem.randomName()
        defer { unlink(temporary) }
        try materializeSnapshotDatabase(snapshot, at: temporary)
        return try body(temporary)
    }

    /// `<cache>/snapshots/<id>.sqlite`: where a snapshot's database is kept once materialized.
    func cachedSnapshotDatabasePath(_ id: ChunkID) -> String {
        cacheDirectory + "/snapshots/" + id.hex + ".sqlite"
    }

    /// Writes a snapshot's database to `path` from its chunks, each one verified.
    private func materializeSnapshotDatabase(_ snapshot: Snapshot, at path: String) throws {
        let chunks = try snapshot.record.tree.chunks.map { hex -> ChunkID in
            guard let id = ChunkID(hex: hex) else { throw KuraError.integrity(.snapshotDatabaseDamaged(name: "of snapshot \(snapshot.id.short)", reason: "invalid tree chunk id")) }
            return id
        }
        let fd = try FileSystem.createFile(path)
        defer { Glibc.close(fd) }
        let content = FileContentReader(reader: ChunkReader(store: store, cipher: cipher), locations: try index().locations(chunks))
        try content.forEachChunk(chunks, size: Int64(snapshot.record.tree.size), of: "the database of snapshot \(snapshot.id.short)") {
            try FileSystem.writeFully(fd, $0, path: path)
        }
    }

    /// Opens a snapshot's database for reading.
    public func openSnapshot(_ snapshot: Snapshot) throws -> SnapshotReader {
        try SnapshotReader(path: try snapshotDatabasePath(snapshot))
    }
}
