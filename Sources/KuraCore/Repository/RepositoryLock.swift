import Foundation

/// What a lock file under `locks/` says about its holder.
public struct LockInfo: Codable, Equatable, Sendable {
    public var host: String
    public var pid: Int32
    public var user: String
    public var time: String
    public var exclusive: Bool
    /// Set on a remote lock whose holder finished but could not delete it (append-only
    /// credentials): it no longer holds anything (docs/DESIGN.md, "Locks").
    public var released: Bool? = nil

    var summary: String {
        "\(exclusive ? "an exclusive" : "a") lock of PID \(pid) on \(host) (user \(user), since \(time))"
    }

    static func current(exclusive: Bool) -> LockInfo {
        LockInfo(host: currentHost, pid: getpid(), user: currentUser, time: Timestamp.now(), exclusive: exclusive)
    }

    /// `$USER`, else the numeric uid: who holds a lock or made a key file.
    static var currentUser: String {
        ProcessInfo.processInfo.environment["USER"] ?? String(getuid())
    }

    static var currentHost: String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count - 1)
        return String(cString: buffer)
    }
}

/// A lock held on a repository. Backups take shared locks (several may run at once: they only
/// add objects under fresh names); maintenance that deletes takes an exclusive one.
///
/// In a local repository the lock is a file under `locks/` that this process keeps `flock`ed for
/// as long as it holds the lock; a lock file on this host whose `flock` is free belongs to a dead
/// process (the kernel releases `flock`s when a process exits, however it dies) and is removed
/// automatically and reported. In a remote repository it is an object under `locks/`, refreshed
/// while held and stale once not refreshed for `RemoteLocks.staleAfter` (RemoteLocks.swift).
public final class RepositoryLock: @unchecked Sendable {
    /// Where the lock is: a file path, or the store's location and the object's name.
    public let path: String
    public let info: LockInfo
    /// Stale locks removed while acquiring this one, one line each.
    public internal(set) var removedStale: [String] = []
    private var releaseAction: (() -> Void)?
    private let guardLock = NSLock()

    init(path: String, info: LockInfo, release: @escaping () -> Void) {
        self.path = path
        self.info = info
        releaseAction = release
    }

    deinit { release() }

    /// Releases the lock. Safe to call twice, from any thread.
    public func release() {
        guardLock.lock()
        let action = releaseAction
        releaseAction = nil
        guardLock.unlock()
        action?()
    }

    /// Takes a lock, retrying for up to `wait` seconds while a conflicting lock is held; then
    /// throws `.locked` naming the holder.
    static func acquire(wait: TimeInterval, _ attempt: () throws -> RepositoryLock) throws -> RepositoryLock {
        let deadline = Date().addingTimeInterval(wait)
        var pause = 0.2
        while true {
            do {
                return try attempt()
            } catch KuraError.locked(let holder) {
                let remaining = deadline.timeIntervalSinceNow
                guard remaining > 0 else { throw KuraError.locked(holder: holder) }
                usleep(useconds_t(min(pause, remaining) * 1_000_000))
                pause = min(pause * 2, 5)
            }
        }
    }

    /// Takes a lock in a local repository, or throws `.locked` naming the holder of a conflicting one.
    static func acquire(_ layout: RepositoryLayout, exclusive: Bool) throws -> RepositoryLock {
        let info = LockInfo.current(exclusive: exclusive)
        let name = FileSystem.randomName()
        let temporary = layout.tmpDirectory + "/lock-" + name
        let bytes = try JSONEncoder.kura.encode(info)
        let fd: Int32
        do {
            try layout.makeWorkFolders()
            fd = try FileSystem.createFile(temporary, flags: O_RDWR, mode: layout.permissions.file)
        } catch KuraError.io(_, _, let code) where code == EROFS || code == EACCES {
            throw KuraError.readOnlyRepository(path: layout.root)
        }
        // Lock before publishing, so that nobody ever sees our lock file unlocked.
        flock(fd, LOCK_EX | LOCK_NB)
        do {
            try [UInt8](bytes).withUnsafeBytes { try FileSystem.writeFully(fd, $0, path: temporary) }
            fsync(fd)
            try FileSystem.publish(temporary, as: layout.lock(name))
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        let path = layout.lock(name)
        let lock = RepositoryLock(path: path, info: info) {
            unlink(path)
            close(fd)
        }
        for other in try FileSystem.list(layout.locksDirectory) where other != name {
            let path = layout.lock(other)
            guard let holder = readLockInfo(path) else { continue }
            if isStale(path: path, holder: holder) {
                unlink(path)
                lock.removedStale.append("removed a stale lock: \(holder.summary), which no longer runs")
                continue
            }
            if holder.exclusive || exclusive {
                lock.release()
                throw KuraError.locked(holder: holder.summary)
            }
        }
        return lock
    }

    static func readLockInfo(_ path: String) -> LockInfo? {
        guard let bytes = try? FileSystem.readFile(path, limit: RepositoryConfig.maxFileSize) else { return nil }
        return try? JSONDecoder().decode(LockInfo.self, from: Data(bytes))
    }

    /// True when the lock was taken on this host by a process that is gone.
    static func isStale(path: String, holder: LockInfo) -> Bool {
        guard holder.host == LockInfo.currentHost else { return false }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { return true }
        if errno == EWOULDBLOCK { return false }
        // No flock on this filesystem: fall back to asking whether the PID exists.
        return kill(holder.pid, 0) != 0 && errno == ESRCH
    }

    /// Removes locks that no running process on this host holds: stale local ones and all locks of
    /// other hosts (which this host cannot check); with `all`, live local ones too. Returns one
    /// line per removed lock.
    static func removeLocks(_ layout: RepositoryLayout, all: Bool) throws -> [String] {
        var removed: [String] = []
        for name in try FileSystem.list(layout.locksDirectory) {
            let path = layout.lock(name)
            guard let holder = readLockInfo(path) else {
                unlink(path)
                removed.append("removed unreadable lock file \(name)")
                continue
            }
            if all || holder.host != LockInfo.currentHost || isStale(path: path, holder: holder) {
                unlink(path)
                removed.append("removed \(holder.summary)")
            }
        }
        return removed
    }
}
