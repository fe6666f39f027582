import Foundation
import Testing
import KuraTestSupport

/// Crash and fault tests with real processes and real signals (docs/DESIGN.md, "Crash tests").
/// `KURA_TEST_KILL_AT=N` makes `kura` SIGKILL itself just before its N-th durable step; each
/// command is killed at every one of its steps, each time on a fresh copy of the same repository.
@Suite(.serialized) struct CrashTests {
    typealias Sandbox = CLISandbox

    static func shell(_ command: String) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// `kura verify --read-data` passes and every snapshot restores equal to `expected[id]`
    /// (a folder holding the media as it was at that snapshot).
    func expectHealthy(_ box: Sandbox, repo: String, expected: [String: String], _ context: String) throws {
        let verify = try box.run(["verify", "--read-data", "--repo", repo])
        #expect(verify.status == 0, "\(context): verify: \(verify.stdout) \(verify.stderr)")
        let listing = try box.run(["snapshots", "--json", "--repo", repo])
        let snapshots = (try JSONSerialization.jsonObject(with: Data(listing.stdout.utf8)) as? [[String: Any]]) ?? []
        for snapshot in snapshots {
            guard let id = snapshot["id"] as? String, let source = expected[id] else {
                Issue.record("\(context): unexpected snapshot \(snapshot["id"] ?? "?")")
                continue
            }
            let target = box.root + "/check-" + UUID().uuidString
            let restore = try box.run(["restore", id, "--target", target, "--repo", repo])
            #expect(restore.status == 0, "\(context): restore \(id): \(restore.stderr)")
            #expect(Self.shell("diff -r '\(source)' '\(target)/media'") == 0, "\(context): snapshot \(id) differs")
            try? FileManager.default.removeItem(atPath: target)
        }
    }

    func snapshotIDs(_ box: Sandbox, repo: String) throws -> [String] {
        let listing = try box.run(["snapshots", "--json", "--repo", repo])
        return ((try JSONSerialization.jsonObject(with: Data(listing.stdout.utf8)) as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
    }

    func copy(_ from: String, _ to: String) {
        #expect(Self.shell("rm -rf '\(to)' && cp -a '\(from)' '\(to)'") == 0)
    }

    /// Runs `arguments` against copies of `base` killed at step 1, 2, … until a run completes;
    /// `check(repo, killed)` after each. Returns the number of kill points tried.
    func killAtEveryStep(_ box: Sandbox, base: String, _ arguments: [String], limit: Int = 80,
                         check: (String, Bool, Int) throws -> Void) throws -> Int {
        for step in 1...limit {
            let repo = box.root + "/repo-kill"
            copy(base, repo)
            let run = try box.run(arguments + ["--repo", repo], environment: ["KURA_TEST_KILL_AT": String(step)])
            if run.status == 0 {
                try check(repo, false, step)
                return step - 1
            }
            #expect(run.status == 9 || run.status == 137, "step \(step): expected SIGKILL, got \(run.status): \(run.stderr)")
            try check(repo, true, step)
        }
        Issue.record("\(arguments) never completed within \(limit) kill points")
        return limit
    }

    @Test func backupKilledAtEveryStep() throws {
        let box = try Sandbox()
        #expect(try box.run(["init", "--pack-size", "1"]).status == 0)
        try CLISandbox.addFiles(box.media + "/photos", count: 6, seed: 1)
        #expect(try box.kura("backup", "--media", box.media).status == 0)
        let first = try #require(try snapshotIDs(box, repo: box.repo).first)
        copy(box.media, box.root + "/media-1")
        try CLISandbox.addFiles(box.media + "/photos", count: 16, seed: 2)
        try FileManager.default.removeItem(atPath: box.media + "/photos/file1-0.jpg")
        let base = box.root + "/repo-base"
        copy(box.repo, base)

        let points = try killAtEveryStep(box, base: base, ["backup", "--media", box.media]) { repo, killed, step in
            let ids = try snapshotIDs(box, repo: repo)
            var expected = [first: box.root + "/media-1"]
            if killed {
                try expectHealthy(box, repo: repo, expected: expected, "backup killed at step \(step)")
                let next = try box.run(["backup", "--media", box.media, "--repo", repo])
                #expect(next.status == 0, "next backup: \(next.stderr)")
            }
            for id in try snapshotIDs(box, repo: repo) where !ids.contains(id) || !killed { expected[id] = expected[id] ?? box.media }
            try expectHealthy(box, repo: repo, expected: expected, killed ? "after the next backup" : "completed backup")
        }
        print("kill points tried: backup \(points)")
        #expect(points >= 8, "a backup of 16 files into 1 MiB packs has many durable steps (\(points))")
    }

    @Test func pruneKilledAtEveryStep() throws {
        let box = try Sandbox()
        #expect(try box.run(["init", "--pack-size", "1"]).status == 0)
        var expected: [String: String] = [:]
        for night in 1...4 {
            try CLISandbox.addFiles(box.media + "/night\(night)", count: 3, seed: night)
            if night > 1 { try FileManager.default.removeItem(atPath: box.media + "/night\(night - 1)") }
            #expect(try box.kura("backup", "--media", box.media).status == 0)
            copy(box.media, box.root + "/media-\(night)")
            let ids = try snapshotIDs(box, repo: box.repo)
            for id in ids where expected[id] == nil { expected[id] = box.root + "/media-\(night)" }
        }
        #expect(try box.kura("forget", "--keep-last", "2").status == 0)
        let kept = try snapshotIDs(box, repo: box.repo)
        expected = expected.filter { kept.contains($0.key) }
        let base = box.root + "/repo-base"
        copy(box.repo, base)

        let points = try killAtEveryStep(box, base: base, ["prune", "--max-unused", "0%"]) { repo, killed, step in
            try expectHealthy(box, repo: repo, expected: expected, killed ? "prune killed at step \(step)" : "completed prune")
            if killed {
                let again = try box.run(["prune", "--max-unused", "0%", "--repo", repo])
                #expect(again.status == 0, "prune after a killed prune: \(again.stderr)")
                try expectHealthy(box, repo: repo, expected: expected, "prune after a prune killed at step \(step)")
            }
        }
        print("kill points tried: prune \(points)")
        #expect(points >= 5, "prune deletes packs and index files: \(points) kill points")
    }

    /// Kills `kura restore SOURCE --target …` at every step: every file under its final name is
    /// complete, and a forced re-run restores everything and removes the killed run's temp files.
    /// Returns the number of kill points.
    func killRestoreAtEveryStep(_ box: Sandbox, source: String, expected media: String, _ context: String) throws -> Int {
        var points = 0
        for step in 1...60 {
            let target = box.root + "/target-\(context)-\(step)"
            let run = try box.run(["restore", source, "--target", target], environment: ["KURA_TEST_KILL_AT": String(step)])
            // Every file under its final name is complete; temp names are '.<name>.kura-<random>'.
            let enumerator = FileManager.default.enumerator(atPath: target)
            while let relative = enumerator?.nextObject() as? String {
                let full = target + "/" + relative
                guard !relative.contains(".kura-"), !FileManager.default.isDirectory(full), relative.hasPrefix("media/") else { continue }
                #expect(FileManager.default.contentsEqual(atPath: full, andPath: media + "/" + relative.dropFirst(6)),
                        "\(context) step \(step): \(relative) is not complete")
            }
            if run.status == 0 {
                #expect(Self.shell("diff -r '\(media)' '\(target)/media'") == 0, "\(context)")
                return points
            }
            #expect(run.status == 9 || run.status == 137, "\(context) step \(step): \(run.status) \(run.stderr)")
            points += 1
            let again = try box.run(["restore", source, "--target", target, "--force"])
            #expect(again.status == 0, "\(context): restore after a killed restore: \(again.stderr)")
            // The re-run also removes the killed run's temp files.
            #expect(Self.shell("diff -r '\(media)' '\(target)/media'") == 0, "\(context) step \(step)")
        }
        Issue.record("\(context): restore never completed")
        return points
    }

    @Test func restoreKilledAtEveryStepLeavesNoHalfWrittenFile() throws {
        let box = try Sandbox()
        #expect(try box.kura("init").status == 0)
        try CLISandbox.addFiles(box.media + "/photos", count: 8, seed: 3)
        #expect(try box.kura("backup", "--media", box.media).status == 0)
        let points = try killRestoreAtEveryStep(box, source: "latest", expected: box.media, "snapshot")
        print("kill points tried: restore \(points)")
        #expect(points >= 8, "each restored file is one step: \(points)")
    }

    /// The same writer, fed by an archive: the crash loop covers archive restores too.
    @Test func archiveRestoreKilledAtEveryStepLeavesNoHalfWrittenFile() throws {
        let box = try Sandbox()
        #expect(try box.kura("init").status == 0)
        try CLISandbox.addFiles(box.media + "/photos", count: 8, seed: 4)
        #expect(try box.kura("backup", "--media", box.media).status == 0)
        #expect(try box.kura("export", "latest", "--output", box.root + "/exports").status == 0)
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: box.root + "/exports").first { $0.hasSuffix(".tar.gz") })
        let points = try killRestoreAtEveryStep(box, source: box.root + "/exports/" + name, expected: box.media, "archive")
        print("kill points tried: archive restore \(points)")
        #expect(points >= 8, "each restored file is one step: \(points)")
    }

    /// A site restore over a live site (media in place, SQLite database replaced, a pre-restore
    /// snapshot taken first), killed at every step: after each kill every live media file is
    /// whole (the old or the new version), the database is the old or the new one and passes
    /// integrity_check, the repository verifies, and a forced re-run leaves the site equal to
    /// the snapshot.
    @Test func siteRestoreKilledAtEveryStep() throws {
        let box = try Sandbox()
        #expect(try box.kura("init", "--pack-size", "1").status == 0)
        try CLISandbox.addFiles(box.media + "/photos", count: 6, seed: 5)
        let database = try box.siteDatabase()
        #expect(try box.kura("backup", "--media", box.media, "--database", database).status == 0)
        copy(box.media, box.root + "/media-snapshot")
        // Rows of table t in the site database (a restored SQLite file is a checked copy, not the
        // same bytes): 1 at the backup, 2 in the live site; -1 when unreadable or damaged.
        func rows() -> Int32 {
            Self.shell("python3 -c \"import sqlite3, sys; d = sqlite3.connect('\(box.root)/site.sqlite3'); "
                       + "assert d.execute('pragma integrity_check').fetchone()[0] == 'ok'; sys.exit(d.execute('select count(*) from t').fetchone()[0])\"")
        }
        #expect(rows() == 1)
        let base = box.root + "/repo-base"
        copy(box.repo, base)
        // The live site changes after the backup: files rewritten and added, the database too.
        try CLISandbox.addFiles(box.media + "/photos", count: 6, seed: 6)
        try Data("changed".utf8).write(to: URL(fileURLWithPath: box.media + "/photo.jpg"))
        #expect(Self.shell("python3 -c \"import sqlite3; d = sqlite3.connect('\(box.root)/site.sqlite3'); d.execute('insert into t values (2)'); d.commit()\"") == 0)
        #expect(rows() == 2)
        let liveMedia = box.root + "/media-live", liveDatabase = try read(box.root + "/site.sqlite3")
        copy(box.media, liveMedia)
        var points = 0
        for step in 1...120 {
            copy(liveMedia, box.media)
            try Data(liveDatabase).write(to: URL(fileURLWithPath: box.root + "/site.sqlite3"))
            let repo = box.root + "/repo-kill"
            copy(base, repo)
            let arguments = ["restore", "latest", "--media-to", box.media, "--database", database, "--force", "--repo", repo]
            let run = try box.run(arguments, environment: ["KURA_TEST_KILL_AT": String(step)])
            // Each live file is one version or the other, never half-written.
            for name in try FileManager.default.contentsOfDirectory(atPath: box.media + "/photos") where !name.contains(".kura-") {
                let path = box.media + "/photos/" + name
                let old = box.root + "/media-live/photos/" + name, new = box.root + "/media-snapshot/photos/" + name
                #expect(FileManager.default.contentsEqual(atPath: path, andPath: old) || FileManager.default.contentsEqual(atPath: path, andPath: new),
                        "step \(step): \(name) is neither version")
            }
            #expect([1, 2].contains(rows()), "step \(step): the database is neither version, or damaged")
            let verify = try box.run(["verify", "--repo", repo])
            #expect(verify.status == 0, "step \(step): \(verify.stdout) \(verify.stderr)")
            if run.status == 0 { break }
            #expect(run.status == 9 || run.status == 137, "step \(step): \(run.status) \(run.stderr)")
            points += 1
            let again = try box.run(arguments)
            #expect(again.status == 0, "step \(step): restore after a killed restore: \(again.stderr)")
            #expect(rows() == 1, "step \(step)")
            // The snapshot's files are back (files added since stay: a restore does not delete).
            #expect(Self.shell("for f in \"\(box.root)/media-snapshot\"/photos/*; do cmp -s \"$f\" \"\(box.media)/photos/$(basename \"$f\")\" || exit 1; done") == 0,
                    "step \(step)")
            #expect(try !FileManager.default.contentsOfDirectory(atPath: box.media + "/photos").contains { $0.contains(".kura-") }, "step \(step): temp files left")
        }
        print("kill points tried: site restore \(points)")
        #expect(points >= 10, "safety snapshot packs, index and record, the database and each media file: \(points)")
    }

    @Test func backupKilledAtRandomTimes() throws {
        let box = try Sandbox()
        #expect(try box.kura("init").status == 0)
        try box.addBulk(megabytes: 160)
        var generator = SeededGenerator(seed: 42)
        for round in 0..<4 {
            let process = try box.start(["backup", "--media", box.media])
            usleep(UInt32.random(in: 20_000...400_000, using: &generator))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let verify = try box.kura("verify", "--read-data")
            #expect(verify.status == 0, "round \(round): \(verify.stdout) \(verify.stderr)")
        }
        #expect(try box.kura("backup", "--media", box.media).status == 0)
        try expectHealthy(box, repo: box.repo, expected: Dictionary(uniqueKeysWithValues: try snapshotIDs(box, repo: box.repo).map { ($0, box.media) }),
                          "after random kills")
    }

    /// A file-size limit (`ulimit -f`) makes pack writes fail like a full disk.
    @Test func fileSizeLimitIsAClearErrorAndTheRepositoryStaysIntact() throws {
        let box = try Sandbox()
        #expect(try box.kura("init").status == 0)
        #expect(try box.kura("backup", "--media", box.media).status == 0)
        let first = try #require(try snapshotIDs(box, repo: box.repo).first)
        copy(box.media, box.root + "/media-1")
        try box.addBulk(megabytes: 40)
        // bash counts ulimit -f in 1024-byte blocks: 4 MiB, less than one 16 MiB pack.
        let command = "ulimit -f 4096; exec '\(CLISandbox.binary)' backup --media '\(box.media)'"
        let run = try box.run(["--version"])  // make sure the binary runs at all
        #expect(run.status == 0)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", command]
        process.environment = ProcessInfo.processInfo.environment.merging(["KURA_REPO": box.repo, "KURA_CACHE": box.root + "/cache",
                                                                           "KURA_PASSWORD_FILE": box.passwordFile]) { $1 }
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 1, "\(message)")
        #expect(message.contains("File too large"), "\(message)")
        #expect(message.split(separator: "\n").count == 1, "one error line: \(message)")
        try expectHealthy(box, repo: box.repo, expected: [first: box.root + "/media-1"], "after EFBIG")
    }
}

/// Faults that need a filesystem of their own: a full disk and a read-only repository, on a
/// small tmpfs (root only: skipped where `mount` is not allowed).
enum Tmpfs {
    /// True when this process may mount a tmpfs (root, and mounts allowed here).
    static let canMount: Bool = {
        guard getuid() == 0 else { return false }
        let probe = NSTemporaryDirectory() + "kura-mount-probe-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: probe, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: probe) }
        guard CrashTests.shell("mount -t tmpfs -o size=1m tmpfs '\(probe)'") == 0 else { return false }
        return CrashTests.shell("umount '\(probe)'") == 0
    }()
}

@Suite(.serialized, .enabled(if: Tmpfs.canMount)) struct FilesystemFaultTests {
    typealias Sandbox = CLISandbox

    /// Mounts a tmpfs of `megabytes` in the sandbox, creates `repo` on it and backs the media up;
    /// returns the mount point (the caller unmounts it).
    func backedUpOnTmpfs(_ box: Sandbox, megabytes: Int) throws -> String {
        let mountPoint = box.root + "/tmpfs"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        #expect(CrashTests.shell("mount -t tmpfs -o size=\(megabytes)m tmpfs '\(mountPoint)'") == 0)
        #expect(try box.run(["init", "--repo", mountPoint + "/repo"]).status == 0)
        #expect(try box.run(["backup", "--repo", mountPoint + "/repo", "--media", box.media]).status == 0)
        return mountPoint
    }

    @Test func fullDiskIsAClearErrorAndTheRepositoryStaysIntact() throws {
        let box = try Sandbox()
        let mountPoint = try backedUpOnTmpfs(box, megabytes: 24)
        defer { _ = CrashTests.shell("umount '\(mountPoint)'") }
        let repo = mountPoint + "/repo"
        let first = try #require(try CrashTests().snapshotIDs(box, repo: repo).first)
        #expect(CrashTests.shell("cp -a '\(box.media)' '\(box.root)/media-1'") == 0)
        try box.addBulk(megabytes: 48)
        let full = try box.run(["backup", "--repo", repo, "--media", box.media])
        #expect(full.status == 1, "\(full.stderr)")
        #expect(full.stderr.contains("No space left on device"), "\(full.stderr)")
        #expect(full.stderr.split(separator: "\n").count == 1, "one error line: \(full.stderr)")
        // Intact: verifies, the first snapshot restores, prune frees the dead backup's packs.
        try CrashTests().expectHealthy(box, repo: repo, expected: [first: box.root + "/media-1"], "after ENOSPC")
        #expect(try box.run(["prune", "--repo", repo]).status == 0)
        #expect(try box.run(["verify", "--read-data", "--repo", repo]).status == 0)
    }

    @Test func exportOntoAFullDiskIsOneLineAndLeavesNothing() throws {
        let box = try Sandbox()
        try box.addBulk(megabytes: 16)
        #expect(try box.run(["init", "--repo", box.repo]).status == 0)
        #expect(try box.run(["backup", "--repo", box.repo, "--media", box.media]).status == 0)
        let mountPoint = box.root + "/tmpfs"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        #expect(CrashTests.shell("mount -t tmpfs -o size=4m tmpfs '\(mountPoint)'") == 0)
        defer { _ = CrashTests.shell("umount '\(mountPoint)'") }
        // The archive is written by the gzip writer's output stage, off the reading thread: its
        // error still ends the export with one line, and the temp file goes.
        let export = try box.run(["export", "latest", "--repo", box.repo, "--output", mountPoint])
        #expect(export.status == 1, "\(export.stderr)")
        #expect(export.stderr.contains("No space left on device"), "\(export.stderr)")
        #expect(export.stderr.split(separator: "\n").count == 1, "one error line: \(export.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: mountPoint).isEmpty)
    }

    @Test func archiveThatInflatesBeyondTheFreeSpaceIsRefusedBeforeWriting() throws {
        let box = try Sandbox()
        let mountPoint = box.root + "/tmpfs"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        #expect(CrashTests.shell("mount -t tmpfs -o size=2m tmpfs '\(mountPoint)'") == 0)
        defer { _ = CrashTests.shell("umount '\(mountPoint)'") }
        // 64 MiB of zeros: a 65 KB archive (1000x), announced by its tar header.
        let archive = box.root + "/backup_complet_bomb_20260101_000000.tar.gz"
        #expect(CrashTests.shell("""
            cd '\(box.root)' && mkdir -p bomb/media && head -c 67108864 /dev/zero > bomb/media/zeros.bin && \
            tar -C bomb -czf '\(archive)' media && rm -rf bomb && \
            printf '{"hash": "%s"}' "$(sha256sum '\(archive)' | cut -d' ' -f1)" > '\(box.root)/backup_complet_bomb_20260101_000000.json'
            """) == 0)
        let run = try box.run(["restore", archive, "--target", mountPoint + "/out"])
        #expect(run.status == 1, "\(run.status): \(run.stderr)")
        #expect(run.stderr.contains("more than the") && run.stderr.contains("bytes free"), "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1, "one line: \(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: mountPoint + "/out"), "nothing written")
    }

    @Test func readOnlyRepositoryRefusesWritersAndServesReaders() throws {
        let box = try Sandbox()
        let mountPoint = try backedUpOnTmpfs(box, megabytes: 16)
        defer { _ = CrashTests.shell("umount '\(mountPoint)'") }
        let repo = mountPoint + "/repo"
        #expect(CrashTests.shell("mount -o remount,ro '\(mountPoint)'") == 0)

        for writer in [["backup", "--media", box.media], ["prune"], ["forget", "--keep-last", "1"], ["repair", "index"]] {
            let run = try box.run(writer + ["--repo", repo])
            #expect(run.status == 1, "\(writer): \(run.status) \(run.stderr)")
            #expect(run.stderr.contains("is read-only"), "\(writer): \(run.stderr)")
        }
        for reader in [["snapshots"], ["ls", "latest"], ["cat", "latest", "media/photo.jpg"], ["verify", "--read-data"],
                       ["restore", "latest", "--target", box.root + "/out"], ["export", "latest", "--output", box.root + "/exports"]] {
            let run = try box.run(reader + ["--repo", repo])
            #expect(run.status == 0, "\(reader): \(run.status) \(run.stderr)")
        }
        #expect(CrashTests.shell("diff -r '\(box.media)' '\(box.root)/out/media'") == 0)
    }
}

extension FileManager {
    func isDirectory(_ path: String) -> Bool {
        var directory: ObjCBool = false
        return fileExists(atPath: path, isDirectory: &directory) && directory.boolValue
    }
}
