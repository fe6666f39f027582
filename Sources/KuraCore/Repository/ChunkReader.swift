import Foundation

/// Reads chunks out of packs — one ranged read of the object store each — and checks each
/// against its id. Thread-safe; each thread brings its own decompressor.
public final class ChunkReader {
    private let store: ObjectStore

    public init(store: ObjectStore) { self.store = store }

    /// Reads, decodes and verifies one chunk into `destination`, which must be exactly its plain
    /// length. `scratch` holds the stored bytes and is grown as needed.
    public func read(_ location: ChunkLocation, into destination: UnsafeMutableRawBufferPointer,
                     scratch: inout UnsafeMutableRawBufferPointer, decompressor: ChunkDecompressor) throws {
        let entry = location.entry
        guard destination.count == Int(entry.plainLength) else {
            throw KuraError.integrity(.sizeMismatch(path: "chunk \(entry.chunk.short)", actual: Int64(destination.count), expected: Int64(entry.plainLength)))
        }
        let stored = Int(entry.storedLength)
        if scratch.count < stored {
            scratch.deallocate()
            scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: stored, alignment: 64)
        }
        let region = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<stored])
        do {
            try store.read(RepositoryLayout.packName(location.pack), at: Int64(entry.offset), into: region)
        } catch KuraError.integrity {
            throw KuraError.integrity(.packDamaged(pack: location.pack.short, .chunkBeyondEnd(chunk: entry.chunk.short)))
        } catch KuraError.io(_, _, ENOENT) {
            throw KuraError.integrity(.packMissing(pack: location.pack.short))
        }
        guard decompressor.decompress(UnsafeRawBufferPointer(region), codec: entry.codec, into: destination),
              SHA256Hasher.hash(UnsafeRawBufferPointer(destination)) == entry.chunk else {
            throw KuraError.integrity(.chunkDamaged(chunk: entry.chunk.short, pack: location.pack.short))
        }
    }
}
