import Foundation
import Testing
@testable import KuraCore
import KuraTestSupport

/// kura.toml: what `ConfigurationLoader` accepts, and every problem named with its line.
struct ConfigurationTests {
    /// A folder with a media folder, a SQLite database and an owner-only password file.
    static func site() throws -> Scratch {
        let scratch = Scratch()
        try write(Array("photo".utf8), to: scratch.sub("media/a.jpg"))
        try write(Array("doc".utf8), to: scratch.sub("private/b.pdf"))
        try write([], to: scratch.sub("db.sqlite3"))
        _ = FileManager.default.createFile(atPath: scratch.sub("password"), contents: Data("pw\n".utf8), attributes: [.posixPermissions: 0o600])
        return scratch
    }

    func problems(_ text: String, in scratch: Scratch, environment: [String: String] = [:]) -> [ConfigurationProblem] {
        do {
            _ = try ConfigurationLoader.parse(text, file: scratch.sub("kura.toml"), environment: environment)
            return []
        } catch KuraError.configuration(let problems) {
            return problems
        } catch {
            Issue.record("unexpected error \(error)")
            return []
        }
    }

    @Test func aFullConfigurationReadsIntoEverySetting() throws {
        let scratch = try Self.site()
        try write(Array("*.tmp\n# a comment\n\ncache\n".utf8), to: scratch.sub("excludes"))
        try write(Array("SELECT true\n".utf8), to: scratch.sub("check.sql"))
        try write([], to: scratch.sub("analytics.sqlite3"))
        let (_, recipient) = AgeIdentity.generate()
        let site = try ConfigurationLoader.parse("""
            repository = "repo"            # relative to the file
            password_file = "password"
            copy_to = ["/srv/offsite"]
            host = "web1"
            tags = ["nightly"]
            cache_dir = "cache"
            media = ["media", "private"]
            exclude = ["thumbs/*.jpg"]
            exclude_file = "excludes"
            exclude_caches = true
            one_file_system = true

            [[database]]
            name = "default"
            url = "sqlite://\(scratch.sub("db.sqlite3"))"

            [[database]]
            name = "analytics"
            url_env = "ANALYTICS_URL"

            [retention]
            keep_daily = 7
            keep_weekly = 4
            keep_within = "2d"
            prune = "monthly"
            prune_max_unused_percent = 5

            [export]
            folder = "exports"
            keep = 3
            encrypt_to = ["\(recipient)"]
            level = 6

            [checks]
            read_data_subset = "5%"
            restore_test_every_days = 7
            check_sql = "check.sql"
            media_sample_percent = 10

            [hooks]
            before = ["systemctl stop celery"]
            after = "systemctl start celery"
            on_error = ["logger kura failed"]
            timeout_seconds = 60

            [monitor]
            ping_url = "https://hc-ping.com/abc"
            ntfy_url = "https://ntfy.sh/site"
            ntfy_on = "always"
            prometheus_textfile = "\(scratch.path)/kura.prom"
            max_backup_age_hours = 30
            """, file: scratch.sub("kura.toml"), environment: ["ANALYTICS_URL": "sqlite://\(scratch.sub("analytics.sqlite3"))"])
        #expect(site.repository == "repo")
        #expect(site.password.file == scratch.sub("password"))
        #expect(site.copyTo == ["/srv/offsite"])
        #expect(site.host == "web1" && site.tags == ["nightly"])
        #expect(site.cacheDirectory == scratch.sub("cache"))
        #expect(site.media == [scratch.sub("media"), scratch.sub("private")])
        #expect(site.exclusions == ExclusionRules(patterns: ["thumbs/*.jpg", "*.tmp", "cache"], excludeCaches: true, oneFileSystem: true))
        #expect(site.databases.map(\.name) == ["default", "analytics"])
        #expect(site.databases.map(\.url.path) == [scratch.sub("db.sqlite3"), scratch.sub("analytics.sqlite3")])
        #expect(site.retention == ForgetPolicy(daily: 7, weekly: 4, within: try KeepDuration(parsing: "2d")))
        #expect(site.prune == .everyDays(30) && site.pruneMaxUnused == 0.05)
        #expect(site.export?.folder == scratch.sub("exports") && site.export?.keep == 3 && site.export?.level == 6)
        #expect(site.export?.recipients == [recipient])
        #expect(site.checks.readDataSubset?.description.hasPrefix("5%") == true)
        #expect(site.checks.restoreTestEveryDays == 7 && site.checks.checkSQL == scratch.sub("check.sql") && site.checks.mediaSample == 0.1)
        #expect(site.hooks.before == ["systemctl stop celery"] && site.hooks.after == ["systemctl start celery"] && site.hooks.timeout == 60)
        #expect(site.monitor.pingURL == "https://hc-ping.com/abc" && site.monitor.ntfyOnSuccess && site.monitor.maxBackupAgeHours == 30)
        #expect(site.backupOptions.mediaFolders.count == 2 && site.backupOptions.databases.count == 2 && site.backupOptions.host == "web1")
    }

    @Test func defaultsAreQuietAndSafe() throws {
        let scratch = try Self.site()
        let site = try ConfigurationLoader.parse("repository = \"/r\"\nmedia = \"media\"\n", file: scratch.sub("kura.toml"), environment: [:])
        #expect(site.retention == nil && site.prune == .never && site.export == nil)
        #expect(site.checks.readDataSubset == nil && site.checks.restoreTestEveryDays == nil)
        #expect(site.hooks.before.isEmpty && site.hooks.timeout == 300)
        #expect(site.monitor.pingURL == nil && site.monitor.maxBackupAgeHours == 26)
        #expect(site.password.file == nil)
    }

    @Test func syntaxErrorsGiveTheirLine() throws {
        let scratch = try Self.site()
        let found = problems("repository = \"/r\"\nmedia = \"media\"\n[retention\nkeep_daily = 7\n", in: scratch)
        #expect(found.count == 1)
        #expect(found.first?.line == 3)
        #expect(found.first?.description.hasPrefix(scratch.sub("kura.toml") + ":3: not valid TOML") == true)
    }

    /// Table headers toml++ 3 would abort on (an assertion, not an error): refused first, with their line.
    @Test func headersThatWouldAbortTheParserAreProblems() throws {
        let scratch = try Self.site()
        for header in ["[]", "[.a]", "[é]", "[[é]]", "[[=]]", "[ !]", "[ \\]", "[#]", "[é", "a = [}]", "a = [1, }]", "a = [\n}]"] {
            let found = problems("repository = \"/r\"\nmedia = \"media\"\n\(header)\nkeep_daily = 7\n", in: scratch)
            #expect(found.count == 1 && found.first?.line == (header.hasSuffix("\n}]") ? 4 : 3), "\(header): \(found)")
            #expect(found.first?.message.hasPrefix("not valid TOML") == true)
        }
        // Brackets that are not headers pass through: nested arrays over lines, strings, comments.
        let site = try ConfigurationLoader.parse(#"""
            repository = "/r"   # [é] in a comment
            media = [
              "media",
            ]
            tags = [
              "x",
            ]

            [hooks]
            before = ["""
            [é] [] in a string
            """, '[.a]']
            """#, file: scratch.sub("kura.toml"), environment: [:])
        #expect(site.hooks.before == ["[é] [] in a string\n", "[.a]"])
        #expect(site.tags == ["x"])
    }

    @Test func unknownKeysAreNamedWithLineAndSuggestion() throws {
        let scratch = try Self.site()
        let found = problems("""
            repository = "/r"
            media = "media"
            mdia = "x"

            [retention]
            keep_daily = 7
            keep_dayly = 3

            [[database]]
            url = "sqlite://\(scratch.sub("db.sqlite3"))"
            nme = "x"

            [sections]
            a = 1

            [monitor]
            media = "x"
            """, in: scratch)
        let lines = found.map { "\($0.line ?? 0): \($0.message)" }
        #expect(found.count == 5, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("17: unknown key 'media' in [monitor] (a top-level key: in TOML a key after a [table] header") })
        #expect(lines.contains { $0.hasPrefix("3: unknown key 'mdia' in the top level (did you mean media?)") })
        #expect(lines.contains { $0.hasPrefix("7: unknown key 'keep_dayly' in [retention] (did you mean keep_daily?)") })
        #expect(lines.contains { $0.hasPrefix("11: unknown key 'nme' in [[database]] #1 (did you mean name?)") })
        #expect(lines.contains { $0.hasPrefix("13: unknown key 'sections'") })
        // Sorted by line.
        #expect(found.map { $0.line ?? 0 } == found.map { $0.line ?? 0 }.sorted())
    }

    @Test func badValuesAreNamedWithTheirLine() throws {
        let scratch = try Self.site()
        try write(Array("pw".utf8), to: scratch.sub("open-password"))
        chmod(scratch.sub("open-password"), 0o644)
        let found = problems("""
            repository = 42
            password_file = "missing-password"
            media = ["media", "nowhere"]
            exclude = ["/"]

            [[database]]
            url = "mysql://x"

            [retention]
            keep_daily = "seven"
            prune = "sometimes"

            [export]
            keep = -1
            encrypt_to = ["age1notakey"]

            [checks]
            read_data_subset = "9/7"
            check_sql = "nope.sql"

            [hooks]
            before = [""]
            timeout_seconds = 0

            [monitor]
            ping_url = "hc-ping.com/x"
            prometheus_textfile = "/no/such/folder/kura.prom"
            """, in: scratch)
        let byLine = Dictionary(grouping: found) { $0.line ?? 0 }
        func at(_ line: Int, _ text: String) -> Bool { byLine[line]?.contains { $0.message.contains(text) } ?? false }
        #expect(at(1, "repository: expected a string, found integer"), "\(found)")
        #expect(at(2, "missing-password does not exist"))
        #expect(at(3, "nowhere (#2) does not exist"))
        #expect(at(4, "a pattern that matches the root"))
        #expect(at(7, "not a database URL"))
        #expect(at(10, "keep_daily: expected an integer"))
        #expect(at(11, "'sometimes'"))
        #expect(at(14, "out of range"))
        #expect(at(15, "not an age recipient"))
        #expect(at(18, "read_data_subset"))
        #expect(at(19, "cannot read"))
        #expect(at(13, "folder: missing"))
        #expect(at(22, "an empty command"))
        #expect(at(23, "out of range"))
        #expect(at(26, "not an http(s) URL"))
        #expect(at(27, "existing folder"))
        // A password file others can read is refused too.
        let open = problems("repository = \"/r\"\nmedia = \"media\"\npassword_file = \"open-password\"\n", in: scratch)
        #expect(open.first?.line == 3 && open.first?.message.contains("chmod 600") == true)
    }

    @Test func aConfigurationWithNothingToBackUpIsRefused() throws {
        let scratch = try Self.site()
        let found = problems("repository = \"/r\"\n", in: scratch)
        #expect(found.contains { $0.message.contains("nothing to back up") })
        let missing = problems("media = \"media\"\n", in: scratch)
        #expect(missing.contains { $0.message.contains("repository: missing") })
        try FileManager.default.createDirectory(atPath: scratch.sub("a/x"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: scratch.sub("b/x"), withIntermediateDirectories: true)
        let clash = problems("repository = \"/r\"\nmedia = [\"media\", \"a/x\", \"b/x\"]\n", in: scratch)
        #expect(clash.contains { $0.message.contains("same name") })
    }

    @Test func theFileIsFoundAsDocumented() throws {
        let scratch = try Self.site()
        #expect(try ConfigurationLoader.locate("x.toml", environment: ["KURA_CONFIG": "/etc/y.toml"]).hasSuffix("/x.toml"))
        #expect(try ConfigurationLoader.locate(nil, environment: ["KURA_CONFIG": "/etc/y.toml"]) == "/etc/y.toml")
        // A file that cannot be read is one problem without a line; a huge one is refused before parsing.
        #expect(throws: KuraError.configuration([ConfigurationProblem(file: scratch.sub("none.toml"), line: nil,
                                                                       message: "cannot read the file (No such file or directory)")])) {
            try ConfigurationLoader.load(scratch.sub("none.toml"))
        }
        try write([UInt8](repeating: 0x61, count: (1 << 20) + 1), to: scratch.sub("big.toml"))
        #expect(throws: KuraError.self) { try ConfigurationLoader.load(scratch.sub("big.toml")) }
    }

    /// docs/kura.example.toml is the documented example: it must stay valid (its paths are
    /// replaced by this test's folders).
    @Test func theDocumentedExampleIsValid() throws {
        let scratch = try Self.site()
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/kura.example.toml").path
        var text = try String(contentsOfFile: source, encoding: .utf8)
        try write(Array("SELECT true\n".utf8), to: scratch.sub("check.sql"))
        try FileManager.default.createDirectory(atPath: scratch.sub("textfile"), withIntermediateDirectories: true)
        for (from, to) in [("/srv/site/media", scratch.sub("media")), ("/srv/site/private", scratch.sub("private")),
                           ("/etc/kura/password", scratch.sub("password")), ("/etc/kura/check.sql", scratch.sub("check.sql")),
                           ("/var/lib/prometheus/node-exporter", scratch.sub("textfile"))] {
            text = text.replacingOccurrences(of: from, with: to)
        }
        let site = try ConfigurationLoader.parse(text, file: scratch.sub("kura.toml"), environment: ["DATABASE_URL": "postgresql://kura@localhost/site"])
        #expect(site.databases.count == 1 && site.media.count == 2 && site.retention != nil && site.export != nil)
    }
}

/// --exclude patterns, CACHEDIR.TAG and --one-file-system in a real backup.
struct ExclusionTests {
    func matches(_ pattern: String, _ path: String) -> Bool {
        PathMatcher([pattern]).matches(components: path.split(separator: "/").map { Array(String($0).utf8CString) })
    }

    @Test func patternsFollowRestic() {
        #expect(matches("*.tmp", "/srv/media/a/b.tmp"))
        #expect(!matches("*.tmp", "/srv/media/a/b.tmp.jpg"))
        #expect(matches("cache", "/srv/media/cache"))
        #expect(!matches("cache", "/srv/media/cache2"))
        #expect(matches("thumbs/*.jpg", "/srv/media/2026/thumbs/x.jpg"))
        #expect(!matches("thumbs/*.jpg", "/srv/media/thumbs/sub/x.jpg"))
        #expect(matches("thumbs/**/*.jpg", "/srv/media/thumbs/sub/deeper/x.jpg"))
        #expect(matches("thumbs/**/*.jpg", "/srv/media/thumbs/x.jpg"))
        #expect(matches("/srv/media/private", "/srv/media/private"))
        #expect(!matches("/media/private", "/srv/media/private"))
        #expect(matches("[ab]?.log", "/x/a1.log"))
        #expect(matches("*", "/x/.hidden"))
        #expect(ExclusionRules.patterns(fromText: "# c\n\n *.tmp \r\ncache\n") == ["*.tmp", "cache"])
        #expect(ExclusionRules.problem(with: "//") != nil && ExclusionRules.problem(with: "") != nil && ExclusionRules.problem(with: "*.x") == nil)
    }

    @Test func excludedPathsAndCacheFoldersAreNotBackedUp() throws {
        let scratch = Scratch()
        let repository = try scratch.repository()
        let media = scratch.sub("media")
        for path in ["a.jpg", "b.tmp", "thumbs/t.jpg", "thumbs/keep.png", "cache/x", "cache/CACHEDIR.TAG", "faketag/CACHEDIR.TAG", "faketag/y"] {
            try write(Array((path.hasSuffix("CACHEDIR.TAG") && path.hasPrefix("cache/") ? "Signature: 8a477f597d28d172789f06886806bc55\n" : "data").utf8),
                      to: media + "/" + path)
        }
        let options = BackupOptions(mediaFolders: [media], databases: [],
                                    exclusions: ExclusionRules(patterns: ["*.tmp", "thumbs/*.jpg"], excludeCaches: true))
        let snapshot = try Archiver(repository: repository).backup(options).snapshot
        var paths: [String] = []
        try repository.openSnapshot(snapshot).forEachEntry { paths.append($0.path) }
        #expect(paths.sorted() == ["media", "media/a.jpg", "media/faketag", "media/faketag/CACHEDIR.TAG", "media/faketag/y",
                                   "media/thumbs", "media/thumbs/keep.png"])
    }

    /// A mount point inside the media folder is kept, empty (needs root to mount a tmpfs; skipped otherwise).
    @Test func oneFileSystemDoesNotCrossMountPoints() throws {
        let scratch = Scratch()
        let repository = try scratch.repository()
        let media = scratch.sub("media")
        try write(Array("a".utf8), to: media + "/a.jpg")
        try FileManager.default.createDirectory(atPath: media + "/mounted", withIntermediateDirectories: true)
        guard mountTmpfs(media + "/mounted") else { return }
        defer { unmount(media + "/mounted") }
        try write(Array("b".utf8), to: media + "/mounted/b.jpg")
        func paths(_ oneFileSystem: Bool) throws -> [String] {
            let snapshot = try Archiver(repository: repository).backup(BackupOptions(
                mediaFolders: [media], databases: [], exclusions: ExclusionRules(oneFileSystem: oneFileSystem), force: true)).snapshot
            var paths: [String] = []
            try repository.openSnapshot(snapshot).forEachEntry { paths.append($0.path) }
            return paths.sorted()
        }
        #expect(try paths(false) == ["media", "media/a.jpg", "media/mounted", "media/mounted/b.jpg"])
        #expect(try paths(true) == ["media", "media/a.jpg", "media/mounted"])
    }

    func mountTmpfs(_ path: String) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/mount")
        process.arguments = ["-t", "tmpfs", "-o", "size=1m", "none", path]
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    func unmount(_ path: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/umount")
        process.arguments = [path]
        try? process.run()
        process.waitUntilExit()
    }
}
