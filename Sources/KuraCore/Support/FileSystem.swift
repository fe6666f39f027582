import Foundation

/// Thin, error-typed wrappers over the POSIX calls the repository and restorer use. Paths are
/// plain strings; every failure becomes a `KuraError.io` naming the path.
public enum FileSystem {
    /// The directory part of a path: "a/b" → "a", "b" → ".", "/b" → "/".
    public static func parent(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
    }

    /// The last component of a path: "a/b.txt" → "b.txt".
    public static func name(of path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// The size of a file in bytes; 0 when it cannot be read.
    static func size(_ path: String) -> Int64 {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// True for a directory with nothing in it (its first entry other than `.` and `..` decides).
    static func isEmptyDirectory(_ path: String) -> Bool {
        guard let directory = opendir(path) else { return false }
        defer { closedir(directory) }
        while let item = readdir(directory) {
            let isDot = withUnsafeBytes(of: item.pointee.d_name) { name in
                name[0] == UInt8(ascii: ".") && (name[1] == 0 || (name[1] == UInt8(ascii: ".") && name[2] == 0))
            }
            if !isDot { return false }
        }
        return true
    }

    /// Creates a directory with exactly `mode` (owner-only by default), whatever the umask; an
    /// existing directory is left as it is.
    static func makeDirectory(_ path: String, mode: mode_t = FilePermissions.ownerOnly.directory) throws {
        if mkdir(path, mode) != 0 {
            if errno == EEXIST { return }
            throw KuraError.posix("cannot create directory", path)
        }
        // The umask may have removed bits of `mode` (group read): set them as asked.
        if chmod(path, mode) != 0 { throw KuraError.posix("cannot set the mode of", path) }
    }

    /// Creates `path` and every missing parent, each with `mode` (owner-only by default).
    static func makeDirectories(_ path: String, mode: mode_t = FilePermissions.ownerOnly.directory) throws {
        if isDirectory(path) { return }
        let parent = parent(of: path)
        if parent != "." && parent != "/" && parent != path { try makeDirectories(parent, mode: mode) }
        try makeDirectory(path, mode: mode)
    }

    /// Creates a new file (`O_EXCL`) with exactly `mode` (owner-only by default), whatever the
    /// umask, and returns its descriptor opened with `flags` (`O_WRONLY`, `O_RDWR`, …).
    static func createFile(_ path: String, flags: Int32 = O_WRONLY, mode: mode_t = FilePermissions.ownerOnly.file) throws -> Int32 {
        let fd = open(path, flags | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw KuraError.posix("cannot create", path) }
        if fchmod(fd, mode) != 0 {
            let code = errno
            close(fd)
            unlink(path)
            throw KuraError.posix("cannot set the mode of", path, code)
        }
        return fd
    }

    /// Creates an empty owner-only file for another writer (SQLite, pg_dump) to fill: they keep
    /// the mode of a file that exists, where they would create a new one readable by everyone.
    static func createEmptyPrivateFile(_ path: String) throws {
        close(try createFile(path))
    }

    /// The bytes an unprivileged writer can still write on the filesystem of `path`, or of its
    /// nearest existing parent; nil when it cannot be told.
    static func availableBytes(near path: String) -> Int64? {
        var candidate = path
        while !exists(candidate) {
            let up = parent(of: candidate)
            if up == candidate { return nil }
            candidate = up
        }
        var info = statvfs()
        guard statvfs(candidate, &info) == 0 else { return nil }
        let (total, overflow) = Int64(info.f_bavail).multipliedReportingOverflow(by: Int64(info.f_frsize))
        return overflow ? Int64.max : total
    }

    /// The names in a directory, without `.` and `..`, in byte order.
    static func list(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw KuraError.posix("cannot list", path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// Reads a whole file of at most `limit` bytes; a larger one is an integrity error naming it
    /// (a file someone else could write must not make Kura allocate what it claims).
    static func readFile(_ path: String, limit: Int) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw KuraError.posix("cannot open", path) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw KuraError.posix("cannot stat", path) }
        guard info.st_size <= limit else {
            throw KuraError.integrity(.fileTooLarge(path: path, size: Int64(info.st_size), limit: limit))
        }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        try bytes.withUnsafeMutableBytes { try readFully(fd, into: $0, at: 0, path: path) }
        return bytes
    }

    /// Reads exactly `buffer.count` bytes at `offset` (pread, retried on short reads).
    static func readFully(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64, path: String) throws {
        var done = 0
        while done < buffer.count {
            let got = pread(fd, UnsafeMutableRawBufferPointer(rebasing: buffer[done...]).baseAddress, buffer.count - done, off_t(offset) + off_t(done))
            if got < 0 {
                if errno == EINTR { continue }
                throw KuraError.posix("cannot read", path)
            }
            if got == 0 { throw KuraError.integrity(.fileTruncated(path: path, wanted: buffer.count, offset: Int64(offset))) }
            done += got
        }
    }

    /// Writes all of `buffer` to `fd` (write, retried on short writes).
    static func writeFully(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, path: String) throws {
        var done = 0
        while done < buffer.count {
            let wrote = write(fd, UnsafeRawBufferPointer(rebasing: buffer[done...]).baseAddress, buffer.count - done)
            if wrote < 0 {
                if errno == EINTR { continue }
                throw KuraError.posix("cannot write", path)
            }
            done += wrote
        }
    }

    static func fsyncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw KuraError.posix("cannot open directory", path) }
        defer { close(fd) }
        if fsync(fd) != 0 { throw KuraError.posix("cannot sync directory", path) }
    }

    static func remove(_ path: String) {
        unlink(path)
    }

    /// Deletes a repository file (maintenance only, under the exclusive lock). A file already gone
    /// is not an error. The caller syncs the directory once a group of deletions is done.
    static func delete(_ path: String) throws {
        FaultInjection.step()
        if unlink(path) != 0 && errno != ENOENT { throw KuraError.posix("cannot delete", path) }
    }

    /// Deletes repository files durably: each one, then one fsync of each directory they were in.
    static func delete(_ paths: [String]) throws {
        for path in paths { try delete(path) }
        for directory in Set(paths.map { parent(of: $0) }).sorted() { try fsyncDirectory(directory) }
    }

    /// Moves a complete, synced file into place and makes the rename durable.
    static func publish(_ temporary: String, as final: String) throws {
        FaultInjection.step()
        if rename(temporary, final) != 0 { throw KuraError.posix("cannot rename \(temporary) to", final) }
        try fsyncDirectory(parent(of: final))
    }

    /// Writes `bytes` to `path` crash-safely: a temp file in `temporaryDirectory`, fsync, rename,
    /// fsync of the target directory. A reader sees the old state or the whole new file.
    /// The file gets exactly `mode` (owner-only by default).
    static func writeAtomically(_ bytes: [UInt8], to path: String, temporaryDirectory: String,
                                mode: mode_t = FilePermissions.ownerOnly.file) throws {
        let temporary = temporaryDirectory + "/" + randomName()
        let fd = try createFile(temporary, mode: mode)
        do {
            try bytes.withUnsafeBytes { try writeFully(fd, $0, path: temporary) }
            if fsync(fd) != 0 { throw KuraError.posix("cannot sync", temporary) }
            close(fd)
            try publish(temporary, as: path)
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
    }

    /// Writes text crash-safely next to `path` (temp file in the same directory), owner-only
    /// unless `mode` says otherwise (the mode is set before the file gets its name).
    public static func writeText(_ text: String, to path: String, mode: mode_t = FilePermissions.ownerOnly.file) throws {
        try writeAtomically(Array(text.utf8), to: path, temporaryDirectory: parent(of: path), mode: mode)
    }

    /// A random name for temp files: 16 random bytes in hex.
    static func randomName() -> String {
        var generator = SystemRandomNumberGenerator()
        return Hex.encode((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}
