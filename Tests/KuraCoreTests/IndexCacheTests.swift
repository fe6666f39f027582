import Foundation
import Testing
@testable import KuraCore
import KuraTestSupport

/// The local index cache on its own: lookups, totals, supersession, damaged index files.
@Suite struct IndexCacheTests {
    func packIndex(_ seed: UInt64, chunks: Int) -> IndexFile.PackIndex {
        let pack = SHA256Hasher.hash(randomBytes(32, seed: seed))
        let entries = (0..<chunks).map { index in
            PackEntry(chunk: SHA256Hasher.hash(randomBytes(16, seed: seed * 1000 + UInt64(index))), offset: UInt64(8 + index * 100),
                      storedLength: 100, plainLength: 250, codec: .zstd)
        }
        return IndexFile.PackIndex(pack: pack, entries: entries)
    }

    @Test func lookupsTotalsAndSupersession() throws {
        let scratch = Scratch()
        let repository = try scratch.repository()
        let (a, b, c) = (packIndex(1, chunks: 3), packIndex(2, chunks: 2), packIndex(3, chunks: 4))
        let first = try repository.writeIndexFile(IndexFile(packs: [a, b])).id
        let cache = try IndexCache(path: scratch.sub("other-cache.sqlite"))
        try cache.synchronize(with: repository)
        let locations = try cache.locations(a.entries.map(\.chunk) + [SHA256Hasher.hash([0])])
        #expect(locations.count == 3 && locations[a.entries[1].chunk]?.pack == a.pack)
        #expect(locations[a.entries[1].chunk]?.entry == a.entries[1])
        #expect(try cache.contained(b.entries.map(\.chunk) + c.entries.map(\.chunk)) == Set(b.entries.map(\.chunk)))
        #expect(try cache.contained([]).isEmpty)
        // Missing ones are counted with their repeats; present ones, repeated or not, are not.
        let mixed = b.entries.map(\.chunk) + c.entries.map(\.chunk) + [c.entries[0].chunk, b.entries[0].chunk]
        #expect(try cache.missingCount(mixed) == 5)
        #expect(try cache.missingCount(a.entries.map(\.chunk) + b.entries.map(\.chunk)) == 0)
        #expect(try cache.missingCount([]) == 0)
        // Thousands at once (a parent snapshot's page): one statement, the same answers.
        let many = (0..<5000).map { SHA256Hasher.hash(randomBytes(8, seed: 70_000 + UInt64($0))) }
        #expect(try cache.missingCount(many + a.entries.map(\.chunk)) == 5000)
        #expect(try cache.contained(many + a.entries.map(\.chunk)) == Set(a.entries.map(\.chunk)))
        #expect(try cache.entries(inPack: b.pack) == b.entries)
        let totals = try cache.totals()
        #expect((totals.chunks, totals.stored, totals.plain, totals.packs) == (5, 500, 1250, 2))

        // A new index file that supersedes the first (as prune writes): the cache follows.
        _ = try repository.writeIndexFile(IndexFile(supersedes: [first], packs: [c]))
        try FileManager.default.removeItem(atPath: repository.layout.root + "/" + RepositoryLayout.indexName(first))
        try cache.synchronize(with: repository)
        #expect(try cache.packs() == [c.pack])
        #expect(try cache.contained(a.entries.map(\.chunk)).isEmpty)
    }

    /// Eight or more index files load through a staging table, sorted, with the pack index built
    /// at the end (a fresh machine): the cache must end exactly as one loaded file by file.
    @Test func manyIndexFilesLoadSortedAsTheyWouldOneByOne() throws {
        let scratch = Scratch()
        let repository = try scratch.repository()
        var packs = (0..<24).map { packIndex(100 + UInt64($0), chunks: 40 + $0) }
        // A chunk stored in two packs (two backups at once), and a pack listed by two files.
        packs[5].entries[3] = PackEntry(chunk: packs[4].entries[0].chunk, offset: packs[5].entries[3].offset,
                                        storedLength: 100, plainLength: 250, codec: .zstd)
        var ids: [ChunkID] = []
        for file in 0..<12 { ids.append(try repository.writeIndexFile(IndexFile(packs: [packs[file * 2], packs[file * 2 + 1]])).id) }
        ids.append(try repository.writeIndexFile(IndexFile(packs: [packs[7]])).id)
        #expect(ids.count >= IndexCache.sortedLoadFiles)

        let sorted = try IndexCache(path: scratch.sub("sorted.sqlite"))
        try sorted.synchronize(with: repository)
        let oneByOne = try IndexCache(path: scratch.sub("one-by-one.sqlite"))
        for id in ids { try oneByOne.add(try repository.readIndexFile(id), id: id) }

        #expect(try sorted.packs() == oneByOne.packs())
        #expect(try sorted.packs().count == 24)
        for pack in packs {
            #expect(try sorted.entries(inPack: pack.pack) == pack.entries)
            #expect(try oneByOne.entries(inPack: pack.pack) == pack.entries)
        }
        let everyChunk = packs.flatMap { $0.entries.map(\.chunk) }
        #expect(try sorted.contained(everyChunk) == Set(everyChunk))
        #expect(try sorted.missingCount(everyChunk) == 0)
        // Totals count stored copies, each pack once however many files list it.
        let totals = try sorted.totals()
        let otherTotals = try oneByOne.totals()
        #expect(totals == otherTotals)
        #expect(totals.packs == 24 && totals.chunks == everyChunk.count)
        #expect(totals.stored == Int64(everyChunk.count * 100) && totals.plain == Int64(everyChunk.count * 250))
    }

    @Test func aDamagedIndexFileIsLeftOutAndNamed() throws {
        let scratch = Scratch()
        let repository = try scratch.repository()
        let good = try repository.writeIndexFile(IndexFile(packs: [packIndex(4, chunks: 2)])).id
        let bad = try repository.writeIndexFile(IndexFile(packs: [packIndex(5, chunks: 2)])).id
        let path = repository.layout.root + "/" + RepositoryLayout.indexName(bad)
        var bytes = try read(path)
        bytes[bytes.count / 2] ^= 0xff
        try write(bytes, to: path)
        #expect(kuraError { _ = try repository.readIndexFile(bad) } == .integrity(.indexFileDamaged(id: bad.short)))
        let cache = try IndexCache(path: scratch.sub("fresh.sqlite"))
        try cache.synchronize(with: repository)
        #expect(cache.damagedIndexFiles == [bad])
        #expect(try cache.totals().chunks == 2)
        _ = good
    }
}
