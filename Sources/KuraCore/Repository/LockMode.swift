import Foundation

/// How a command holds the repository while it runs (docs/DESIGN.md, "Locks"). Each command
/// declares one; `Repository.lock(_:wait:)` turns it into a lock.
public enum LockMode: Sendable, Equatable {
    /// Reads only (restore, export, ls, cat, diff, find, verify): a shared lock, or none on a
    /// repository that cannot be written (a read-only mount): nothing can delete from it meanwhile.
    case read
    /// Adds data (backup, import, a restore test's record): a shared lock.
    case append
    /// Deletes or rewrites (forget, prune, repair): an exclusive lock.
    case exclusive
}

extension Repository {
    /// Locks the repository for `mode`, waiting up to `wait` seconds for a conflicting lock to
    /// go; nil when `mode` is `.read` and the repository is read-only.
    public func lock(_ mode: LockMode, wait: TimeInterval = 0) throws -> RepositoryLock? {
        do {
            return try lock(exclusive: mode == .exclusive, wait: wait)
        } catch KuraError.readOnlyRepository where mode == .read {
            return nil
        }
    }

    /// Runs `body` with the repository locked for `mode`; the lock is released however it ends.
    public func withLock<T>(_ mode: LockMode, wait: TimeInterval = 0, notice: (String) -> Void = { _ in },
                            _ body: () throws -> T) throws -> T {
        let lock = try lock(mode, wait: wait)
        defer { lock?.release() }
        lock?.removedStale.forEach(notice)
        return try body()
    }
}
