import Foundation
import Testing
@testable import KuraCore
import KuraTestSupport

@Suite struct BackupRestoreTests {
    /// A small site: nested folders, an empty file, an empty folder, non-ASCII and spaced names,
    /// a symlink, unusual modes and exact mtimes.
    func makeMedia(_ scratch: Scratch) throws -> String {
        let media = scratch.sub("media")
        try write(randomBytes(3 << 20, seed: 10), to: media + "/photos/profile 1.jpg")
        try write(Array(String(repeating: "receipt line\n", count: 50000).utf8), to: media + "/receipts/2025/reçu été 2025.pdf")
        try write([], to: media + "/empty.txt")
        try FileManager.default.createDirectory(atPath: media + "/empty folder", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: media + "/latest.jpg", withDestinationPath: "photos/profile 1.jpg")
        chmod(media + "/receipts/2025/reçu été 2025.pdf", 0o640)
        setMtime(media + "/photos/profile 1.jpg", seconds: 1_700_000_000, nanoseconds: 123_456_789)
        return media
    }

    @Test func roundTripIsExact() throws {
        let scratch = Scratch()
        let repository = try scratch.repository()
        let media = try makeMedia(scratch)
        let result = try backup(repository, media)
        #expect(result.summary.filesNew == 3)
        #expect(result.summary.symlinks == 1)
        #expect(result.unreadable.isEmpty)
        let restored = try restore(repository, result.snapshot, to: scratch.sub("out"))
        #expect(restored.failed.isEmpty)
        #expect(try treeListing(media) == treeListing(scratch.sub("out/media")))
    }

    /// A pg_dump custom-format file among the media (an old job's dump, say) is cut with the dump
    /// chunker: a night that changes a few bytes in it stores a few small chunks, where a file of
    /// the same bytes without the `PGDMP` magic stores megabyte chunks again.
    @Test func aCustomFormatDumpAmongTheMediaIsCutWithTheDumpChunker() throws {
        let scratch = Scratch()
        let repository = try scratch.repository()
        let media = scratch.sub("media")
        let body = randomBytes(6 << 20, seed: 21)
        try write(Array("PGDMP".utf8) + body, to: media + "/db/site.dump")
        try write(Array("NOTPG".utf8) + body, to: media + "/db/other.bin")
        _ = try backup(repository, media)
        let first = try repository.openSnapshot(try #require(try repository.snapshots().last))
        let dumpChunks = try #require(try first.entry("media/db/site.dump")).chunks.count
        let otherChunks = try #require(try first.entry("media/db/other.bin")).chunks.count
        #expect(dumpChunks > 6 * 1024 / 128 && otherChunks < 6 * 1024 / 128, "\(dumpChunks) vs \(otherChunks) chunks")

        func change(_ path: String, magic: String) throws {
            var bytes = Array(magic.utf8) + body
            for offset in stride(from: 500_000, to: bytes.count, by: 2_000_000) { bytes[offset] ^= 0xff }
            try write(bytes, to: path)
        }
        try change(media + "/db/site.dump", magic: "PGDMP")
        let dumpNight = try backup(repository, media).summary.dataAdded
        try change(media + "/db/other.bin", magic: "NOTPG")
        let otherNight = try backup(repository, media).summary.dataAdded
        #expect(dumpNight < 1 << 20 && otherNight > 2 << 20, "3 bytes changed: \(dumpNight) vs \(otherNight) bytes stored")
    }

    /// `find` and `restore --include` let SQLite skip paths before matching (a GLOB and, for a
    /// literal start, a key range): they must select exactly what matching every path selects.
    @Test func prefilteredSearchesSelectWhatFullScansSelect() throws {
        let scratch = Scratch()
        let repository = try scratch.repository()
        let media = scratch.sub("media")
        let names = ["receipts/2025/reçu été.pdf", "receipts/2025/recu.pdf", "receipts/2026/a[1].pdf", "photos/*star*.jpg",
                     "photos/q?.jpg", "photos/receipts.jpg", "deep/receipts/2025/x.pdf", "zz/\u{10FFFF}end.txt", "rec/eipts.pdf"]
        for (index, name) in names.enumerated() { try write([UInt8(index)], to: media + "/" + name) }
        let snapshot = try backup(repository, media).snapshot
        var all: [Entry] = []
        try repository.openSnapshot(snapshot).forEachEntry { all.append($0) }
        for text in ["/media/receipts/2025/reçu été.pdf", "receipts", "/media/receipts", "2025/*.pdf", "reçu*", "*.jpg", "q?.jpg",
                     "/media/photos", "*[1]*", "/media/zz", "/media/rec", "eipts.pdf"] {
            let pattern = try PathPattern(text)
            let expected = all.filter { pattern.matches($0.path) }.map(\.path)
            var listed: [String] = []
            try repository.openSnapshot(snapshot).forEachEntry(globbing: PathPattern.supersetGlobs([pattern])) {
                if pattern.matches($0.path) { listed.append($0.path) }
            }
            #expect(listed == expected, "\(text)")
            var found: [String] = []
            try repository.find(pattern) { _, entry in found.append(entry.path) }
            #expect(found == all.filter { $0.kind != .directory && pattern.matches($0.path) }.map(\.path), "find \(text)")
            #expect(!expected.isEmpty, "\(text) selects something")
        }
    }

    @Test func largeFileRoundTrips() throws {
        let scratch = Scratch()
        let repository = try scratch.repository()
        let media = scratch.sub("media")
        // 300 MB: many batches, a chunk carried across batch boundaries, several packs.
        try write(randomBytes(300_000_000, seed: 11), to: media + "/video.mp4")
        let result = try backup(repository, media)
        #expect(result.summary.bytesRead == 300_000_000)
        #expect(try repository.listPacks().count >= 300_000_000 / repository.config.packSize)
        try restore(repository, result.snapshot, to: scratch.sub("out"))
        #expect(try treeListing(media) == treeListing(scratch.sub("out/media")))
    }

    @Test func twentyThousandSmallFilesRoundTrip() throws {
        let scratch = Scratch()
        let repository = try scratch.repository()
        let media = scratch.sub("media")
        for index in 0..<20_000 {
            try write(randomBytes(100 + index % 3000, seed: UInt64(index)), to: media + "/d\(index % 50)/f\(index).bin")
        }
        let first = try backup(repository, media)
        #expect(first.summary.filesNew == 20_000)
        try restore(repository, first.snapshot, to: scratch.sub("out"))
        #expect(try treeListing(media) == treeListing(scratch.sub("out/media")))

        // A no-change backup reads nothing and adds only a small part of the snapshot database.
        let second = try backup(repository, media)
        #expect(second.summary.filesUnchanged == 20_000)
        #expect(second.summary.bytesRead == 0)
        #expect(second.summary.dataAddedStored < second.summary.treeSize / 4,
                "no-change backup stored \(second.summary.dataAddedStored) bytes for a \(second.summary.treeSize)-byte tree")
    }

    @Test func aParentWhoseChunksAreNotAllIndexedIsNotTrusted() throws {
        let scratch = Scratch()
        let repository = try scratch.repository()
        let media = try makeMedia(scratch)
        let first = try backup(repository, media)
        // A snapshot just stored is known to the cache as checked: the next backup skips the check.
        #expect(try repository.index().isChecked(snapshot: first.snapshot.id))
        #expect(try backup(repository, media).summary.bytesRead == 0)
        // The index files gone (a damaged repository): the parent's chunk lists can no longer be
        // trusted, so every file is read again and a notice says why.
        for name in try FileManager.default.contentsOfDirectory(atPath: repository.layout.root + "/index") {
            try FileManager.default.removeItem(atPath: repository.layout.root + "/index/" + name)
        }
        let reopened = try scratch.reopen()
        #expect(try !reopened.index().isChecked(snapshot: first.snapshot.id), "dropped index files forget what was checked")
        let again = try backup(reopened, media)
        #expect(again.summary.bytesRead == first.summary.bytesRead)
        #expect(again.notices.count == 1 && again.notices[0].contains("missing from the index"), "\(again.notices)")
    }

    @Test func changeDetectionRereadsOnlyTouchedFiles() throws {
        let scratch = Scratch()
        let repository = try scratch.repository()
        let media = try makeMedia(scratch)
        try backup(repository, media)
        // Same size, new content and mtime: must be read again.
        try write(randomBytes(3 << 20, seed: 99), to: media + "/photos/profile 1.jpg")
        try write([1, 2, 3], to: media + "/new.txt")
        let second = try backup(repository, media)
        #expect(second.summary.filesChanged == 1)
        #expect(second.summary.filesNew == 1)
        #expect(second.summary.filesUnchanged == 2)
        #expect(second.summary.bytesRead == Int64(3 << 20) + 3)
        #expect(second.snapshot.record.parent != nil)
        try restore(repository, second.snapshot, to: scratch.sub("out"))
        #expect(try treeListing(media) == treeListing(scratch.sub("out/media")))
    }

    @Test func singleFileRestoreReadsOnlyThatFile() throws {
        let scratch = Scratch()
        let repository = try scratch.repository()
        let media = try makeMedia(scratch)
        let result = try backup(repository, media)
        // Damage every pack except those holding the receipt and the snapshot database: a
        // restore of the receipt alone must not notice.
        let reader = try repository.openSnapshot(result.snapshot)
        let receipt = try #require(try reader.entry("media/receipts/2025/reçu été 2025.pdf"))
        let needed = Set(try repository.index().locations(receipt.chunks).values.map(\.pack))
        for pack in try repository.listPacks() where !needed.contains(pack) {
            truncate(repository.layout.pack(pack), 10)
        }
        let restored = try restore(repository, result.snapshot, to: scratch.sub("out"), include: ["reçu*.pdf"])
        #expect(restored.files == 1)
        #expect(try read(scratch.sub("out/media/receipts/2025/reçu été 2025.pdf")) == read(media + "/receipts/2025/reçu été 2025.pdf"))
        #expect(!FileManager.default.fileExists(atPath: scratch.sub("out/media/photos/profile 1.jpg")))
    }

    /// A killed restore leaves `.<name>.kura-<8 hex>` temp files; the next restore into the same
    /// directories removes them, and nothing else.
    @Test func restoreRemovesTempFilesOfAKilledRestore() throws {
        let scratch = Scratch()
        let repository = try scratch.repository()
        let media = try makeMedia(scratch)
        let result = try backup(repository, media)
        let receipts = scratch.sub("out/media/receipts/2025")
        let leftovers = [scratch.sub("out/.database.kura-0a1b2c3d"), receipts + "/.reçu été 2025.pdf.kura-89abcdef"]
        let kept = [receipts + "/.notes.kura-backup", receipts + "/x.kura-0a1b2c3d", receipts + "/.y.kura-0A1B2C3D", receipts + "/.kura-0a1b2c3d"]
        for path in leftovers + kept { try write([1, 2, 3], to: path) }
        #expect(RestoreWriter.isTemporaryName(RestoreWriter.temporaryName(for: "reçu été 2025.pdf")))
        _ = try restore(repository, result.snapshot, to: scratch.sub("out"), force: true)
        for path in leftovers { #expect(!FileManager.default.fileExists(atPath: path), "\(path) left behind") }
        for path in kept { #expect(FileManager.default.fileExists(atPath: path), "\(path) is not a Kura temp file") }
    }

    @Test func indexCacheIsRebuiltWhenDeleted() throws {
        let scratch = Scratch()
        let repository = try scratch.repository()
        let media = try makeMedia(scratch)
        let result = try backup(repository, media)
        let before = try repository.index().totals()
        try FileManager.default.removeItem(atPath: scratch.sub("cache"))
        let reopened = try scratch.reopen()
        #expect(try reopened.index().totals() == before)
        try restore(reopened, result.snapshot, to: scratch.sub("out"))
        #expect(try treeListing(media) == treeListing(scratch.sub("out/media")))
    }

    @Test func diffNamesChanges() throws {
        let scratch = Scratch()
        let repository = try scratch.repository()
        let media = try makeMedia(scratch)
        let first = try backup(repository, media)
        try FileManager.default.removeItem(atPath: media + "/empty.txt")
        try write([7], to: media + "/added.txt")
        try write(randomBytes(10, seed: 5), to: media + "/photos/profile 1.jpg")
        let second = try backup(repository, media)
        var changes: [String] = []
        try SnapshotDiff.compare(repository.openSnapshot(first.snapshot), repository.openSnapshot(second.snapshot)) {
            if $0.path != "media" && $0.path != "media/photos" { changes.append("\($0.kind.rawValue) \($0.path)") }
        }
        #expect(changes == ["+ media/added.txt", "- media/empty.txt", "M media/photos/profile 1.jpg"])
    }
}
