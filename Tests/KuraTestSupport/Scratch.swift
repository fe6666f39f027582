import Foundation
import GRDB
import KuraCore

/// A fresh temp folder per test, removed at the end.
public final class Scratch {
    public let path: String

    public init() {
        path = NSTemporaryDirectory() + "kura-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    public func sub(_ name: String) -> String { path + "/" + name }

    /// A new repository with its own cache folder.
    public func repository(config: RepositoryConfig = .new()) throws -> Repository {
        try Repository.initialize(at: sub("repo"), config: config, cacheRoot: sub("cache"))
    }

    public func reopen() throws -> Repository {
        try Repository.open(at: sub("repo"), cacheRoot: sub("cache"))
    }

    /// A new SQLite database at `site/db.sqlite3`: its path and an open queue.
    public func siteDatabase() throws -> (path: String, queue: DatabaseQueue) {
        try FileManager.default.createDirectory(atPath: sub("site"), withIntermediateDirectories: true)
        return (sub("site/db.sqlite3"), try DatabaseQueue(path: sub("site/db.sqlite3")))
    }
}

public func write(_ bytes: [UInt8], to path: String) throws {
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

public func read(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

public func setMtime(_ path: String, seconds: Int, nanoseconds: Int = 0) {
    var times = [timespec(tv_sec: seconds, tv_nsec: nanoseconds), timespec(tv_sec: seconds, tv_nsec: nanoseconds)]
    utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW)
}

/// Every path below `root` with its kind, content (files), link target (symlinks), permission
/// bits and mtime in nanoseconds (or whole seconds, as tar keeps them): two trees are equal when
/// their listings are.
public func treeListing(_ root: String, secondsOnly: Bool = false) throws -> [String] {
    var lines: [String] = []
    func visit(_ relative: String) throws {
        let full = relative.isEmpty ? root : root + "/" + relative
        var info = stat()
        guard lstat(full, &info) == 0 else { throw KuraError.io(operation: "lstat", path: full, errno: errno) }
        let mtime = secondsOnly ? Int64(info.st_mtim.tv_sec) : Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        switch info.st_mode & S_IFMT {
        case S_IFDIR:
            if !relative.isEmpty { lines.append("d \(relative) \(String(info.st_mode & 0o7777, radix: 8)) \(mtime)") }
            for name in try FileManager.default.contentsOfDirectory(atPath: full).sorted() {
                try visit(relative.isEmpty ? name : relative + "/" + name)
            }
        case S_IFLNK:
            lines.append("l \(relative) -> \(try FileManager.default.destinationOfSymbolicLink(atPath: full))")
        default:
            let digest = SHA256Hasher.hash(try read(full)).short
            lines.append("f \(relative) \(String(info.st_mode & 0o7777, radix: 8)) \(mtime) \(info.st_size) \(digest)")
        }
    }
    try visit("")
    return lines
}

/// The error a throwing call raised, as a KuraError (nil if it did not throw one).
public func kuraError(_ body: () throws -> Void) -> KuraError? {
    do {
        try body()
        return nil
    } catch let error as KuraError {
        return error
    } catch {
        return nil
    }
}
