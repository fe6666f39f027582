import Foundation

/// Reads whole packs and checks every chunk in them: the trailer against its digest, each blob
/// decoded (opened, decompressed) and its SHA-256 compared with its id. One per thread: it owns
/// its buffers (one `pread` per pack into a reused buffer) and its decoder.
final class PackVerifier {
    private let repository: Repository
    private let decoder: ChunkDecoder
    private var packBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 32 << 20, alignment: 64)
    private var plain = UnsafeMutableRawBufferPointer.allocate(byteCount: 8 << 20, alignment: 64)

    /// What reading one pack found.
    struct Result {
        var bytesRead: Int64 = 0
        var chunksChecked = 0
        /// Chunks whose stored bytes do not decode to their id.
        var damagedChunks: [ChunkID] = []
        /// One line per problem.
        var problems: [String] = []
    }

    init(repository: Repository) {
        self.repository = repository
        decoder = ChunkDecoder(cipher: repository.cipher)
    }

    deinit {
        packBuffer.deallocate()
        plain.deallocate()
    }

    /// Reads a whole pack into this verifier's buffer (valid until the next call).
    func load(_ pack: ChunkID) throws -> UnsafeRawBufferPointer {
        let name = RepositoryLayout.packName(pack)
        guard let objectSize = try repository.store.size(of: name) else { throw KuraError.integrity(.packMissing(pack: pack.short)) }
        let size = Int(objectSize)
        guard size <= repository.config.maxPackFileSize else {
            throw KuraError.integrity(.packDamaged(pack: pack.short, .tooLarge(size: Int64(size))))
        }
        packBuffer.reserve(atLeast: size)
        let bytes = UnsafeMutableRawBufferPointer(rebasing: packBuffer[0..<size])
        try repository.store.read(name, at: 0, into: bytes)
        return UnsafeRawBufferPointer(bytes)
    }

    /// Verifies one pack. `expected` are the index's entries for it: every one must be in the
    /// trailer and decode to its id; when the pack cannot be read they are all damaged.
    func verify(_ pack: ChunkID, expected: [PackEntry]) -> Result {
        var result = Result()
        let bytes: UnsafeRawBufferPointer
        do {
            bytes = try load(pack)
        } catch {
            result.problems.append(RepositoryChecker.message(error))
            result.damagedChunks = expected.map(\.chunk)
            return result
        }
        result.bytesRead = Int64(bytes.count)
        let trailer = Self.trailer(bytes, cipher: repository.cipher)
        if trailer == nil { result.problems.append("pack \(pack.short) has a damaged trailer") }
        if !repository.isEncrypted && PackFormat.version(bytes) == PackFormat.wholeFileVersion {
            if SHA256Hasher.hash(bytes) != pack { result.problems.append("pack \(pack.short): its content does not match its name") }
        } else if let trailer, let problem = coverageProblem(bytes, pack: pack, trailer: trailer, indexed: Set(expected)) {
            result.problems.append("pack \(pack.short): \(problem)")
        }
        let inTrailer = Set(trailer ?? [])
        for entry in expected {
            guard inTrailer.contains(entry) else {
                result.problems.append("pack \(pack.short): chunk \(entry.chunk.short) of the index is not in its trailer")
                result.damagedChunks.append(entry.chunk)
                continue
            }
            result.chunksChecked += 1
            if !isIntact(entry, in: bytes) {
                result.problems.append("pack \(pack.short): chunk \(entry.chunk.short) is damaged")
                result.damagedChunks.append(entry.chunk)
            }
        }
        return result
    }

    /// A pack named from its trailer (plain, version 3) or its tags (encrypted, version 2) has every
    /// byte checked without hashing the whole pack: the header is compared, every blob of the
    /// trailer must decode to its id (indexed blobs in `verify`, the others here), the blobs must
    /// tile the pack from the header to the trailer, and the name is computed as it was written
    /// (`PackFormat.listedPackName`, `sealedPackName`). What is wrong, if anything.
    private func coverageProblem(_ bytes: UnsafeRawBufferPointer, pack: ChunkID, trailer: [PackEntry], indexed: Set<PackEntry>) -> String? {
        let sealed = repository.isEncrypted
        let footerSize = sealed ? PackFormat.sealedFooterSize : PackFormat.footerSize
        guard bytes.count >= PackFormat.headerSize + footerSize,
              Array(bytes[0..<PackFormat.headerSize]) == PackFormat.header(encrypted: sealed) else { return "its header is damaged" }
        // The trailer was read: the footer's length is within the pack.
        let trailerStart = sealed
            ? bytes.count - footerSize - Int(bytes.loadUnaligned(fromByteOffset: bytes.count - footerSize, as: UInt32.self))
            : bytes.count - footerSize - trailer.count * PackEntry.encodedSize
        let smallest = sealed ? UInt32(RepositoryCipher.overhead) : 0
        var next = UInt64(PackFormat.headerSize)
        for entry in trailer.sorted(by: { $0.offset < $1.offset }) {
            guard entry.offset == next, entry.storedLength >= smallest else { return "bytes at offset \(next) are in no chunk of its trailer" }
            next += UInt64(entry.storedLength)
            if !indexed.contains(entry) && !isIntact(entry, in: bytes) { return "chunk \(entry.chunk.short) (in no index file) is damaged" }
        }
        guard next == UInt64(trailerStart) else { return "bytes at offset \(next) are in no chunk of its trailer" }
        let name = sealed ? PackFormat.sealedPackName(bytes, entries: trailer, trailerStart: trailerStart)
            : PackFormat.listedPackName(bytes, trailerStart: trailerStart)
        guard name == pack else { return "its content does not match its name" }
        return nil
    }

    /// The compressed form of `entry`'s blob in a loaded pack (opened in an encrypted repository;
    /// valid until the next call); nil when it lies outside the pack or does not open.
    func unseal(_ entry: PackEntry, in bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        let start = Int(entry.offset), end = start + Int(entry.storedLength)
        guard start >= PackFormat.headerSize, end <= bytes.count else { return nil }
        return decoder.unseal(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
    }

    /// True when the blob of `entry` in a loaded pack decodes to the chunk's id.
    func isIntact(_ entry: PackEntry, in bytes: UnsafeRawBufferPointer) -> Bool {
        // Offset and length are bounded by `PackEntry.decode`: the sum cannot overflow.
        let start = Int(entry.offset), end = start + Int(entry.storedLength)
        guard start >= PackFormat.headerSize, end <= bytes.count else { return false }
        let length = Int(entry.plainLength)
        plain.reserve(atLeast: length)
        let destination = UnsafeMutableRawBufferPointer(rebasing: plain[0..<length])
        return decoder.decode(UnsafeRawBufferPointer(rebasing: bytes[start..<end]), codec: entry.codec, into: destination)
            && SHA256Hasher.hash(UnsafeRawBufferPointer(destination)) == entry.chunk
    }

    /// The trailer entries of a whole pack in memory; nil when footer or trailer are damaged.
    private static func trailer(_ bytes: UnsafeRawBufferPointer, cipher: RepositoryCipher?) -> [PackEntry]? {
        try? PackFormat.trailer(packSize: UInt64(bytes.count), name: "", cipher: cipher) { offset, count in
            Array(bytes[Int(offset)..<(Int(offset) + count)])
        }
    }
}
