import Foundation
import Testing
@testable import KuraCore
import KuraTestSupport

/// `PackWriter` (the repository's `ChunkStore`) on its own: sizes, names, trailers, abandon.
@Suite struct PackWriterTests {
    @Test func packsAreCutAtTheTargetSizeNamedFromHeaderAndTrailerAndTheirTrailersReadBack() throws {
        let scratch = Scratch()
        let repository = try scratch.repository(config: .new(packSize: 1 << 20))
        let writer = repository.makeChunkStore()
        var added: [ChunkID: [UInt8]] = [:]
        for index in 0..<40 {
            let bytes = randomBytes(100_000 + index, seed: UInt64(index))
            let id = SHA256Hasher.hash(bytes)
            added[id] = bytes
            try bytes.withUnsafeBytes { try writer.add(chunk: id, stored: $0, codec: .raw, plainLength: bytes.count) }
        }
        let packs = try writer.finish()
        #expect(packs.count == 4, "40 chunks of ~100 kB in 1 MiB packs: \(packs.count)")
        #expect(Set(packs.flatMap { $0.entries.map(\.chunk) }) == Set(added.keys))
        #expect(writer.bytesWritten == packs.reduce(0) { $0 + $1.size })
        for pack in packs {
            let bytes = try read(repository.layout.pack(pack.id))
            #expect(UInt64(bytes.count) == pack.size)
            let trailerStart = bytes.count - PackFormat.footerSize - pack.entries.count * PackEntry.encodedSize
            #expect(bytes.withUnsafeBytes { PackFormat.listedPackName($0, trailerStart: trailerStart) } == pack.id,
                    "a plain pack is named by the SHA-256 of its header and trailer")
            #expect(bytes.withUnsafeBytes { PackFormat.version($0) } == PackFormat.listedVersion)
            #expect(SHA256Hasher.hash(bytes) != pack.id, "not read back to be hashed whole")
            let (entries, size) = try repository.readPackTrailer(pack.id)
            #expect(entries == pack.entries && size == pack.size)
            for entry in entries {
                let start = Int(entry.offset)
                #expect(Array(bytes[start..<(start + Int(entry.storedLength))]) == added[entry.chunk])
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: repository.layout.tmpDirectory).isEmpty)
    }

    @Test func abandonLeavesNoTempFileAndNoPack() throws {
        let scratch = Scratch()
        let repository = try scratch.repository(config: .new(packSize: 1 << 20))
        let writer = repository.makeChunkStore()
        let bytes = randomBytes(50_000, seed: 7)
        try bytes.withUnsafeBytes { try writer.add(chunk: SHA256Hasher.hash(bytes), stored: $0, codec: .raw, plainLength: bytes.count) }
        writer.abandon()
        #expect(try FileManager.default.contentsOfDirectory(atPath: repository.layout.tmpDirectory).isEmpty)
        #expect(try repository.listPacks().isEmpty)
    }
}
