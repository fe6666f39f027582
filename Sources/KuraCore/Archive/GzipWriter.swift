import CZlib
import Dispatch
import Foundation

/// Writes one gzip stream (RFC 1952) whose deflate data is made on all cores, as pigz does: the
/// input is cut into segments, each compressed independently (primed with the 32 KiB before it
/// as dictionary, so the ratio stays close to a single stream) and ended with a sync flush, so
/// the pieces concatenate into one valid deflate stream. Segments known to be incompressible
/// (chunks Kura stored raw) become deflate *stored* blocks without being compressed at all. The
/// output depends only on the input and the segment boundaries: the same input gives the same
/// bytes.
final class GzipWriter {
    /// Where the gzip bytes go, in order.
    private let sink: (UnsafeRawBufferPointer) throws -> Void
    private let level: Int32
    private static let segmentSize = 1 << 20
    private static let window = 32 << 10
    /// Segments compressed together on all cores.
    private static let groupSize = 16

    private var pending: [Segment] = []
    private var current = Segment(compressible: true)
    /// The last 32 KiB of input: the dictionary of the next segment.
    private var history: [UInt8] = []
    private var crc: uLong = crc32(0, nil, 0)
    private var length: UInt64 = 0

    private struct Segment {
        var bytes: [UInt8] = []
        var compressible: Bool
        var dictionary: [UInt8] = []
        var output: [UInt8] = []
        var crc: uLong = 0
    }

    init(level: Int, sink: @escaping (UnsafeRawBufferPointer) throws -> Void) throws {
        self.level = Int32(level)
        self.sink = sink
        // Header: magic, deflate, no flags, mtime 0 (deterministic), no extra flags, OS = Unix.
        let header: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]
        try header.withUnsafeBytes { try sink($0) }
    }

    /// Appends bytes; `compressible: false` stores them without compression.
    func write(_ bytes: UnsafeRawBufferPointer, compressible: Bool) throws {
        var offset = 0
        while offset < bytes.count {
            if current.compressible != compressible || current.bytes.count >= Self.segmentSize {
                try closeSegment()
                current.compressible = compressible
            }
            let take = min(bytes.count - offset, Self.segmentSize - current.bytes.count)
            current.bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + take)]))
            offset += take
        }
    }

    func write(_ bytes: [UInt8], compressible: Bool = true) throws {
        try bytes.withUnsafeBytes { try write($0, compressible: compressible) }
    }

    /// Ends the stream: the last segments, a final empty stored block, CRC-32 and length.
    func finish() throws {
        try closeSegment()
        try flushGroup()
        var trailer: [UInt8] = [0x01, 0x00, 0x00, 0xff, 0xff]
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: crc).littleEndian) { trailer += $0 }
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: length).littleEndian) { trailer += $0 }
        try trailer.withUnsafeBytes { try sink($0) }
    }

    private func closeSegment() throws {
        guard !current.bytes.isEmpty else { return }
        current.dictionary = history
        let bytes = current.bytes
        if bytes.count >= Self.window {
            history = Array(bytes.suffix(Self.window))
        } else {
            history = Array((history + bytes).suffix(Self.window))
        }
        pending.append(current)
        current = Segment(compressible: current.compressible)
        if pending.count >= Self.groupSize { try flushGroup() }
    }

    private func flushGroup() throws {
        guard !pending.isEmpty else { return }
        let level = self.level
        pending.withUnsafeMutableBufferPointer { segments in
            guard let base = segments.baseAddress else { return }
            DispatchQueue.concurrentPerform(iterations: segments.count) { index in
                let segment = base + index
                segment.pointee.crc = segment.pointee.bytes.withUnsafeBytes {
                    crc32(0, $0.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt($0.count))
                }
                segment.pointee.output = segment.pointee.compressible
                    ? Self.deflate(segment.pointee.bytes, dictionary: segment.pointee.dictionary, level: level)
                    : Self.stored(segment.pointee.bytes)
            }
        }
        for segment in pending {
            try segment.output.withUnsafeBytes { try sink($0) }
            crc = crc32_combine(crc, segment.crc, off_t(segment.bytes.count))
            length += UInt64(segment.bytes.count)
        }
        pending.removeAll(keepingCapacity: true)
    }

    /// Deflate stored blocks (≤ 65,535 bytes each), none final.
    static func stored(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + (bytes.count / 65535 + 1) * 5)
        var offset = 0
        repeat {
            let count = min(65535, bytes.count - offset)
            out += [0x00, UInt8(count & 0xff), UInt8(count >> 8), UInt8(~count & 0xff), UInt8((~count >> 8) & 0xff)]
            out += bytes[offset..<(offset + count)]
            offset += count
        } while offset < bytes.count
        return out
    }

    /// Raw deflate of one segment, primed with `dictionary`, ended with a sync flush (byte aligned,
    /// not final).
    static func deflate(_ bytes: [UInt8], dictionary: [UInt8], level: Int32) -> [UInt8] {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer {
            deflateEnd(stream)
            stream.deinitialize(count: 1)
            stream.deallocate()
        }
        guard deflateInit2_(stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            return stored(bytes)
        }
        if !dictionary.isEmpty {
            dictionary.withUnsafeBytes { _ = deflateSetDictionary(stream, $0.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt($0.count)) }
        }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(stream, uLong(bytes.count))) + 64)
        let produced: Int = bytes.withUnsafeBytes { input in
            output.withUnsafeMutableBytes { out in
                stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
                stream.pointee.avail_in = uInt(input.count)
                stream.pointee.next_out = out.baseAddress?.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = uInt(out.count)
                let status = CZlib.deflate(stream, Z_SYNC_FLUSH)
                return status == Z_OK && stream.pointee.avail_in == 0 ? out.count - Int(stream.pointee.avail_out) : -1
            }
        }
        guard produced >= 0 else { return stored(bytes) }
        output.removeSubrange(produced...)
        return output
    }
}
