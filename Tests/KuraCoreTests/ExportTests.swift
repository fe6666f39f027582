import Foundation
import Testing
@testable import KuraCore
import KuraTestSupport

/// Exports checked with the real readers: gzip, GNU tar, Python's tarfile and json.
@Suite struct ExportTests {
    func run(_ arguments: [String], in directory: String? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func site(_ scratch: Scratch) throws -> (Repository, Snapshot, String) {
        let repository = try scratch.repository()
        let media = scratch.sub("site/media")
        try write(randomBytes(3 << 20, seed: 1), to: media + "/profile_photos/élève 1.jpg")
        try write(Array(String(repeating: "receipt 2025 paid EUR\n", count: 40_000).utf8), to: media + "/payment_receipts/2025/reçu été.pdf")
        try write([], to: media + "/empty.txt")
        try FileManager.default.createDirectory(atPath: media + "/empty dir", withIntermediateDirectories: true)
        let long = String(repeating: "very-long-folder-name/", count: 8) + "receipt.pdf"
        try write(Array("long".utf8), to: media + "/" + long)
        try FileManager.default.createSymbolicLink(atPath: media + "/latest.jpg", withDestinationPath: "profile_photos/élève 1.jpg")
        let db = scratch.sub("site/db.sqlite3")
        #expect(try makeSQLiteDatabase(db))
        let snapshot = try Archiver(repository: repository).backup(BackupOptions(media: media, database: try DatabaseURL("sqlite://" + db))).snapshot
        return (repository, snapshot, media)
    }

    @Test func archiveIsReadByTarGzipAndPythonAndMatchesARestore() throws {
        let scratch = Scratch()
        let (repository, snapshot, _) = try site(scratch)
        let result = try ArchiveExporter(repository: repository).export(snapshot, to: .directory(scratch.sub("export")))
        let archive = try #require(result.archivePath)
        #expect(FileSystem.name(of: archive) == snapshot.record.exportName + ".tar.gz")
        #expect(archive.hasSuffix(".tar.gz") && snapshot.record.exportName.hasPrefix("backup_complet_db_"))

        #expect(try run(["gzip", "-t", archive]).status == 0)
        try FileManager.default.createDirectory(atPath: scratch.sub("tar"), withIntermediateDirectories: true)
        let extracted = try run(["tar", "-xzf", archive, "-C", scratch.sub("tar")])
        #expect(extracted.status == 0, "\(extracted.output)")
        try restore(repository, snapshot, to: scratch.sub("kura"))
        #expect(try treeListing(scratch.sub("tar"), secondsOnly: true) == treeListing(scratch.sub("kura"), secondsOnly: true))
        // Restoring the archive itself (no repository) gives the same tree as GNU tar.
        _ = try SiteRestorer(repository: nil).restore(ArchiveRestorer(path: archive), SiteRestoreOptions(target: scratch.sub("from-archive")))
        #expect(try treeListing(scratch.sub("tar"), secondsOnly: true) == treeListing(scratch.sub("from-archive"), secondsOnly: true))

        // Python's tarfile sees the same members, and the JSON is as documented.
        let python = try run(["python3", "-c", """
            import hashlib, json, sys, tarfile
            archive, manifest = sys.argv[1], sys.argv[2]
            names = sorted(m.name for m in tarfile.open(archive))
            data = json.load(open(manifest))
            keys = list(data)[:9]
            assert keys == ["backup_file", "timestamp", "datetime", "database", "type", "size_mb", "hash", "includes", "status"], keys
            assert data["hash"] == hashlib.sha256(open(archive, "rb").read()).hexdigest()
            assert data["type"] == "COMPLETE" and data["status"] == "completed" and data["database"] == "db"
            assert data["includes"] == ["database", "media", "documents"]
            assert abs(data["size_mb"] - round(data["size_bytes"] / 1048576, 2)) < 1e-9
            print("\\n".join(names))
            """, archive, try #require(result.manifestPath)])
        #expect(python.status == 0, "\(python.output)")
        var members: [String] = []
        try repository.openSnapshot(snapshot).forEachEntry { members.append($0.path) }
        #expect(python.output.split(separator: "\n").map(String.init) == members.sorted())
    }

    /// Each chunk is deflated as hard as its zstd result calls for: the default archive of a
    /// dump-like text and noise is smaller than one made at level 2 throughout, within 3 % of
    /// `gzip -6` of the same tar, and its noise costs only stored blocks.
    @Test func deflateEffortFollowsEachChunksZstdResult() throws {
        let effort = DeflateEffort.automatic
        func level(_ codec: Codec, _ stored: UInt32, previous: DeflateSetting = .level(2), _ chosen: DeflateEffort = .automatic) -> DeflateSetting {
            chosen.setting(codec: codec, storedLength: stored, plainLength: 1000, rawMeansIncompressible: true, previous: previous)
        }
        #expect(level(.raw, 1000) == .stored)
        #expect(effort.setting(codec: .raw, storedLength: 1000, plainLength: 1000, rawMeansIncompressible: false, previous: .level(2)) == .level(2))
        #expect([level(.zstd, 240), level(.zstd, 470), level(.zstd, 900)] == [.level(6), .level(3), .level(2)])
        #expect(level(.zstd, 370, previous: .level(6)) == .level(6) && level(.zstd, 370, previous: .level(2)) == .level(3),
                "near a boundary the setting before stays")
        #expect([level(.zstd, 240, .fixed(6)), level(.raw, 1000, .fixed(6))] == [.level(6), .stored])
        // In a pg_dump custom-format file text-like chunks take the dump's setting, the rest as anywhere.
        func inDump(_ stored: UInt32, previous: DeflateSetting = .level(2)) -> DeflateSetting {
            effort.setting(codec: .zstd, storedLength: stored, plainLength: 1000, rawMeansIncompressible: true, inDump: true, previous: previous)
        }
        #expect([inDump(240), inDump(470), inDump(900)] == [.dumpText, .level(3), .level(2)])
        #expect(inDump(370, previous: .dumpText) == .dumpText)
        #expect(effort.setting(codec: nil, storedLength: 0, plainLength: 0, rawMeansIncompressible: true, previous: .level(4)) == .level(2))

        let scratch = Scratch()
        let repository = try scratch.repository()
        let media = scratch.sub("site/media")
        var rows = ""
        for row in 0..<150_000 {
            rows += "\(row)\t\(row % 977)\t\(Double(row % 9973) * 1.5)\t2024-\(row % 12 + 1)-\(row % 28 + 1)\tpayment_receipts/r\(row).pdf\t"
            rows += SHA256Hasher.hash(Array("\(row)".utf8)).hex.prefix(12) + "\n"
        }
        try write(Array(rows.utf8), to: media + "/exports/payments.tsv")
        try write(randomBytes(4 << 20, seed: 3), to: media + "/photos/p.jpg")
        let snapshot = try Archiver(repository: repository).backup(BackupOptions(media: media)).snapshot
        func export(_ effort: DeflateEffort, _ folder: String) throws -> String {
            let exporter = ArchiveExporter(repository: repository)
            exporter.effort = effort
            return try #require(try exporter.export(snapshot, to: .directory(scratch.sub(folder))).archivePath)
        }
        let automatic = try export(.automatic, "auto"), level2 = try export(.fixed(2), "two")
        let gzip6 = try run(["sh", "-c", "gzip -dc '\(automatic)' | gzip -6 | wc -c"])
        func size(_ path: String) throws -> Int64 { (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? 0 }
        let (autoSize, level2Size) = (try size(automatic), try size(level2))
        let gzipSize = try #require(Int64(gzip6.output.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(autoSize < level2Size, "\(autoSize) vs \(level2Size) at level 2")
        #expect(Double(autoSize) <= Double(gzipSize) * 1.03, "\(autoSize) vs gzip -6 \(gzipSize)")
        #expect(autoSize > 4 << 20 && autoSize < (4 << 20) + Int64(rows.utf8.count) / 3, "the noise is stored, the text shrinks")
        #expect(try run(["bash", "-c", "cmp <(gzip -dc '\(automatic)') <(gzip -dc '\(level2)')"]).status == 0, "the same tar inside")
    }

    @Test func aPgDumpFileIsDeflatedWithTheDumpSetting() throws {
        // The same tab-separated rows, once as a text file and once behind pg_dump's magic: the
        // dump's text-like chunks take `DeflateSetting.dumpText` instead of level 6, and on such
        // rows the two differ in size by 2 % (fails if the dump is not recognised).
        var rows = ""
        for row in 0..<150_000 {
            rows += "\(row)\t\(row % 977)\t\(Double(row % 9973) * 1.5)\t2024-\(row % 12 + 1)-\(row % 28 + 1)\tpayment_receipts/r\(row).pdf\t"
            rows += SHA256Hasher.hash(Array("\(row)".utf8)).hex.prefix(12) + "\n"
        }
        let scratch = Scratch()
        let repository = try scratch.repository()
        func exported(_ name: String, _ content: [UInt8]) throws -> (size: Int64, path: String) {
            try write(content, to: scratch.sub(name + "/media/" + name))
            let snapshot = try Archiver(repository: repository).backup(BackupOptions(media: scratch.sub(name + "/media"))).snapshot
            let result = try ArchiveExporter(repository: repository).export(snapshot, to: .directory(scratch.sub(name + "/out")))
            let path = try #require(result.archivePath)
            return ((try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? 0, path)
        }
        let text = try exported("payments.tsv", Array(rows.utf8))
        let dump = try exported("payments.dump", Array("PGDMP".utf8) + Array(rows.utf8))
        #expect(abs(Double(dump.size) / Double(text.size) - 1) > 0.01, "\(dump.size) vs \(text.size)")
        #expect(try run(["sh", "-c", "tar -xzOf '\(dump.path)' | head -c 5"]).output == "PGDMP")
    }

    @Test func exportsAreDeterministic() throws {
        let scratch = Scratch()
        let (repository, snapshot, _) = try site(scratch)
        let first = try ArchiveExporter(repository: repository).export(snapshot, to: .directory(scratch.sub("a")))
        let second = try ArchiveExporter(repository: repository).export(snapshot, to: .directory(scratch.sub("b")))
        #expect(first.manifest.hash == second.manifest.hash)
        #expect(first.manifest.sizeBytes == second.manifest.sizeBytes)
    }

    @Test func exportRefusesToReplaceAnArchive() throws {
        let scratch = Scratch()
        let (repository, snapshot, _) = try site(scratch)
        _ = try ArchiveExporter(repository: repository).export(snapshot, to: .directory(scratch.sub("a")))
        #expect(kuraError { _ = try ArchiveExporter(repository: repository).export(snapshot, to: .directory(scratch.sub("a"))) }?.exitCode == 1)
        // No temp files are left beside the archive.
        #expect(try FileSystem.list(scratch.sub("a")).count == 2)
    }

    /// `--include` works on archives as on snapshots (the same `RestoreOptions.place`).
    @Test func archiveRestoreSelectsWithPatterns() throws {
        let scratch = Scratch()
        let (repository, snapshot, _) = try site(scratch)
        let archive = try #require(try ArchiveExporter(repository: repository).export(snapshot, to: .directory(scratch.sub("export"))).archivePath)
        let target = scratch.sub("receipts")
        let result = try SiteRestorer(repository: nil).restore(ArchiveRestorer(path: archive),
                                                               SiteRestoreOptions(target: target, include: [try PathPattern("*.pdf")]))
        #expect(result.tree?.files == 2)
        #expect(FileManager.default.fileExists(atPath: target + "/media/payment_receipts/2025/reçu été.pdf"))
        #expect(!FileManager.default.fileExists(atPath: target + "/media/profile_photos"))
        let none = kuraError {
            _ = try SiteRestorer(repository: nil).restore(ArchiveRestorer(path: archive),
                                                          SiteRestoreOptions(target: scratch.sub("none"), include: [try PathPattern("*.docx")]))
        }
        #expect(none == .pathNotInSnapshot(path: "*.docx", snapshot: archive))
    }

    /// The JSON carries every table's row count, so that a restore from the archive (and its
    /// restore test) checks them as a snapshot restore does; a count that disagrees is a typed
    /// integrity error; an older archive without counts restores with a warning.
    @Test func archiveRowCountsAreWrittenAndChecked() throws {
        let scratch = Scratch()
        let (repository, snapshot, _) = try site(scratch)
        let result = try ArchiveExporter(repository: repository).export(snapshot, to: .directory(scratch.sub("export")))
        let archive = try #require(result.archivePath), json = try #require(result.manifestPath)
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any]
        #expect((object?["tables"] as? [String: Int]) == ["t": 100])

        // The restore test of the archive passes, with its row counts checked.
        let record = try RestoreTester(repository: nil).test(ArchiveRestorer(path: archive), recordedAs: archive, RestoreTestOptions(mediaSample: 1))
        #expect(record.ok, "\(record.checks)")
        #expect(record.checks.contains { $0.name == "row counts" && $0.ok && $0.figures["rows"] == 100 })
        #expect(record.checks.contains { $0.name == "media sample" && $0.ok && $0.figures["sampled"] == 4 }, "\(record.checks)")

        // A JSON that says 99 rows: the restore stops with the table and both numbers.
        let text = try String(contentsOfFile: json, encoding: .utf8)
        try text.replacingOccurrences(of: "\"t\": 100", with: "\"t\": 99").write(toFile: json, atomically: true, encoding: .utf8)
        let target = try DatabaseURL("sqlite://" + scratch.sub("restored/db.sqlite3"))
        let error = kuraError { _ = try SiteRestorer(repository: nil).restore(ArchiveRestorer(path: archive), SiteRestoreOptions(database: target)) }
        #expect(error == .integrity(.rowCounts(database: "\(target)", [TableMismatch(table: "t", expected: 99, actual: 100)])))

        // Without counts (an archive of an earlier Kura): restored, and said so.
        try text.replacingOccurrences(of: ",\n  \"tables\": {\n    \"t\": 100\n  }", with: "").write(toFile: json, atomically: true, encoding: .utf8)
        #expect(!(try String(contentsOfFile: json, encoding: .utf8)).contains("tables"))
        let restored = try SiteRestorer(repository: nil).restore(ArchiveRestorer(path: archive), SiteRestoreOptions(database: target, force: true))
        #expect(restored.warnings.contains { $0.contains("records no row counts") })
        #expect(restored.databaseTables.map(\.rows) == [100])
    }
}

/// A small SQLite database (100 rows), made by Python's sqlite3 as a site would; true on success.
func makeSQLiteDatabase(_ path: String) throws -> Bool {
    let result = try Subprocess.run("/usr/bin/env", ["python3", "-c",
        "import sqlite3,sys; d=sqlite3.connect(sys.argv[1]); d.execute('create table t(x)'); d.executemany('insert into t values (?)', [(i,) for i in range(100)]); d.commit()",
        path])
    return result.status == 0
}
