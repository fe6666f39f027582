/// An immutable index file: which chunks each pack holds and where (docs/FORMAT.md, "Index").
/// Its name is the SHA-256 of its bytes. `supersedes` names index files this one replaces
/// (written by prune; empty for a backup).
public struct IndexFile: Equatable, Sendable {
    public var supersedes: [ChunkID]
    public var packs: [PackIndex]

    public struct PackIndex: Equatable, Sendable {
        public var pack: ChunkID
        public var entries: [PackEntry]
    }

    static let magic = Array("KURAIDX\u{0}".utf8)
    /// A backup writes an index file per ~1 GiB of packs or 100,000 entries (~5 MiB) and prune
    /// one per 100,000 entries (~5 MiB): a larger file is not one.
    static let maxFileSize = 256 << 20
    static let version: UInt32 = 1

    public init(supersedes: [ChunkID] = [], packs: [PackIndex]) {
        self.supersedes = supersedes
        self.packs = packs
    }

    public func encoded() -> [UInt8] {
        var writer = BinaryWriter()
        writer.append(bytes: Self.magic)
        writer.append(Self.version)
        writer.append(UInt32(supersedes.count))
        for id in supersedes { writer.append(bytes: id.bytes) }
        writer.append(UInt32(packs.count))
        for pack in packs {
            writer.append(bytes: pack.pack.bytes)
            writer.append(UInt32(pack.entries.count))
            for entry in pack.entries { entry.encode(into: &writer) }
        }
        return writer.bytes
    }

    /// Size of the fixed part before the superseded ids: magic, version, count.
    static let headerSize = 16

    /// The superseded ids from the start of an index file of `fileSize` bytes, without decoding
    /// its entries; nil when the header is not an index file's or announces more ids than the
    /// file holds. `read(offset, count)` returns the file's bytes there.
    static func supersedes(fileSize: Int, reading read: (Int, Int) throws -> [UInt8]) rethrows -> [ChunkID]? {
        guard fileSize >= headerSize else { return nil }
        let header = try read(0, headerSize)
        let count: UInt32? = header.withUnsafeBytes { raw in
            var reader = BinaryReader(raw)
            guard let magic = reader.readBytes(8), Array(magic) == Self.magic,
                  reader.read(UInt32.self) == Self.version else { return nil }
            return reader.read(UInt32.self)
        }
        guard let count, Int(count) <= (fileSize - headerSize) / 32 else { return nil }
        if count == 0 { return [] }
        let ids = try read(headerSize, Int(count) * 32)
        guard ids.count == Int(count) * 32 else { return nil }
        return stride(from: 0, to: ids.count, by: 32).compactMap { ChunkID(bytes: ids[$0..<($0 + 32)]) }
    }

    /// Decodes an index file; nil when the bytes are not a complete, well-formed index.
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> IndexFile? {
        var reader = BinaryReader(bytes)
        guard let magic = reader.readBytes(8), Array(magic) == Self.magic,
              reader.read(UInt32.self) == Self.version,
              let supersededCount = reader.read(UInt32.self) else { return nil }
        var supersedes: [ChunkID] = []
        for _ in 0..<supersededCount {
            guard let raw = reader.readBytes(32), let id = ChunkID(bytes: raw) else { return nil }
            supersedes.append(id)
        }
        guard let packCount = reader.read(UInt32.self) else { return nil }
        var packs: [PackIndex] = []
        for _ in 0..<packCount {
            guard let raw = reader.readBytes(32), let pack = ChunkID(bytes: raw),
                  let count = reader.read(UInt32.self), Int(count) * PackEntry.encodedSize <= reader.remaining else { return nil }
            var entries: [PackEntry] = []
            entries.reserveCapacity(Int(count))
            for _ in 0..<count {
                guard let entry = PackEntry.decode(from: &reader) else { return nil }
                entries.append(entry)
            }
            packs.append(PackIndex(pack: pack, entries: entries))
        }
        return reader.remaining == 0 ? IndexFile(supersedes: supersedes, packs: packs) : nil
    }
}
