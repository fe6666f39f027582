import Foundation

/// A repository in a folder of the local filesystem: objects are files below `root`, written in
/// `tmp/`, synced and renamed into place (their folder synced too), read with `pread` on
/// descriptors kept open across reads (at most 64, idle ones closed first).
public final class LocalObjectStore: ObjectStore, @unchecked Sendable {
    public let root: String
    /// Modes of new files and folders.
    let permissions: FilePermissions
    private let lock = NSLock()
    private var open: [String: OpenFile] = [:]
    private static let maxOpenFiles = 64

    public init(root: String, permissions: FilePermissions = .ownerOnly) {
        self.root = root
        self.permissions = permissions
    }

    deinit { for file in open.values { close(file.fd) } }

    public var location: String { root }

    private func path(_ name: String) -> String { root + "/" + name }

    public func list(_ folder: String) throws -> [String] {
        let directory = path(folder)
        guard FileSystem.isDirectory(directory) else { return [] }
        return try FileSystem.list(directory)
    }

    public func size(of name: String) throws -> Int64? {
        var info = stat()
        guard lstat(path(name), &info) == 0 else {
            if errno == ENOENT { return nil }
            throw KuraError.posix("cannot stat", path(name))
        }
        return Int64(info.st_size)
    }

    public func read(_ name: String, at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws {
        let fd = try acquire(name)
        defer { release(name) }
        try FileSystem.readFully(fd, into: buffer, at: offset, path: path(name))
    }

    public func read(_ name: String, limit: Int) throws -> [UInt8] {
        try FileSystem.readFile(path(name), limit: limit)
    }

    public func write(_ bytes: [UInt8], as name: String) throws {
        // A folder a repository of an earlier version may lack (verifications/) is made on first use.
        try FileSystem.makeDirectory(FileSystem.parent(of: path(name)), mode: permissions.directory)
        try FileSystem.writeAtomically(bytes, to: path(name), temporaryDirectory: root + "/tmp", mode: permissions.file)
    }

    public func publish(file: String, as name: String) throws {
        do {
            try FileSystem.publish(file, as: path(name))
        } catch KuraError.io(_, _, ENOENT) where FileSystem.exists(file) {
            // A `data/xx` fan-out folder that a copy dropped because it was empty is made again.
            try FileSystem.makeDirectory(FileSystem.parent(of: path(name)), mode: permissions.directory)
            try FileSystem.publish(file, as: path(name))
        }
    }

    public func delete(_ names: [String]) throws {
        forget(names)
        try FileSystem.delete(names.map(path))
    }

    // MARK: Descriptors

    /// Opens (or reuses) a file's descriptor and counts the caller as a user of it.
    private func acquire(_ name: String) throws -> Int32 {
        lock.lock()
        defer { lock.unlock() }
        if var file = open[name] {
            file.users += 1
            open[name] = file
            return file.fd
        }
        let fd = Glibc.open(path(name), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw KuraError.posix("cannot open", path(name)) }
        if open.count >= Self.maxOpenFiles {
            // Keep the descriptor count bounded: close files nobody is reading now.
            for (idle, file) in open where file.users == 0 {
                close(file.fd)
                open[idle] = nil
            }
        }
        open[name] = OpenFile(fd: fd, users: 1)
        return fd
    }

    private func release(_ name: String) {
        lock.lock()
        open[name]?.users -= 1
        lock.unlock()
    }

    /// Closes the idle descriptors of files about to be deleted.
    private func forget(_ names: [String]) {
        lock.lock()
        for name in names {
            if let file = open[name], file.users == 0 {
                close(file.fd)
                open[name] = nil
            }
        }
        lock.unlock()
    }

    private struct OpenFile {
        var fd: Int32
        var users: Int
    }
}
