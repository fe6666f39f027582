import Foundation
import Testing
@testable import KuraCore
import KuraTestSupport

/// Reads shaped for object storage: neighbouring small files with one ranged read (`ReadBatch`),
/// a file's chunks by pack rather than one by one (`FileContentReader`).
@Suite struct ReadBatchTests {
    static let pack = ChunkID(bytes: [UInt8](repeating: 1, count: 32))!
    static let other = ChunkID(bytes: [UInt8](repeating: 2, count: 32))!

    /// A file entry whose chunks are at the given (offset, length) places; `nil` pack: not indexed.
    static func file(_ name: String, _ places: [(UInt64, UInt32)], in pack: ChunkID? = pack,
                     locations: inout [ChunkID: ChunkLocation]) -> Entry {
        var chunks: [ChunkID] = []
        for (offset, length) in places {
            let id = SHA256Hasher.hash(Array("\(name)@\(offset)".utf8))
            chunks.append(id)
            if let pack {
                locations[id] = ChunkLocation(pack: pack, entry: PackEntry(chunk: id, offset: offset, storedLength: length,
                                                                           plainLength: length, codec: .raw))
            }
        }
        return Entry(path: "media/" + name, kind: .file, mode: 0o644, uid: 0, gid: 0, mtimeNanoseconds: 0, ctimeNanoseconds: 0,
                     inode: 0, size: Int64(places.reduce(0) { $0 + Int($1.1) }), chunks: chunks)
    }

    @Test func neighbouringSmallFilesAreOneBatchAndTheRestReadAlone() {
        var locations: [ChunkID: ChunkLocation] = [:]
        let mib = UInt32(1 << 20)
        let entries = [
            Self.file("a", [(16, 100), (116, 200)], locations: &locations),
            Self.file("b", [(316 + 1000, 50)], locations: &locations),          // a small gap: still one read
            Self.file("c", [], locations: &locations),                          // empty: needs no read
            Self.file("d", [(16, 10)], in: Self.other, locations: &locations),  // another pack
            Self.file("e", [(40, 10)], in: nil, locations: &locations),         // not indexed
            Self.file("f", [(10_000, 4 * mib), (10_000 + UInt64(4 * mib), 4 * mib), (10_000 + UInt64(8 * mib), mib)],
                      locations: &locations),                                   // over 8 MiB: reads itself
            Self.file("g", [(20_000_000, 100)], locations: &locations),
            Self.file("h", [(20_000_100, 100)], locations: &locations),
            Self.file("i", [(20_000_050, 100)], locations: &locations),         // backwards: a new read
        ]
        let batches = ReadBatch.plan(entries, locations: locations)
        #expect(batches.map(\.entries) == [0..<3, 3..<4, 4..<5, 5..<6, 6..<8, 8..<9])
        #expect(batches[0].span.map(\.entry.offset) == [16, 116, 1316])
        #expect(batches[4].span.map(\.entry.offset) == [20_000_000, 20_000_100])
        #expect(batches.filter { $0.entries.count == 1 }.allSatisfy { $0.span.isEmpty })
        #expect(ReadBatch.plan([], locations: locations).isEmpty)
    }

    @Test func aRestoreOfSmallFilesReadsAFewSpansNotOneRequestPerFile() throws {
        let scratch = Scratch()
        let repository = try scratch.repository()
        let media = scratch.sub("media")
        for index in 0..<200 {
            try write(randomBytes(2_000 + 97 * index, seed: UInt64(500 + index)), to: media + "/receipts/r\(1000 + index).pdf")
        }
        try write(randomBytes(12 << 20, seed: 499), to: media + "/video.mp4")
        let snapshot = try backup(repository, media).snapshot
        let counting = CountingStore(repository.store)
        let result = try Restorer(repository: repository, store: counting).restore(snapshot, RestoreOptions(target: scratch.sub("out")))
        #expect(result.files == 201 && result.failed.isEmpty)
        #expect(try treeListing(media) == treeListing(scratch.sub("out/media")))
        // 200 receipts (2.3 MB) and a 12 MiB video: a handful of ranged reads, not one per file.
        #expect(counting.rangedReads <= 8, "\(counting.rangedReads) reads")
    }

    @Test func aFileChangedHereAndThereIsReadByPackNotChunkByChunk() throws {
        let scratch = Scratch()
        // Small chunks (the dump chunker's), as a database dump has.
        let repository = try scratch.repository(config: .new(chunker: .dump))
        let media = scratch.sub("media")
        var bytes = randomBytes(12 << 20, seed: 600)
        try write(bytes, to: media + "/dump.bin")
        _ = try backup(repository, media)
        // A night: 200 places changed, each in its own chunk, stored in the night's new pack.
        var random = SeededGenerator(seed: 601)
        for _ in 0..<200 {
            let at = Int.random(in: 0..<(bytes.count - 8), using: &random)
            for index in at..<(at + 8) { bytes[index] ^= 0x5a }
        }
        try write(bytes, to: media + "/dump.bin")
        let night = try backup(repository, media).snapshot
        let counting = CountingStore(repository.store)
        let result = try Restorer(repository: repository, store: counting).restore(night, RestoreOptions(target: scratch.sub("out")))
        #expect(result.failed.isEmpty)
        #expect(try read(scratch.sub("out/media/dump.bin")) == bytes)
        // In file order, every new chunk would break a read (~400); by pack, a window of 8 MiB
        // costs a read or two in each pack.
        #expect(counting.rangedReads <= 8, "\(counting.rangedReads) reads")
    }
}
