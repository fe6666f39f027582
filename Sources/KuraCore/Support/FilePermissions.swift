import Foundation

/// The modes Kura gives the files and folders it creates that hold backup data or its metadata:
/// owner-only whatever the process umask, or group-readable (never more) when an administrator
/// made the repository's `config` group-readable, for a backup operator group, as restic does.
/// Nothing Kura writes is ever readable, writable or searchable by other users.
public struct FilePermissions: Equatable, Sendable {
    /// Mode of regular files.
    public var file: mode_t
    /// Mode of directories.
    public var directory: mode_t

    /// 0600 files, 0700 folders: the default for repositories, the cache, exports and temp files.
    public static let ownerOnly = FilePermissions(file: 0o600, directory: 0o700)
    /// 0640 files, 0750 folders: a repository whose `config` is group-readable.
    public static let groupReadable = FilePermissions(file: 0o640, directory: 0o750)

    /// The permission bits of other users: no file or folder Kura writes may have any of them.
    public static let otherUsersBits: mode_t = 0o007

    /// The permissions new files of the repository whose config is at `configPath` get:
    /// group-readable when the config is readable by its group and not by others (an
    /// administrator's choice), owner-only otherwise (a config readable by everyone is the old
    /// default of Kura 1, not a choice).
    public static func matching(config configPath: String) -> FilePermissions {
        var info = stat()
        guard stat(configPath, &info) == 0 else { return .ownerOnly }
        let chosen = info.st_mode & S_IRGRP != 0 && info.st_mode & otherUsersBits == 0
        return chosen ? .groupReadable : .ownerOnly
    }

    /// The mode an existing file or folder of kind `fileType` (`S_IFDIR`, `S_IFREG`, …) should have.
    func mode(for fileType: mode_t) -> mode_t {
        fileType == S_IFDIR ? directory : file
    }
}
