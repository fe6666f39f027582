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
///
/// Two groups of segment buffers take turns: while one group is compressed in the background,
/// the caller fills the other (reading, decompressing and verifying chunks overlaps with
/// deflate). The buffers and the deflate states are allocated once and reused.
final class GzipWriter {
    /// Where the gzip bytes go, in order.
    private let sink: (UnsafeRawBufferPointer) throws -> Void
    private let level: Int32
    static let segmentSize = 1 << 20
    private static let window = 32 << 10
    /// Segments per group.
    private static let groupSize = 8

    /// The group being filled, and how many of its segments are used.
    private var filling: [Segment]
    private var used = 0
    /// The group being compressed in the background, if any.
    private var compressing: [Segment] = []
    private var compressingCount = 0
    private let compressed = DispatchGroup()
    private let deflaters: DeflaterPool
    /// The last 32 KiB of input: the dictionary of the next segment.
    private let history = UnsafeMutableRawBufferPointer.allocate(byteCount: GzipWriter.window, alignment: 64)
    private var historyCount = 0
    private var crc: uLong = crc32(0, nil, 0)
    private var length: UInt64 = 0

    init(level: Int, sink: @escaping (UnsafeRawBufferPointer) throws -> Void) throws {
        self.level = Int32(level)
        self.sink = sink
        deflaters = DeflaterPool(level: Int32(level))
        filling = (0..<Self.groupSize).map { _ in Segment() }
        compressing = (0..<Self.groupSize).map { _ in Segment() }
        // Header: magic, deflate, no flags, mtime 0 (deterministic), no extra flags, OS = Unix.
        let header: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]
        try header.withUnsafeBytes { try sink($0) }
        startSegment(compressible: true)
    }

    deinit {
        compressed.wait()
        history.deallocate()
    }

    /// Appends bytes; `compressible: false` stores them without compression.
    func write(_ bytes: UnsafeRawBufferPointer, compressible: Bool) throws {
        var offset = 0
        while offset < bytes.count {
            var segment = filling[used]
            if segment.compressible != compressible || segment.count == Self.segmentSize {
                try closeSegment(next: compressible)
                segment = filling[used]
            }
            let take = min(bytes.count - offset, Self.segmentSize - segment.count)
            UnsafeMutableRawBufferPointer(rebasing: segment.input[segment.count..<(segment.count + take)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + take)]))
            segment.count += take
            offset += take
        }
    }

    func write(_ bytes: [UInt8], compressible: Bool = true) throws {
        try bytes.withUnsafeBytes { try write($0, compressible: compressible) }
    }

    /// Ends the stream: the last segments, a final empty stored block, CRC-32 and length.
    func finish() throws {
        if filling[used].count > 0 { used += 1 }
        try startCompressing()
        try sinkCompressed()
        var trailer: [UInt8] = [0x01, 0x00, 0x00, 0xff, 0xff]
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: crc).littleEndian) { trailer += $0 }
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: length).littleEndian) { trailer += $0 }
        try trailer.withUnsafeBytes { try sink($0) }
    }

    /// Closes the segment being filled and starts the next (after handing the group on when full).
    private func closeSegment(next compressible: Bool) throws {
        let segment = filling[used]
        if segment.count > 0 {
            rememberTail(of: segment)
            used += 1
            if used == Self.groupSize { try startCompressing() }
        }
        startSegment(compressible: compressible)
    }

    private func startSegment(compressible: Bool) {
        let segment = filling[used]
        segment.count = 0
        segment.compressible = compressible
        segment.dictionaryCount = historyCount
        UnsafeMutableRawBufferPointer(rebasing: segment.dictionary[0..<historyCount])
            .copyMemory(from: UnsafeRawBufferPointer(rebasing: history[0..<historyCount]))
    }

    /// Keeps the last 32 KiB of input seen once `segment` is added.
    private func rememberTail(of segment: Segment) {
        let window = Self.window
        if segment.count >= window {
            history.copyMemory(from: UnsafeRawBufferPointer(rebasing: segment.input[(segment.count - window)..<segment.count]))
            historyCount = window
            return
        }
        let keep = min(historyCount, window - segment.count)
        if keep > 0 {
            UnsafeMutableRawBufferPointer(rebasing: history[0..<keep])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: history[(historyCount - keep)..<historyCount]))
        }
        UnsafeMutableRawBufferPointer(rebasing: history[keep..<(keep + segment.count)])
            .copyMemory(from: UnsafeRawBufferPointer(rebasing: segment.input[0..<segment.count]))
        historyCount = keep + segment.count
    }

    /// Writes out the group compressed before, then compresses the filled group in the background.
    private func startCompressing() throws {
        try sinkCompressed()
        guard used > 0 else { return }
        swap(&filling, &compressing)
        compressingCount = used
        used = 0
        let segments = compressing, count = compressingCount, deflaters = deflaters
        DispatchQueue.global().async(group: compressed) {
            DispatchQueue.concurrentPerform(iterations: count) { index in
                segments[index].compress(deflaters)
            }
        }
    }

    /// Waits for the group in the background and writes its output.
    private func sinkCompressed() throws {
        compressed.wait()
        for segment in compressing.prefix(compressingCount) {
            try sink(UnsafeRawBufferPointer(rebasing: segment.output[0..<segment.outputCount]))
            crc = crc32_combine(crc, segment.crc, off_t(segment.count))
            length += UInt64(segment.count)
        }
        compressingCount = 0
    }

    /// Deflate stored blocks (≤ 65,535 bytes each), none final; returns the bytes written.
    static func stored(_ bytes: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int {
        var offset = 0, written = 0
        repeat {
            let count = min(65535, bytes.count - offset)
            let header: [UInt8] = [0x00, UInt8(count & 0xff), UInt8(count >> 8), UInt8(~count & 0xff), UInt8((~count >> 8) & 0xff)]
            header.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: output[written..<(written + 5)]).copyMemory(from: $0) }
            written += 5
            UnsafeMutableRawBufferPointer(rebasing: output[written..<(written + count)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)]))
            written += count
            offset += count
        } while offset < bytes.count
        return written
    }

    /// Room for a segment's output: deflate's worst case or stored blocks, whichever is larger.
    static let outputCapacity = segmentSize + (segmentSize / 65535 + 1) * 5 + (segmentSize >> 8) + 1024
}

/// One segment's buffers, reused from group to group.
private final class Segment {
    let input = UnsafeMutableRawBufferPointer.allocate(byteCount: GzipWriter.segmentSize, alignment: 64)
    var count = 0
    var compressible = true
    let dictionary = UnsafeMutableRawBufferPointer.allocate(byteCount: 32 << 10, alignment: 64)
    var dictionaryCount = 0
    let output = UnsafeMutableRawBufferPointer.allocate(byteCount: GzipWriter.outputCapacity, alignment: 64)
    var outputCount = 0
    var crc: uLong = 0

    deinit {
        input.deallocate()
        dictionary.deallocate()
        output.deallocate()
    }

    /// CRC-32 and deflate (or stored blocks) of the input into `output`.
    func compress(_ deflaters: DeflaterPool) {
        let bytes = UnsafeRawBufferPointer(rebasing: input[0..<count])
        crc = crc32(0, bytes.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt(count))
        if compressible, let produced = deflaters.deflate(bytes, dictionary: UnsafeRawBufferPointer(rebasing: dictionary[0..<dictionaryCount]), into: output) {
            outputCount = produced
        } else {
            outputCount = GzipWriter.stored(bytes, into: output)
        }
    }
}

/// Raw deflate states, initialised once and reset for each segment.
private final class DeflaterPool {
    private let level: Int32
    private let lock = NSLock()
    private var free: [UnsafeMutablePointer<z_stream>] = []
    private var all: [UnsafeMutablePointer<z_stream>] = []

    init(level: Int32) { self.level = level }

    deinit {
        for stream in all {
            deflateEnd(stream)
            stream.deinitialize(count: 1)
            stream.deallocate()
        }
    }

    /// Raw deflate of `bytes`, primed with `dictionary`, ended with a sync flush (byte aligned, not
    /// final); nil if zlib fails (the caller stores the bytes instead).
    func deflate(_ bytes: UnsafeRawBufferPointer, dictionary: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
        guard let stream = take() else { return nil }
        defer { give(stream) }
        guard deflateReset(stream) == Z_OK else { return nil }
        if dictionary.count > 0 {
            _ = deflateSetDictionary(stream, dictionary.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt(dictionary.count))
        }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: bytes.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(bytes.count)
        stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(output.count)
        let status = CZlib.deflate(stream, Z_SYNC_FLUSH)
        guard status == Z_OK, stream.pointee.avail_in == 0, stream.pointee.avail_out > 0 else { return nil }
        return output.count - Int(stream.pointee.avail_out)
    }

    private func take() -> UnsafeMutablePointer<z_stream>? {
        lock.lock()
        defer { lock.unlock() }
        if let stream = free.popLast() { return stream }
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        guard deflateInit2_(stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            return nil
        }
        all.append(stream)
        return stream
    }

    private func give(_ stream: UnsafeMutablePointer<z_stream>) {
        lock.lock()
        free.append(stream)
        lock.unlock()
    }
}
