import Foundation
import Testing
@testable import KuraCore
import KuraTestSupport

/// Plain packs named from their header and trailer (version 3, docs/FORMAT.md "Packs"): what
/// `verify --read-data` checks instead of hashing the whole pack, on packs made by hand.
@Suite struct PackNameTests {
    let first = randomBytes(5000, seed: 1)
    let second = randomBytes(3000, seed: 2)

    func entry(_ bytes: [UInt8], at offset: Int) -> PackEntry {
        PackEntry(chunk: SHA256Hasher.hash(bytes), offset: UInt64(offset), storedLength: UInt32(bytes.count),
                  plainLength: UInt32(bytes.count), codec: .raw)
    }

    /// Puts a version-3 pack of `body` (the bytes between header and trailer) and `entries` in
    /// `repository`, named as Kura names it, with an index file naming `indexed` of its entries;
    /// returns what `verify --read-data` says.
    func verify(body: [UInt8], entries: [PackEntry], indexed: [PackEntry]? = nil,
                header: [UInt8] = PackFormat.header(encrypted: false)) throws -> (pack: ChunkID, errors: [String]) {
        let scratch = Scratch()
        let repository = try scratch.repository()
        let bytes = header + body + PackFormat.trailer(entries, cipher: nil)
        let id = bytes.withUnsafeBytes { PackFormat.listedPackName($0, trailerStart: PackFormat.headerSize + body.count) }
        let path = repository.layout.pack(id)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try write(bytes, to: path)
        _ = try repository.writeIndexFile(IndexFile(packs: [IndexFile.PackIndex(pack: id, entries: indexed ?? entries)]))
        return (id, try RepositoryChecker(repository: repository).check(CheckOptions(readData: true)).errors)
    }

    @Test func aWellFormedPackMadeByHandVerifies() throws {
        let result = try verify(body: first + second, entries: [entry(first, at: 16), entry(second, at: 16 + first.count)])
        #expect(result.errors.isEmpty, "\(result.errors)")
    }

    @Test func bytesInNoChunkAreFound() throws {
        let result = try verify(body: first + [UInt8](repeating: 0xAA, count: 10), entries: [entry(first, at: 16)])
        #expect(result.errors.contains { $0.contains("pack \(result.pack.short): bytes at offset \(16 + first.count) are in no chunk of its trailer") },
                "\(result.errors)")
    }

    @Test func aDamagedChunkNoIndexNamesIsFound() throws {
        let listed = [entry(first, at: 16), entry(second, at: 16 + first.count)]
        var damaged = second
        damaged[100] ^= 1
        let result = try verify(body: first + damaged, entries: listed, indexed: [listed[0]])
        #expect(result.errors.contains { $0.contains("chunk \(listed[1].chunk.short) (in no index file) is damaged") }, "\(result.errors)")
    }

    @Test func aChangedHeaderIsFound() throws {
        // Reserved bytes: the header is compared.
        let reserved = try verify(body: first, entries: [entry(first, at: 16)], header: PackFormat.headerMagic + [3, 0, 0, 1, 0, 0, 0, 0])
        #expect(reserved.errors.contains { $0.contains("pack \(reserved.pack.short): its header is damaged") }, "\(reserved.errors)")
        // Version 1 claimed: the pack is then hashed whole, and its name is not that hash.
        let older = try verify(body: first, entries: [entry(first, at: 16)], header: PackFormat.header(version: PackFormat.wholeFileVersion))
        #expect(older.errors.contains { $0.contains("pack \(older.pack.short): its content does not match its name") }, "\(older.errors)")
    }

    @Test func aPackUnderAnotherNameIsFound() throws {
        let scratch = Scratch()
        let repository = try scratch.repository()
        let media = scratch.sub("media")
        try write(first, to: media + "/a.bin")
        _ = try backup(repository, media)
        let pack = try #require(try repository.listPacks().first)
        let other = ChunkID(words: (1, 2, 3, 4))
        let path = repository.layout.pack(other)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: repository.layout.pack(pack), toPath: path)
        let entries = try repository.readPackTrailer(other).entries
        _ = try repository.writeIndexFile(IndexFile(packs: [IndexFile.PackIndex(pack: other, entries: entries)]))
        let errors = try RepositoryChecker(repository: repository).check(CheckOptions(readData: true)).errors
        #expect(errors.contains { $0.contains("pack \(other.short): its content does not match its name") }, "\(errors)")
    }
}
