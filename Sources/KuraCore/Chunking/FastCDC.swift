/// Content-defined chunking with FastCDC: a gear rolling hash, cut-point skipping below `min`,
/// and normalized chunking (a stricter mask before `avg`, a looser one after it).
///
/// A cut depends only on the bytes from the chunk's start to the cut, so the same content cuts the
/// same way wherever it sits in a file: bytes inserted at the front change only the first chunks.
/// The gear table and masks are defined in docs/FORMAT.md ("Chunking"); changing them changes
/// every chunk id, so they are versioned by `ChunkerParameters.algorithm`.
public struct FastCDC: Sendable {
    public let parameters: ChunkerParameters
    private let maskSmall: UInt64
    private let maskLarge: UInt64

    public init(_ parameters: ChunkerParameters) {
        self.parameters = parameters
        let bits = parameters.avg.trailingZeroBitCount
        maskSmall = FastCDC.topBits(bits + parameters.normalization)
        maskLarge = FastCDC.topBits(bits - parameters.normalization)
    }

    /// A mask of the `count` most significant bits: those bits of the gear hash depend on the last
    /// 64 bytes seen, the low ones on fewer.
    private static func topBits(_ count: Int) -> UInt64 {
        count <= 0 ? 0 : ~UInt64(0) << UInt64(64 - Swift.min(count, 64))
    }

    /// The 256 gear values: the first 8 bytes (little-endian) of SHA-256("kura-gear-v1" || i).
    static let gear: UnsafeMutablePointer<UInt64> = {
        let table = UnsafeMutablePointer<UInt64>.allocate(capacity: 256)
        for index in 0..<256 {
            let digest = SHA256Hasher.hash(Array("kura-gear-v1".utf8) + [UInt8(index)])
            table[index] = UInt64(littleEndian: digest.words.0)
        }
        return table
    }()

    /// Where the search for a chunk's end stopped for want of bytes: the next call for the same
    /// chunk, with more bytes, goes on from there instead of hashing its start again.
    public struct Scan: Sendable {
        fileprivate var index = 0
        fileprivate var hash: UInt64 = 0

        public init() {}
    }

    /// The length of the next chunk at the start of `bytes`, or nil when more bytes are needed to
    /// decide (only when `atEnd` is false and fewer than `max` bytes are given).
    @inline(__always)
    public func cut(_ bytes: UnsafeRawBufferPointer, atEnd: Bool) -> Int? {
        var scan = Scan()
        return cut(bytes, atEnd: atEnd, resuming: &scan)
    }

    /// `cut(_:atEnd:)` for a chunk whose start was already searched by an earlier call that
    /// returned nil with the same `scan` (fresh for each chunk; reset when a length is returned).
    /// The bytes given earlier must be given again, unchanged, at the start of `bytes`.
    @inline(__always)
    public func cut(_ bytes: UnsafeRawBufferPointer, atEnd: Bool, resuming scan: inout Scan) -> Int? {
        let available = bytes.count
        if available <= parameters.min { return atEnd ? available : nil }
        let limit = Swift.min(available, parameters.max)
        let normal = Swift.min(parameters.avg, limit)
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return atEnd ? 0 : nil }
        var index = Swift.max(parameters.min, scan.index)
        var hash = scan.hash
        scan = Scan()
        if index < normal {
            let small = Self.search(base, from: index, to: normal, mask: maskSmall, hash: hash)
            if small.found { return small.end }
            (index, hash) = (small.end, small.hash)
        }
        if index < limit {
            let large = Self.search(base, from: index, to: limit, mask: maskLarge, hash: hash)
            if large.found { return large.end }
            (index, hash) = (large.end, large.hash)
        }
        if limit == parameters.max { return limit }
        if atEnd { return available }
        scan.index = index
        scan.hash = hash
        return nil
    }

    /// The gear hash rolled over `base[start..<end]` from `hash`: `found` with the index just
    /// past the first byte where `hash & mask == 0`, else `end` and the hash there. A function of
    /// its own so that the hash stays in a register (inlined into the backup's reader, it was kept
    /// on the stack: a store and a load on the loop's critical path). With the two-byte rounds
    /// below, a first backup's chunking went from 1.17 to 0.77 s of CPU per GB.
    @inline(never)
    private static func search(_ base: UnsafePointer<UInt8>, from start: Int, to end: Int, mask: UInt64,
                               hash initial: UInt64) -> (end: Int, hash: UInt64, found: Bool) {
        let gear = UnsafePointer(FastCDC.gear)
        var hash = initial
        var index = start
        // Two bytes per round: the hash two bytes on is (hash << 2) + (g0 << 1) + g1, so the
        // chain from one round's hash to the next is one shift and one add; the hash after the
        // first byte is computed beside it, only to be tested.
        while index + 2 <= end {
            let g0 = gear[Int(base[index])]
            let g1 = gear[Int(base[index + 1])]
            let first = (hash &<< 1) &+ g0
            if first & mask == 0 { return (index + 1, first, true) }
            hash = (hash &<< 2) &+ ((g0 &<< 1) &+ g1)
            index += 2
            if hash & mask == 0 { return (index, hash, true) }
        }
        if index < end {
            hash = (hash &<< 1) &+ gear[Int(base[index])]
            index += 1
            if hash & mask == 0 { return (index, hash, true) }
        }
        return (end, hash, false)
    }

    /// Every chunk length of an in-memory buffer, in order.
    public func chunkLengths(_ bytes: UnsafeRawBufferPointer) -> [Int] {
        var lengths: [Int] = []
        var start = 0
        while start < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[start...])
            let length = cut(rest, atEnd: true) ?? rest.count
            lengths.append(length)
            start += length
        }
        return lengths
    }
}
