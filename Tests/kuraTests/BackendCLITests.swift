import Foundation
import Testing
import KuraTestSupport

/// The CLI's whole life cycle once per backend — a folder, S3 (SeaweedFS), an rclone remote —
/// as a nightly job and a restoring user run it: the same commands, the same results.
@Suite struct BackendCLITests {
    typealias Sandbox = CLISandbox

    static func json(_ run: Sandbox.Run) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], "\(run.stderr)")
    }

    static func summary(_ run: Sandbox.Run) throws -> [String: Any] {
        try #require(try json(run)["summary"] as? [String: Any])
    }

    @Test(arguments: TestBackend.available)
    func lifecycle(_ backend: TestBackend) throws {
        let scratch = try Sandbox()
        let box = try Sandbox(repository: backend.repository(in: scratch.root), environment: backend.environment)
        let database = try box.siteDatabase()
        try Sandbox.addFiles(box.media + "/2026/11", count: 6, seed: 16)
        #expect(try box.kura("init", "--pack-size", "1").status == 0)

        // First night, a night without change, a night with one new and one changed file.
        let first = try box.kura("backup", "--media", box.media, "--database", database, "--json")
        #expect(first.status == 0, "\(backend): \(first.stderr)")
        #expect(try Self.summary(first)["files_new"] as? Int == 9)
        // (The database, written a moment ago, is dumped again: a file this fresh cannot be trusted unchanged.)
        let still = try Self.summary(try box.kura("backup", "--media", box.media, "--database", database, "--json"))
        #expect(still["files_new"] as? Int == 0 && (still["files_unchanged"] as? Int ?? 0) >= 8, "\(backend): \(still)")
        try Data("new receipt".utf8).write(to: URL(fileURLWithPath: box.media + "/receipts/new.pdf"))
        try Data("photo, cropped".utf8).write(to: URL(fileURLWithPath: box.media + "/photo.jpg"))
        let night = try Self.summary(try box.kura("backup", "--media", box.media, "--database", database, "--json"))
        #expect(night["files_new"] as? Int == 1 && (1...2).contains(night["files_changed"] as? Int ?? 0), "\(backend): \(night)")
        let snapshots = try #require(try JSONSerialization.jsonObject(with: Data(try box.kura("snapshots", "--json").stdout.utf8)) as? [[String: Any]])
        #expect(snapshots.count == 3)

        // Browsing, one file, everything.
        #expect(try box.kura("cat", "latest", "media/receipts/reçu été.pdf").stdout == "reçu")
        #expect(try box.kura("find", "new.pdf").stdout.contains("media/receipts/new.pdf"))
        #expect(try box.kura("diff", try #require(snapshots[0]["id"] as? String), "latest").stdout.contains("media/receipts/new.pdf"))
        let one = try box.kura("restore", "latest", "--target", box.root + "/one", "--include", "media/receipts/new.pdf")
        #expect(one.status == 0, "\(backend): \(one.stderr)")
        #expect(try String(contentsOfFile: box.root + "/one/media/receipts/new.pdf", encoding: .utf8) == "new receipt")
        #expect(!FileManager.default.fileExists(atPath: box.root + "/one/media/photo.jpg"))
        let all = try box.kura("restore", "latest", "--target", box.root + "/all")
        #expect(all.status == 0, "\(backend): \(all.stderr)")
        for name in try FileManager.default.subpathsOfDirectory(atPath: box.media) {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: box.media + "/" + name, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            #expect(FileManager.default.contents(atPath: box.root + "/all/media/" + name) == FileManager.default.contents(atPath: box.media + "/" + name),
                    "\(backend): \(name)")
        }

        // The documented archive, read by GNU tar.
        #expect(try box.kura("export", "latest", "--output", box.root + "/exports").status == 0)
        let archive = try #require(try FileManager.default.contentsOfDirectory(atPath: box.root + "/exports").first { $0.hasSuffix(".tar.gz") })
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["-tzf", box.root + "/exports/" + archive]
        let listing = Pipe()
        tar.standardOutput = listing
        try tar.run()
        let names = String(decoding: listing.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        tar.waitUntilExit()
        #expect(tar.terminationStatus == 0 && names.contains("database_site.sqlite3") && names.contains("media/receipts/new.pdf"))

        // Checks, the restore test, retention with prune, and the repository still whole after.
        let read = try box.kura("verify", "--read-data")
        #expect(read.status == 0, "\(backend): \(read.stderr)")
        let restoreTest = try box.kura("verify", "--restore-test")
        #expect(restoreTest.status == 0, "\(backend): \(restoreTest.stderr)")
        let forget = try box.kura("forget", "--keep-last", "1", "--prune")
        #expect(forget.status == 0, "\(backend): \(forget.stderr)")
        let after = try box.kura("verify", "--read-data", "--json")
        #expect(after.status == 0, "\(backend): \(after.stderr)")
        #expect(try box.kura("cat", "latest", "media/photo.jpg").stdout == "photo, cropped")
        #expect(try box.kura("unlock").status == 0)
    }

    /// What a user gets for a repository that is not there, per backend: exit 10, one line.
    @Test(arguments: TestBackend.available)
    func missingRepositoryIsExitTen(_ backend: TestBackend) throws {
        let scratch = try Sandbox()
        let box = try Sandbox(repository: backend.repository(in: scratch.root), environment: backend.environment)
        let missing = try box.kura("snapshots")
        #expect(missing.status == 10, "\(backend): \(missing.stderr)")
        #expect(missing.stderr.split(separator: "\n").count == 1 && missing.stderr.contains("kura init --repo"))
    }
}
