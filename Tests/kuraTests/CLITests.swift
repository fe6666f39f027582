import Foundation
import KuraCore
import Testing
import KuraTestSupport

/// The `kura` binary run as a process, as cron or a user runs it: exit codes, messages, JSON.
@Suite struct CLITests {
    typealias Sandbox = CLISandbox

    @Test func restoringAnArchiveReportsALockedRepositoryAsLocked() throws {
        let box = try Sandbox()
        #expect(try box.kura("init").status == 0)
        #expect(try box.kura("backup", "--media", box.media).status == 0)
        #expect(try box.kura("export", "latest", "--output", box.root + "/exports").status == 0)
        let archive = try #require(try FileManager.default.contentsOfDirectory(atPath: box.root + "/exports").first { $0.hasSuffix(".tar.gz") })
        let password = try String(contentsOfFile: box.passwordFile, encoding: .utf8).trimmingCharacters(in: .newlines)
        let lock = try Repository.open(at: box.repo, credentials: .password { Array(password.utf8) }, cacheRoot: box.root + "/cache").lock(exclusive: true)
        defer { lock.release() }
        let run = try box.kura("restore", box.root + "/exports/" + archive, "--target", box.root + "/out")
        #expect(run.status == 11, "\(run.status): \(run.stderr)")
        #expect(run.stderr.contains("is locked by"), "\(run.stderr)")
        #expect(!run.stderr.contains("no Kura repository"), "\(run.stderr)")
    }

    @Test func typedOptionValuesNameTheirOwnFlag() throws {
        let box = try Sandbox()
        #expect(try box.kura("init").status == 0)
        for (arguments, flag) in [(["verify", "--restore-test", "--media-sample", "abc"], "--media-sample"),
                                  (["prune", "--max-unused", "200%"], "--max-unused"),
                                  (["forget", "--keep-within", "3q"], "--keep-within"),
                                  (["verify", "--read-data-subset", "3/2"], "--read-data-subset"),
                                  (["backup", "--media", box.media, "--compression", "zstd:99"], "--compression"),
                                  (["backup", "--database", "mysql://site"], "--database"),
                                  (["snapshots", "--retry-lock", "soon"], "--retry-lock"),
                                  (["restore", "latest", "--target", box.root + "/out", "--include", "/"], "--include")] {
            let run = try box.run(arguments)
            #expect(run.status == 2, "\(arguments): \(run.status) \(run.stderr)")
            #expect(run.stderr.contains("is invalid for '\(flag)"), "\(arguments): \(run.stderr)")
        }
    }

    /// `init --chunker-params` (borg's option): bad sizes are refused before anything is made;
    /// good ones are recorded in the config and cut the media that way.
    @Test func chunkerParamsAreCheckedAndRecorded() throws {
        let box = try Sandbox()
        for bad in ["1,2", "128,500,2048", "2048,512,128", "32,64,128", "a,b,c"] {
            let run = try box.kura("init", "--chunker-params", bad)
            #expect(run.status == 2 && run.stderr.contains("--chunker-params"), "\(bad): \(run.status) \(run.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: box.repo + "/config"))
        #expect(try box.kura("init", "--chunker-params", "4096,16384,65536").status == 0)
        let repository = try Repository.open(at: box.repo, credentials: .password { Array(try String(contentsOfFile: box.passwordFile, encoding: .utf8).trimmingCharacters(in: .newlines).utf8) },
                                             cacheRoot: box.root + "/cache-check")
        #expect(repository.config.chunker == ChunkerParameters(min: 4096, avg: 16384, max: 65536, normalization: 2))
    }

    @Test func killedBackupLeavesAUsableRepository() throws {
        let box = try Sandbox()
        try box.kura("init")
        #expect(try box.kura("backup", "--media", box.media).status == 0)
        try box.addBulk(megabytes: 400)
        let process = try box.start(["backup", "--media", box.media])
        usleep(400_000)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        // The dead backup's lock clears itself; the next backup and a restore work.
        let next = try box.kura("backup", "--media", box.media)
        #expect(next.status == 0, "\(next.stderr)")
        let restore = try box.kura("restore", "latest", "--target", box.root + "/out")
        #expect(restore.status == 0, "\(restore.stderr)")
        #expect(FileManager.default.contentsEqual(atPath: box.media + "/bulk3.bin", andPath: box.root + "/out/media/bulk3.bin"))
        #expect(try box.kura("snapshots", "--json").stdout.components(separatedBy: "\"id\"").count == 3)
    }

    @Test func interruptedBackupExits130AndLeavesNoTempFiles() throws {
        let box = try Sandbox()
        try box.kura("init")
        try box.addBulk(megabytes: 400)
        let process = try box.start(["backup", "--media", box.media])
        usleep(300_000)
        kill(process.processIdentifier, SIGINT)
        _ = (process.standardError as? Pipe)?.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        // It may have finished before the signal; if interrupted it must say so with 130.
        #expect(process.terminationStatus == 130 || process.terminationStatus == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: box.repo + "/tmp").isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: box.repo + "/locks").isEmpty)
        #expect(try box.kura("backup", "--media", box.media).status == 0)
    }

    @Test func backupListRestoreAndCat() throws {
        let box = try Sandbox()
        #expect(try box.kura("init").status == 0)
        let backup = try box.kura("backup", "--media", box.media, "--json", "--tag", "nightly")
        #expect(backup.status == 0, "\(backup.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(backup.stdout.utf8)) as? [String: Any]
        let summary = report?["summary"] as? [String: Any]
        #expect(summary?["files_new"] as? Int == 2)
        let snapshots = try JSONSerialization.jsonObject(with: Data(try box.kura("snapshots", "--json").stdout.utf8)) as? [[String: Any]]
        #expect(snapshots?.first?["tags"] as? [String] == ["nightly"])
        #expect(try box.kura("ls", "latest").stdout.contains("media/receipts/reçu été.pdf"))
        #expect(try box.kura("cat", "latest", "media/receipts/reçu été.pdf").stdout == "reçu")
        #expect(try box.kura("find", "reçu*").stdout.contains("media/receipts/reçu été.pdf"))
        let restore = try box.kura("restore", "latest", "--target", box.root + "/out", "--include", "receipts")
        #expect(restore.status == 0, "\(restore.stderr)")
        #expect(FileManager.default.fileExists(atPath: box.root + "/out/media/receipts/reçu été.pdf"))
        #expect(!FileManager.default.fileExists(atPath: box.root + "/out/media/photo.jpg"))
        #expect(try box.kura("stats").status == 0)
        #expect(try box.kura("diff", "latest", "latest").stdout.contains("0 added"))
    }

    @Test func exportToStdoutAndVerify() throws {
        let box = try Sandbox()
        try box.kura("init")
        try box.kura("backup", "--media", box.media)
        let export = try box.kura("export", "latest", "--output", box.root + "/exports")
        #expect(export.status == 0, "\(export.stderr)")
        let archives = try FileManager.default.contentsOfDirectory(atPath: box.root + "/exports").filter { $0.hasSuffix(".tar.gz") }
        #expect(archives.count == 1 && archives[0].hasPrefix("backup_complet_files_"))
        #expect(try box.kura("verify", box.root + "/exports/" + archives[0]).status == 0)
        let streamed = try box.kura("export", "latest", "--output", "-", "--json-to", box.root + "/streamed.json")
        #expect(streamed.status == 0)
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: box.root + "/streamed.json"))) as? [String: Any]
        #expect(manifest?["type"] as? String == "COMPLETE")
        #expect(manifest?["size_bytes"] as? Int == streamed.stdoutBytes.count)
        #expect(Array(streamed.stdoutBytes.prefix(2)) == [0x1f, 0x8b])
        let restore = try box.kura("restore", box.root + "/exports/" + archives[0], "--target", box.root + "/from-archive")
        #expect(restore.status == 0, "\(restore.stderr)")
        #expect(FileManager.default.fileExists(atPath: box.root + "/from-archive/media/receipts/reçu été.pdf"))
        #expect(try box.kura("restore", box.root + "/exports/" + archives[0], "--target", box.root + "/from-archive").status == 13)

        // --json for scripts: where the files are, and the archive's own JSON.
        let scripted = try box.kura("export", "latest", "--output", box.root + "/scripted", "--json")
        #expect(scripted.status == 0, "\(scripted.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(scripted.stdout.utf8)) as? [String: Any]
        let archive = try #require(report?["archive"] as? String)
        #expect(archive == box.root + "/scripted/" + archives[0])
        #expect((report?["manifest"] as? [String: Any])?["backup_file"] as? String == archives[0])
        #expect(FileManager.default.fileExists(atPath: try #require(report?["json"] as? String)))
        #expect(try box.kura("export", "latest", "--output", "-", "--json").status == 2)
    }

    @Test func exitCodes() throws {
        let box = try Sandbox()
        let missing = try box.kura("snapshots", "--repo", box.root + "/nothing")
        #expect(missing.status == 10)
        #expect(missing.stderr.contains("kura init"))
        #expect(try box.kura("backup").status == 2)
        #expect(try box.kura("frobnicate").status == 2)
        try box.kura("init")
        #expect(try box.kura("init").status == 1)
        #expect(try box.kura("backup", "--media", box.media).status == 0)
        let unknown = try box.kura("restore", "ffffffff", "--target", box.root + "/out")
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("no snapshot matches"))
        #expect(try box.kura("restore", "latest", "--target", box.root + "/out").status == 0)
        let again = try box.kura("restore", "latest", "--target", box.root + "/out")
        #expect(again.status == 13)
        #expect(again.stderr.contains("--force"))
        #expect(try box.kura("restore", "latest", "--target", box.root + "/out", "--force").status == 0)
        mkfifo(box.media + "/fifo", 0o644)
        let partial = try box.kura("backup", "--media", box.media)
        #expect(partial.status == 3)
        #expect(partial.stderr.contains("fifo"))
    }

    /// On a terminal (`script` gives the command a pseudo-terminal) a restore that would replace
    /// files asks; anything but y/yes — including just Enter — refuses with 13.
    @Test func overwriteIsConfirmedOnATerminal() throws {
        let box = try Sandbox()
        try box.kura("init")
        try box.kura("backup", "--media", box.media)
        #expect(try box.kura("restore", "latest", "--target", box.root + "/out").status == 0)
        try Data("changed".utf8).write(to: URL(fileURLWithPath: box.root + "/out/media/photo.jpg"))
        func answer(_ reply: String) throws -> Int32 {
            let command = "printf '\(reply)\\n' | script -qec \"'\(CLISandbox.binary)' restore latest --target '\(box.root)/out'\" /dev/null"
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", command]
            var environment = ProcessInfo.processInfo.environment
            environment["KURA_CACHE"] = box.root + "/cache"
            environment["KURA_REPO"] = box.repo
            environment["KURA_PASSWORD_FILE"] = box.passwordFile
            process.environment = environment
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            return process.terminationStatus
        }
        #expect(try answer("") == 13)
        #expect(try answer("n") == 13)
        #expect(try String(contentsOfFile: box.root + "/out/media/photo.jpg", encoding: .utf8) == "changed")
        #expect(try answer("y") == 0)
        #expect(try String(contentsOfFile: box.root + "/out/media/photo.jpg", encoding: .utf8) == "photo")
    }

    @Test func damagedPackIsExitTwelve() throws {
        let box = try Sandbox()
        try box.kura("init")
        try box.kura("backup", "--media", box.media, "--compression", "none")
        let data = box.repo + "/data"
        for folder in try FileManager.default.contentsOfDirectory(atPath: data) {
            for pack in try FileManager.default.contentsOfDirectory(atPath: data + "/" + folder) {
                let path = data + "/" + folder + "/" + pack
                var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
                // Flip a byte of the first stored chunk (right after the 16-byte header).
                bytes[16] ^= 0xff
                try Data(bytes).write(to: URL(fileURLWithPath: path))
            }
        }
        // The snapshot database is cached locally; remove the cache so it is read from packs too.
        try FileManager.default.removeItem(atPath: box.root + "/cache")
        let run = try box.kura("restore", "latest", "--target", box.root + "/out")
        #expect(run.status == 12, "\(run.stderr)")
        #expect(run.stderr.contains("damaged"))
    }

    @Test func lockedRepositoryIsExitEleven() throws {
        let box = try Sandbox()
        try box.kura("init")
        let lock = """
            {"exclusive":true,"host":"another-host","pid":1,"time":"2026-01-01T00:00:00.000000000+00:00","user":"x"}
            """
        try Data(lock.utf8).write(to: URL(fileURLWithPath: box.repo + "/locks/held"))
        let run = try box.kura("backup", "--media", box.media)
        #expect(run.status == 11)
        #expect(run.stderr.contains("another-host"))
        #expect(try box.kura("unlock").status == 0)
        #expect(try box.kura("backup", "--media", box.media).status == 0)
    }

    @Test func lifecycleCommandsAnswerInJSONWithTheirExitCodes() throws {
        let box = try Sandbox()
        try box.kura("init")
        #expect(try box.kura("backup", "--media", box.media, "--time", "2026-03-01 02:00:00").status == 0)
        try Data("new".utf8).write(to: URL(fileURLWithPath: box.media + "/new.jpg"))
        #expect(try box.kura("backup", "--media", box.media, "--time", "2026-03-02 02:00:00").status == 0)

        let noPolicy = try box.kura("forget")
        #expect(noPolicy.status == 2 && noPolicy.stderr.contains("no policy"))
        let dryRun = try box.kura("forget", "--keep-last", "1", "--dry-run", "--json")
        let plan = try JSONSerialization.jsonObject(with: Data(dryRun.stdout.utf8)) as? [String: Any]
        let group = (plan?["groups"] as? [[String: Any]])?.first
        #expect((group?["keep"] as? [[String: Any]])?.first?["reasons"] as? [String] == ["last snapshot"])
        #expect(((group?["remove"] as? [[String: Any]])?.first?["time"] as? String)?.hasPrefix("2026-03-01T02:00:00") == true)
        #expect(try box.kura("snapshots", "--json").stdout.components(separatedBy: "\"short_id\"").count == 3, "dry run removes nothing")

        let healthy = try box.kura("verify", "--read-data", "--json")
        #expect(healthy.status == 0)
        #expect((try JSONSerialization.jsonObject(with: Data(healthy.stdout.utf8)) as? [String: Any])?["ok"] as? Bool == true)
        // Damage every pack in the middle of its data: verify --read-data says so with 12.
        let data = box.repo + "/data"
        for folder in try FileManager.default.contentsOfDirectory(atPath: data) {
            for pack in try FileManager.default.contentsOfDirectory(atPath: data + "/" + folder) {
                let handle = try FileHandle(forUpdating: URL(fileURLWithPath: data + "/" + folder + "/" + pack))
                try handle.seek(toOffset: 17)
                let byte = try handle.read(upToCount: 1) ?? Data([0])
                try handle.seek(toOffset: 17)
                try handle.write(contentsOf: Data([byte[0] ^ 0xff]))
                try handle.close()
            }
        }
        let damaged = try box.kura("verify", "--read-data", "--json")
        #expect(damaged.status == 12)
        let report = try JSONSerialization.jsonObject(with: Data(damaged.stdout.utf8)) as? [String: Any]
        #expect(report?["ok"] as? Bool == false && !((report?["errors"] as? [String]) ?? []).isEmpty)
        #expect(try box.kura("verify").status == 0, "the structure is intact; only --read-data sees the bytes")

        // A lock held elsewhere: --retry-lock waits, then exit 11.
        let lock = #"{"exclusive":true,"host":"another-host","pid":1,"time":"2026-01-01T00:00:00.000000000+00:00","user":"x"}"#
        try Data(lock.utf8).write(to: URL(fileURLWithPath: box.repo + "/locks/held"))
        let started = Date()
        let waited = try box.kura("prune", "--retry-lock", "1s")
        #expect(waited.status == 11 && Date().timeIntervalSince(started) >= 1)
    }
}
