import Foundation
import Testing
import KuraTestSupport

/// `kura verify --restore-test` as cron runs it, against the throwaway server of `tools/test`.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["KURA_TEST_POSTGRES"] != nil,
                "KURA_TEST_POSTGRES is not set: PostgreSQL tests SKIPPED — run tools/test"), .serialized)
struct RestoreTestCLITests {
    typealias Sandbox = CLISandbox
    static let server = TestServer.url ?? ""

    static func psql(_ sql: String, database: String = "postgres") -> String {
        TestServer.psql(sql, database: database)
    }

    /// This test's scratch databases (the library tests may run theirs meanwhile: other snapshots).
    static func scratchDatabases(_ snapshot: String) -> [String] {
        psql("SELECT datname FROM pg_database WHERE datname = 'kura_restoretest_\(snapshot.prefix(8))'").split(separator: "\n").map(String.init)
    }

    @Test func killedRestoreTestLeavesAtMostAScratchDatabaseThatTheNextRunDrops() throws {
        let box = try Sandbox()
        _ = Self.psql("DROP DATABASE IF EXISTS kt_cli_rt")
        _ = Self.psql("CREATE DATABASE kt_cli_rt")
        _ = Self.psql("CREATE TABLE payment (id serial PRIMARY KEY, amount int); INSERT INTO payment (amount) SELECT g FROM generate_series(1, 2000) g",
                      database: "kt_cli_rt")
        let url = Self.server.replacingOccurrences(of: "/postgres?", with: "/kt_cli_rt?")
        #expect(try box.kura("init").status == 0)
        #expect(try box.kura("backup", "--media", box.media, "--database", url).status == 0)
        let snapshots = try JSONSerialization.jsonObject(with: Data(try box.kura("snapshots", "--json").stdout.utf8)) as? [[String: Any]]
        let snapshot = try #require(snapshots?.first?["id"] as? String)
        try "SELECT count(*) = 2000 FROM payment\n".write(toFile: box.root + "/checks.sql", atomically: true, encoding: .utf8)

        var killedWithScratch = false
        for step in 1...10 {
            let run = try box.run(["verify", "--restore-test", "--check-sql", box.root + "/checks.sql", "--json"],
                                  environment: ["KURA_TEST_KILL_AT": String(step)])
            if run.status == 0 {
                let record = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
                #expect(record?["ok"] as? Bool == true)
                break
            }
            #expect(run.status == 9 || run.status == 137, "step \(step): \(run.status) \(run.stderr)")
            let left = Self.scratchDatabases(snapshot)
            #expect(left.count <= 1, "at most one scratch database: \(left)")
            if left.count == 1 {
                killedWithScratch = true
                let next = try box.kura("verify", "--restore-test", "--json")
                #expect(next.status == 0, "\(next.stderr)")
                #expect(next.stdout.contains("dropped \(left[0]), left by an interrupted restore test"))
                #expect(Self.scratchDatabases(snapshot).isEmpty)
            }
        }
        #expect(killedWithScratch, "one kill point lies between the scratch database's creation and its drop")
        #expect(Self.scratchDatabases(snapshot).isEmpty)
        let listing = try box.kura("snapshots", "--json")
        #expect(listing.stdout.contains("\"restore_test\""))
        let table = try box.kura("snapshots")
        #expect(table.stdout.contains(" ok 20"), "\(table.stdout)")

        // A failing assertion: exit 12, recorded as FAILED.
        try "SELECT count(*) = 1 FROM payment\n".write(toFile: box.root + "/bad.sql", atomically: true, encoding: .utf8)
        let failing = try box.kura("verify", "--restore-test", "latest", "--check-sql", box.root + "/bad.sql")
        #expect(failing.status == 12)
        #expect(failing.stdout.contains("FAIL check-sql line 1: SELECT count(*) = 1 FROM payment → f"), "\(failing.stdout)")
        #expect(try box.kura("snapshots").stdout.contains("FAILED 20"))
    }
}
