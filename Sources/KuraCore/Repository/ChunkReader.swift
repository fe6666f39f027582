import Foundation

/// Reads chunks out of packs and checks each against its id. Thread-safe; each thread brings its
/// own decompressor and buffers. Chunks that lie close together in one pack are fetched with one
/// ranged read (`span`): on object storage each read is a request, so a file whose chunks were
/// written one after the other costs one request per few MiB instead of one per chunk.
public final class ChunkReader {
    private let store: ObjectStore
    private let cipher: RepositoryCipher?
    /// The largest range one read fetches, and the largest gap of unwanted bytes it reads over.
    static let maxSpan = 8 << 20
    static let maxGap = 256 << 10

    /// Reads from `store`; `cipher` opens the blobs of an encrypted repository.
    init(store: ObjectStore, cipher: RepositoryCipher?) {
        self.store = store
        self.cipher = cipher
    }

    /// A decoder for one thread's chunks.
    func makeDecoder() -> ChunkDecoder { ChunkDecoder(cipher: cipher) }

    /// The byte range one ranged read fetches, grown chunk by chunk: chunks of one pack, each after
    /// the previous, with gaps under `maxGap` read over, `maxSpan` in all.
    struct Span {
        private(set) var pack: ChunkID?
        private(set) var start: UInt64 = 0
        private(set) var end: UInt64 = 0

        /// Takes `location` into the span when it may follow what is there; false otherwise.
        mutating func append(_ location: ChunkLocation) -> Bool {
            let entry = location.entry
            let chunkEnd = entry.offset + UInt64(entry.storedLength)
            guard let pack else {
                (pack, start, end) = (location.pack, entry.offset, chunkEnd)
                return true
            }
            guard location.pack == pack, entry.offset >= end, entry.offset - end <= UInt64(ChunkReader.maxGap),
                  chunkEnd - start <= UInt64(ChunkReader.maxSpan) else { return false }
            end = chunkEnd
            return true
        }
    }

    /// Reads the stored bytes from the first to the last of `locations` (one span, see `span`) into
    /// `region`, which must be exactly that long. Offsets of the chunks are relative to the first.
    func fetch(_ locations: ArraySlice<ChunkLocation>, into region: UnsafeMutableRawBufferPointer) throws {
        guard let first = locations.first, let last = locations.last else { return }
        do {
            try store.read(RepositoryLayout.packName(first.pack), at: Int64(first.entry.offset), into: region)
        } catch KuraError.integrity {
            throw KuraError.integrity(.packDamaged(pack: first.pack.short, .chunkBeyondEnd(chunk: last.entry.chunk.short)))
        } catch KuraError.io(_, _, ENOENT) {
            throw KuraError.integrity(.packMissing(pack: first.pack.short))
        }
    }

    /// The length of a span's stored bytes, from its first chunk to the end of its last.
    static func length(_ locations: ArraySlice<ChunkLocation>) -> Int {
        guard let first = locations.first, let last = locations.last else { return 0 }
        return Int(last.entry.offset + UInt64(last.entry.storedLength) - first.entry.offset)
    }

    /// Decodes and verifies one chunk whose stored bytes are `stored` into `destination`, which
    /// must be exactly its plain length.
    func decode(_ location: ChunkLocation, stored: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer,
                decoder: ChunkDecoder) throws {
        let entry = location.entry
        guard destination.count == Int(entry.plainLength) else {
            throw KuraError.integrity(.sizeMismatch(path: "chunk \(entry.chunk.short)", actual: Int64(destination.count), expected: Int64(entry.plainLength)))
        }
        guard decoder.decode(stored, codec: entry.codec, into: destination),
              SHA256Hasher.hash(UnsafeRawBufferPointer(destination)) == entry.chunk else {
            throw KuraError.integrity(.chunkDamaged(chunk: entry.chunk.short, pack: location.pack.short))
        }
    }
}
