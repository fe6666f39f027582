import Foundation
import GRDB
import Testing
@testable import KuraCore
import KuraTestSupport

/// Repository files and archives shaped by someone else: every length, offset and count is checked
/// before it is used to allocate or index, and each case ends in an integrity error (exit 12)
/// naming the file, with nothing written outside the target.
@Suite struct HostileInputTests {
    /// A one-pack repository with `media/a.txt` and `media/b.bin` backed up.
    func backedUp(_ scratch: Scratch) throws -> (Repository, Snapshot) {
        try write(Array("receipt".utf8), to: scratch.sub("media/a.txt"))
        try write(randomBytes(50_000, seed: 7), to: scratch.sub("media/b.bin"))
        let repository = try scratch.repository()
        return (repository, try backup(repository, scratch.sub("media")).snapshot)
    }

    // MARK: Packs and index files

    /// A pack whose trailer (with a valid digest) claims the given entries.
    func pack(claiming entries: [PackEntry], data: Int = 100) -> [UInt8] {
        PackFormat.header(encrypted: false) + [UInt8](repeating: 0, count: data) + PackFormat.trailer(entries, cipher: nil)
    }

    func parseTrailer(_ bytes: [UInt8]) -> KuraError? {
        kuraError {
            _ = try PackFormat.trailer(packSize: UInt64(bytes.count), name: "hostile", cipher: nil) { offset, count in
                Array(bytes[Int(offset)..<(Int(offset) + count)])
            }
        }
    }

    @Test func packTrailerClaimingHugeOrMisplacedChunksIsDamage() {
        let id = ChunkID(words: (1, 2, 3, 4))
        let sane = PackEntry(chunk: id, offset: 16, storedLength: 10, plainLength: 10, codec: .raw)
        #expect(parseTrailer(pack(claiming: [sane])) == nil, "a sane trailer parses")
        var huge = sane
        huge.plainLength = UInt32.max  // a 4 GiB chunk: never allocated
        var overflowing = sane
        overflowing.offset = UInt64.max - 5  // offset + length wraps around
        var pastEnd = sane
        pastEnd.offset = 10_000
        var inHeader = sane
        inHeader.offset = 0
        for entry in [huge, overflowing, pastEnd, inHeader] {
            let error = parseTrailer(pack(claiming: [entry]))
            #expect(error?.exitCode == 12, "\(entry): \(String(describing: error))")
            #expect("\(String(describing: error))".contains("pack hostile"), "names the pack")
        }
        // A footer announcing more entries than the file holds.
        var bytes = pack(claiming: [sane])
        bytes[bytes.count - 16] = 0xff
        bytes[bytes.count - 15] = 0xff
        #expect(parseTrailer(bytes)?.exitCode == 12)
    }

    @Test func sealedTrailerLengthsAreCheckedBeforeAnythingIsRead() {
        let cipher = RepositoryCipher(masterKey: MasterKey.generate())
        let sane = PackEntry(chunk: ChunkID(words: (1, 2, 3, 4)), offset: 16, storedLength: 10, plainLength: 10, codec: .raw)
        let good = PackFormat.header(encrypted: true) + [UInt8](repeating: 0, count: 10) + PackFormat.trailer([sane], cipher: cipher)
        func parse(_ bytes: [UInt8], _ key: RepositoryCipher = cipher) -> KuraError? {
            kuraError {
                _ = try PackFormat.trailer(packSize: UInt64(bytes.count), name: "hostile", cipher: key) { offset, count in
                    Array(bytes[Int(offset)..<(Int(offset) + count)])
                }
            }
        }
        #expect(parse(good) == nil, "a sane sealed trailer opens")
        var reads: [Int] = []
        // The sealed length: past the file's start, under a footer's size, and 4 GiB.
        for length in [UInt32(good.count), 10, UInt32.max] {
            var bytes = good
            withUnsafeBytes(of: length.littleEndian) { bytes.replaceSubrange((bytes.count - 16)..<(bytes.count - 12), with: $0) }
            let error = parse(bytes)
            #expect(error == .integrity(.packDamaged(pack: "hostile", .noFooter)), "length \(length): \(String(describing: error))")
            reads.append(bytes.count)
        }
        // Another key, an altered byte of the sealed trailer, a plain pack read as sealed.
        #expect(parse(good, RepositoryCipher(masterKey: MasterKey.generate())) == .integrity(.packDamaged(pack: "hostile", .damagedTrailer)))
        var altered = good
        altered[good.count - 30] ^= 1
        #expect(parse(altered) == .integrity(.packDamaged(pack: "hostile", .damagedTrailer)))
        #expect(parse(pack(claiming: [sane]))?.exitCode == 12)
        #expect(reads.count == 3)
    }

    @Test func indexFileEntriesAreBoundedBeforeUse() {
        let id = ChunkID(words: (1, 2, 3, 4))
        var entry = PackEntry(chunk: id, offset: 16, storedLength: 10, plainLength: 10, codec: .raw)
        let good = IndexFile(packs: [.init(pack: id, entries: [entry])]).encoded()
        #expect(good.withUnsafeBytes { IndexFile.decode($0) } != nil)
        entry.plainLength = UInt32.max
        let huge = IndexFile(packs: [.init(pack: id, entries: [entry])]).encoded()
        #expect(huge.withUnsafeBytes { IndexFile.decode($0) } == nil, "a 4 GiB chunk is refused")
        entry.plainLength = 10
        entry.offset = UInt64.max
        let far = IndexFile(packs: [.init(pack: id, entries: [entry])]).encoded()
        #expect(far.withUnsafeBytes { IndexFile.decode($0) } == nil, "an offset beyond any pack is refused")
        // A header announcing 2^24 superseded ids in a 16-byte file allocates nothing.
        let header = IndexFile.magic + [1, 0, 0, 0] + [0, 0, 0, 1]
        let ids = IndexFile.supersedes(fileSize: header.count) { offset, count -> [UInt8] in
            #expect(count <= header.count, "asked for \(count) bytes of a \(header.count)-byte file")
            return Array(header[offset..<min(header.count, offset + count)])
        }
        #expect(ids == nil)
    }

    @Test func indexEntryPastTheEndOfItsPackFailsTheFileNotTheProcess() throws {
        let scratch = Scratch()
        let (repository, snapshot) = try backedUp(scratch)
        // Replace the index with one that places every chunk 1 GB further into its pack.
        var moved: [IndexFile.PackIndex] = []
        for id in try repository.listIndexFiles() {
            for pack in try repository.readIndexFile(id).packs {
                moved.append(.init(pack: pack.pack, entries: pack.entries.map { var entry = $0; entry.offset += 1 << 30; return entry }))
            }
            try FileSystem.delete(repository.layout.index(id))
        }
        let reopened = try scratch.reopen()
        try reopened.writeIndexFile(IndexFile(packs: moved))
        // The snapshot database is cached: the restore reads media chunks through the bad index.
        let result = try restore(reopened, snapshot, to: scratch.sub("out"))
        #expect(result.failed.map(\.path).contains("media/b.bin"), "\(result.failed)")
        #expect(result.failed.allSatisfy { $0.reason.contains("truncated") || $0.reason.contains("missing") }, "\(result.failed)")
        #expect(!FileManager.default.fileExists(atPath: scratch.sub("out/media/b.bin")), "no partial file under its name")
        let report = try RepositoryChecker(repository: reopened).check(CheckOptions(readData: true))
        #expect(!report.ok)
    }

    @Test func oversizedRepositoryFilesAreRefusedBeforeBeingRead() throws {
        let scratch = Scratch()
        let (repository, _) = try backedUp(scratch)
        let record = scratch.sub("big-record")
        FileManager.default.createFile(atPath: record, contents: nil)
        #expect(truncate(record, off_t(SnapshotRecord.maxFileSize + 1)) == 0)  // sparse: costs no disk
        let error = kuraError { _ = try FileSystem.readFile(record, limit: SnapshotRecord.maxFileSize) }
        #expect(error?.exitCode == 12)
        #expect("\(String(describing: error))".contains(record))
        // A pack larger than any pack of this repository can be is not loaded into memory.
        let pack = try #require(try repository.listPacks().first)
        #expect(truncate(repository.layout.pack(pack), off_t(repository.config.maxPackFileSize + 1)) == 0)
        let result = PackVerifier(repository: repository).verify(pack, expected: [])
        #expect(result.problems.contains { $0.contains("more than any pack") }, "\(result.problems)")
    }

    // MARK: Snapshot databases

    /// Stores a copy of `base`'s database, changed by `tamper`, as a new snapshot (as someone with
    /// write access to the repository could).
    func tamperedSnapshot(_ repository: Repository, _ base: Snapshot, _ scratch: Scratch, _ tamper: String) throws -> Snapshot {
        let copy = scratch.sub("tampered-\(UUID().uuidString).sqlite")
        try FileManager.default.copyItem(atPath: try repository.snapshotDatabasePath(base), toPath: copy)
        try DatabaseQueue(path: copy).writeWithoutTransaction { try $0.execute(sql: tamper) }
        let saver = try ChunkSaver(repository: repository, compression: .default)
        let file = try MappedFile(path: copy)
        let chunks = try saver.save(buffer: file.bytes, chunker: FastCDC(repository.config.treeChunker))
        var record = base.record
        record.tree = .init(size: Int64(file.bytes.count), chunks: chunks.map(\.hex))
        file.close()
        try saver.finish()
        return try repository.writeSnapshot(record)
    }

    @Test func snapshotEntriesWithUnsafePathsAreIntegrityErrors() throws {
        let scratch = Scratch()
        let (repository, snapshot) = try backedUp(scratch)
        for (path, what) in [("../x", "unsafe path"), ("/etc/kura-hostile", "unsafe path"), ("media/./a", "unsafe path")] {
            let bad = try tamperedSnapshot(repository, snapshot, scratch, "UPDATE entries SET path = '\(path)' WHERE path = 'media/a.txt'")
            let target = scratch.sub("out-\(bad.id.short)")
            let error = kuraError { _ = try restore(repository, bad, to: target) }
            #expect(error?.exitCode == 12, "\(path): \(String(describing: error))")
            #expect("\(String(describing: error))".contains(what), "\(String(describing: error))")
            #expect("\(String(describing: error))".contains("snapshot database"), "names the database")
        }
        #expect(!FileManager.default.fileExists(atPath: scratch.sub("x")))
        #expect(!FileManager.default.fileExists(atPath: "/etc/kura-hostile"))
        // Wrong types and negative sizes: errors, not traps.
        for tamper in ["UPDATE entries SET size = -5 WHERE path = 'media/a.txt'",
                       // A table without the schema's NOT NULL constraints, as a forged database can have.
                       """
                       CREATE TABLE copy AS SELECT * FROM entries; DROP TABLE entries;
                       CREATE TABLE entries (path, type, mode, uid, gid, mtime_ns, ctime_ns, inode, size, link_target, chunks);
                       INSERT INTO entries SELECT * FROM copy; DROP TABLE copy;
                       UPDATE entries SET size = NULL WHERE path = 'media/a.txt'
                       """,
                       "UPDATE entries SET chunks = x'0102' WHERE path = 'media/a.txt'"] {
            let bad = try tamperedSnapshot(repository, snapshot, scratch, tamper)
            let error = kuraError { _ = try restore(repository, bad, to: scratch.sub("out-\(bad.id.short)")) }
            #expect(error?.exitCode == 12, "\(tamper): \(String(describing: error))")
        }
    }

    @Test func snapshotPathThroughItsOwnSymlinkIsNeverFollowed() throws {
        let scratch = Scratch()
        let (repository, snapshot) = try backedUp(scratch)
        let outside = scratch.sub("outside")
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        let bad = try tamperedSnapshot(repository, snapshot, scratch, """
            INSERT INTO entries (path, type, mode, uid, gid, mtime_ns, ctime_ns, inode, size, link_target, chunks)
                VALUES ('media/link', 'symlink', 511, 0, 0, 0, 0, 0, 0, '\(outside)', x'');
            INSERT INTO entries (path, type, mode, uid, gid, mtime_ns, ctime_ns, inode, size, link_target, chunks)
                SELECT 'media/link/evil', type, mode, uid, gid, mtime_ns, ctime_ns, inode, size, link_target, chunks
                FROM entries WHERE path = 'media/a.txt';
            INSERT INTO entries (path, type, mode, uid, gid, mtime_ns, ctime_ns, inode, size, link_target, chunks)
                VALUES ('media/link/sub', 'dir', 493, 0, 0, 0, 0, 0, 0, NULL, x'');
            """)
        let result = try restore(repository, bad, to: scratch.sub("out"))
        // Whichever comes first (the directory below the link, or the link) makes the other fail:
        // either way the restore reports it (exit 12) and writes nothing through the link.
        let failed = Set(result.failed.map(\.path))
        #expect(!failed.isEmpty && failed.isSubset(of: ["media/link", "media/link/evil", "media/link/sub"]), "\(result.failed)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty, "nothing written through the symlink")
        #expect(FileManager.default.fileExists(atPath: scratch.sub("out/media/a.txt")), "the rest is restored")
    }
}
