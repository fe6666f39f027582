import CKuraSystem
import Foundation

/// A restore target opened once; every path below it is reached component by component with
/// `openat(O_NOFOLLOW)`, so a symlink in the target or in the snapshot can never lead a write
/// outside of it.
final class TargetDirectory {
    let path: String
    private let fd: Int32

    /// Opens (creating if needed) the target directory; a target that is a file is refused.
    init(path: String) throws {
        self.path = path
        if FileSystem.exists(path) && !FileSystem.isDirectory(path) {
            throw KuraError.targetNotDirectory(path: path)
        }
        try FileSystem.makeDirectories(path)
        fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw KuraError.posix("cannot open restore target", path) }
    }

    deinit { Glibc.close(fd) }

    /// Opens the directory that will hold `relativePath`, creating missing directories (mode
    /// 0755, fixed later from the snapshot). The caller closes the returned descriptor.
    func openParent(of relativePath: String) throws -> (fd: Int32, name: String) {
        var components = relativePath.split(separator: "/").map(String.init)
        guard let name = components.popLast() else { throw KuraError.unsafeTargetPath(path: relativePath, target: path) }
        return (try openDirectory(components, for: relativePath), name)
    }

    /// Removes the temp files a killed restore left in the directory `relativePath` (the target
    /// itself when empty): `.<name>.kura-<8 hex>`, never a final name. Returns how many.
    @discardableResult
    func removeRestoreLeftovers(in relativePath: String) -> Int {
        let components = relativePath.split(separator: "/").map(String.init)
        guard let directory = try? openDirectory(components, for: relativePath) else { return 0 }
        guard let stream = fdopendir(directory) else {
            Glibc.close(directory)
            return 0
        }
        defer { closedir(stream) }
        var leftovers: [String] = []
        while let item = readdir(stream) {
            let name = withUnsafeBytes(of: item.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if RestoreWriter.isTemporaryName(name) { leftovers.append(name) }
        }
        return leftovers.filter { unlinkat(dirfd(stream), $0, 0) == 0 }.count
    }

    /// Opens the directory made of `components` below the target, creating missing ones.
    private func openDirectory(_ components: [String], for relativePath: String) throws -> Int32 {
        var current = dup(fd)
        for component in components {
            var next = openat(current, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if next < 0 && errno == ENOENT {
                if mkdirat(current, component, 0o755) != 0 && errno != EEXIST {
                    let code = errno
                    Glibc.close(current)
                    throw KuraError.posix("cannot create directory", path + "/" + relativePath, code)
                }
                next = openat(current, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            }
            let code = errno
            Glibc.close(current)
            guard next >= 0 else {
                if code == ELOOP || code == ENOTDIR { throw KuraError.unsafeTargetPath(path: relativePath, target: path) }
                throw KuraError.posix("cannot open directory", path + "/" + relativePath, code)
            }
            current = next
        }
        return current
    }

    /// True when something exists at `relativePath` that a restore would replace (a directory
    /// where a directory goes is merged, not replaced).
    func wouldReplace(_ relativePath: String, with kind: Entry.Kind) -> Bool {
        var info = stat()
        guard fstatat(fd, relativePath, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return false }
        return !(kind == .directory && (info.st_mode & S_IFMT) == S_IFDIR)
    }

    /// Flushes everything written below the target to disk (the target's filesystem only).
    func sync() {
        kura_syncfs(fd)
    }
}
