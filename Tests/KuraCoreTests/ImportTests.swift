import Foundation
import Testing
@testable import KuraCore
import KuraTestSupport

/// Nightly archives written by a reimplementation of the old command (`tools/legacy-backup`)
/// imported as snapshots.
@Suite struct ImportTests {
    static let legacyTool: String = {
        var folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: folder.appendingPathComponent("tools/legacy-backup").path) && folder.path != "/" {
            folder = folder.deletingLastPathComponent()
        }
        return folder.appendingPathComponent("tools/legacy-backup").path
    }()

    @Test func nightlyLegacyArchivesImportAndDeduplicate() throws {
        let scratch = Scratch()
        let repository = try scratch.repository()
        let media = scratch.sub("site/media")
        let db = scratch.sub("site/db.sqlite3")
        try FileManager.default.createDirectory(atPath: media, withIntermediateDirectories: true)
        #expect(try makeSQLiteDatabase(db))
        var archives: [String] = []
        for night in 0..<3 {
            try write(randomBytes(400_000, seed: UInt64(100 + night)), to: media + "/profile_photos/night\(night).jpg")
            if night == 0 { try write(randomBytes(2_000_000, seed: 7), to: media + "/payment_receipts/big.pdf") }
            let made = try Subprocess.run("/usr/bin/env", ["python3", Self.legacyTool, "--media", media, "--sqlite", db,
                                                           "--output", scratch.sub("archives"), "--timestamp", "2025112\(night + 1)_230000"])
            #expect(made.status == 0, "\(made.stderr)")
            archives.append(made.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        for archive in archives { _ = try ArchiveImporter(repository: repository).importArchive(archive) }
        let snapshots = try repository.snapshots()
        #expect(snapshots.map(\.record.compactLocalTime) == ["20251121_230000", "20251122_230000", "20251123_230000"])
        #expect(snapshots.allSatisfy { $0.record.tags.contains("imported") && $0.record.database == "db" })
        // The last snapshot is the last night's site, byte for byte.
        try restore(repository, try repository.resolve("latest"), to: scratch.sub("out"))
        #expect(try treeListing(media, secondsOnly: true) == treeListing(scratch.sub("out/media"), secondsOnly: true))
        // Deduplicated: the repository holds far less than the archives.
        let archiveBytes = try archives.reduce(Int64(0)) { $0 + Int64(try read($1).count) }
        #expect(try repository.stats().packBytes < archiveBytes / 2)
    }

    /// An export of Kura's own carries its tables' row counts; the imported snapshot keeps them,
    /// so that restoring it checks them.
    @Test func anExportImportsWithItsRowCounts() throws {
        let scratch = Scratch()
        let repository = try scratch.repository()
        let db = scratch.sub("site/db.sqlite3")
        try FileManager.default.createDirectory(atPath: scratch.sub("site"), withIntermediateDirectories: true)
        #expect(try makeSQLiteDatabase(db))
        let snapshot = try Archiver(repository: repository).backup(BackupOptions(media: nil, database: try DatabaseURL("sqlite://" + db))).snapshot
        let archive = try #require(try ArchiveExporter(repository: repository).export(snapshot, to: .directory(scratch.sub("exports"))).archivePath)
        let other = try Repository.initialize(at: scratch.sub("other"), cacheRoot: scratch.sub("other-cache"))
        let imported = try ArchiveImporter(repository: other).importArchive(archive).snapshot
        #expect(try other.openSnapshot(imported).databaseTables().map { "\($0.qualifiedName) \($0.rows)" } == ["t 100"])
    }

    @Test func namesAreParsed() {
        #expect(ArchiveImporter.parseName("backup_complet_my_site_20251124_230501.tar.gz")! == ("my_site", "20251124_230501"))
        #expect(ArchiveImporter.parseName("backup.tar.gz") == nil)
        #expect(ArchiveImporter.time(fromCompact: "20251124_230501")?.hasPrefix("2025-11-24T23:05:01") == true)
    }
}
