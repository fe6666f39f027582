/// Where a chunk lies inside a pack, as written in the pack's trailer and in index files.
public struct PackEntry: Hashable, Sendable {
    public var chunk: ChunkID
    /// Byte offset of the stored chunk from the start of the pack file.
    public var offset: UInt64
    /// Stored (possibly compressed) length.
    public var storedLength: UInt32
    /// Length of the plain chunk.
    public var plainLength: UInt32
    public var codec: Codec

    /// Encoded size: id 32, offset 8, stored 4, plain 4, codec 1.
    static let encodedSize = 49
    /// No chunker cuts more than 64 MiB (`ChunkerParameters.validate`): a longer chunk in a trailer
    /// or an index file is damage, refused before anything is allocated for it.
    static let maxPlainLength: UInt32 = 64 << 20
    /// A stored chunk is at most its plain length plus what zstd or zlib can add to it.
    static let maxStoredLength: UInt32 = maxPlainLength + (1 << 20)
    /// No pack reaches 1 TiB (`pack_size` is at most 1 GiB): an offset past it is damage.
    static let maxOffset: UInt64 = 1 << 40

    func encode(into writer: inout BinaryWriter) {
        writer.append(bytes: chunk.bytes)
        writer.append(offset)
        writer.append(storedLength)
        writer.append(plainLength)
        writer.append(codec.rawValue)
    }

    static func decode(from reader: inout BinaryReader) -> PackEntry? {
        guard let idBytes = reader.readBytes(32), let chunk = ChunkID(bytes: idBytes),
              let offset = reader.read(UInt64.self), let stored = reader.read(UInt32.self),
              let plain = reader.read(UInt32.self), let codecByte = reader.read(UInt8.self),
              let codec = Codec(rawValue: codecByte),
              plain <= maxPlainLength, stored <= maxStoredLength, offset <= maxOffset else { return nil }
        return PackEntry(chunk: chunk, offset: offset, storedLength: stored, plainLength: plain, codec: codec)
    }
}

/// A chunk's full address in the repository.
public struct ChunkLocation: Equatable, Sendable {
    public var pack: ChunkID
    public var entry: PackEntry
}

/// The byte layout of pack files (docs/FORMAT.md, "Packs"):
/// header `KURAPACK` + version byte + 7 zero bytes; the stored chunks back to back; the trailer
/// entries (49 bytes each); a 48-byte footer: SHA-256 of the entries, entry count (u32),
/// 4 zero bytes, `KPACKEND`.
enum PackFormat {
    static let headerMagic = Array("KURAPACK".utf8)
    static let footerMagic = Array("KPACKEND".utf8)
    static let version: UInt8 = 1
    static let headerSize = 16
    static let footerSize = 48

    static var header: [UInt8] { headerMagic + [version] + [UInt8](repeating: 0, count: 7) }

    static func trailer(_ entries: [PackEntry]) -> [UInt8] {
        var writer = BinaryWriter(capacity: entries.count * PackEntry.encodedSize + footerSize)
        for entry in entries { entry.encode(into: &writer) }
        let digest = SHA256Hasher.hash(writer.bytes)
        writer.append(bytes: digest.bytes)
        writer.append(UInt32(entries.count))
        writer.append(UInt32(0))
        writer.append(bytes: footerMagic)
        return writer.bytes
    }

    /// Parses a pack footer; returns the entry count, or nil when the footer is not a pack's.
    static func entryCount(footer: UnsafeRawBufferPointer) -> (count: Int, digest: ChunkID)? {
        var reader = BinaryReader(footer)
        guard let digestBytes = reader.readBytes(32), let digest = ChunkID(bytes: digestBytes),
              let count = reader.read(UInt32.self), reader.read(UInt32.self) != nil,
              let magic = reader.readBytes(8), Array(magic) == footerMagic else { return nil }
        return (Int(count), digest)
    }

    /// Parses and checks trailer entries against the footer's digest and the pack's size.
    static func entries(_ bytes: UnsafeRawBufferPointer, digest: ChunkID, packSize: UInt64) -> [PackEntry]? {
        guard SHA256Hasher.hash(bytes) == digest else { return nil }
        var reader = BinaryReader(bytes)
        var entries: [PackEntry] = []
        let dataEnd = packSize - UInt64(bytes.count + footerSize)
        while reader.remaining > 0 {
            // `decode` bounds offset and length: their sum cannot overflow.
            guard let entry = decode(&reader), entry.offset >= UInt64(headerSize),
                  entry.offset + UInt64(entry.storedLength) <= dataEnd else { return nil }
            entries.append(entry)
        }
        return entries
    }

    /// Reads and checks a pack's trailer through `read(offset, count)`, which returns the pack's
    /// bytes there: the footer first, then the entries it announces.
    static func trailer(packSize size: UInt64, name: String, read: (Int64, Int) throws -> [UInt8]) throws -> [PackEntry] {
        guard size >= UInt64(headerSize + footerSize) else { throw KuraError.integrity(.packDamaged(pack: name, .truncated(size: size))) }
        let footer = try read(Int64(size) - Int64(footerSize), footerSize)
        guard footer.count == footerSize, let (count, digest) = footer.withUnsafeBytes({ entryCount(footer: $0) }),
              UInt64(count * PackEntry.encodedSize + footerSize + headerSize) <= size else {
            throw KuraError.integrity(.packDamaged(pack: name, .noFooter))
        }
        let trailerSize = count * PackEntry.encodedSize
        let trailer = try read(Int64(size) - Int64(footerSize + trailerSize), trailerSize)
        guard trailer.count == trailerSize, let entries = trailer.withUnsafeBytes({ Self.entries($0, digest: digest, packSize: size) }) else {
            throw KuraError.integrity(.packDamaged(pack: name, .damagedTrailer))
        }
        return entries
    }

    private static func decode(_ reader: inout BinaryReader) -> PackEntry? {
        PackEntry.decode(from: &reader)
    }
}
