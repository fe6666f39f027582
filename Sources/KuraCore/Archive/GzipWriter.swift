import CZlib
import Dispatch
import Foundation

/// Writes one gzip stream (RFC 1952) whose deflate data is made on all cores, as pigz does: the
/// input is cut into segments, each compressed independently (primed with the 32 KiB before it
/// as dictionary, so the ratio stays close to a single stream) and ended with a sync flush, so
/// the pieces concatenate into one valid deflate stream. Each segment has its own setting
/// (`DeflateSetting`, chosen by `DeflateEffort`): `.stored` (chunks Kura stored raw: known to be
/// incompressible) becomes deflate *stored* blocks without being compressed at all. The
/// output depends only on the input and the segment boundaries: the same input gives the same
/// bytes.
///
/// A ring of segment buffers: each filled segment is compressed on its own in the background
/// (as many at once as there are cores) while the caller fills the next. One more background
/// stage, serial, hands the compressed segments to the sink in order (there the archive is
/// hashed and written), so the caller's thread — which reads, decodes and checks the chunks —
/// never waits for the disk or the archive's hash. A buffer is reused once its output has been
/// written, so no core waits for the slowest segment of a batch. The buffers and the deflate
/// states are allocated once and reused.
final class GzipWriter {
    /// Where the gzip bytes go, in order; called on the output stage's thread, never two at once.
    private let output: OutputStage
    /// The setting of bytes written without one (tar headers, padding).
    private let setting: DeflateSetting
    static let segmentSize = 1 << 20
    private static let window = 32 << 10
    /// Segments in the ring: enough that every core stays busy while the oldest segment, which
    /// must be written out first, is still being deflated: with 3 per core they waited
    /// (docs/BENCHMARKS.md, "Writeback while writing, the dump's own deflate setting"). 12 on two
    /// cores, about 25 MiB.
    private static let ringSize = max(8, 6 * ProcessInfo.processInfo.activeProcessorCount)

    private let ring: [Segment]
    /// The segment being filled.
    private var current = 0
    /// Segments handed to the background and not yet written out, oldest first.
    private var pending: [Int] = []
    private let queue = DispatchQueue.global(qos: .userInitiated)
    /// The output stage: one segment at a time, in the order they were handed over.
    private let writer = DispatchQueue(label: "kura.gzip.output", qos: .userInitiated)
    private let deflaters: DeflaterPool
    /// The last 32 KiB of input: the dictionary of the next segment.
    private let history = UnsafeMutableRawBufferPointer.allocate(byteCount: GzipWriter.window, alignment: 64)
    private var historyCount = 0

    /// `sink` receives the gzip bytes in order, on another thread than the caller's but never
    /// twice at once; the first error it throws ends the stream (thrown by the next `write` or
    /// by `finish`).
    init(level: Int, sink: @escaping (UnsafeRawBufferPointer) throws -> Void) throws {
        setting = .level(Int32(level))
        output = OutputStage(sink: sink)
        deflaters = DeflaterPool()
        ring = (0..<Self.ringSize).map { _ in Segment() }
        // Header: magic, deflate, no flags, mtime 0 (deterministic), no extra flags, OS = Unix.
        let header: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]
        try header.withUnsafeBytes { try sink($0) }
        startSegment(setting)
    }

    deinit {
        abandon()
        history.deallocate()
    }

    /// Waits for the segments still in the background and drops the stream: after an error,
    /// before the caller closes what the sink writes to.
    func abandon() {
        while !pending.isEmpty { ring[pending.removeFirst()].written.wait() }
    }

    /// Appends bytes deflated with `setting`.
    func write(_ bytes: UnsafeRawBufferPointer, as setting: DeflateSetting) throws {
        var offset = 0
        while offset < bytes.count {
            var segment = ring[current]
            if segment.setting != setting || segment.count == Self.segmentSize {
                try closeSegment(next: setting)
                segment = ring[current]
            }
            let take = min(bytes.count - offset, Self.segmentSize - segment.count)
            UnsafeMutableRawBufferPointer(rebasing: segment.input[segment.count..<(segment.count + take)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + take)]))
            segment.count += take
            offset += take
        }
    }

    /// Appends bytes with the writer's own setting.
    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0, as: setting) }
    }

    /// Ends the stream: the last segments, a final empty stored block, CRC-32 and length.
    func finish() throws {
        if ring[current].count > 0 { hand(ring[current], index: current) }
        while !pending.isEmpty { try waitForOldest() }
        var trailer: [UInt8] = [0x01, 0x00, 0x00, 0xff, 0xff]
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: output.crc).littleEndian) { trailer += $0 }
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: output.length).littleEndian) { trailer += $0 }
        try trailer.withUnsafeBytes { try output.sink($0) }
    }

    /// Hands the segment being filled to the background and starts the next in the ring (after
    /// writing out what that buffer held).
    private func closeSegment(next setting: DeflateSetting) throws {
        let segment = ring[current]
        if segment.count > 0 {
            rememberTail(of: segment)
            hand(segment, index: current)
            current = (current + 1) % ring.count
            if pending.first == current { try waitForOldest() }
        }
        startSegment(setting)
    }

    /// Compresses `segment` in the background and queues its output behind the segments before it.
    private func hand(_ segment: Segment, index: Int) {
        pending.append(index)
        let deflaters = deflaters, output = output
        queue.async { segment.compress(deflaters) }
        writer.async {
            segment.done.wait()
            output.write(segment)
            segment.written.signal()
        }
    }

    /// Waits until the oldest segment in the background has been written out; throws what the
    /// sink threw, if it did.
    private func waitForOldest() throws {
        ring[pending.removeFirst()].written.wait()
        if let failure = output.failure { throw failure }
    }

    private func startSegment(_ setting: DeflateSetting) {
        let segment = ring[current]
        segment.count = 0
        segment.setting = setting
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
    var setting = DeflateSetting.stored
    let dictionary = UnsafeMutableRawBufferPointer.allocate(byteCount: 32 << 10, alignment: 64)
    var dictionaryCount = 0
    let output = UnsafeMutableRawBufferPointer.allocate(byteCount: GzipWriter.outputCapacity, alignment: 64)
    var outputCount = 0
    var crc: uLong = 0
    /// Signalled when `compress` has finished.
    let done = DispatchSemaphore(value: 0)
    /// Signalled when the output stage is done with the segment: its buffers may be reused.
    let written = DispatchSemaphore(value: 0)

    deinit {
        input.deallocate()
        dictionary.deallocate()
        output.deallocate()
    }

    /// CRC-32 and deflate (or stored blocks) of the input into `output`.
    func compress(_ deflaters: DeflaterPool) {
        let bytes = UnsafeRawBufferPointer(rebasing: input[0..<count])
        crc = crc32(0, bytes.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt(count))
        if setting.level > 0, let produced = deflaters.deflate(bytes, setting: setting, dictionary: UnsafeRawBufferPointer(rebasing: dictionary[0..<dictionaryCount]), into: output) {
            outputCount = produced
        } else {
            outputCount = GzipWriter.stored(bytes, into: output)
        }
        done.signal()
    }
}

/// The last stage of a `GzipWriter`: the sink, and the stream's CRC-32 and length so far. Used
/// by one thread at a time: the output queue while segments are in flight, then (after waiting
/// for them) the caller's.
private final class OutputStage: @unchecked Sendable {
    let sink: (UnsafeRawBufferPointer) throws -> Void
    private(set) var crc: uLong = crc32(0, nil, 0)
    private(set) var length: UInt64 = 0
    /// The first error of the sink; later segments are dropped.
    private(set) var failure: Error?

    init(sink: @escaping (UnsafeRawBufferPointer) throws -> Void) { self.sink = sink }

    func write(_ segment: Segment) {
        guard failure == nil else { return }
        do {
            try sink(UnsafeRawBufferPointer(rebasing: segment.output[0..<segment.outputCount]))
        } catch {
            failure = error
        }
        crc = crc32_combine(crc, segment.crc, off_t(segment.count))
        length += UInt64(segment.count)
    }
}

/// Raw deflate states, one set per setting, initialised once and reset for each segment.
private final class DeflaterPool {
    private let lock = NSLock()
    private var free: [DeflateSetting: [UnsafeMutablePointer<z_stream>]] = [:]
    private var all: [UnsafeMutablePointer<z_stream>] = []

    deinit {
        for stream in all {
            deflateEnd(stream)
            stream.deinitialize(count: 1)
            stream.deallocate()
        }
    }

    /// Raw deflate of `bytes`, primed with `dictionary`, ended with a sync flush (byte aligned, not
    /// final); nil if zlib fails (the caller stores the bytes instead).
    func deflate(_ bytes: UnsafeRawBufferPointer, setting: DeflateSetting, dictionary: UnsafeRawBufferPointer,
                 into output: UnsafeMutableRawBufferPointer) -> Int? {
        guard let stream = take(setting) else { return nil }
        defer { give(stream, setting) }
        guard deflateReset(stream) == Z_OK else { return nil }
        // After the reset, which restores the level's own limits.
        if let search = setting.search, deflateTune(stream, search.good, search.lazy, search.nice, search.chain) != Z_OK { return nil }
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

    private func take(_ setting: DeflateSetting) -> UnsafeMutablePointer<z_stream>? {
        lock.lock()
        defer { lock.unlock() }
        if let stream = free[setting]?.popLast() { return stream }
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let strategy = setting.filtered ? Z_FILTERED : Z_DEFAULT_STRATEGY
        guard deflateInit2_(stream, setting.level, Z_DEFLATED, -15, 8, strategy, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            return nil
        }
        all.append(stream)
        return stream
    }

    private func give(_ stream: UnsafeMutablePointer<z_stream>, _ setting: DeflateSetting) {
        lock.lock()
        free[setting, default: []].append(stream)
        lock.unlock()
    }
}
