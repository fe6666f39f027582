import Foundation

/// Writes single files out of the repository: the chunks of one entry, read, verified and
/// written in order. One per thread (it owns a decompressor and buffers).
final class FileRestorer {
    private let reader: ChunkReader
    private let locations: [ChunkID: ChunkLocation]
    private let decompressor = ChunkDecompressor()
    private var scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
    private var plain = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)

    init(reader: ChunkReader, locations: [ChunkID: ChunkLocation]) {
        self.reader = reader
        self.locations = locations
    }

    deinit {
        scratch.deallocate()
        plain.deallocate()
    }

    /// Streams a file's verified content to `body`, chunk by chunk; checks the total size.
    func forEachChunk(of entry: Entry, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var total: Int64 = 0
        for chunk in entry.chunks {
            guard let location = locations[chunk] else {
                throw KuraError.integrity("chunk \(chunk.short) of \(entry.path) is missing from the index")
            }
            let length = Int(location.entry.plainLength)
            if plain.count < length {
                plain.deallocate()
                plain = UnsafeMutableRawBufferPointer.allocate(byteCount: length, alignment: 64)
            }
            let destination = UnsafeMutableRawBufferPointer(rebasing: plain[0..<length])
            try reader.read(location, into: destination, scratch: &scratch, decompressor: decompressor)
            try body(UnsafeRawBufferPointer(destination))
            total += Int64(length)
        }
        guard total == entry.size else {
            throw KuraError.integrity("\(entry.path): chunks hold \(total) bytes, the snapshot says \(entry.size)")
        }
    }

    /// The temp name a file is written under before its rename: `.<name>.kura-<8 hex>`.
    static func temporaryName(for name: String) -> String {
        ".\(name.prefix(100)).kura-\(FileSystem.randomName().prefix(8))"
    }

    /// Whether `name` has the shape of `temporaryName(for:)`.
    static func isTemporaryName(_ name: String) -> Bool {
        let utf8 = Array(name.utf8)
        let marker = Array(".kura-".utf8)
        guard utf8.count > 1 + marker.count + 8, utf8[0] == UInt8(ascii: "."),
              Array(utf8[(utf8.count - 8 - marker.count)..<(utf8.count - 8)]) == marker else { return false }
        return utf8.suffix(8).allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }

    /// Restores one file or symlink under a temp name and renames it into place.
    func restore(_ entry: Entry, into target: TargetDirectory) throws {
        let (directory, name) = try target.openParent(of: entry.path)
        defer { Glibc.close(directory) }
        let temporary = Self.temporaryName(for: name)
        let displayPath = target.path + "/" + entry.path
        if entry.kind == .symlink {
            guard symlinkat(entry.linkTarget ?? "", directory, temporary) == 0 else {
                throw KuraError.posix("cannot create symlink", displayPath)
            }
        } else {
            let fd = openat(directory, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw KuraError.posix("cannot create", displayPath) }
            do {
                defer { Glibc.close(fd) }
                try forEachChunk(of: entry) { bytes in try FileSystem.writeFully(fd, bytes, path: displayPath) }
            } catch {
                unlinkat(directory, temporary, 0)
                throw error
            }
        }
        Restorer.applyMetadata(entry, at: directory, name: temporary)
        FaultInjection.step()
        guard renameat(directory, temporary, directory, name) == 0 else {
            let code = errno
            unlinkat(directory, temporary, 0)
            throw KuraError.posix("cannot put in place", displayPath, code)
        }
    }
}
