import Foundation

/// Reads chunks out of packs and checks each against its id. Thread-safe: pack files are opened
/// once and read with `pread` from any thread; each thread brings its own decompressor.
public final class ChunkReader {
    private let layout: RepositoryLayout
    private let lock = NSLock()
    private var openPacks: [ChunkID: OpenPack] = [:]
    private static let maxOpenPacks = 64

    public init(layout: RepositoryLayout) { self.layout = layout }

    deinit { for open in openPacks.values { close(open.fd) } }

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
        let fd = try acquire(location.pack)
        defer { release(location.pack) }
        let region = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<stored])
        do {
            try FileSystem.readFully(fd, into: region, at: Int64(entry.offset), path: layout.pack(location.pack))
        } catch KuraError.integrity {
            throw KuraError.integrity(.packDamaged(pack: location.pack.short, .chunkBeyondEnd(chunk: entry.chunk.short)))
        }
        guard decompressor.decompress(UnsafeRawBufferPointer(region), codec: entry.codec, into: destination),
              SHA256Hasher.hash(UnsafeRawBufferPointer(destination)) == entry.chunk else {
            throw KuraError.integrity(.chunkDamaged(chunk: entry.chunk.short, pack: location.pack.short))
        }
    }

    /// Opens (or reuses) a pack's descriptor and counts the caller as a user of it.
    private func acquire(_ pack: ChunkID) throws -> Int32 {
        lock.lock()
        defer { lock.unlock() }
        if var open = openPacks[pack] {
            open.users += 1
            openPacks[pack] = open
            return open.fd
        }
        let path = layout.pack(pack)
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { throw KuraError.integrity(.packMissing(pack: pack.short)) }
            throw KuraError.posix("cannot open pack", path)
        }
        if openPacks.count >= Self.maxOpenPacks {
            // Keep the descriptor count bounded: close packs nobody is reading now.
            for (idle, open) in openPacks where open.users == 0 {
                close(open.fd)
                openPacks[idle] = nil
            }
        }
        openPacks[pack] = OpenPack(fd: fd, users: 1)
        return fd
    }

    private func release(_ pack: ChunkID) {
        lock.lock()
        openPacks[pack]?.users -= 1
        lock.unlock()
    }

    private struct OpenPack {
        var fd: Int32
        var users: Int
    }
}
