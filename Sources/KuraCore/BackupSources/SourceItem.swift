import Foundation

/// One thing a backup source found.
enum SourceItem {
    /// A directory, a symlink, or a file whose chunks are already known: complete as it is.
    case entry(Entry)
    /// A regular file to be stored: where to read it, and its entry without chunks.
    case file(absolutePath: String, entry: Entry)
    /// A path that could not be read; the backup goes on and reports it (exit 3).
    case unreadable(path: String, reason: String)
}

extension Entry {
    /// An entry from `lstat` data.
    init(path: String, kind: Kind, status info: stat, linkTarget: String? = nil) {
        self.init(path: path, kind: kind, mode: UInt32(info.st_mode & 0o7777), uid: info.st_uid, gid: info.st_gid,
                  mtimeNanoseconds: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec),
                  ctimeNanoseconds: Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec),
                  inode: UInt64(info.st_ino), size: kind == .file ? Int64(info.st_size) : 0, linkTarget: linkTarget)
    }
}
