/// A 32-byte SHA-256 digest naming a chunk (of its plain bytes), a pack, an index file or a
/// snapshot (of the file's bytes). Stored inline: no heap allocation per id.
public struct ChunkID: Hashable, Comparable, CustomStringConvertible, Sendable {
    public var words: (UInt64, UInt64, UInt64, UInt64)

    public init(words: (UInt64, UInt64, UInt64, UInt64)) { self.words = words }

    /// Reads 32 bytes from `bytes`; nil if fewer are given.
    public init?(bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= 32 else { return nil }
        words = (bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self), bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
                 bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self), bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
    }

    public init?<C: Collection>(bytes: C) where C.Element == UInt8 {
        let array = Array(bytes)
        guard array.count == 32, let id = array.withUnsafeBytes({ ChunkID(bytes: $0) }) else { return nil }
        self = id
    }

    /// Parses 64 hex digits.
    public init?(hex: String) {
        guard hex.utf8.count == 64, let bytes = Hex.decode(hex), let id = ChunkID(bytes: bytes) else { return nil }
        self = id
    }

    /// The id's first 64 bits (hex order) as a fraction of 2^64, in [0, 1): for deterministic
    /// samples of packs (`verify --read-data-subset`) and paths (`--media-sample`).
    public var unitInterval: Double {
        Double(UInt64(bigEndian: words.0)) / 18_446_744_073_709_551_616.0
    }

    /// The 32 bytes, in digest order.
    public var bytes: [UInt8] {
        withUnsafeBytes(of: words) { Array($0) }
    }

    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }
    /// The first 8 hex digits, as shown in listings.
    public var short: String { String(hex.prefix(8)) }

    public static func == (a: ChunkID, b: ChunkID) -> Bool {
        a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2 && a.words.3 == b.words.3
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
    }

    /// Orders ids as their hex strings sort.
    public static func < (a: ChunkID, b: ChunkID) -> Bool {
        let x = [a.words.0.bigEndian, a.words.1.bigEndian, a.words.2.bigEndian, a.words.3.bigEndian]
        let y = [b.words.0.bigEndian, b.words.1.bigEndian, b.words.2.bigEndian, b.words.3.bigEndian]
        return x.lexicographicallyPrecedes(y)
    }
}
