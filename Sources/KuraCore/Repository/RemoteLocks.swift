import Foundation

/// Locks of a repository in object storage, where there is no `flock` (docs/DESIGN.md, "Locks").
///
/// A lock is an object `locks/<random>` holding a `LockInfo`. To lock, a process writes its lock
/// object *first* and lists `locks/` *after*: of two processes that start together, each sees
/// the other's lock (S3 lists are strongly consistent after a PUT), so at worst both back off,
/// never both proceed. While held, the object is rewritten with a new time every
/// `refreshInterval`; a lock not refreshed for `staleAfter`, or taken on this host by a process
/// that no longer runs, is stale: it is removed (or ignored, when these credentials cannot
/// delete) and reported. A lock whose holder could not delete it on release (append-only
/// credentials) is rewritten as `released` and holds nothing.
enum RemoteLocks {
    /// How often a held lock is rewritten.
    static let refreshInterval: TimeInterval = 5 * 60
    /// A lock not rewritten for this long belongs to a process that is gone (or cut off).
    static let staleAfter: TimeInterval = 30 * 60

    /// Takes a lock in `store`, or throws `.locked` naming the holder of a conflicting one.
    static func acquire(in store: ObjectStore, exclusive: Bool, now: Date = Date()) throws -> RepositoryLock {
        let info = LockInfo.current(exclusive: exclusive)
        let name = "locks/" + FileSystem.randomName()
        do {
            try store.write(try [UInt8](JSONEncoder.kura.encode(info)), as: name)
        } catch KuraError.storage(_, _, 403, _) {
            throw KuraError.readOnlyRepository(path: store.location)
        }
        let refresher = Refresher(store: store, name: name, info: info)
        let lock = RepositoryLock(path: store.location + "/" + name, info: info) { refresher.release() }
        do {
            for other in try store.list("locks") where "locks/" + other != name {
                let otherName = "locks/" + other
                // Gone meanwhile, or not a lock: nothing holds it.
                guard let holder = readInfo(store, otherName) else { continue }
                if holder.released == true {
                    try? store.delete([otherName])
                    continue
                }
                if let reason = staleness(of: holder, now: now) {
                    let removed = (try? store.delete([otherName])) != nil
                    lock.removedStale.append((removed ? "removed" : "ignored (these credentials cannot delete it)")
                                             + " a stale lock: \(holder.summary), \(reason)")
                    continue
                }
                if holder.exclusive || exclusive { throw KuraError.locked(holder: holder.summary) }
            }
        } catch {
            lock.release()
            throw error
        }
        refresher.start()
        return lock
    }

    /// Removes released and stale locks; with `all`, every lock. One line per removed lock.
    static func removeLocks(in store: ObjectStore, all: Bool, now: Date = Date()) throws -> [String] {
        var removed: [String] = []
        for other in try store.list("locks") {
            let name = "locks/" + other
            guard let holder = readInfo(store, name) else {
                if try store.size(of: name) != nil {
                    try store.delete([name])
                    removed.append("removed unreadable lock \(other)")
                }
                continue
            }
            let reason = holder.released == true ? "released" : staleness(of: holder, now: now)
            if all || reason != nil {
                try store.delete([name])
                removed.append("removed \(holder.summary)" + (reason.map { ", \($0)" } ?? ""))
            }
        }
        return removed
    }

    /// Why a lock is stale, or nil when it may still be held.
    static func staleness(of holder: LockInfo, now: Date) -> String? {
        if holder.host == LockInfo.currentHost, kill(holder.pid, 0) != 0, errno == ESRCH {
            return "which no longer runs"
        }
        guard let time = Timestamp.parse(holder.time) else { return "whose time is unreadable" }
        let age = now.timeIntervalSince1970 - time
        return age > staleAfter ? "not refreshed for \(Int(age / 60)) min" : nil
    }

    static func readInfo(_ store: ObjectStore, _ name: String) -> LockInfo? {
        guard let bytes = try? store.read(name, limit: RepositoryConfig.maxFileSize) else { return nil }
        return try? JSONDecoder().decode(LockInfo.self, from: Data(bytes))
    }

    /// Rewrites a held lock every `refreshInterval` on its own thread, and releases it: deleted,
    /// or rewritten as released when deleting is refused. A refresh never runs after the release.
    final class Refresher: @unchecked Sendable {
        private let store: ObjectStore
        private let name: String
        private var info: LockInfo
        private let mutex = NSLock()
        private let wake = DispatchSemaphore(value: 0)
        private var released = false

        init(store: ObjectStore, name: String, info: LockInfo) {
            (self.store, self.name, self.info) = (store, name, info)
        }

        func start() {
            let thread = Thread { [self] in
                while wake.wait(timeout: .now() + RemoteLocks.refreshInterval) == .timedOut {
                    mutex.lock()
                    defer { mutex.unlock() }
                    if released { return }
                    info.time = Timestamp.now()
                    // A failed refresh is tried again at the next interval; the lock goes stale
                    // only after several in a row.
                    if let bytes = try? JSONEncoder.kura.encode(info) { try? store.write([UInt8](bytes), as: name) }
                }
            }
            thread.name = "kura.lock-refresh"
            thread.start()
        }

        func release() {
            mutex.lock()
            defer { mutex.unlock() }
            guard !released else { return }
            released = true
            wake.signal()
            do {
                try store.delete([name])
            } catch {
                info.released = true
                if let bytes = try? JSONEncoder.kura.encode(info) { try? store.write([UInt8](bytes), as: name) }
            }
        }
    }
}
