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

    /// The length of the next chunk at the start of `bytes`, or nil when more bytes are needed to
    /// decide (only when `atEnd` is false and fewer than `max` bytes are given).
    @inline(__always)
    public func cut(_ bytes: UnsafeRawBufferPointer, atEnd: Bool) -> Int? {
        let available = bytes.count
        if available <= parameters.min { return atEnd ? available : nil }
        let limit = Swift.min(available, parameters.max)
        let normal = Swift.min(parameters.avg, limit)
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return atEnd ? 0 : nil }
        let gear = FastCDC.gear
        var hash: UInt64 = 0
        var index = parameters.min
        while index < normal {
            hash = (hash &<< 1) &+ gear[Int(base[index])]
            if hash & maskSmall == 0 { return index + 1 }
            index += 1
        }
        while index < limit {
            hash = (hash &<< 1) &+ gear[Int(base[index])]
            if hash & maskLarge == 0 { return index + 1 }
            index += 1
        }
        if limit == parameters.max { return limit }
        return atEnd ? available : nil
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
