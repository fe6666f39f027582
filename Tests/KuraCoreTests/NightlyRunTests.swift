import Foundation
import GRDB
import Testing
@testable import KuraCore
import KuraTestSupport

/// A site for `kura run`: two SQLite databases, two media folders (with a file to exclude and a
/// cache folder), a plain repository, a loopback ping server.
final class NightlySite {
    let scratch = Scratch()
    let pings: PingServer
    let repository: Repository

    init() throws {
        pings = try PingServer()
        repository = try scratch.repository()
        for name in ["db", "analytics"] {
            let queue = try DatabaseQueue(path: scratch.sub("\(name).sqlite3"))
            try queue.write { try $0.execute(sql: "CREATE TABLE payment (id INTEGER PRIMARY KEY, amount INT); INSERT INTO payment (amount) VALUES (10), (20)") }
        }
        try write(randomBytes(200_000, seed: 1), to: scratch.sub("media/photos/a.jpg"))
        try write(Array("swap".utf8), to: scratch.sub("media/photos/.a.jpg.swp"))
        try write(Array("Signature: 8a477f597d28d172789f06886806bc55\n".utf8), to: scratch.sub("media/CACHE/CACHEDIR.TAG"))
        try write(randomBytes(50_000, seed: 2), to: scratch.sub("media/CACHE/thumb.jpg"))
        try write(randomBytes(30_000, seed: 3), to: scratch.sub("private/receipts/r1.pdf"))
        try FileManager.default.createDirectory(atPath: scratch.sub("textfile"), withIntermediateDirectories: true)
    }

    /// The configuration text, with `extra` appended (more sections) and `export` as the export folder.
    func toml(hooks: String = "", export: String? = nil, retention: String = "keep_last = 5\nprune = \"always\"",
              checks: String = "read_data_subset = \"1/1\"\nrestore_test_every_days = 7\nmedia_sample_percent = 100") -> String {
        """
        repository = "\(scratch.sub("repo"))"
        cache_dir = "\(scratch.sub("cache"))"
        media = ["\(scratch.sub("media"))", "\(scratch.sub("private"))"]
        exclude = ["*.swp"]
        exclude_caches = true

        [[database]]
        url = "sqlite://\(scratch.sub("db.sqlite3"))"

        [[database]]
        name = "analytics"
        url = "sqlite://\(scratch.sub("analytics.sqlite3"))"

        [retention]
        \(retention)

        [checks]
        \(checks)

        [export]
        folder = "\(export ?? scratch.sub("exports"))"
        keep = 1

        [hooks]
        timeout_seconds = 5
        \(hooks)

        [monitor]
        ping_url = "\(pings.url)/ping/abc"
        ntfy_url = "\(pings.url)/ntfy/site"
        prometheus_textfile = "\(scratch.sub("textfile/kura.prom"))"
        """
    }

    func run(_ text: String, now: Date = Date()) throws -> (RunRecord, [String]) {
        let configuration = try ConfigurationLoader.parse(text, file: scratch.sub("kura.toml"), environment: [:])
        var lines: [String] = []
        let record = NightlyRun(configuration: configuration, options: .init(lockWait: 0, now: now)) { lines.append($0) }.run()
        return (record, lines)
    }

    func status(_ text: String, now: Date = Date()) throws -> SiteStatus {
        let configuration = try ConfigurationLoader.parse(text, file: scratch.sub("kura.toml"), environment: [:])
        return try SiteStatus.of(try configuration.openRepository(), configuration: configuration, now: now)
    }

    func paths(_ snapshot: Snapshot) throws -> [String] {
        var paths: [String] = []
        try repository.openSnapshot(snapshot).forEachEntry { paths.append($0.path) }
        return paths.sorted()
    }
}

/// Checks Prometheus' text format strictly (names, labels, float values, HELP and TYPE before a
/// metric's samples, each metric's samples in one group) and with promtool when Debian's is here.
func checkPrometheusText(_ text: String) throws -> [String: Double] {
    var samples: [String: Double] = [:]
    var finished: Set<String> = []
    var current: String?
    var typed: Set<String> = []
    let name = "[a-zA-Z_:][a-zA-Z0-9_:]*"
    let sample = try Regex("^(\(name))\\{([a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\]|\\\\.)*\"(?:,[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\]|\\\\.)*\")*)\\} (\\S+)$")
    #expect(text.hasSuffix("\n"))
    for line in text.split(separator: "\n") {
        if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") {
            let metric = String(line.split(separator: " ")[2])
            #expect(!finished.contains(metric), "metric \(metric) described twice")
            if let current, current != metric { finished.insert(current) }
            current = metric
            if line.hasPrefix("# TYPE ") {
                #expect(line.hasSuffix(" gauge"))
                typed.insert(metric)
            }
            continue
        }
        let match = try #require(try sample.wholeMatch(in: String(line)), "not a sample: \(line)")
        let metric = String(match.output[1].substring ?? "")
        #expect(metric == current && typed.contains(metric), "sample of \(metric) outside its group")
        let value = try #require(Double(String(match.output[3].substring ?? "")), "not a float: \(line)")
        samples[metric + "{" + String(match.output[2].substring ?? "") + "}"] = value
    }
    if FileManager.default.isExecutableFile(atPath: "/usr/bin/promtool") {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/promtool")
        process.arguments = ["check", "metrics"]
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "promtool check metrics refused the file")
    }
    return samples
}

@Suite(.serialized)
struct NightlyRunTests {
    @Test func aWholeNightFromOneFile() throws {
        let site = try NightlySite()
        let hooks = "before = [\"echo preparing $KURA_HOOK\"]\nafter = [\"echo after $KURA_RUN_STATUS $KURA_SNAPSHOT > \(site.scratch.sub("after.txt"))\"]"
        // Database files written less than a second ago give no state marker (DatabaseState.racyWindow).
        Thread.sleep(forTimeInterval: DatabaseState.racyWindow + 0.1)
        let (record, lines) = try site.run(site.toml(hooks: hooks))
        #expect(record.exitCode == 0, "\(lines)")
        #expect(record.steps.map(\.name) == [.beforeHooks, .backup, .copy, .forget, .prune, .verify, .restoreTest, .export, .afterHooks])
        #expect(record.steps.filter { $0.status == .skipped }.map(\.name) == [.copy])
        #expect(lines.contains("  before[1]: preparing before"))
        #expect(lines.last?.hasPrefix("kura run: OK — 8 step(s) ok, 1 skipped") == true)

        // One snapshot with both databases and both media folders; excluded files and the cache folder left out.
        let snapshot = try #require(try site.repository.snapshots().last)
        #expect(record.step(.backup)?.produced == snapshot.id.hex)
        #expect(try site.paths(snapshot) == ["database_analytics.sqlite3", "database_db.sqlite3", "media", "media/photos", "media/photos/a.jpg",
                                             "media_private", "media_private/receipts", "media_private/receipts/r1.pdf"])
        #expect(snapshot.record.database == "db")
        #expect(snapshot.record.paths.count == 4)
        let after = try String(contentsOfFile: site.scratch.sub("after.txt"), encoding: .utf8)
        #expect(after == "after ok \(snapshot.id.hex)\n")

        // The restore test ran and was recorded; the export is in the folder; the run record is stored.
        #expect(try site.repository.verifications().count == 1)
        #expect(try FileSystem.list(site.scratch.sub("exports")).sorted() == [snapshot.record.exportName + ".json", snapshot.record.exportName + ".tar.gz"])
        #expect(try site.repository.runs() == [record])

        // Pings: start, then success with the log; ntfy only hears of failures.
        #expect(site.pings.requests.map { "\($0.method) \($0.path)" } == ["POST /ping/abc/start", "POST /ping/abc"])
        #expect(site.pings.requests.last?.body.contains("backup: ok") == true)

        // The textfile parses and says what happened.
        let samples = try checkPrometheusText(try String(contentsOfFile: site.scratch.sub("textfile/kura.prom"), encoding: .utf8))
        let config = "config=\"\(site.scratch.sub("kura.toml"))\""
        #expect(samples["kura_run_success{\(config)}"] == 1)
        #expect(samples["kura_step_success{\(config),step=\"export\"}"] == 1)
        #expect(samples["kura_snapshots{\(config)}"] == 1)
        #expect(samples["kura_restore_test_success{\(config)}"] == 1)
        #expect((samples["kura_backup_bytes_added{\(config)}"] ?? 0) > 200_000)

        // The second night: a changed file; the unchanged databases' dumps are carried over (both of
        // them), the restore test is not due, the older archive rotated away.
        try write(randomBytes(1000, seed: 9), to: site.scratch.sub("private/receipts/r2.pdf"))
        // Archives are named to the second.
        Thread.sleep(forTimeInterval: 1.1)
        let (second, secondLines) = try site.run(site.toml(hooks: hooks))
        #expect(second.exitCode == 0, "\(secondLines)")
        #expect(second.step(.restoreTest)?.status == .skipped && second.step(.restoreTest)?.message.contains("every 7 days") == true)
        let newest = try #require(try site.repository.snapshots().last)
        let metadata = try site.repository.openSnapshot(newest).metadata()
        #expect(metadata["database_dumped_in"] == snapshot.id.hex)
        #expect(ExtraDatabase.list(metadata).map(\.dumpedIn) == [snapshot.id.hex])
        #expect(try FileSystem.list(site.scratch.sub("exports")).sorted() == [newest.record.exportName + ".json", newest.record.exportName + ".tar.gz"])
        #expect(try site.repository.runs().count == 2)
        #expect(site.pings.requests.count == 4)
    }

    @Test func aFailingBeforeHookStopsTheNightWithItsExitCode() throws {
        let site = try NightlySite()
        let errorFile = site.scratch.sub("error.txt")
        let hooks = """
            before = ["echo stopping the workers", "exit 7", "echo never"]
            after = ["touch \(site.scratch.sub("after-ran"))"]
            on_error = ["echo \\"$KURA_ERROR|$KURA_FAILED_STEPS\\" > \(errorFile)"]
            """
        let (record, lines) = try site.run(site.toml(hooks: hooks))
        #expect(record.exitCode == 7, "\(lines)")
        #expect(record.step(.beforeHooks)?.status == .failed)
        #expect(record.step(.backup)?.status == .skipped && record.step(.export)?.status == .skipped)
        #expect(!lines.contains { $0.contains("never") })
        #expect(!FileManager.default.fileExists(atPath: site.scratch.sub("after-ran")))
        #expect(try String(contentsOfFile: errorFile, encoding: .utf8) == "before_hooks: before hook #2 exited 7|before_hooks\n")
        #expect(try site.repository.snapshots().isEmpty)
        let requests = site.pings.requests
        #expect(requests.map(\.path) == ["/ping/abc/start", "/ping/abc/fail", "/ntfy/site"])
        #expect(requests[1].body.contains("stopping the workers") && requests[1].body.contains("exited 7"))
        #expect(requests[2].body.hasPrefix("kura run: FAILED") && requests[2].headers["priority"] == "high")
        #expect(lines.last == requests[2].body)
    }

    @Test func aFailedExportDoesNotCancelTheRestoreTest() throws {
        let site = try NightlySite()
        // The export folder is a file: the export fails; nothing else depends on it.
        try write(Array("not a folder".utf8), to: site.scratch.sub("exports-file"))
        let hooks = "after = [\"echo $KURA_RUN_STATUS $KURA_FAILED_STEPS > \(site.scratch.sub("after.txt"))\"]"
        let (record, lines) = try site.run(site.toml(hooks: hooks, export: site.scratch.sub("exports-file")))
        #expect(record.step(.export)?.status == .failed, "\(lines)")
        #expect(record.step(.restoreTest)?.status == .ok)
        #expect(record.step(.verify)?.status == .ok && record.step(.forget)?.status == .ok)
        #expect(record.exitCode == 1)
        #expect(try String(contentsOfFile: site.scratch.sub("after.txt"), encoding: .utf8) == "failed export\n")
        #expect(site.pings.requests.map(\.path) == ["/ping/abc/start", "/ping/abc/fail", "/ntfy/site"])
        let samples = try checkPrometheusText(try String(contentsOfFile: site.scratch.sub("textfile/kura.prom"), encoding: .utf8))
        let config = "config=\"\(site.scratch.sub("kura.toml"))\""
        #expect(samples["kura_run_success{\(config)}"] == 0)
        #expect(samples["kura_step_success{\(config),step=\"export\"}"] == 0)
        #expect(samples["kura_step_success{\(config),step=\"restore_test\"}"] == 1)
        // kura status: the failed export is a warning, not a critical.
        let status = try site.status(site.toml())
        #expect(status.verdict == .warning)
        #expect(status.problems.first?.contains("export") == true)
    }

    @Test func copyToSendsEachNewSnapshotOffsite() throws {
        let site = try NightlySite()
        let offsite = try Repository.initialize(at: site.scratch.sub("offsite"), cacheRoot: site.scratch.sub("offsite-cache"))
        let destinations = "copy_to = [\"\(site.scratch.sub("offsite"))\", \"\(site.scratch.sub("nowhere"))\"]\n"
        let text = site.toml().replacingOccurrences(of: "cache_dir = ", with: destinations + "cache_dir = ")
        let (record, lines) = try site.run(text)
        // One destination took the snapshot; the missing one fails the step (exit 10), and nothing
        // else: forget, verify, the restore test and the export ran.
        let copy = try #require(record.step(.copy))
        #expect(copy.status == .failed && copy.exitCode == 10, "\(lines)")
        #expect(copy.message.hasPrefix("\(site.scratch.sub("nowhere")): no Kura repository"))
        #expect(lines.contains { $0.hasPrefix("copied snapshot \(record.step(.backup)?.produced?.prefix(8) ?? "?") to \(site.scratch.sub("offsite"))") })
        for name in [RunStep.Name.forget, .verify, .restoreTest, .export] { #expect(record.step(name)?.status == .ok) }
        #expect(record.exitCode == 10)
        let copied = try offsite.snapshots()
        let newest = try site.repository.snapshots().last
        #expect(copied.count == 1 && copied.first?.record.time == newest?.record.time)
    }

    @Test func aFailedBackupSkipsWhatDependsOnIt() throws {
        let site = try NightlySite()
        var configuration = try ConfigurationLoader.parse(site.toml(), file: site.scratch.sub("kura.toml"), environment: [:])
        // The database went away after the configuration was checked.
        configuration.databases[0].url = try DatabaseURL("sqlite://\(site.scratch.sub("gone.sqlite3"))")
        let record = NightlyRun(configuration: configuration, options: .init(lockWait: 0)).run()
        #expect(record.step(.backup)?.status == .failed)
        for name in [RunStep.Name.forget, .prune, .export] { #expect(record.step(name)?.status == .skipped) }
        #expect(record.step(.verify)?.status == .ok)
        #expect(record.exitCode == 1)
    }

    /// Forget takes a tested snapshot's verification record with it; the run records keep the
    /// restore test's history, so neither the schedule nor the status loses it.
    @Test func theRestoreTestIsRememberedAfterItsSnapshotIsForgotten() throws {
        let site = try NightlySite()
        let text = site.toml(retention: "keep_last = 1\nprune = \"never\"")
        let (first, _) = try site.run(text)
        #expect(first.step(.restoreTest)?.status == .ok)
        Thread.sleep(forTimeInterval: 1.1)
        let (second, lines) = try site.run(text)
        #expect(second.step(.forget)?.figures["removed"] == 1, "\(lines)")
        #expect(try site.repository.verifications().isEmpty)
        #expect(second.step(.restoreTest)?.status == .skipped)
        let status = try site.status(text)
        #expect(status.verdict == .ok, "\(status.problems)")
        #expect(status.lastRestoreTest?.ok == true && status.lastRestoreTest?.time == first.time)
    }

    @Test func aHookThatHangsIsKilledAtItsTimeout() throws {
        let runner = HookRunner(environment: [:], timeout: 1)
        var output: [String] = []
        let outcome = try runner.run("echo started; sleep 30 & sleep 30") { output.append($0) }
        #expect(outcome.timedOut && outcome.status == 124)
        #expect(outcome.seconds < 10)
        #expect(output == ["started"])
        let quick = try HookRunner(environment: ["KURA_HOOK": "after"], timeout: 5).run("echo $KURA_HOOK; exit 3") { output.append($0) }
        #expect(quick.status == 3 && !quick.timedOut && output.last == "after")
        // KURA_PASSWORD stays with Kura.
        let inherited = ["PATH": "/usr/bin:/bin", "KURA_PASSWORD": "hook must not see this", "KURA_PASSWORD_FILE": "/etc/kura/password"]
        _ = try HookRunner(environment: [:], timeout: 5, inherited: inherited)
            .run("echo \"[${KURA_PASSWORD:-unset}] [$KURA_PASSWORD_FILE]\"") { output.append($0) }
        #expect(output.last == "[unset] [/etc/kura/password]")
    }

    @Test func statusVerdicts() throws {
        let site = try NightlySite()
        let text = site.toml()
        // Fresh: nothing backed up.
        let fresh = try site.status(text)
        #expect(fresh.verdict == .critical && fresh.problems.contains { $0.contains("no backup of") })
        // After a good night: OK.
        _ = try site.run(text)
        let good = try site.status(text)
        #expect(good.verdict == .ok, "\(good.problems)")
        #expect(good.sources.count == 4 && good.sources.allSatisfy { ($0.ageHours ?? 99) < 1 })
        #expect(good.nights.count == 7 && (good.nights.last?.bytesAdded ?? 0) > 0)
        #expect(good.line.hasPrefix("OK: last backup"))
        // 31 hours later: stale.
        let stale = try site.status(text, now: Date().addingTimeInterval(31 * 3600))
        #expect(stale.verdict == .critical)
        #expect(stale.problems.first?.contains("no successful backup of") == true && stale.problems.first?.hasSuffix("for 31 h") == true)
        // A restore test that failed: critical, since when.
        var failing = try #require(try site.repository.verifications().last?.record)
        failing.ok = false
        failing.time = Timestamp.now()
        try site.repository.writeVerification(failing)
        let failed = try site.status(text)
        #expect(failed.verdict == .critical && failed.problems.first?.hasPrefix("restore test failing since") == true)
        #expect(failed.restoreTestFailingSince == failing.time)
        // An altered run record: verify names it, status reads past it.
        let runName = try #require(try FileSystem.list(site.scratch.sub("repo/runs")).first)
        var bytes = try read(site.scratch.sub("repo/runs/" + runName))
        bytes[bytes.count / 2] ^= 0x20
        try Data(bytes).write(to: URL(fileURLWithPath: site.scratch.sub("repo/runs/" + runName)))
        let report = try RepositoryChecker(repository: site.repository).check(CheckOptions())
        #expect(report.errors.contains { $0.hasPrefix("run record \(runName.prefix(8)) is damaged") })
        #expect(try site.status(text).lastRun == nil)
    }
}

/// The night on PostgreSQL: two databases of one server in one snapshot, the restore test into a
/// scratch database on that server.
@Suite(.enabled(if: TestServer.available, "KURA_TEST_POSTGRES is not set: PostgreSQL tests SKIPPED — run tools/test, which starts a server"),
       .serialized)
struct PostgresNightlyRunTests {
    @Test func aWholeNightWithTwoPostgresDatabases() throws {
        let site = try NightlySite()
        TestServer.loadSite("kt_night_main")
        TestServer.create("kt_night_jobs")
        TestServer.psql("CREATE TABLE job (id serial PRIMARY KEY, name text); INSERT INTO job (name) SELECT 'job ' || g FROM generate_series(1, 300) g",
                        database: "kt_night_jobs")
        let server = try #require(TestServer.url)
        try write(Array("SELECT count(*) = 5000 FROM school_payment\n".utf8), to: site.scratch.sub("check.sql"))
        let text = site.toml(checks: "read_data_subset = \"1/1\"\nrestore_test_every_days = 1\ncheck_sql = \"check.sql\"")
            .replacingOccurrences(of: "url = \"sqlite://\(site.scratch.sub("db.sqlite3"))\"",
                                  with: "url = \"\(server.replacingOccurrences(of: "/postgres?", with: "/kt_night_main?"))\"")
            .replacingOccurrences(of: "url = \"sqlite://\(site.scratch.sub("analytics.sqlite3"))\"",
                                  with: "url_env = \"JOBS_URL\"")
        let configuration = try ConfigurationLoader.parse(text, file: site.scratch.sub("kura.toml"),
                                                          environment: ["JOBS_URL": server.replacingOccurrences(of: "/postgres?", with: "/kt_night_jobs?")])
        var lines: [String] = []
        let record = NightlyRun(configuration: configuration, options: .init(lockWait: 0)) { lines.append($0) }.run()
        #expect(record.exitCode == 0, "\(lines)")
        #expect(record.step(.restoreTest)?.status == .ok)
        let snapshot = try #require(try site.repository.snapshots().last)
        #expect(snapshot.record.database == "kt_night_main" && snapshot.record.databaseEngine == .postgresql)
        let paths = try site.paths(snapshot)
        #expect(paths.contains("database_kt_night_main.sql") && paths.contains("database_kt_night_jobs.sql"))
        #expect(paths.contains("media/photos/a.jpg") && paths.contains("media_private/receipts/r1.pdf"))
        #expect(!paths.contains { $0.hasSuffix(".swp") || $0.contains("CACHE") })
        // The second database's dump restores with pg_restore into a new database.
        let dump = try #require(try site.repository.openSnapshot(snapshot).entry("database_kt_night_jobs.sql"))
        try Restorer(repository: site.repository).restore(snapshot, RestoreOptions(target: site.scratch.sub("out"),
                                                                                    include: [try PathPattern(dump.path)]))
        TestServer.create("kt_night_jobs_back")
        let pgRestore = Process()
        pgRestore.executableURL = URL(fileURLWithPath: (ProcessInfo.processInfo.environment["KURA_PG_BIN"] ?? "/usr/bin") + "/pg_restore")
        pgRestore.arguments = ["--no-owner", "-d", server.replacingOccurrences(of: "/postgres?", with: "/kt_night_jobs_back?"),
                               site.scratch.sub("out/database_kt_night_jobs.sql")]
        try pgRestore.run()
        pgRestore.waitUntilExit()
        #expect(pgRestore.terminationStatus == 0)
        #expect(TestServer.psql("SELECT count(*) FROM job", database: "kt_night_jobs_back") == "300")
        // The archive holds both dumps.
        let exported = try #require(record.step(.export)?.produced)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["-tzf", exported]
        let out = Pipe()
        tar.standardOutput = out
        try tar.run()
        let members = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        tar.waitUntilExit()
        #expect(members.contains("database_kt_night_main.sql\n") && members.contains("database_kt_night_jobs.sql\n"))
    }
}
