import Foundation
import Testing
@testable import KuraCore
import KuraTestSupport

/// `--repo` values, the retry schedule, and which chunks one ranged read fetches: the small
/// decisions of the offsite backends, without a server.
@Suite struct RepositoryLocationTests {
    @Test func repositoryURLsParseAsAResticUserWouldWriteThem() throws {
        #expect(try RepositoryLocation(parsing: "/var/backups/kura", environment: [:]) == .local(path: "/var/backups/kura"))
        guard case .s3(let custom) = try RepositoryLocation(parsing: "s3:https://s3.example.net:9000/site-backups/web1/kura/", environment: [:]) else {
            Issue.record("not S3"); return
        }
        #expect(custom.endpoint.absoluteString == "https://s3.example.net:9000")
        #expect(custom.bucket == "site-backups" && custom.prefix == "web1/kura" && custom.region == "us-east-1" && !custom.virtualHost)
        #expect(custom.description == "s3:https://s3.example.net:9000/site-backups/web1/kura")
        guard case .s3(let aws) = try RepositoryLocation(parsing: "s3:site-backups/web1",
                                                         environment: ["AWS_DEFAULT_REGION": "eu-west-3", "KURA_S3_VIRTUAL_HOST": "1"]) else {
            Issue.record("not S3"); return
        }
        #expect(aws.endpoint.absoluteString == "https://s3.eu-west-3.amazonaws.com" && aws.region == "eu-west-3" && aws.virtualHost)
        #expect(try RepositoryLocation(parsing: "rclone:onedrive:Backups/site", environment: [:]) == .rclone(remote: "onedrive:Backups/site"))
        #expect(try RepositoryLocation(parsing: "rclone::local:/srv/copy", environment: [:]) == .rclone(remote: ":local:/srv/copy"))
        // Refused with one line each: no bucket, a bad bucket name, credentials in the URL, '..', no remote.
        for bad in ["s3:", "s3:https://host/", "s3:https://host/Bad_Bucket", "s3:https://key:secret@host/bucket",
                    "s3:https://host/bucket/../other", "rclone:nocolon", "rclone:-flag:x"] {
            guard case .invalidArgument? = kuraError({ _ = try RepositoryLocation(parsing: bad, environment: [:]) }) else {
                Issue.record("\(bad) was accepted"); continue
            }
        }
        // No credentials anywhere: one line naming the variables, before any request.
        let store = kuraError { _ = try RepositoryLocation(parsing: "s3:https://host/bucket", environment: ["HOME": "/nonexistent"]).makeStore(environment: ["HOME": "/nonexistent"]) }
        guard case .missingCredentials? = store else { Issue.record("\(String(describing: store))"); return }
        #expect(store?.description.contains("AWS_ACCESS_KEY_ID") == true)
    }

    @Test func retriesBackOffWithJitterUnderACeiling() {
        let policy = RetryPolicy(attempts: 8, baseDelay: 0.25, maxDelay: 8)
        var random = SeededGenerator(seed: 5)
        for attempt in 0..<12 {
            let ceiling = min(8, 0.25 * pow(2, Double(attempt)))
            let delays = (0..<50).map { _ in policy.delay(after: attempt, using: &random) }
            #expect(delays.allSatisfy { $0 >= 0 && $0 <= ceiling })
            #expect(delays.max() ?? 0 > ceiling / 2, "jitter spreads over the whole range")
        }
        #expect(RetryPolicy.isTransient(status: 503) && RetryPolicy.isTransient(status: 429) && RetryPolicy.isTransient(status: 500))
        #expect(!RetryPolicy.isTransient(status: 403) && !RetryPolicy.isTransient(status: 404) && !RetryPolicy.isTransient(status: 501))
        #expect(RetryPolicy.isTransient(curlCode: 7) && RetryPolicy.isTransient(curlCode: 56) && !RetryPolicy.isTransient(curlCode: 60))
        #expect(RetryPolicy(attempts: 1, baseDelay: 1, maxDelay: 1).pauseBeforeRetry(after: 0) == false)
    }

    @Test func oneReadFetchesNeighbouringChunksOfOnePack() {
        let pack = ChunkID(bytes: [UInt8](repeating: 1, count: 32))!, other = ChunkID(bytes: [UInt8](repeating: 2, count: 32))!
        func at(_ offset: UInt64, _ length: UInt32, in id: ChunkID = pack) -> ChunkLocation {
            ChunkLocation(pack: id, entry: PackEntry(chunk: ChunkID(bytes: [UInt8](repeating: UInt8(offset % 251), count: 32))!,
                                                     offset: offset, storedLength: length, plainLength: length, codec: .raw))
        }
        /// How many of `locations`, from the first, one read takes.
        func taken(_ locations: [ChunkLocation]) -> Int {
            var span = ChunkReader.Span()
            return locations.prefix { span.append($0) }.count
        }
        // Back to back, then a small gap: one read; a big gap, another pack, or going backwards: a new one.
        #expect(taken([at(16, 100), at(116, 100), at(216 + 1000, 50), at(5_000_000, 10)]) == 3)
        #expect(taken([at(16, 100), at(116, 100, in: other)]) == 1)
        #expect(taken([at(1000, 100), at(16, 100)]) == 1)
        // Never more than maxSpan in one read.
        let big = (0..<10).map { at(16 + UInt64($0) * (2 << 20), 2 << 20) }
        #expect(taken(big) == 4)
        #expect(taken([]) == 0)
    }
}
