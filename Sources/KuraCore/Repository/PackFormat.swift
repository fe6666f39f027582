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
/// A plain pack is version 3, named from its header and trailer (`listedPackName`); version 1,
/// the same bytes named by the SHA-256 of the whole file, is read but no longer written.
/// In an encrypted repository (version byte 2) each stored chunk is a sealed blob, and the
/// trailer with its footer is sealed as one blob followed by a 16-byte footer: the sealed
/// trailer's length (u32), 4 zero bytes, `KPACKENC`.
enum PackFormat {
    static let headerMagic = Array("KURAPACK".utf8)
    static let footerMagic = Array("KPACKEND".utf8)
    static let sealedFooterMagic = Array("KPACKENC".utf8)
    /// A plain pack named by the SHA-256 of the whole file (written until issue 19).
    static let wholeFileVersion: UInt8 = 1
    static let encryptedVersion: UInt8 = 2
    /// A plain pack named from its header and trailer (`listedPackName`).
    static let listedVersion: UInt8 = 3
    static let headerSize = 16
    static let footerSize = 48
    static let sealedFooterSize = 16

    /// The header of a pack written today: version 2 when encrypted, 3 when not.
    static func header(encrypted: Bool) -> [UInt8] {
        header(version: encrypted ? encryptedVersion : listedVersion)
    }

    /// The 16-byte header of a pack of `version`.
    static func header(version: UInt8) -> [UInt8] {
        headerMagic + [version] + [UInt8](repeating: 0, count: 7)
    }

    /// The version byte of a pack's header; nil when the bytes do not begin with a pack header.
    static func version(_ bytes: UnsafeRawBufferPointer) -> UInt8? {
        guard bytes.count >= headerSize, bytes.prefix(headerMagic.count).elementsEqual(headerMagic) else { return nil }
        return bytes[headerMagic.count]
    }

    /// The trailer and footer that close a pack; sealed when `cipher` is given.
    static func trailer(_ entries: [PackEntry], cipher: RepositoryCipher?) -> [UInt8] {
        var writer = BinaryWriter(capacity: entries.count * PackEntry.encodedSize + footerSize)
        for entry in entries { entry.encode(into: &writer) }
        let digest = SHA256Hasher.hash(writer.bytes)
        writer.append(bytes: digest.bytes)
        writer.append(UInt32(entries.count))
        writer.append(UInt32(0))
        writer.append(bytes: footerMagic)
        guard let cipher else { return writer.bytes }
        var sealed = BinaryWriter(capacity: writer.bytes.count + RepositoryCipher.overhead + sealedFooterSize)
        sealed.append(bytes: cipher.seal(writer.bytes))
        sealed.append(UInt32(writer.bytes.count + RepositoryCipher.overhead))
        sealed.append(UInt32(0))
        sealed.append(bytes: sealedFooterMagic)
        return sealed.bytes
    }

    /// The name of an encrypted pack: SHA-256 of its header, of each blob's 16-byte tag in blob
    /// order, and of its sealed trailer with the footer. Each tag authenticates its blob under the
    /// key and the sealed trailer holds a random nonce, so the name commits to every byte and is
    /// unique without a second pass over the blobs (a plain pack's: `listedPackName`). `bytes` is
    /// the whole pack; `entries` its trailer's.
    static func sealedPackName(_ bytes: UnsafeRawBufferPointer, entries: [PackEntry], trailerStart: Int) -> ChunkID {
        let hasher = SHA256Hasher()
        hasher.update(UnsafeRawBufferPointer(rebasing: bytes[0..<headerSize]))
        for entry in entries.sorted(by: { $0.offset < $1.offset }) {
            let end = Int(entry.offset) + Int(entry.storedLength)
            hasher.update(UnsafeRawBufferPointer(rebasing: bytes[(end - Primitives.tagSize)..<end]))
        }
        hasher.update(UnsafeRawBufferPointer(rebasing: bytes[trailerStart...]))
        return hasher.finalize()
    }

    /// The name of a plain pack (version 3): SHA-256 of its 16-byte header, then of its trailer
    /// entries and 48-byte footer (`trailerStart`: where the entries begin). The entries hold
    /// every chunk's id, place, lengths and codec, and each blob must decode to its id, so the
    /// name commits to what every byte means without a second pass over the blobs;
    /// `verify --read-data` checks the blobs against it (each decodes to its id, they tile the
    /// pack from the header to the trailer). `bytes` is the whole pack.
    static func listedPackName(_ bytes: UnsafeRawBufferPointer, trailerStart: Int) -> ChunkID {
        let hasher = SHA256Hasher()
        hasher.update(UnsafeRawBufferPointer(rebasing: bytes[0..<headerSize]))
        hasher.update(UnsafeRawBufferPointer(rebasing: bytes[trailerStart...]))
        return hasher.finalize()
    }

    /// Parses a pack footer; returns the entry count, or nil when the footer is not a pack's.
    static func entryCount(footer: UnsafeRawBufferPointer) -> (count: Int, digest: ChunkID)? {
        var reader = BinaryReader(footer)
        guard let digestBytes = reader.readBytes(32), let digest = ChunkID(bytes: digestBytes),
              let count = reader.read(UInt32.self), reader.read(UInt32.self) != nil,
              let magic = reader.readBytes(8), Array(magic) == footerMagic else { return nil }
        return (Int(count), digest)
    }

    /// Parses and checks trailer entries against the footer's digest and where the stored chunks
    /// end (`dataEnd`: where the trailer begins).
    static func entries(_ bytes: UnsafeRawBufferPointer, digest: ChunkID, dataEnd: UInt64) -> [PackEntry]? {
        guard SHA256Hasher.hash(bytes) == digest else { return nil }
        var reader = BinaryReader(bytes)
        var entries: [PackEntry] = []
        while reader.remaining > 0 {
            // `decode` bounds offset and length: their sum cannot overflow.
            guard let entry = PackEntry.decode(from: &reader), entry.offset >= UInt64(headerSize),
                  entry.offset + UInt64(entry.storedLength) <= dataEnd else { return nil }
            entries.append(entry)
        }
        return entries
    }

    /// Reads and checks a pack's trailer through `read(offset, count)`, which returns the pack's
    /// bytes there: the footer first, then the entries it announces (opened with `cipher` in an
    /// encrypted repository).
    static func trailer(packSize size: UInt64, name: String, cipher: RepositoryCipher?,
                        read: (Int64, Int) throws -> [UInt8]) throws -> [PackEntry] {
        guard let cipher else { return try plainTrailer(packSize: size, name: name, read: read) }
        guard size >= UInt64(headerSize + sealedFooterSize) else { throw KuraError.integrity(.packDamaged(pack: name, .truncated(size: size))) }
        let footer = try read(Int64(size) - Int64(sealedFooterSize), sealedFooterSize)
        let length: Int? = footer.withUnsafeBytes { raw in
            var reader = BinaryReader(raw)
            guard let length = reader.read(UInt32.self), reader.read(UInt32.self) != nil,
                  reader.readBytes(8).map(Array.init) == sealedFooterMagic else { return nil }
            return Int(length)
        }
        guard footer.count == sealedFooterSize, let length,
              length >= footerSize + RepositoryCipher.overhead, UInt64(length + sealedFooterSize + headerSize) <= size else {
            throw KuraError.integrity(.packDamaged(pack: name, .noFooter))
        }
        let dataEnd = size - UInt64(length + sealedFooterSize)
        let sealed = try read(Int64(dataEnd), length)
        guard sealed.count == length, let plain = cipher.open(sealed), plain.count >= footerSize,
              let (count, digest) = plain.withUnsafeBytes({ entryCount(footer: UnsafeRawBufferPointer(rebasing: $0[(plain.count - footerSize)...])) }),
              count * PackEntry.encodedSize == plain.count - footerSize,
              let entries = plain.withUnsafeBytes({ entries(UnsafeRawBufferPointer(rebasing: $0[0..<(plain.count - footerSize)]), digest: digest, dataEnd: dataEnd) }) else {
            throw KuraError.integrity(.packDamaged(pack: name, .damagedTrailer))
        }
        return entries
    }

    private static func plainTrailer(packSize size: UInt64, name: String, read: (Int64, Int) throws -> [UInt8]) throws -> [PackEntry] {
        guard size >= UInt64(headerSize + footerSize) else { throw KuraError.integrity(.packDamaged(pack: name, .truncated(size: size))) }
        let footer = try read(Int64(size) - Int64(footerSize), footerSize)
        guard footer.count == footerSize, let (count, digest) = footer.withUnsafeBytes({ entryCount(footer: $0) }),
              UInt64(count * PackEntry.encodedSize + footerSize + headerSize) <= size else {
            throw KuraError.integrity(.packDamaged(pack: name, .noFooter))
        }
        let trailerSize = count * PackEntry.encodedSize
        let trailer = try read(Int64(size) - Int64(footerSize + trailerSize), trailerSize)
        let dataEnd = size - UInt64(trailerSize + footerSize)
        guard trailer.count == trailerSize, let entries = trailer.withUnsafeBytes({ Self.entries($0, digest: digest, dataEnd: dataEnd) }) else {
            throw KuraError.integrity(.packDamaged(pack: name, .damagedTrailer))
        }
        return entries
    }
}
