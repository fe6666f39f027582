import Testing
@testable import KuraCore
import KuraTestSupport

/// The event → entry assembly of a backup, alone: no repository, no files.
@Suite struct EntryAssemblerTests {
    func entry(_ path: String, _ kind: Entry.Kind = .file, size: Int64 = 0) -> Entry {
        Entry(path: path, kind: kind, mode: 0o644, uid: 0, gid: 0, mtimeNanoseconds: 0, ctimeNanoseconds: 0, inode: 0, size: size)
    }

    @Test func filesSpanningBatchesGetAllTheirChunksAndTheCountsAddUp() {
        let ids = (0..<4).map { SHA256Hasher.hash([UInt8($0)]) }
        var assembler = EntryAssembler()
        let first = assembler.assemble([
            .entry(entry("media", .directory)),
            .entry(entry("media/old.jpg", size: 10)),
            .fileStart(entry("media/new.jpg"), isNew: true),
            .chunk(0), .chunk(1),
        ], ids: [ids[0], ids[1]])
        #expect(first.map(\.path) == ["media", "media/old.jpg"])
        // The open file continues in the next batch, whose chunk indices start again at 0.
        let second = assembler.assemble([
            .chunk(0), .fileEnd(size: 300),
            .fileStart(entry("media/changed.pdf"), isNew: false), .chunk(1), .fileEnd(size: 7),
            .fileStart(entry("media/vanished.pdf"), isNew: true), .fileFailed(path: "media/vanished.pdf", reason: "gone"),
            .unreadable(path: "media/locked", reason: "permission denied"),
        ], ids: [ids[2], ids[3]])
        #expect(second.map(\.path) == ["media/new.jpg", "media/changed.pdf"])
        #expect(second[0].chunks == [ids[0], ids[1], ids[2]] && second[0].size == 300)
        #expect(second[1].chunks == [ids[3]] && second[1].size == 7)
        let summary = assembler.summary
        #expect((summary.directories, summary.filesUnchanged, summary.filesNew, summary.filesChanged) == (1, 1, 1, 1))
        #expect(summary.totalBytes == 317 && summary.bytesRead == 307)
        #expect(assembler.unreadable.map(\.path) == ["media/vanished.pdf", "media/locked"])
    }
}
