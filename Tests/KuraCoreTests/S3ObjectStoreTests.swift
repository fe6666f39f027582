import Foundation
import Testing
@testable import KuraCore
import KuraTestSupport

/// The S3 store's own behaviour beyond the conformance suite: credentials as the AWS tools read
/// them, and one clear typed error for each way a server or a network can say no.
@Suite struct S3ObjectStoreTests {
    @Test func credentialsComeFromTheEnvironmentThenTheProfileFile() throws {
        let scratch = Scratch()
        #expect(S3Credentials.fromEnvironment(["AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s3cr3t", "AWS_SESSION_TOKEN": "tok"])
            .map { [$0.accessKeyID, $0.secretAccessKey, $0.sessionToken ?? ""] } == ["AKID", "s3cr3t", "tok"])
        try write(Array("""
            [default]
            aws_access_key_id = DEFAULTID
            aws_secret_access_key = defaultsecret
            [backup]
            aws_access_key_id=BACKUPID
            aws_secret_access_key=backupsecret
            """.utf8), to: scratch.sub("credentials"))
        let file = ["AWS_SHARED_CREDENTIALS_FILE": scratch.sub("credentials")]
        #expect(S3Credentials.fromEnvironment(file)?.accessKeyID == "DEFAULTID")
        #expect(S3Credentials.fromEnvironment(file.merging(["AWS_PROFILE": "backup"]) { $1 })?.secretAccessKey == "backupsecret")
        #expect(S3Credentials.fromEnvironment(file.merging(["AWS_PROFILE": "missing"]) { $1 }) == nil)
        #expect(S3Credentials.fromEnvironment(["HOME": scratch.sub("nowhere")]) == nil)
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["KURA_TEST_S3"] != nil, "KURA_TEST_S3 is not set: run tools/test, which starts SeaweedFS"))
    func eachRefusalIsOneTypedLine() throws {
        let environment = ProcessInfo.processInfo.environment
        let endpoint = try #require(environment["KURA_TEST_S3"].flatMap(URL.init(string:)))
        let bucket = try #require(environment["KURA_TEST_S3_BUCKET"])
        let good = S3Credentials(accessKeyID: try #require(environment["KURA_TEST_S3_ADMIN_KEY"]),
                                 secretAccessKey: try #require(environment["KURA_TEST_S3_ADMIN_SECRET"]))
        func store(bucket: String = bucket, endpoint: URL = endpoint, credentials: S3Credentials = good) -> S3ObjectStore {
            S3ObjectStore(S3Location(endpoint: endpoint, bucket: bucket, prefix: "refusals", region: "us-east-1"), credentials: credentials,
                          retry: RetryPolicy(attempts: 2, baseDelay: 0.01, maxDelay: 0.01))
        }
        // Wrong secret: 403, the line says to check the credentials.
        let wrong = kuraError { try store(credentials: S3Credentials(accessKeyID: good.accessKeyID, secretAccessKey: "wrong")).write([1], as: "index/x") }
        guard case .storage(_, "index/x", 403, _)? = wrong else { Issue.record("wrong secret: \(String(describing: wrong))"); return }
        #expect(wrong?.description.contains("check the credentials") == true)
        // A bucket that does not exist: 404 NoSuchBucket (a listing; SeaweedFS creates a bucket on
        // an admin's first PUT).
        let missing = kuraError { _ = try store(bucket: "no-such-bucket-kura").list("index") }
        guard case .storage(_, _, 404, "NoSuchBucket")? = missing else { Issue.record("missing bucket: \(String(describing: missing))"); return }
        // Nobody listening: unreachable, exit 1, no status.
        let closed = kuraError { _ = try store(endpoint: URL(string: "http://127.0.0.1:1")!).size(of: "config") }
        guard case .storageUnreachable? = closed else { Issue.record("closed port: \(String(describing: closed))"); return }
        #expect(closed?.exitCode == 1)
        // TLS spoken to a plain-HTTP server: a TLS error, not retried, one line.
        let tlsEndpoint = try #require(URL(string: endpoint.absoluteString.replacingOccurrences(of: "http://", with: "https://")))
        let started = Date()
        let tls = kuraError { _ = try store(endpoint: tlsEndpoint).size(of: "config") }
        guard case .storageUnreachable(_, let reason)? = tls else { Issue.record("TLS: \(String(describing: tls))"); return }
        #expect(reason.lowercased().contains("ssl") || reason.lowercased().contains("tls"), "\(reason)")
        #expect(Date().timeIntervalSince(started) < 5)
    }
}
