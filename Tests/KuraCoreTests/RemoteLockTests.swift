import Foundation
import Testing
@testable import KuraCore
import KuraTestSupport

/// Locks as objects (`RemoteLocks`), on every backend of the conformance suite: who excludes
/// whom, what is stale, and what a holder without delete rights leaves behind.
@Suite struct RemoteLockTests {
    static func writeLock(_ info: LockInfo, as name: String, in store: ObjectStore) throws {
        try store.write(try [UInt8](JSONEncoder.kura.encode(info)), as: "locks/" + name)
    }

    static func minutesAgo(_ minutes: Double) -> String {
        let time = Date().timeIntervalSince1970 - minutes * 60
        return Timestamp.format(seconds: Int(time), nanoseconds: 0)
    }

    @Test func sharedLocksCoexistAndAnExclusiveOneExcludesEveryOther() throws {
        let scratch = Scratch()
        for store in try ObjectStoreTests.stores(scratch) {
            let first = try RemoteLocks.acquire(in: store, exclusive: false)
            let second = try RemoteLocks.acquire(in: store, exclusive: false)
            #expect(try store.list("locks").count == 2, "\(store.location)")
            guard case .locked? = kuraError({ _ = try RemoteLocks.acquire(in: store, exclusive: true) }) else {
                Issue.record("\(store.location): an exclusive lock was taken beside shared ones"); continue
            }
            // The refused attempt took its own lock object back.
            #expect(try store.list("locks").count == 2)
            first.release()
            second.release()
            #expect(try store.list("locks").isEmpty)
            let exclusive = try RemoteLocks.acquire(in: store, exclusive: true)
            guard case .locked(let holder)? = kuraError({ _ = try RemoteLocks.acquire(in: store, exclusive: false) }) else {
                Issue.record("\(store.location): a backup started beside an exclusive lock"); continue
            }
            #expect(holder.contains("an exclusive lock of PID \(getpid())"))
            exclusive.release()
            exclusive.release()
            #expect(try store.list("locks").isEmpty)
        }
    }

    @Test func staleLocksAreRemovedAndFreshOnesOfOtherHostsHold() throws {
        let scratch = Scratch()
        for store in try ObjectStoreTests.stores(scratch) {
            // Another host's lock refreshed a minute ago holds; one not refreshed for 31 minutes does not.
            try Self.writeLock(LockInfo(host: "web-2", pid: 42, user: "www", time: Self.minutesAgo(1), exclusive: false), as: "fresh", in: store)
            guard case .locked? = kuraError({ _ = try RemoteLocks.acquire(in: store, exclusive: true) }) else {
                Issue.record("\(store.location): prune ignored a live backup of another host"); continue
            }
            try store.delete(["locks/fresh"])
            try Self.writeLock(LockInfo(host: "web-2", pid: 42, user: "www", time: Self.minutesAgo(31), exclusive: true), as: "old", in: store)
            // A process of this host that is gone: stale at once, whatever its time.
            try Self.writeLock(LockInfo(host: LockInfo.currentHost, pid: 999_999, user: "x", time: Self.minutesAgo(0), exclusive: true),
                               as: "dead", in: store)
            let lock = try RemoteLocks.acquire(in: store, exclusive: true)
            #expect(lock.removedStale.count == 2, "\(store.location): \(lock.removedStale)")
            #expect(lock.removedStale.contains { $0.contains("not refreshed for 31 min") })
            #expect(lock.removedStale.contains { $0.contains("no longer runs") })
            #expect(try store.list("locks").count == 1)
            lock.release()
            // `kura unlock` removes released and stale locks, and with --remove-all every lock.
            try Self.writeLock(LockInfo(host: "web-2", pid: 42, user: "www", time: Self.minutesAgo(1), exclusive: false), as: "live", in: store)
            var released = LockInfo(host: "web-2", pid: 43, user: "www", time: Self.minutesAgo(1), exclusive: false)
            released.released = true
            try Self.writeLock(released, as: "released", in: store)
            #expect(try RemoteLocks.removeLocks(in: store, all: false).count == 1)
            #expect(try store.list("locks") == ["live"])
            #expect(try RemoteLocks.removeLocks(in: store, all: true).count == 1)
            #expect(try store.list("locks").isEmpty)
        }
    }

    /// Of two processes locking at once, never both get in: each writes before it lists.
    @Test func concurrentExclusiveAndSharedLockersNeverOverlap() throws {
        let scratch = Scratch()
        for store in try ObjectStoreTests.stores(scratch) where !(store is RcloneObjectStore) {
            let holders = ManagedCounter()
            let overlaps = ManagedCounter()
            let inside = Occupancy()
            DispatchQueue.concurrentPerform(iterations: 40) { index in
                let exclusive = index % 4 == 0
                guard let lock = try? RemoteLocks.acquire(in: store, exclusive: exclusive) else { return }
                holders.increment()
                if !inside.enter(exclusive: exclusive) { overlaps.increment() }
                usleep(2000)
                inside.leave(exclusive: exclusive)
                lock.release()
            }
            #expect(holders.value > 0, "\(store.location)")
            #expect(overlaps.value == 0, "\(store.location)")
            #expect(try store.list("locks").isEmpty)
        }
    }

    /// Append-only credentials cannot delete their lock: it is rewritten as released, and holds nothing.
    @Test(.enabled(if: TestBackend.s3.isAvailable, "KURA_TEST_S3 is not set: run tools/test, which starts SeaweedFS"))
    func aLockThatCannotBeDeletedIsLeftReleased() throws {
        let environment = ProcessInfo.processInfo.environment
        let endpoint = try #require(environment["KURA_TEST_S3"].flatMap(URL.init(string:)))
        let bucket = try #require(environment["KURA_TEST_S3_APPEND_BUCKET"])
        let target = S3Location(endpoint: endpoint, bucket: bucket, prefix: "locks-" + UUID().uuidString, region: "us-east-1")
        func store(_ identity: String) throws -> S3ObjectStore {
            let keys = TestBackend.s3Credentials(identity)
            return S3ObjectStore(target, credentials: S3Credentials(accessKeyID: try #require(keys["AWS_ACCESS_KEY_ID"]),
                                                                      secretAccessKey: try #require(keys["AWS_SECRET_ACCESS_KEY"])))
        }
        let site = try store("SITE"), admin = try store("ADMIN")
        try RemoteLocks.acquire(in: site, exclusive: false).release()
        let left = try site.list("locks")
        #expect(left.count == 1)
        #expect(RemoteLocks.readInfo(site, "locks/" + left[0])?.released == true)
        // The trusted host's prune is not held up by it, and clears it away.
        let prune = try RemoteLocks.acquire(in: admin, exclusive: true)
        #expect(prune.removedStale.isEmpty)
        prune.release()
        #expect(try admin.list("locks").isEmpty)
    }
}

/// Who is inside a locked section now; `enter` says whether the lock rules still hold.
final class Occupancy: @unchecked Sendable {
    private let lock = NSLock()
    private var exclusive = 0
    private var shared = 0

    func enter(exclusive isExclusive: Bool) -> Bool {
        lock.withLock {
            if isExclusive { exclusive += 1 } else { shared += 1 }
            return exclusive == 0 || (exclusive == 1 && shared == 0)
        }
    }

    func leave(exclusive isExclusive: Bool) {
        lock.withLock { if isExclusive { exclusive -= 1 } else { shared -= 1 } }
    }
}
