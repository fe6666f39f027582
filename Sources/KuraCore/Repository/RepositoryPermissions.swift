import Foundation

/// What `kura repair permissions` changed.
public struct PermissionRepairReport: Sendable, Encodable {
    /// Files and folders whose mode was changed.
    public var changed = 0
    /// Files and folders looked at.
    public var examined = 0
    /// The modes now in force: `0600`/`0700`, or `0640`/`0750` for a group-readable config.
    public var fileMode: String
    public var directoryMode: String

    enum CodingKeys: String, CodingKey {
        case changed, examined, fileMode = "file_mode", directoryMode = "directory_mode"
    }
}

extension Repository {
    /// The repository's files and folders (the root included) that other users can read, write
    /// or enter: `kura verify` warns about them (repositories made before Kura was private by
    /// default, or changed by hand). For a remote repository: its local work folder.
    public func pathsOpenToOtherUsers() throws -> [String] {
        var open: [String] = []
        try Self.walk(layout.root) { path, info in
            if info.st_mode & FilePermissions.otherUsersBits != 0 { open.append(path) }
        }
        return open
    }

    /// Sets every file and folder of the repository, and of its local cache, to the modes new
    /// ones get (`layout.permissions`): owner-only, or group-readable when `config` is.
    public func repairPermissions() throws -> PermissionRepairReport {
        let permissions = layout.permissions
        var report = PermissionRepairReport(fileMode: Self.octal(permissions.file), directoryMode: Self.octal(permissions.directory))
        func repair(_ path: String, _ info: stat, _ wanted: FilePermissions) throws {
            report.examined += 1
            let type = info.st_mode & S_IFMT
            guard type == S_IFDIR || type == S_IFREG else { return }
            let mode = wanted.mode(for: type)
            guard info.st_mode & 0o7777 != mode else { return }
            if chmod(path, mode) != 0 { throw KuraError.posix("cannot set the mode of", path) }
            report.changed += 1
        }
        // A remote repository's modes are its storage's business; its work folder is in the cache.
        if location.isLocal { try Self.walk(layout.root) { path, info in try repair(path, info, permissions) } }
        try Self.walk(cacheDirectory) { path, info in try repair(path, info, .ownerOnly) }
        return report
    }

    /// Calls `body` with the path and `lstat` of `path` and of everything below it; symlinks are
    /// reported, never followed.
    private static func walk(_ path: String, _ body: (String, stat) throws -> Void) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return }
            throw KuraError.posix("cannot stat", path)
        }
        try body(path, info)
        guard info.st_mode & S_IFMT == S_IFDIR else { return }
        for name in try FileSystem.list(path) { try walk(path + "/" + name, body) }
    }

    private static func octal(_ mode: mode_t) -> String { "0" + String(mode, radix: 8) }
}
