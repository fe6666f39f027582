import Foundation

/// Restores straight from a documented archive, without a repository: checks the archive's
/// SHA-256 against its JSON and reads the whole archive once (paths, types, completeness) before
/// anything is written, refuses to replace existing files without `force`, then extracts with
/// the same guarantees as a snapshot restore (temp names, renames, `O_NOFOLLOW` below the target).
public final class ArchiveRestorer {
    public let archive: ArchiveFile

    public init(path: String) { archive = ArchiveFile(path: path) }

    /// Verifies the archive; returns warnings (a missing JSON when `force`).
    public func check(force: Bool) throws -> [String] {
        switch try archive.checkHash() {
        case .matches:
            return []
        case .missingManifest:
            guard force else {
                throw KuraError.invalidArgument("no \(FileSystem.name(of: archive.manifestPath)) beside the archive, so its integrity cannot be checked: pass --force to restore it anyway")
            }
            return ["warning: no \(FileSystem.name(of: archive.manifestPath)) beside the archive; restoring without checking its hash"]
        }
    }

    /// What a site restore from this archive would replace, one line each (empty: nothing).
    public func conflicts(_ options: SiteRestoreOptions) throws -> [String] {
        let members = try archive.scan()
        var found: [String] = []
        for (target, subtree) in [(options.target, nil), (options.mediaTo, "media")] {
            guard let target else { continue }
            let paths = try conflicts(members, target: target, subtree: subtree)
            if !paths.isEmpty { found.append("\(paths.count) path(s) in \(target), e.g. \(paths[0])") }
        }
        if let database = options.database, let objects = try SiteRestorer.databaseObjects(database), objects > 0 {
            found.append("database \(database) (\(objects) object(s))")
        }
        return found
    }

    /// Existing paths the restore into `target` would replace.
    func conflicts(_ members: [TarMember], target: String, subtree: String?) throws -> [String] {
        guard FileSystem.isDirectory(target) else { return [] }
        let directory = try TargetDirectory(path: target)
        return members.compactMap { place($0, subtree: subtree) }.filter { member in
            let kind: Entry.Kind = member.kind == .directory ? .directory : .file
            return directory.wouldReplace(member.path, with: kind)
        }.map(\.path)
    }

    /// Extracts the archive (or its `media/` folder, with `subtree: "media"`) into `target`.
    public func restore(into target: String, subtree: String? = nil, force: Bool) throws -> RestoreResult {
        let started = Date()
        let members = try archive.scan()
        if subtree != nil && !members.contains(where: { $0.path.hasPrefix("media/") }) {
            throw KuraError.integrity("\(archive.path) holds no media/ folder")
        }
        if !force {
            let existing = try conflicts(members, target: target, subtree: subtree)
            if !existing.isEmpty { throw KuraError.wouldOverwrite(count: existing.count, examples: existing, target: target) }
        }
        // What the archive's headers announce is written, never more: a small archive that
        // inflates to more than the target's free space (a gzip bomb) is refused before writing.
        let needed = members.compactMap { place($0, subtree: subtree)?.size }.reduce(Int64(0)) { total, size in
            let (sum, overflow) = total.addingReportingOverflow(size)
            return overflow ? .max : sum
        }
        if let available = FileSystem.availableBytes(near: target), needed > available {
            throw KuraError.invalidArgument("\(archive.path) holds \(needed) bytes of files, more than the \(available) bytes free at \(target): "
                                            + "nothing was written; free space or choose another --target")
        }
        let directory = try TargetDirectory(path: target)
        var result = RestoreResult()
        var directories: [Entry] = []
        try TarReader(path: archive.path).forEachMember { member, content in
            guard let placed = place(member, subtree: subtree) else { return }
            let entry = Entry(path: placed.path, kind: placed.kind == .file ? .file : placed.kind == .directory ? .directory : .symlink,
                              mode: placed.mode, uid: 0, gid: 0, mtimeNanoseconds: placed.mtimeNanoseconds, ctimeNanoseconds: 0,
                              inode: 0, size: placed.size, linkTarget: { if case .symlink(let target) = placed.kind { return target }; return nil }())
            let (fd, name) = try directory.openParent(of: entry.path)
            defer { close(fd) }
            switch placed.kind {
            case .directory:
                if mkdirat(fd, name, 0o700) != 0 && errno != EEXIST { throw KuraError.posix("cannot create directory", target + "/" + entry.path) }
                directories.append(entry)
                result.directories += 1
            case .symlink(let link):
                let temporary = FileRestorer.temporaryName(for: name)
                guard symlinkat(link, fd, temporary) == 0 else { throw KuraError.posix("cannot create symlink", target + "/" + entry.path) }
                Restorer.applyMetadata(entry, at: fd, name: temporary)
                guard renameat(fd, temporary, fd, name) == 0 else { throw KuraError.posix("cannot put in place", target + "/" + entry.path) }
                result.symlinks += 1
            case .file:
                let temporary = FileRestorer.temporaryName(for: name)
                let file = openat(fd, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
                guard file >= 0 else { throw KuraError.posix("cannot create", target + "/" + entry.path) }
                do {
                    defer { close(file) }
                    try content { try FileSystem.writeFully(file, $0, path: target + "/" + entry.path) }
                } catch {
                    unlinkat(fd, temporary, 0)
                    throw error
                }
                Restorer.applyMetadata(entry, at: fd, name: temporary)
                guard renameat(fd, temporary, fd, name) == 0 else {
                    let code = errno  // before unlinkat, which may set its own
                    unlinkat(fd, temporary, 0)
                    throw KuraError.posix("cannot put in place", target + "/" + entry.path, code)
                }
                result.files += 1
                result.bytes += entry.size
            }
        }
        for relative in [""] + directories.map(\.path) { directory.removeRestoreLeftovers(in: relative) }
        for entry in directories.reversed() {
            let (fd, name) = try directory.openParent(of: entry.path)
            Restorer.applyMetadata(entry, at: fd, name: name)
            close(fd)
        }
        directory.sync()
        result.durationSeconds = Date().timeIntervalSince(started)
        return result
    }

    /// Writes the archive's database dump to `file`; returns its member, nil when there is none.
    func extractDump(to file: String) throws -> TarMember? {
        guard let dump = ArchiveFile.dumpMember(try archive.scan()) else { return nil }
        let fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw KuraError.posix("cannot create", file) }
        defer { close(fd) }
        try TarReader(path: archive.path).forEachMember { member, content in
            if member.path == dump.path { try content { try FileSystem.writeFully(fd, $0, path: file) } }
        }
        if fsync(fd) != 0 { throw KuraError.posix("cannot sync", file) }
        return dump
    }

    private func place(_ member: TarMember, subtree: String?) -> TarMember? {
        guard let subtree else { return member }
        guard member.path.hasPrefix(subtree + "/") else { return nil }
        var placed = member
        placed.path = String(member.path.dropFirst(subtree.count + 1))
        return placed
    }
}

extension ArchiveRestorer {
    /// A site restore from the archive: the same refusals, safety snapshot (when a repository is
    /// given to keep it in) and order as a snapshot restore (`SiteRestorer`).
    public func restoreSite(_ options: SiteRestoreOptions, safetyRepository: Repository?) throws -> SiteRestoreResult {
        guard options.target != nil || options.mediaTo != nil || options.database != nil else {
            throw KuraError.invalidArgument("nothing to restore to: give --target DIR, --media-to DIR and/or --database URL")
        }
        // The hash first: nothing is read further from an archive that does not match its JSON.
        let warnings = try check(force: options.force)
        let members = try archive.scan()
        let replacesMedia = try options.mediaTo.map { try !conflicts(members, target: $0, subtree: "media").isEmpty } ?? false
        let databaseHasData = try options.database.map { (try SiteRestorer.databaseObjects($0) ?? 0) > 0 } ?? false
        if !options.force {
            for (target, subtree) in [(options.target, nil), (options.mediaTo, "media")] {
                guard let target else { continue }
                let existing = try conflicts(members, target: target, subtree: subtree)
                if !existing.isEmpty { throw KuraError.wouldOverwrite(count: existing.count, examples: existing, target: target) }
            }
            if databaseHasData, let database = options.database {
                throw KuraError.databaseNotEmpty(database: "\(database)", tables: try SiteRestorer.databaseObjects(database) ?? 0)
            }
        }
        var result = SiteRestoreResult()
        result.warnings = warnings
        var dumpFile: String?
        defer { if let dumpFile { unlink(dumpFile) } }
        if let database = options.database {
            guard let dump = ArchiveFile.dumpMember(members) else { throw KuraError.integrity("\(archive.path) holds no database dump") }
            let engine: DatabaseEngine = dump.path.hasSuffix(".sqlite3") ? .sqlite : .postgresql
            guard engine == database.engine else {
                throw KuraError.invalidArgument("\(archive.path) holds a \(engine.rawValue) database; \(database) is \(database.engine.rawValue)")
            }
            let directory = engine == .sqlite ? FileSystem.parent(of: database.path ?? ".") : NSTemporaryDirectory()
            try FileSystem.makeDirectories(directory)
            let file = directory + "/.kura-restore-" + FileSystem.randomName()
            dumpFile = file
            _ = try extractDump(to: file)
        }
        if options.safetySnapshot && (replacesMedia || databaseHasData), let repository = safetyRepository {
            let safety = BackupOptions(media: replacesMedia ? options.mediaTo : nil, database: databaseHasData ? options.database : nil,
                                       tags: [SnapshotReference.safetyTag])
            result.safetySnapshot = try Archiver(repository: repository).backup(safety).snapshot
        }
        if let database = options.database, let file = dumpFile {
            switch database.engine {
            case .postgresql:
                try PostgresRestorer.restore(dump: file, into: database, force: true)
            case .sqlite:
                result.databaseTables = try SQLiteRestorer.restore(copy: file, into: database, force: true)
                dumpFile = nil
            }
        }
        if let mediaTo = options.mediaTo { result.media = try restore(into: mediaTo, subtree: "media", force: true) }
        if let target = options.target { result.tree = try restore(into: target, force: options.force) }
        return result
    }
}
