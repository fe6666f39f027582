import CZlib
import Foundation

/// Streams the decompressed bytes of a gzip file (concatenated members included), in large
/// reads. A stream that ends early, a bad CRC or trailing garbage is an integrity error.
final class GzipReader {
    private let source: ByteSource
    private let path: String
    private let stream: UnsafeMutablePointer<z_stream>
    private var input = [UInt8](repeating: 0, count: 1 << 20)
    private var inputEnd = false
    private var finished = false
    /// Compressed bytes read so far.
    private(set) var compressedBytes: Int64 = 0

    /// The gzip data of `source` (a file, or a file being decrypted); `path` names it in errors.
    init(source: ByteSource, path: String) throws {
        self.source = source
        self.path = path
        stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        guard inflateInit2_(stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            stream.deallocate()
            throw KuraError.invalidArgument("cannot initialise zlib")
        }
    }

    convenience init(path: String) throws {
        try self.init(source: try FileByteSource(path: path), path: path)
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Fills `buffer` with up to its size of decompressed bytes; 0 at the end of the data.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard !finished, buffer.count > 0 else { return 0 }
        stream.pointee.next_out = buffer.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(buffer.count)
        while stream.pointee.avail_out > 0 {
            if stream.pointee.avail_in == 0 && !inputEnd { try refill() }
            if stream.pointee.avail_in == 0 && inputEnd {
                if compressedBytes == 0 { throw KuraError.integrity(.archive(path: path, .empty)) }
                throw KuraError.integrity(.archive(path: path, .gzipTruncated))
            }
            let status = input.withUnsafeMutableBytes { _ in inflate(stream, Z_NO_FLUSH) }
            if status == Z_STREAM_END {
                // Another gzip member may follow (as `cat a.gz b.gz` makes); anything else is garbage.
                if stream.pointee.avail_in == 0 && !inputEnd { try refill() }
                if stream.pointee.avail_in == 0 {
                    finished = true
                    break
                }
                guard stream.pointee.next_in.pointee == 0x1f else {
                    throw KuraError.integrity(.archive(path: path, .trailingGzipData))
                }
                inflateReset(stream)
                continue
            }
            guard status == Z_OK || status == Z_BUF_ERROR else {
                let reason = stream.pointee.msg.map { String(cString: $0) } ?? "error \(status)"
                throw KuraError.integrity(.archive(path: path, .notGzip(reason: reason)))
            }
        }
        return buffer.count - Int(stream.pointee.avail_out)
    }

    private func refill() throws {
        let got = try input.withUnsafeMutableBytes { try source.read(into: $0) }
        if got == 0 { inputEnd = true }
        compressedBytes += Int64(got)
        input.withUnsafeMutableBytes { raw in
            stream.pointee.next_in = raw.baseAddress?.assumingMemoryBound(to: Bytef.self)
        }
        stream.pointee.avail_in = uInt(got)
    }
}
