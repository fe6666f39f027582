import Foundation

extension Repository {
    /// The local path of a snapshot's database, fetching it from the chunk store into the cache
    /// when it is not there yet (every chunk verified as it is read).
    public func snapshotDatabasePath(_ snapshot: Snapshot) throws -> String {
        let path = cacheDirectory + "/snapshots/" + snapshot.id.hex + ".sqlite"
        if FileSystem.exists(path) { return path }
        let chunks = try snapshot.record.tree.chunks.map { hex -> ChunkID in
            guard let id = ChunkID(hex: hex) else { throw KuraError.integrity("snapshot \(snapshot.id.short) has an invalid tree chunk id") }
            return id
        }
        let locations = try index().locations(chunks)
        let temporary = path + ".tmp-" + FileSystem.randomName()
        let fd = Glibc.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw KuraError.posix("cannot create", temporary) }
        defer { Glibc.close(fd); unlink(temporary) }
        let reader = ChunkReader(layout: layout)
        let decompressor = ChunkDecompressor()
        var scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { scratch.deallocate() }
        var written: Int64 = 0
        for chunk in chunks {
            guard let location = locations[chunk] else {
                throw KuraError.integrity("snapshot \(snapshot.id.short): chunk \(chunk.short) of its database is missing from the index")
            }
            let plain = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(location.entry.plainLength), alignment: 64)
            defer { plain.deallocate() }
            try reader.read(location, into: plain, scratch: &scratch, decompressor: decompressor)
            try FileSystem.writeFully(fd, UnsafeRawBufferPointer(plain), path: temporary)
            written += Int64(plain.count)
        }
        guard written == snapshot.record.tree.size else {
            throw KuraError.integrity("snapshot \(snapshot.id.short): database is \(written) bytes, expected \(snapshot.record.tree.size)")
        }
        if rename(temporary, path) != 0 { throw KuraError.posix("cannot rename", temporary) }
        return path
    }

    /// Opens a snapshot's database for reading.
    public func openSnapshot(_ snapshot: Snapshot) throws -> SnapshotReader {
        try SnapshotReader(path: try snapshotDatabasePath(snapshot))
    }
}
