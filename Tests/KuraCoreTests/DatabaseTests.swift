import Foundation
import GRDB
import Testing
@testable import KuraCore
import KuraTestSupport

extension TestServer {
    /// A libpq connection to a database of the test server.
    static func connect(_ name: String) throws -> PostgresConnection {
        try PostgresConnection(try PostgresParameters(url: try database(name)))
    }
}

@Suite(.enabled(if: TestServer.available, "KURA_TEST_POSTGRES is not set: PostgreSQL tests SKIPPED — run tools/test, which starts a server"),
       .serialized)
struct PostgresTests {
    func restore(_ repository: Repository, _ snapshot: Snapshot, into name: String, force: Bool = false) throws -> SiteRestoreResult {
        try SiteRestorer(repository: repository).restore(snapshot, SiteRestoreOptions(database: try TestServer.database(name), force: force))
    }

    @Test func backupChangeBackupAndRestoreEachSnapshot() throws {
        let scratch = Scratch()
        let repository = try scratch.repository()
        try TestServer.loadSite("kt_site")
        let source = try TestServer.database("kt_site")
        let before = try TestServer.fingerprint("kt_site")
        let first = try Archiver(repository: repository).backup(BackupOptions(media: nil, database: source))
        #expect(first.snapshot.record.database == "kt_site")
        let recorded = try repository.openSnapshot(first.snapshot).databaseTables()
        #expect(recorded.map(\.name) == ["audit_log", "auth_user", "school_payment", "school_student"])
        #expect(recorded.first { $0.name == "school_payment" }?.rows == 5000)

        try TestServer.connect("kt_site").query("""
            INSERT INTO school_payment (student_id, amount, paid_on, receipt) SELECT g, 99, '2025-11-24', 'new' FROM generate_series(1, 100) g;
            UPDATE school_student SET photo = 'profile_photos/new.jpg' WHERE id <= 20;
            DELETE FROM audit_log WHERE id <= 5;
            SELECT nextval('invoice_number');
            """)
        let after = try TestServer.fingerprint("kt_site")
        #expect(after != before)
        let second = try Archiver(repository: repository).backup(BackupOptions(media: nil, database: source))
        #expect(second.snapshot.record.parent == first.snapshot.id.hex)
        #expect(second.summary.databaseDumpedIn == nil, "the database changed: it must be dumped again")

        for (snapshot, name, expected) in [(first.snapshot, "kt_r1", before), (second.snapshot, "kt_r2", after)] {
            try TestServer.connect("postgres").query("DROP DATABASE IF EXISTS \(name)")
            let result = try restore(repository, snapshot, into: name)
            #expect(result.safetySnapshot == nil)
            #expect(try TestServer.fingerprint(name) == expected)
        }

        // Not empty: refused, nothing changed.
        let refused = kuraError { _ = try restore(repository, first.snapshot, into: "kt_r2") }
        #expect(refused?.exitCode == 13)
        #expect(try TestServer.fingerprint("kt_r2") == after)

        // --force: equals the snapshot exactly, even objects created since are gone; what was
        // there is kept as a pre-restore snapshot.
        try TestServer.connect("kt_r2").query("CREATE TABLE stray (x int); INSERT INTO stray VALUES (1)")
        let forced = try restore(repository, first.snapshot, into: "kt_r2", force: true)
        #expect(try TestServer.fingerprint("kt_r2") == before)
        #expect(try TestServer.connect("kt_r2").query("SELECT to_regclass('public.stray')").first?.first ?? "gone" == nil)
        let safety = try #require(forced.safetySnapshot)
        #expect(safety.record.tags == ["pre-restore"])
        let safetyTables = try repository.openSnapshot(safety).databaseTables()
        #expect(safetyTables.contains { $0.name == "stray" && $0.rows == 1 })
    }

    /// An unchanged database (same next transaction id, nothing in progress, same sequences)
    /// reuses the parent's dump; a write (logged or not), a sequence that moved or --force make
    /// the backup dump again.
    @Test func unchangedDatabaseReusesTheParentDump() throws {
        let scratch = Scratch()
        let repository = try scratch.repository()
        try TestServer.loadSite("kt_same")
        let url = try TestServer.database("kt_same")
        func backup(force: Bool = false) throws -> BackupResult {
            try Archiver(repository: repository).backup(BackupOptions(media: nil, database: url, force: force))
        }
        let first = try backup()
        #expect(first.summary.databaseDumpedIn == nil)
        #expect(try repository.openSnapshot(first.snapshot).metadata()["database_state"]?.hasPrefix("postgresql:") == true)
        // Other tests write to the same cluster: back up until two backups in a row see one state.
        let again = try reusedAfterRetries { try backup() }
        let parent = try #require(try repository.snapshots().first { $0.id.hex == again.snapshot.record.parent })
        #expect(again.summary.databaseDumpedIn == parent.id.hex)
        let (now, before) = (try repository.openSnapshot(again.snapshot), try repository.openSnapshot(parent))
        #expect(try now.entry("database_kt_same.sql")?.chunks == before.entry("database_kt_same.sql")?.chunks)
        #expect(try now.databaseTables() == before.databaseTables())
        #expect(try now.metadata()["database_dump_tool"] == before.metadata()["database_dump_tool"])
        try TestServer.connect("postgres").query("DROP DATABASE IF EXISTS kt_same_r")
        _ = try restore(repository, again.snapshot, into: "kt_same_r")
        #expect(try TestServer.fingerprint("kt_same_r") == TestServer.fingerprint("kt_same"))

        try TestServer.connect("kt_same").query("INSERT INTO audit_log (at, action) VALUES (now(), 'changed')")
        let changed = try backup()
        #expect(changed.summary.databaseDumpedIn == nil)
        #expect(try repository.openSnapshot(changed.snapshot).databaseTables().first { $0.name == "audit_log" }?.rows == 3001)
        #expect(try backup(force: true).summary.databaseDumpedIn == nil)

        // Writes that bypass WAL or transactions are seen too: an unlogged table, a bare nextval().
        try TestServer.connect("kt_same").query("CREATE UNLOGGED TABLE scratch_pad (x int)")
        _ = try reusedAfterRetries { try backup() }
        try TestServer.connect("kt_same").query("INSERT INTO scratch_pad VALUES (1)")
        #expect(try backup().summary.databaseDumpedIn == nil, "a write to an unlogged table must be dumped")
        _ = try reusedAfterRetries { try backup() }
        try TestServer.connect("kt_same").query("SELECT nextval('invoice_number')")
        #expect(try backup().summary.databaseDumpedIn == nil, "a sequence that moved must be dumped")
        // A transaction in progress behind a newer, completed one could commit without moving the
        // next transaction id: no marker while it runs.
        let open = try TestServer.connect("kt_same")
        try open.query("BEGIN; INSERT INTO audit_log (at, action) VALUES (now(), 'pending')")
        try TestServer.connect("kt_same").query("INSERT INTO audit_log (at, action) VALUES (now(), 'committed')")
        #expect(DatabaseState.read(url) == nil)
        try open.query("COMMIT")
    }

    /// Backs up until a backup reuses its parent's dump (other tests write to the same cluster).
    func reusedAfterRetries(_ backup: () throws -> BackupResult) throws -> BackupResult {
        for _ in 0..<30 {
            let result = try backup()
            if result.summary.databaseDumpedIn != nil { return result }
        }
        return try #require(nil as BackupResult?, "no backup reused the dump of an unchanged database")
    }

    @Test func exportedArchiveRestoresTheSameDatabase() throws {
        let scratch = Scratch()
        let repository = try scratch.repository()
        try TestServer.loadSite("kt_export")
        let expected = try TestServer.fingerprint("kt_export")
        let snapshot = try Archiver(repository: repository).backup(BackupOptions(media: nil, database: try TestServer.database("kt_export"))).snapshot
        let export = try ArchiveExporter(repository: repository).export(snapshot, to: .directory(scratch.sub("out")))
        let archive = try #require(export.archivePath)
        #expect(export.manifest.database == "kt_export" && export.manifest.pgDumpVersion != nil)
        // verify runs pg_restore --list on the dump inside.
        #expect(ArchiveVerifier.verify(archive).isEmpty)
        try TestServer.connect("postgres").query("DROP DATABASE IF EXISTS kt_from_archive")
        _ = try SiteRestorer(repository: nil).restore(ArchiveRestorer(path: archive), SiteRestoreOptions(database: try TestServer.database("kt_from_archive")))
        #expect(try TestServer.fingerprint("kt_from_archive") == expected)
    }

    @Test func legacyPostgresArchiveImports() throws {
        let scratch = Scratch()
        let repository = try scratch.repository()
        try TestServer.loadSite("kt_legacy")
        try write(Array("receipt".utf8), to: scratch.sub("media/payment_receipts/r1.pdf"))
        let made = try Subprocess.run("/usr/bin/env", ["python3", ImportTests.legacyTool, "--media", scratch.sub("media"),
                                                       "--postgres", try #require(TestServer.url).replacingOccurrences(of: "/postgres?", with: "/kt_legacy?"),
                                                       "--output", scratch.sub("archives"), "--timestamp", "20251124_230000"])
        #expect(made.status == 0, "\(made.stderr)")
        let result = try ArchiveImporter(repository: repository).importArchive(made.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(result.snapshot.record.database == "kt_legacy")
        #expect(result.snapshot.record.databaseEngine == .postgresql)
        try TestServer.connect("postgres").query("DROP DATABASE IF EXISTS kt_legacy_restored")
        _ = try SiteRestorer(repository: repository).restore(result.snapshot, SiteRestoreOptions(database: try TestServer.database("kt_legacy_restored")))
        #expect(try TestServer.fingerprint("kt_legacy_restored") == TestServer.fingerprint("kt_legacy"))
    }

    @Test func connectionFailuresAreClearErrors() throws {
        let scratch = Scratch()
        let repository = try scratch.repository()
        try TestServer.create("kt_pw")
        let wrongPassword = kuraError {
            _ = try Archiver(repository: repository).backup(BackupOptions(media: nil, database: try TestServer.database("kt_pw", user: "kura_pw", password: "wrong")))
        }
        #expect(wrongPassword?.exitCode == 1)
        #expect(wrongPassword?.description.contains("password authentication failed") == true)
        #expect(wrongPassword?.description.contains("wrong") == false)

        let missing = kuraError { _ = try Archiver(repository: repository).backup(BackupOptions(media: nil, database: try TestServer.database("kt_no_such_db"))) }
        #expect(missing?.exitCode == 1)
        #expect(missing?.description.contains("does not exist") == true)

        let unreachable = kuraError {
            _ = try Archiver(repository: repository).backup(BackupOptions(media: nil, database: try DatabaseURL("postgresql://postgres@127.0.0.1:1/x")))
        }
        #expect(unreachable?.exitCode == 1)
        #expect(unreachable?.description.contains("cannot connect") == true)
        #expect(try repository.snapshots().isEmpty)
        #expect(try FileSystem.list(repository.layout.tmpDirectory).isEmpty)
    }

    @Test func dumpThatFailsLeavesNothingBehind() throws {
        let scratch = Scratch()
        let repository = try scratch.repository()
        try TestServer.create("kt_private")
        try TestServer.connect("kt_private").query("CREATE TABLE secrets (x int); REVOKE ALL ON secrets FROM PUBLIC")
        let error = kuraError {
            _ = try Archiver(repository: repository).backup(BackupOptions(media: nil, database: try TestServer.database("kt_private", user: "kura_pw", password: "secret")))
        }
        #expect(error?.exitCode == 1)
        #expect(error?.description.contains("permission denied") == true)
        #expect(try repository.snapshots().isEmpty)
        #expect(try FileSystem.list(repository.layout.tmpDirectory).isEmpty)
    }

    @Test func damagedDumpChunkFailsBeforeTouchingTheTarget() throws {
        let scratch = Scratch()
        let repository = try scratch.repository(config: .new(compression: CompressionSetting(codec: .raw, level: 0)))
        try TestServer.loadSite("kt_damage")
        let result = try Archiver(repository: repository).backup(BackupOptions(media: nil, database: try TestServer.database("kt_damage")))
        let dump = try #require(try repository.openSnapshot(result.snapshot).entry("database_kt_damage.sql"))
        let location = try #require(try repository.index().locations([dump.chunks[0]]).values.first)
        let path = repository.layout.pack(location.pack)
        var bytes = try read(path)
        bytes[Int(location.entry.offset) + 50] ^= 0x55
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        try TestServer.connect("postgres").query("DROP DATABASE IF EXISTS kt_damaged_target")
        let error = kuraError { _ = try restore(repository, result.snapshot, into: "kt_damaged_target") }
        #expect(error?.exitCode == 12)
        #expect(try PostgresRestorer.objectCount(try TestServer.database("kt_damaged_target")) == nil)
    }
}

@Suite struct SQLiteTests {
    @Test func dumpsAreCutWithTheDumpChunker() throws {
        let scratch = Scratch()
        let repository = try scratch.repository()
        let (path, database) = try scratch.siteDatabase()
        try database.write { db in
            try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
            for index in 0..<20_000 { try db.execute(sql: "INSERT INTO t (v) VALUES (?)", arguments: ["row \(index) " + String(repeating: "x", count: index % 90)]) }
        }
        try database.close()
        try write(randomBytes(3 << 20, seed: 3), to: scratch.sub("media/video.mp4"))
        let snapshot = try Archiver(repository: repository).backup(
            BackupOptions(media: scratch.sub("media"), database: try DatabaseURL("sqlite://" + path))).snapshot
        let reader = try repository.openSnapshot(snapshot)
        let dump = try #require(try reader.entry("database_db.sqlite3"))
        let video = try #require(try reader.entry("media/video.mp4"))
        #expect(dump.size > 1 << 20 && dump.chunks.count >= dump.size / (128 << 10), "\(dump.chunks.count) chunks for \(dump.size) bytes")
        #expect(video.chunks.count <= 12, "media keeps the 1 MiB chunker")
        #expect(try reader.metadata()["dump_chunker"]?.contains("\"avg\":16384") == true)
    }

    /// An SQLite file unchanged since the parent's copy (same inode, size, times; no journal) is
    /// not copied again, in rollback and WAL mode; a write, or a change less than a second old
    /// (file times are coarse), makes the backup copy it.
    @Test(arguments: ["delete", "wal"]) func unchangedSQLiteFileReusesTheParentCopy(journalMode: String) throws {
        let scratch = Scratch()
        let repository = try scratch.repository()
        let path = scratch.sub("db.sqlite3")
        let database = try DatabaseQueue(path: path)
        try database.writeWithoutTransaction { db in
            _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = \(journalMode)")
            try db.execute(sql: "CREATE TABLE t (x); INSERT INTO t VALUES (1)")
        }
        let url = try DatabaseURL("sqlite://" + path)
        func backup() throws -> BackupResult { try Archiver(repository: repository).backup(BackupOptions(media: nil, database: url)) }
        usleep(1_100_000)
        let first = try backup()
        let second = try backup()
        #expect(first.summary.databaseDumpedIn == nil)
        #expect(second.summary.databaseDumpedIn == first.snapshot.id.hex)
        #expect(try repository.openSnapshot(second.snapshot).databaseTables() == repository.openSnapshot(first.snapshot).databaseTables())

        try database.write { try $0.execute(sql: "INSERT INTO t VALUES (2)") }
        let racy = try backup()
        #expect(racy.summary.databaseDumpedIn == nil)
        #expect(try repository.openSnapshot(racy.snapshot).databaseTables().first?.rows == 2)
        #expect(try backup().summary.databaseDumpedIn == nil, "a change under a second old leaves no marker: copied again")
        usleep(1_100_000)
        let settled = try backup()
        #expect(try backup().summary.databaseDumpedIn == settled.snapshot.id.hex)
        try database.close()
    }

    /// A writer process keeps committing transactions that insert one row into each of two
    /// tables while backups run: every copy must pass integrity_check with equal counts.
    @Test func backupUnderConcurrentWritesIsConsistent() throws {
        let scratch = Scratch()
        let repository = try scratch.repository()
        let path = scratch.sub("site/db.sqlite3")
        try FileManager.default.createDirectory(atPath: scratch.sub("site"), withIntermediateDirectories: true)
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        writer.arguments = ["python3", "-c", """
            import sqlite3, sys, time
            db = sqlite3.connect(sys.argv[1], isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, payload TEXT)")
            db.execute("CREATE TABLE IF NOT EXISTS order_lines (id INTEGER PRIMARY KEY, payload TEXT)")
            end = time.time() + 4
            while time.time() < end:
                db.execute("BEGIN IMMEDIATE")
                db.execute("INSERT INTO orders (payload) VALUES (?)", ("x" * 500,))
                db.execute("INSERT INTO order_lines (payload) VALUES (?)", ("y" * 500,))
                db.execute("COMMIT")
            """, path]
        try writer.run()
        defer { writer.terminate() }
        usleep(500_000)
        var snapshots: [Snapshot] = []
        for _ in 0..<3 {
            snapshots.append(try Archiver(repository: repository).backup(BackupOptions(media: nil, database: try DatabaseURL("sqlite://" + path))).snapshot)
            usleep(300_000)
        }
        writer.waitUntilExit()
        for (index, snapshot) in snapshots.enumerated() {
            let target = scratch.sub("restored\(index)/db.sqlite3")
            let result = try SiteRestorer(repository: repository).restore(snapshot, SiteRestoreOptions(database: try DatabaseURL("sqlite://" + target)))
            let counts = Dictionary(uniqueKeysWithValues: result.databaseTables.map { ($0.name, $0.rows) })
            #expect(counts["orders"] == counts["order_lines"])
            #expect((counts["orders"] ?? 0) > 0)
        }
        #expect(snapshots.first?.record.databaseFile == "database_db.sqlite3")
    }

    @Test func sqliteRestoreRefusesAnExistingDatabaseWithoutForce() throws {
        let scratch = Scratch()
        let repository = try scratch.repository()
        let path = scratch.sub("db.sqlite3")
        let database = try DatabaseQueue(path: path)
        try database.write { try $0.execute(sql: "CREATE TABLE t (x); INSERT INTO t VALUES (1)") }
        try database.close()
        let url = try DatabaseURL("sqlite://" + path)
        let snapshot = try Archiver(repository: repository).backup(BackupOptions(media: nil, database: url)).snapshot
        try DatabaseQueue(path: path).write { try $0.execute(sql: "INSERT INTO t VALUES (2)") }
        let refused = kuraError { _ = try SiteRestorer(repository: repository).restore(snapshot, SiteRestoreOptions(database: url)) }
        #expect(refused?.exitCode == 13)
        let result = try SiteRestorer(repository: repository).restore(snapshot, SiteRestoreOptions(database: url, force: true))
        #expect(result.databaseTables.first?.rows == 1)
        #expect(result.safetySnapshot?.record.tags == ["pre-restore"])
        #expect(try DatabaseQueue(path: path).read { try Int.fetchOne($0, sql: "SELECT count(*) FROM t") } == 1)
    }

    @Test func mediaRestoredInPlaceKeepsASafetySnapshot() throws {
        let scratch = Scratch()
        let repository = try scratch.repository()
        let media = scratch.sub("media")
        try write([1, 2, 3], to: media + "/receipts/a.pdf")
        let snapshot = try Archiver(repository: repository).backup(BackupOptions(media: media)).snapshot
        try write([9, 9], to: media + "/receipts/a.pdf")
        let options = SiteRestoreOptions(mediaTo: media)
        #expect(kuraError { _ = try SiteRestorer(repository: repository).restore(snapshot, options) }?.exitCode == 13)
        #expect(try read(media + "/receipts/a.pdf") == [9, 9])
        var forced = options
        forced.force = true
        let result = try SiteRestorer(repository: repository).restore(snapshot, forced)
        #expect(try read(media + "/receipts/a.pdf") == [1, 2, 3])
        #expect(result.media?.files == 1)
        // The replaced version is in the pre-restore snapshot.
        let safety = try #require(result.safetySnapshot)
        try restore(repository, safety, to: scratch.sub("undo"))
        #expect(try read(scratch.sub("undo/media/receipts/a.pdf")) == [9, 9])
    }

    @Test func databaseURLs() throws {
        #expect(try DatabaseURL("sqlite:///srv/site/db.sqlite3").path == "/srv/site/db.sqlite3")
        #expect(try DatabaseURL("sqlite:///srv/site/db.sqlite3").name == "db")
        #expect(try DatabaseURL("postgresql://u:pw@db.example:5433/site").name == "site")
        #expect(try DatabaseURL("postgresql://u:pw@db.example:5433/site").description == "postgresql://u@db.example:5433/site")
        #expect(kuraError { _ = try DatabaseURL("mysql://x/y") }?.exitCode == 1)
        #expect(kuraError { _ = try DatabaseURL("sqlite://relative.db") }?.exitCode == 1)
    }
}
