import Foundation
import GRDB
import Testing
@testable import KuraCore
import KuraTestSupport

/// Damages the (single-chunk or first) chunk of `path` in `snapshot` by flipping one byte in its pack.
func damageFirstChunk(of path: String, in snapshot: Snapshot, _ repository: Repository) throws {
    let entry = try #require(try repository.openSnapshot(snapshot).entry(path))
    let location = try #require(try repository.index().locations([entry.chunks[0]])[entry.chunks[0]])
    let packPath = repository.layout.pack(location.pack)
    var bytes = try read(packPath)
    bytes[Int(location.entry.offset) + Int(location.entry.storedLength) / 2] ^= 0x40
    try Data(bytes).write(to: URL(fileURLWithPath: packPath))
}

/// Changes a recorded row count in the locally cached snapshot database (what verification reads).
func tamperRecordedCount(of table: String, in snapshot: Snapshot, _ repository: Repository) throws {
    let database = try DatabaseQueue(path: try repository.snapshotDatabasePath(snapshot))
    try database.write { try $0.execute(sql: "UPDATE database_tables SET row_count = row_count + 1 WHERE name = ?", arguments: [table]) }
}

func checkNamed(_ record: VerificationRecord, _ name: String) -> RestoreTestCheck? {
    record.checks.first { $0.name == name }
}

@Suite(.enabled(if: TestServer.available, "KURA_TEST_POSTGRES is not set: PostgreSQL tests SKIPPED — run tools/test, which starts a server"),
       .serialized)
struct PostgresRestoreTestTests {
    /// Whether the scratch database of `snapshot` exists (other suites may run their own meanwhile).
    func scratchExists(_ snapshot: Snapshot) throws -> Bool {
        !(try TestServer.connect("postgres").query("SELECT 1 FROM pg_database WHERE datname = 'kura_restoretest_\(snapshot.id.short)'")).isEmpty
    }

    func backedUp(_ name: String) throws -> (Scratch, Repository, Snapshot) {
        let scratch = Scratch()
        let repository = try scratch.repository()
        try TestServer.loadSite(name)
        try write(randomBytes(300_000, seed: 5), to: scratch.sub("media/photos/a.jpg"))
        let snapshot = try Archiver(repository: repository).backup(
            BackupOptions(media: scratch.sub("media"), database: try TestServer.database(name))).snapshot
        return (scratch, repository, snapshot)
    }

    @Test func goodSnapshotPassesAndIsRecorded() throws {
        let (scratch, repository, snapshot) = try backedUp("kt_rt_good")
        defer { withExtendedLifetime(scratch) {} }
        let checks = ["SELECT count(*) = 5000 FROM school_payment", "", "-- a comment",
                      "SELECT count(*) > 0 FROM school_payment WHERE paid_on > date '2025-06-01'"]
        let record = try RestoreTester(repository: repository).test(snapshot, RestoreTestOptions(checkSQL: checks, mediaSample: 1))
        #expect(record.ok, "\(record.checks)")
        #expect(checkNamed(record, "database restore")?.detail.contains("kura_restoretest_\(snapshot.id.short)") == true)
        #expect(checkNamed(record, "row counts")?.figures["tables"] == 4)
        #expect(checkNamed(record, "row counts")?.figures["rows"] == 10_000)
        #expect(record.checks.filter { $0.name.hasPrefix("check-sql") }.map(\.name) == ["check-sql line 1", "check-sql line 4"])
        #expect(checkNamed(record, "media sample")?.figures["sampled"] == 1)
        #expect(try !scratchExists(snapshot), "the scratch database is dropped")
        try repository.writeVerification(record)
        #expect(try repository.latestVerifications()[snapshot.id.hex]?.ok == true)
    }

    @Test func damagedDumpFailsAndLeavesNoScratchDatabase() throws {
        let (scratch, repository, snapshot) = try backedUp("kt_rt_damaged")
        defer { withExtendedLifetime(scratch) {} }
        try damageFirstChunk(of: "database_kt_rt_damaged.sql", in: snapshot, repository)
        let record = try RestoreTester(repository: repository).test(snapshot, RestoreTestOptions())
        #expect(!record.ok)
        #expect(checkNamed(record, "database restore")?.ok == false)
        #expect(checkNamed(record, "database restore")?.detail.contains("damaged") == true)
        #expect(try !scratchExists(snapshot))
    }

    @Test func tamperedCountsAndFailingAssertionsAreNamed() throws {
        let (scratch, repository, snapshot) = try backedUp("kt_rt_tampered")
        defer { withExtendedLifetime(scratch) {} }
        try tamperRecordedCount(of: "school_payment", in: snapshot, repository)
        let record = try RestoreTester(repository: repository).test(snapshot, RestoreTestOptions(
            checkSQL: ["SELECT true", "SELECT count(*) > 1000000 FROM audit_log", "SELECT nonsense FROM nowhere"]))
        #expect(!record.ok)
        #expect(checkNamed(record, "row counts")?.detail == "public.school_payment: 5000 rows, 5001 at backup")
        #expect(checkNamed(record, "check-sql line 1")?.ok == true)
        #expect(checkNamed(record, "check-sql line 2")?.ok == false)
        #expect(checkNamed(record, "check-sql line 3")?.detail.contains("error") == true)
        #expect(try !scratchExists(snapshot))
    }

    @Test func forgetKeepsTheRecordsOfKeptSnapshotsOnly() throws {
        let (scratch, repository, first) = try backedUp("kt_rt_forget")
        defer { withExtendedLifetime(scratch) {} }
        let second = try Archiver(repository: repository).backup(
            BackupOptions(media: scratch.sub("media"), database: try TestServer.database("kt_rt_forget"))).snapshot
        for snapshot in [first, second] {
            try repository.writeVerification(try RestoreTester(repository: repository).test(snapshot, RestoreTestOptions(mediaSample: 0)))
        }
        #expect(try repository.verifications().count == 2)
        try repository.forget([first])
        #expect(try repository.verifications().map(\.record.snapshot) == [second.id.hex])
    }
}

@Suite struct SQLiteRestoreTestTests {
    func site() throws -> (Scratch, Repository, Snapshot) {
        let scratch = Scratch()
        let repository = try scratch.repository()
        let (path, database) = try scratch.siteDatabase()
        try database.write { db in
            try db.execute(sql: """
                CREATE TABLE student (id INTEGER PRIMARY KEY, name TEXT);
                CREATE TABLE payment (id INTEGER PRIMARY KEY, student_id INTEGER REFERENCES student(id), amount INTEGER);
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) INSERT INTO student (name) SELECT 's' || i FROM n;
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 900) INSERT INTO payment (student_id, amount) SELECT i % 200 + 1, i FROM n;
                """)
        }
        try database.close()
        for index in 0..<30 { try write(randomBytes(20_000 + index, seed: UInt64(index)), to: scratch.sub("site/media/p\(index).jpg")) }
        let snapshot = try Archiver(repository: repository).backup(
            BackupOptions(media: scratch.sub("site/media"), database: try DatabaseURL("sqlite://" + path))).snapshot
        return (scratch, repository, snapshot)
    }

    @Test func passesAndFailsAsPostgreSQLDoes() throws {
        let (scratch, repository, snapshot) = try site()
        defer { withExtendedLifetime(scratch) {} }
        let tester = RestoreTester(repository: repository)
        let good = try tester.test(snapshot, RestoreTestOptions(checkSQL: ["SELECT count(*) = 900 FROM payment"], mediaSample: 1))
        #expect(good.ok, "\(good.checks)")
        #expect(good.checks.map(\.name) == ["database restore", "row counts", "foreign_key_check", "check-sql line 1", "media sample"])
        #expect(checkNamed(good, "media sample")?.figures["sampled"] == 30)

        try tamperRecordedCount(of: "payment", in: snapshot, repository)
        let tampered = try tester.test(snapshot, RestoreTestOptions(checkSQL: ["SELECT count(*) = 901 FROM payment"], mediaSample: 0))
        #expect(checkNamed(tampered, "row counts")?.detail == "payment: 900 rows, 901 at backup")
        #expect(checkNamed(tampered, "check-sql line 1")?.ok == false)

        try damageFirstChunk(of: "database_db.sqlite3", in: snapshot, repository)
        let damaged = try tester.test(snapshot, RestoreTestOptions(mediaSample: 0))
        #expect(checkNamed(damaged, "database restore")?.ok == false && !damaged.ok)
    }

    @Test func mediaChangedInPlaceWithItsMtimeIsReported() throws {
        let (scratch, repository, snapshot) = try site()
        defer { withExtendedLifetime(scratch) {} }
        let live = scratch.sub("site/media")
        // Bit rot: one byte of p7.jpg changes, size and mtime stay. p8.jpg is legitimately edited (new mtime).
        var info = stat()
        stat(live + "/p7.jpg", &info)
        var bytes = try read(live + "/p7.jpg")
        bytes[1000] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: live + "/p7.jpg"))
        setMtime(live + "/p7.jpg", seconds: Int(info.st_mtim.tv_sec), nanoseconds: Int(info.st_mtim.tv_nsec))
        try Data("edited".utf8).write(to: URL(fileURLWithPath: live + "/p8.jpg"))
        let record = try RestoreTester(repository: repository).test(snapshot, RestoreTestOptions(mediaSample: 1, liveMedia: live))
        let check = try #require(checkNamed(record, "live media"))
        #expect(!check.ok && !record.ok)
        #expect(check.detail.hasSuffix("(bit rot or tampering): media/p7.jpg"), "\(check.detail)")
        #expect(check.figures["compared"] == 29)
        #expect(checkNamed(record, "media sample")?.ok == true)
    }

    @Test func sampleIsDeterministicAndNested() {
        let paths = (0..<4000).map { "media/receipts/r\($0).pdf" }
        let five = paths.filter { RestoreTester.inSample($0, share: 0.05) }
        let twenty = Set(paths.filter { RestoreTester.inSample($0, share: 0.20) })
        #expect((150...250).contains(five.count))
        #expect(five.allSatisfy(twenty.contains))
        #expect(paths.filter { RestoreTester.inSample($0, share: 0.05) } == five)
    }
}
