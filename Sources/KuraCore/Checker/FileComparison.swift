import Foundation

/// Compares a file on disk with a snapshot entry without the repository: the file is read
/// sequentially, cut at the entry's chunk lengths, and each piece's SHA-256 compared with the
/// chunk id.
enum FileComparison {
    /// True when the file has `size` bytes and its pieces hash to `chunks` (id, plain length).
    static func matches(_ path: String, size: Int64, chunks: [(ChunkID, Int)]) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, Int64(info.st_size) == size else { return false }
        let largest = chunks.map(\.1).max() ?? 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(largest, 1), alignment: 64)
        defer { buffer.deallocate() }
        var offset: Int64 = 0
        for (id, length) in chunks {
            let piece = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<length])
            guard (try? FileSystem.readFully(fd, into: piece, at: offset, path: path)) != nil,
                  SHA256Hasher.hash(UnsafeRawBufferPointer(piece)) == id else { return false }
            offset += Int64(length)
        }
        return offset == size
    }
}
