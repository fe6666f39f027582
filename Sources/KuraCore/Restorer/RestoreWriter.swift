import Foundation

/// The one way a restored tree reaches the disk, for snapshots and archives alike.
///
/// Each file or symlink is written under a temp name in its directory (`.<name>.kura-<8 hex>`),
/// given its mode, owner (as root) and mtime, and renamed over the final name — the rename is a
/// fault-injection point, so the crash tests kill every restore between a complete temp file and
/// its rename. Directories are created owner-only and get their own metadata in `finish()`,
/// deepest first (writing into a directory changes its mtime), after the temp files of an
/// earlier, killed restore have been removed; `finish()` ends with `syncfs` of the target.
/// Each file's writeback is started as it is written (`Writeback`), so the disk writes while
/// later chunks are decoded and the final `syncfs` waits for little.
///
/// `write` may be called from several threads at once; `makeDirectory` and `finish` from one.
final class RestoreWriter {
    let target: TargetDirectory
    private var directories: [Entry] = []

    init(target: TargetDirectory) { self.target = target }

    /// Creates the directory `entry` (0700 until `finish` gives it its mode). A directory whose
    /// parent is a symlink or a file throws `KuraError.unsafeTargetPath`, never followed.
    func makeDirectory(_ entry: Entry) throws {
        let (fd, name) = try target.openParent(of: entry.path)
        defer { Glibc.close(fd) }
        if mkdirat(fd, name, 0o700) != 0 && errno != EEXIST {
            throw KuraError.posix("cannot create directory", target.path + "/" + entry.path)
        }
        directories.append(entry)
    }

    /// Writes a file (its content streamed by `content`, which calls its argument once per block)
    /// or a symlink, under a temp name, then renames it into place.
    func write(_ entry: Entry, content: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let (directory, name) = try target.openParent(of: entry.path)
        defer { Glibc.close(directory) }
        let temporary = Self.temporaryName(for: name)
        let displayPath = target.path + "/" + entry.path
        if entry.kind == .symlink {
            guard symlinkat(entry.linkTarget ?? "", directory, temporary) == 0 else {
                throw KuraError.posix("cannot create symlink", displayPath)
            }
        } else {
            let fd = openat(directory, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw KuraError.posix("cannot create", displayPath) }
            do {
                defer { Glibc.close(fd) }
                var writeback = Writeback(fd: fd)
                try content { bytes in
                    try FileSystem.writeFully(fd, bytes, path: displayPath)
                    writeback.wrote(bytes.count)
                }
                writeback.finish()
            } catch {
                unlinkat(directory, temporary, 0)
                throw error
            }
        }
        Self.applyMetadata(entry, at: directory, name: temporary)
        FaultInjection.step()
        guard renameat(directory, temporary, directory, name) == 0 else {
            let code = errno  // before unlinkat, which may set its own
            unlinkat(directory, temporary, 0)
            throw KuraError.posix("cannot put in place", displayPath, code)
        }
    }

    /// Runs `body` (a write of `entry`); when `entry` lies below a symlink or a file — of a hostile
    /// snapshot or archive, or of the target — it is never followed: it is added to
    /// `failed` and the restore goes on. Any other error is thrown. True when `body` succeeded.
    func skippingUnsafe(_ entry: Entry, into failed: inout [UnreadablePath], _ body: () throws -> Void) throws -> Bool {
        do {
            try body()
            return true
        } catch let error as KuraError {
            guard case .unsafeTargetPath = error else { throw error }
            failed.append(UnreadablePath(path: entry.path, reason: "\(error)"))
            return false
        }
    }

    /// Removes leftovers of a killed restore, gives directories their metadata (deepest first)
    /// and flushes the target's filesystem.
    func finish() {
        for relative in [""] + directories.map(\.path) { target.removeRestoreLeftovers(in: relative) }
        for entry in directories.reversed() {
            guard let (fd, name) = try? target.openParent(of: entry.path) else { continue }
            Self.applyMetadata(entry, at: fd, name: name)
            Glibc.close(fd)
        }
        target.sync()
    }

    /// Sets mode, owner (as root) and mtime of `name` in directory `fd`, without following symlinks.
    static func applyMetadata(_ entry: Entry, at fd: Int32, name: String) {
        if entry.kind != .symlink { fchmodat(fd, name, mode_t(entry.mode), 0) }
        if geteuid() == 0 { fchownat(fd, name, entry.uid, entry.gid, AT_SYMLINK_NOFOLLOW) }
        let mtime = timespec(tv_sec: Int(entry.mtimeNanoseconds / 1_000_000_000), tv_nsec: Int(entry.mtimeNanoseconds % 1_000_000_000))
        var times = [mtime, mtime]
        utimensat(fd, name, &times, AT_SYMLINK_NOFOLLOW)
    }

    /// The temp name a file is written under before its rename: `.<name>.kura-<8 hex>`.
    static func temporaryName(for name: String) -> String {
        ".\(name.prefix(100)).kura-\(FileSystem.randomName().prefix(8))"
    }

    /// Whether `name` has the shape of `temporaryName(for:)`.
    static func isTemporaryName(_ name: String) -> Bool {
        let utf8 = Array(name.utf8)
        let marker = Array(".kura-".utf8)
        guard utf8.count > 1 + marker.count + 8, utf8[0] == UInt8(ascii: "."),
              Array(utf8[(utf8.count - 8 - marker.count)..<(utf8.count - 8)]) == marker else { return false }
        return utf8.suffix(8).allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }
}
