import Foundation
import Testing
@testable import KuraCore
import KuraTestSupport

/// The conformance suite every `ObjectStore` passes (docs/DESIGN.md, "Storage"): the offsite
/// backends add themselves to `stores`.
@Suite struct ObjectStoreTests {
    /// A fresh, empty store of each kind, with its scratch folder (kept alive by the caller).
    static func stores(_ scratch: Scratch) throws -> [ObjectStore] {
        let root = scratch.sub("local")
        for folder in ["tmp", "index", "data/ab"] { try FileManager.default.createDirectory(atPath: root + "/" + folder, withIntermediateDirectories: true) }
        var stores: [ObjectStore] = [LocalObjectStore(root: root)]
        if let s3 = s3(prefix: "conformance/" + UUID().uuidString) { stores.append(s3) }
        for kind in [TestBackend.rclone, .sftp] where kind.isAvailable {
            let environment = ProcessInfo.processInfo.environment.merging(kind.environment) { $1 }
            stores.append(try RcloneObjectStore(remote: kind.rcloneRemote(in: scratch.path), environment: environment,
                                                retry: RetryPolicy(attempts: 2, baseDelay: 0.01, maxDelay: 0.01)))
        }
        return stores
    }

    /// A store on the SeaweedFS server tools/test starts (admin credentials), under `prefix`.
    static func s3(prefix: String) -> S3ObjectStore? {
        let environment = ProcessInfo.processInfo.environment
        guard let endpoint = environment["KURA_TEST_S3"].flatMap(URL.init(string:)), let bucket = environment["KURA_TEST_S3_BUCKET"],
              let key = environment["KURA_TEST_S3_ADMIN_KEY"], let secret = environment["KURA_TEST_S3_ADMIN_SECRET"] else { return nil }
        return S3ObjectStore(S3Location(endpoint: endpoint, bucket: bucket, prefix: prefix, region: "us-east-1"),
                             credentials: S3Credentials(accessKeyID: key, secretAccessKey: secret))
    }

    @Test func writeListReadAndDelete() throws {
        let scratch = Scratch()
        let stores = try Self.stores(scratch)
        // With the server of tools/test running and rclone installed, every backend is in the suite.
        #expect(stores.count == TestBackend.available.count)
        for store in stores {
            let bytes = randomBytes(100_000, seed: 1)
            try store.write(bytes, as: "index/one")
            try store.write([1, 2, 3], as: "index/two")
            #expect(try store.list("index") == ["one", "two"], "\(store.location)")
            #expect(try store.list("nothing-here") == [])
            #expect(try store.size(of: "index/one") == 100_000)
            #expect(try store.size(of: "index/missing") == nil)
            #expect(try store.read("index/one", limit: 1 << 20) == bytes)
            var range = [UInt8](repeating: 0, count: 1000)
            try range.withUnsafeMutableBytes { try store.read("index/one", at: 5000, into: $0) }
            #expect(range == Array(bytes[5000..<6000]))
            try store.delete(["index/one", "index/never-there"])
            #expect(try store.list("index") == ["two"])
        }
    }

    @Test func refusalsAreTyped() throws {
        let scratch = Scratch()
        for store in try Self.stores(scratch) {
            try store.write(randomBytes(2000, seed: 2), as: "index/small")
            // Larger than the limit: an integrity error, nothing allocated for the claim.
            guard case .integrity(.fileTooLarge) = kuraError({ _ = try store.read("index/small", limit: 1000) }) else {
                Issue.record("read beyond the limit was not refused as too large"); continue
            }
            // A range past the end: the object is truncated.
            var buffer = [UInt8](repeating: 0, count: 100)
            let past = kuraError { try buffer.withUnsafeMutableBytes { try store.read("index/small", at: 1950, into: $0) } }
            guard case .integrity(.fileTruncated) = past else { Issue.record("read past the end: \(String(describing: past))"); continue }
            // A missing object: ENOENT, which callers turn into "pack missing".
            let missing = kuraError { try buffer.withUnsafeMutableBytes { try store.read("data/ab/missing", at: 0, into: $0) } }
            guard case .io(_, _, ENOENT) = missing else { Issue.record("missing object: \(String(describing: missing))"); continue }
        }
    }

    @Test func publishMovesACompleteFileInAndConcurrentReadsAgree() throws {
        let scratch = Scratch()
        for store in try Self.stores(scratch) {
            // Over 1 MiB: curl sends "Expect: 100-continue", which the signature must survive.
            let bytes = randomBytes(3 << 20, seed: 3)
            let temporary = scratch.sub("local/tmp/pack-x")
            try write(bytes, to: temporary)
            try store.publish(file: temporary, as: "data/ab/pack")
            #expect(!FileManager.default.fileExists(atPath: temporary))
            let mismatches = ManagedCounter()
            DispatchQueue.concurrentPerform(iterations: 64) { index in
                var part = [UInt8](repeating: 0, count: 4096)
                let offset = index * 48_000
                try? part.withUnsafeMutableBytes { try store.read("data/ab/pack", at: Int64(offset), into: $0) }
                if part != Array(bytes[offset..<(offset + 4096)]) { mismatches.increment() }
            }
            #expect(mismatches.value == 0)
        }
    }
}

/// A counter several threads add to.
final class ManagedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func increment() { lock.withLock { count += 1 } }
}
