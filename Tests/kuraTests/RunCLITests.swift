import Foundation
import Testing
import KuraTestSupport

/// `kura config check`, `kura run`, `kura status` and `kura schedule` as cron, systemd and a
/// monitoring system run them.
@Suite(.serialized)
struct RunCLITests {
    /// A sandbox with an encrypted repository, a SQLite database and kura.toml (plus `extra` lines
    /// at the top level and `sections` after the tables; `$ROOT` in them is the sandbox's folder).
    static func site(_ extra: String = "", sections: String = "") throws -> CLISandbox {
        let box = try CLISandbox()
        #expect(try box.kura("init").status == 0)
        try Data("SQLite format 3\0".utf8).write(to: URL(fileURLWithPath: box.root + "/db.sqlite3"))
        let toml = """
            repository = "\(box.repo)"
            cache_dir = "\(box.root)/cache"
            media = "\(box.media)"
            \(extra)

            [[database]]
            url = "sqlite://\(box.root)/site.sqlite3"

            \(sections)
            """
        try toml.replacingOccurrences(of: "$ROOT", with: box.root).write(toFile: box.root + "/kura.toml", atomically: true, encoding: .utf8)
        try makeSQLite(box.root + "/site.sqlite3")
        return box
    }

    static func makeSQLite(_ path: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('create table t(x)'); c.execute('insert into t values (1)'); c.commit()", path]
        try process.run()
        process.waitUntilExit()
    }

    @Test func configCheckNamesEachProblemWithItsLine() throws {
        let box = try Self.site()
        let good = try box.kura("config", "check", "--config", box.root + "/kura.toml")
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.stdout.hasPrefix(box.root + "/kura.toml: ok — 1 database(s), 1 media folder(s)"))
        let json = try JSONSerialization.jsonObject(with: Data(try box.kura("config", "check", "-c", box.root + "/kura.toml", "--json").stdout.utf8))
        #expect((json as? [String: Any])?["steps"] as? [String] == ["backup", "verify"])

        try """
            repository = "\(box.repo)"
            media = "\(box.media)"
            password_file = "\(box.root)/nope"

            [retention]
            keep_daly = 7
            """.write(toFile: box.root + "/bad.toml", atomically: true, encoding: .utf8)
        let bad = try box.run(["config", "check"], environment: ["KURA_CONFIG": box.root + "/bad.toml"])
        #expect(bad.status == 2)
        let lines = bad.stderr.split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "\(lines)")
        #expect(lines[0].hasPrefix("kura: error: \(box.root)/bad.toml:3: password_file: \(box.root)/nope does not exist"))
        #expect(lines[1].hasPrefix("kura: error: \(box.root)/bad.toml:5: [retention]: keeps nothing"))
        #expect(lines[2].hasPrefix("kura: error: \(box.root)/bad.toml:6: unknown key 'keep_daly' in [retention] (did you mean keep_daily?)"))
        #expect(bad.stdout.isEmpty)
        // No configuration anywhere: one line saying where it looked.
        let none = try box.run(["config", "check"], environment: ["KURA_CONFIG": ""])
        #expect(none.status == 1 && none.stderr.contains("no kura.toml found"))
    }

    @Test func runDoesTheNightAndEndsWithTheSummary() throws {
        let box = try Self.site("exclude = [\"*.pdf\"]", sections: """
            [retention]
            keep_last = 3

            [export]
            folder = "$ROOT/exports"
            """)
        let config = box.root + "/kura.toml"
        // --dry-run opens the repository and writes nothing.
        let dry = try box.kura("run", "--config", config, "--dry-run")
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("backup: run — would run") && dry.stdout.contains("export: run — would run"))
        #expect(try box.kura("snapshots").stdout.contains("0 snapshot(s)"))
        #expect(!FileManager.default.fileExists(atPath: box.repo + "/runs"))

        let run = try box.kura("run", "--config", config)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let lines = run.stdout.split(separator: "\n")
        #expect(lines.last?.hasPrefix("kura run: OK — 5 step(s) ok, 2 skipped") == true, "\(lines)")
        #expect(try box.kura("ls", "latest").stdout.contains("photo.jpg"))
        #expect(!(try box.kura("ls", "latest").stdout.contains(".pdf")))
        #expect(try FileManager.default.contentsOfDirectory(atPath: box.root + "/exports").count == 2)
        // The run record is in the repository, sealed (the repository is encrypted).
        let runs = try FileManager.default.contentsOfDirectory(atPath: box.repo + "/runs")
        #expect(runs.count == 1)
        #expect(!(try String(decoding: Data(contentsOf: URL(fileURLWithPath: box.repo + "/runs/" + runs[0])), as: UTF8.self)).contains("backup"))
        // --json: the record on stdout, the log on stderr.
        Thread.sleep(forTimeInterval: 1.1)
        let json = try box.kura("run", "--config", config, "--json")
        let record = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(record?["exit_code"] as? Int == 0 && (record?["steps"] as? [Any])?.count == 7)
        #expect(json.stderr.contains("kura run: OK"))
    }

    @Test func aFailingBeforeHookIsTheRunsExitCode() throws {
        let box = try Self.site(sections: "[hooks]\nbefore = [\"echo no space left >&2; exit 5\"]")
        let run = try box.kura("run", "--config", box.root + "/kura.toml")
        #expect(run.status == 5)
        #expect(run.stdout.contains("  before[1]: no space left"))
        #expect(run.stdout.split(separator: "\n").last?.hasPrefix("kura run: FAILED — before_hooks: before hook #1 exited 5 — exit 5") == true)
        // The night is recorded all the same: status says it failed.
        let status = try box.kura("status", "--config", box.root + "/kura.toml", "--check")
        #expect(status.status == 2)
        #expect(status.stdout.hasPrefix("KURA CRITICAL: no backup of"))
    }

    @Test func aConfigurationThatCannotStartStillReachesTheMonitor() throws {
        let pings = try PingServer()
        let box = try Self.site("compresion = \"zstd\"", sections: "[monitor]\nping_url = \"\(pings.url)/hc/1\"")
        let run = try box.kura("run", "--config", box.root + "/kura.toml")
        #expect(run.status == 2)
        #expect(run.stderr.contains("kura.toml:4: unknown key 'compresion'"), "\(run.stderr)")
        #expect(pings.requests.map(\.path) == ["/hc/1/fail"])
        #expect(pings.requests.first?.body.contains("unknown key 'compresion'") == true)
        // A dry run does not ping.
        #expect(try box.kura("run", "--config", box.root + "/kura.toml", "--dry-run").status == 2)
        #expect(pings.requests.count == 1)
    }

    @Test func statusCheckSpeaksNagios() throws {
        let box = try Self.site(sections: "[monitor]\nmax_backup_age_hours = 2")
        let config = box.root + "/kura.toml"
        // No backup yet: critical.
        #expect(try box.kura("status", "-c", config, "--check").status == 2)
        // A backup three hours old: still critical ("no successful backup … for 3 h").
        let old = Date().addingTimeInterval(-3 * 3600)
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        #expect(try box.kura("backup", "--media", box.media, "--database", "sqlite://\(box.root)/site.sqlite3",
                             "--time", formatter.string(from: old)).status == 0)
        let stale = try box.kura("status", "-c", config, "--check")
        #expect(stale.status == 2 && stale.stdout.contains("for 3 h"), "\(stale.stdout)")
        // A night now: OK, exit 0, and the text report lists the sources.
        #expect(try box.kura("run", "-c", config).status == 0)
        let ok = try box.kura("status", "-c", config, "--check")
        #expect(ok.status == 0 && ok.stdout.hasPrefix("KURA OK: last backup"), "\(ok.stdout)")
        let text = try box.kura("status", "-c", config)
        #expect(text.status == 0 && text.stdout.contains("sources:") && text.stdout.contains(box.media))
        let json = try JSONSerialization.jsonObject(with: Data(try box.kura("status", "-c", config, "--json").stdout.utf8)) as? [String: Any]
        #expect(json?["verdict"] as? String == "OK" && (json?["nights"] as? [Any])?.count == 7)
        // A wrong password: UNKNOWN, exit 3, one line.
        let wrong = try box.run(["status", "-c", config, "--check"], environment: ["KURA_PASSWORD_FILE": box.root + "/db.sqlite3"])
        #expect(wrong.status == 3 && wrong.stdout.hasPrefix("KURA UNKNOWN: wrong password"), "\(wrong.stdout)")
        // --repo alone judges the newest snapshot's sources.
        #expect(try box.kura("status", "--repo", box.repo).status == 0)
    }

    @Test func scheduleWritesUnitsSystemdAccepts() throws {
        let box = try Self.site()
        let config = box.root + "/kura.toml"
        let units = box.root + "/units"
        let install = try box.kura("schedule", "install", "-c", config, "--unit-dir", units, "--on-calendar", "*-*-* 03:15:00")
        #expect(install.status == 0, "\(install.stderr)")
        let service = try String(contentsOfFile: units + "/kura.service", encoding: .utf8)
        let timer = try String(contentsOfFile: units + "/kura.timer", encoding: .utf8)
        #expect(service.contains("ExecStart=\(CLISandbox.binary) run --config \(config) --retry-lock 30min")
                || service.contains(" run --config \(config) --retry-lock 30min"))
        for line in ["UMask=0077", "Nice=10", "IOSchedulingClass=idle", "Type=oneshot"] { #expect(service.contains(line + "\n")) }
        for line in ["OnCalendar=*-*-* 03:15:00", "RandomizedDelaySec=30min", "Persistent=true", "WantedBy=timers.target"] {
            #expect(timer.contains(line + "\n"))
        }
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze") {
            let verify = Process()
            verify.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-analyze")
            verify.arguments = ["verify", units + "/kura.service", units + "/kura.timer"]
            let errors = Pipe()
            verify.standardError = errors
            try verify.run()
            let said = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            verify.waitUntilExit()
            #expect(verify.terminationStatus == 0, "systemd-analyze verify: \(said)")
        }
        #expect(try box.kura("schedule", "status", "-c", config, "--unit-dir", units).stdout.contains("kura.timer installed"))
        #expect(try box.kura("schedule", "remove", "-c", config, "--unit-dir", units, "--cron-dir", box.root + "/cron").status == 0)
        #expect(!FileManager.default.fileExists(atPath: units + "/kura.timer"))
        #expect(try box.kura("schedule", "status", "-c", config, "--unit-dir", units).status == 1)

        // Without systemd (or --cron): a cron file at the same time of day.
        #expect(try box.kura("schedule", "install", "-c", config, "--cron", "--cron-dir", box.root + "/cron", "--on-calendar", "*-*-* 03:15:00").status == 0)
        let cron = try String(contentsOfFile: box.root + "/cron/kura", encoding: .utf8)
        #expect(cron.contains("\n15 3 * * * root umask 077; nice -n 10 ionice -c 3 "))
        #expect(cron.contains(" run --config \(config) --retry-lock 30min > /dev/null\n"))
    }

    @Test func backupTakesSeveralSourcesAndExcludes() throws {
        let box = try CLISandbox()
        #expect(try box.kura("init").status == 0)
        try Self.makeSQLite(box.root + "/a.sqlite3")
        try Self.makeSQLite(box.root + "/b.sqlite3")
        try FileManager.default.createDirectory(atPath: box.root + "/private/cache", withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: box.root + "/private/keep.txt"))
        try Data("x".utf8).write(to: URL(fileURLWithPath: box.root + "/private/skip.log"))
        try Data("Signature: 8a477f597d28d172789f06886806bc55".utf8).write(to: URL(fileURLWithPath: box.root + "/private/cache/CACHEDIR.TAG"))
        try "# logs\n*.log\n".write(toFile: box.root + "/excludes", atomically: true, encoding: .utf8)
        let run = try box.kura("backup", "--database", "sqlite://\(box.root)/a.sqlite3", "--database", "sqlite://\(box.root)/b.sqlite3",
                               "--media", box.media, "--media", box.root + "/private", "--exclude", "reçu*", "--exclude-file", box.root + "/excludes",
                               "--exclude-caches")
        #expect(run.status == 0, "\(run.stderr)")
        let listing = try box.kura("ls", "latest").stdout
        for present in ["database_a.sqlite3", "database_b.sqlite3", "media/photo.jpg", "media_private/keep.txt"] {
            #expect(listing.contains(present), "\(present) missing from \(listing)")
        }
        for absent in ["reçu", "skip.log", "cache"] { #expect(!listing.contains(absent), "\(absent) in \(listing)") }
        // The archive holds both dumps; tar reads it.
        #expect(try box.kura("export", "latest", "--output", box.root + "/out").status == 0)
        let archives = try FileManager.default.contentsOfDirectory(atPath: box.root + "/out").filter { $0.hasSuffix(".tar.gz") }
        #expect(archives.first?.hasPrefix("backup_complet_a_") == true)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["-tzf", box.root + "/out/" + (archives.first ?? "")]
        let out = Pipe()
        tar.standardOutput = out
        try tar.run()
        let members = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        tar.waitUntilExit()
        #expect(tar.terminationStatus == 0 && members.contains("database_b.sqlite3\n") && members.contains("media_private/keep.txt\n"))
        // Two databases of the same name cannot share a snapshot.
        try FileManager.default.createDirectory(atPath: box.root + "/other", withIntermediateDirectories: true)
        try Self.makeSQLite(box.root + "/other/a.sqlite3")
        let clash = try box.kura("backup", "--database", "sqlite://\(box.root)/a.sqlite3", "--database", "sqlite://\(box.root)/other/a.sqlite3")
        #expect(clash.status == 1 && clash.stderr.contains("would both be stored as database_a.sqlite3"))
    }
}
