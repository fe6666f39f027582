import Foundation
import Testing
import KuraTestSupport

/// The web server's credentials cannot destroy its own history (README, "Append-only offsite
/// copies"): on SeaweedFS, a bucket whose policy denies the site identity s3:DeleteObject, and a
/// bucket with Object Lock (COMPLIANCE default retention).
@Suite(.enabled(if: TestBackend.s3.isAvailable, "KURA_TEST_S3 is not set: run tools/test, which starts SeaweedFS"))
struct AppendOnlyTests {
    typealias Sandbox = CLISandbox

    /// A new repository in the bucket named by `variable`, made with the admin's keys: its URL,
    /// the bucket, a sandbox that runs as the admin, and the site identity's keys.
    static func repository(bucket variable: String) throws -> (url: String, bucket: String, admin: Sandbox, site: [String: String]) {
        let environment = ProcessInfo.processInfo.environment
        let bucket = try #require(environment[variable])
        let url = "s3:\(environment["KURA_TEST_S3"] ?? "")/\(bucket)/site-\(UUID().uuidString.prefix(8))"
        let admin = try Sandbox(repository: url, environment: TestBackend.s3Credentials("ADMIN"))
        #expect(try admin.kura("init").status == 0)
        return (url, bucket, admin, TestBackend.s3Credentials("SITE"))
    }

    /// `aws s3api …` against the test server as `identity`; its status and standard output.
    static func aws(_ identity: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["aws", "--endpoint-url", ProcessInfo.processInfo.environment["KURA_TEST_S3"] ?? "", "s3api"] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(TestBackend.s3Credentials(identity)) { $1 }
            .merging(["AWS_DEFAULT_REGION": "us-east-1"]) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static func key(of repository: String, _ object: String) -> String {
        String(repository.split(separator: "/").last ?? "") + "/" + object
    }

    @Test func siteCredentialsBackUpButCannotDelete() throws {
        let (repository, bucket, admin, site) = try Self.repository(bucket: "KURA_TEST_S3_APPEND_BUCKET")
        for night in 1...2 {
            try Data("receipt \(night)".utf8).write(to: URL(fileURLWithPath: admin.media + "/receipts/night\(night).pdf"))
            let backup = try admin.run(["backup", "--media", admin.media], environment: site)
            #expect(backup.status == 0, "night \(night): \(backup.stderr)")
        }
        // The site's locks could not be deleted: they were left released, and hold nothing.
        let listed = try admin.run(["snapshots", "--json"], environment: site).stdout
        let snapshots = try #require(try JSONSerialization.jsonObject(with: Data(listed.utf8)) as? [[String: Any]])
        let snapshot = try #require(snapshots.first?["id"] as? String)
        // A delete by the site's keys is refused by the server, and Kura says so in one line.
        let denied = try Self.aws("SITE", ["delete-object", "--bucket", bucket, "--key", Self.key(of: repository, "snapshots/" + snapshot)])
        #expect(denied.status != 0)
        let forget = try admin.run(["forget", "--keep-last", "1", "--prune"], environment: site)
        #expect(forget.status == 1, "\(forget.stderr)")
        #expect(forget.stderr.contains("HTTP 403") && forget.stderr.split(separator: "\n").count == 1, "\(forget.stderr)")
        // Nothing was lost, the next backup works, and the trusted host's prune does its job.
        let after = try admin.run(["snapshots", "--json"], environment: site).stdout
        #expect((try JSONSerialization.jsonObject(with: Data(after.utf8)) as? [[String: Any]])?.count == 2)
        #expect(try admin.run(["backup", "--media", admin.media], environment: site).status == 0)
        let prune = try admin.kura("forget", "--keep-last", "1", "--prune")
        #expect(prune.status == 0, "\(prune.stderr)")
        #expect(try admin.kura("verify", "--read-data").status == 0)
        #expect(try admin.kura("cat", "latest", "media/receipts/night2.pdf").stdout == "receipt 2")
    }

    @Test func anOverwrittenPackIsDetectedAndItsLockedVersionRestoresTheSnapshot() throws {
        let (repository, bucket, admin, site) = try Self.repository(bucket: "KURA_TEST_S3_LOCKED_BUCKET")
        #expect(try admin.run(["backup", "--media", admin.media], environment: site).status == 0)
        // The compromised site overwrites every pack with garbage: with Object Lock that only adds versions.
        let listing = try Self.aws("ADMIN", ["list-objects-v2", "--bucket", bucket, "--prefix", Self.key(of: repository, "data/"),
                                             "--query", "Contents[].Key", "--output", "text"])
        let packs = listing.output.split(whereSeparator: \.isWhitespace).map(String.init)
        #expect(!packs.isEmpty)
        try Data("ransom".utf8).write(to: URL(fileURLWithPath: admin.root + "/garbage"))
        for pack in packs {
            #expect(try Self.aws("SITE", ["put-object", "--bucket", bucket, "--key", pack, "--body", admin.root + "/garbage"]).status == 0)
        }
        let check = try admin.kura("verify", "--read-data")
        #expect(check.status == 12, "\(check.stdout)\(check.stderr)")
        // The trusted host puts the oldest (locked) version back, as README says, and all is well.
        for pack in packs {
            // The version the garbage replaced: not the latest (LastModified has whole seconds, and
            // the overwrite can come within the second of the backup).
            let versions = try Self.aws("ADMIN", ["list-object-versions", "--bucket", bucket, "--prefix", pack,
                                                  "--query", "Versions[?Key=='\(pack)' && !IsLatest].VersionId", "--output", "text"])
            let oldest = try #require(versions.output.split(whereSeparator: \.isWhitespace).first.map(String.init))
            #expect(try Self.aws("ADMIN", ["copy-object", "--bucket", bucket, "--key", pack,
                                           "--copy-source", "\(bucket)/\(pack)?versionId=\(oldest)"]).status == 0)
        }
        let again = try admin.kura("verify", "--read-data")
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
        #expect(try admin.kura("cat", "latest", "media/receipts/reçu été.pdf").stdout == "reçu")
        // Prune on a locked bucket: its deletes only add delete markers (the locked versions stay
        // until their retention ends); it completes, and the repository stays whole.
        try Data("night 2".utf8).write(to: URL(fileURLWithPath: admin.media + "/photo.jpg"))
        #expect(try admin.run(["backup", "--media", admin.media], environment: site).status == 0)
        let prune = try admin.kura("forget", "--keep-last", "1", "--prune")
        #expect(prune.status == 0, "\(prune.stderr)")
        #expect(try admin.kura("verify", "--read-data").status == 0)
        #expect(try admin.kura("cat", "latest", "media/photo.jpg").stdout == "night 2")
    }
}
