import Foundation

/// A stream of bytes read front to back: a file, or a file decrypted on the way (`AgeDecryptor`).
protocol ByteSource: AnyObject {
    /// Fills `buffer` with up to its size of the next bytes; 0 at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// A file's bytes, with `read(2)`.
final class FileByteSource: ByteSource {
    let path: String
    private let fd: Int32

    init(path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw KuraError.posix("cannot open archive", path) }
    }

    deinit { close(fd) }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let got = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if got >= 0 { return got }
            if errno != EINTR { throw KuraError.posix("cannot read", path) }
        }
    }
}

extension ByteSource {
    /// Reads until `buffer` is full or the stream ends; the count read.
    func readFully(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var total = 0
        while total < buffer.count {
            let got = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[total...]))
            if got == 0 { break }
            total += got
        }
        return total
    }
}
