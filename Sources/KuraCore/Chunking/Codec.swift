import CZlib
import CZstd

/// How a chunk is stored in a pack; its byte value is written in the pack trailer and index.
public enum Codec: UInt8, Sendable, CustomStringConvertible {
    case raw = 0
    case zstd = 1
    case zlib = 2

    public var description: String {
        switch self {
        case .raw: return "none"
        case .zstd: return "zstd"
        case .zlib: return "zlib"
        }
    }
}

/// The compression a repository applies to new chunks: `zstd[:LEVEL]`, `zlib[:LEVEL]` or `none`.
public struct CompressionSetting: Equatable, Sendable, CustomStringConvertible {
    public var codec: Codec
    public var level: Int

    /// zstd level 1: on 16 KiB dump chunks smaller *and* 1.4× faster than level 3 (×4.37 vs ×4.16),
    /// on receipts 1.8× faster for 0.2 % more (docs/DESIGN.md, "Compression").
    public static let `default` = CompressionSetting(codec: .zstd, level: 1)

    public init(codec: Codec, level: Int) {
        self.codec = codec
        self.level = level
    }

    /// Parses `zstd`, `zstd:N` (1–19), `zlib`, `zlib:N` (1–9) or `none`.
    public init(parsing text: String) throws {
        let parts = text.lowercased().split(separator: ":", maxSplits: 1).map(String.init)
        let name = parts.first ?? ""
        let level = parts.count > 1 ? Int(parts[1]) : nil
        if parts.count > 1 && level == nil { throw KuraError.invalidArgument("compression level '\(parts[1])' is not a number") }
        switch name {
        case "zstd":
            self.init(codec: .zstd, level: level ?? 1)
            guard (1...19).contains(self.level) else { throw KuraError.invalidArgument("zstd level must be 1–19") }
        case "zlib":
            self.init(codec: .zlib, level: level ?? 6)
            guard (1...9).contains(self.level) else { throw KuraError.invalidArgument("zlib level must be 1–9") }
        case "none", "raw":
            self.init(codec: .raw, level: 0)
        default:
            throw KuraError.invalidArgument("unknown compression '\(text)': use zstd[:N], zlib[:N] or none")
        }
    }

    public var description: String {
        codec == .raw ? "none" : "\(codec):\(level)"
    }
}

/// Compresses chunks with one reusable codec context. Not thread-safe: one per worker.
public final class ChunkCompressor {
    public let setting: CompressionSetting
    private let zstdContext: OpaquePointer?

    /// Chunks larger than this are first tried on a sample; a sample that does not shrink by
    /// `sampleRatio` means "store raw" (photos, PDFs, video) without compressing the whole chunk.
    static let sampleThreshold = 128 << 10
    static let sampleSize = 32 << 10
    static let sampleRatio = 0.97

    public init(_ setting: CompressionSetting) {
        self.setting = setting
        zstdContext = setting.codec == .zstd ? ZSTD_createCCtx() : nil
        if let zstdContext { ZSTD_CCtx_setParameter(zstdContext, ZSTD_c_compressionLevel, Int32(setting.level)) }
    }

    deinit { if let zstdContext { ZSTD_freeCCtx(zstdContext) } }

    /// The output space `compress` may need for `length` plain bytes.
    public static func bound(_ length: Int) -> Int {
        Swift.max(ZSTD_compressBound(length), Int(compressBound(uLong(length)))) + 64
    }

    /// Compresses `source` into `destination` (at least `bound(source.count)` bytes). Returns the
    /// codec and stored length; `.raw` means "store the plain bytes", nothing was written.
    public func compress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) -> (Codec, Int) {
        if setting.codec == .raw || source.count == 0 { return (.raw, source.count) }
        if source.count > Self.sampleThreshold {
            let start = (source.count - Self.sampleSize) / 2
            let sample = UnsafeRawBufferPointer(rebasing: source[start..<(start + Self.sampleSize)])
            let length = run(sample, into: destination)
            if length <= 0 || Double(length) > Double(Self.sampleSize) * Self.sampleRatio { return (.raw, source.count) }
        }
        let length = run(source, into: destination)
        if length <= 0 || length >= source.count { return (.raw, source.count) }
        return (setting.codec, length)
    }

    private func run(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) -> Int {
        switch setting.codec {
        case .zstd:
            let result = ZSTD_compress2(zstdContext, destination.baseAddress, destination.count, source.baseAddress, source.count)
            return ZSTD_isError(result) != 0 ? -1 : result
        case .zlib:
            var length = uLongf(destination.count)
            let status = compress2(destination.baseAddress?.assumingMemoryBound(to: Bytef.self), &length,
                                   source.baseAddress?.assumingMemoryBound(to: Bytef.self), uLong(source.count), Int32(setting.level))
            return status == Z_OK ? Int(length) : -1
        case .raw:
            return -1
        }
    }
}

/// Decompresses stored chunks. Not thread-safe: one per worker.
public final class ChunkDecompressor {
    private let zstdContext: OpaquePointer?

    public init() { zstdContext = ZSTD_createDCtx() }
    deinit { if let zstdContext { ZSTD_freeDCtx(zstdContext) } }

    /// Decodes `stored` into `destination`, which must be exactly the plain length. Returns false
    /// when the stored bytes do not decode to exactly that many bytes.
    public func decompress(_ stored: UnsafeRawBufferPointer, codec: Codec, into destination: UnsafeMutableRawBufferPointer) -> Bool {
        switch codec {
        case .raw:
            guard stored.count == destination.count else { return false }
            destination.copyMemory(from: stored)
            return true
        case .zstd:
            let result = ZSTD_decompressDCtx(zstdContext, destination.baseAddress, destination.count, stored.baseAddress, stored.count)
            return ZSTD_isError(result) == 0 && result == destination.count
        case .zlib:
            var length = uLongf(destination.count)
            let status = uncompress(destination.baseAddress?.assumingMemoryBound(to: Bytef.self), &length,
                                    stored.baseAddress?.assumingMemoryBound(to: Bytef.self), uLong(stored.count))
            return status == Z_OK && Int(length) == destination.count
        }
    }
}
