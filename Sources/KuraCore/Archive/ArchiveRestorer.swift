import Foundation

/// A documented archive as a restore source, without a repository: the archive's SHA-256 is
/// checked against its JSON (`check`) and the whole archive is read once (paths, types,
/// completeness) before anything is written; trees are then extracted through the same
/// `RestoreWriter` as a snapshot restore (temp names, renames, `O_NOFOLLOW` below the target).
public final class ArchiveRestorer: RestoreSource {
    public let archive: ArchiveFile
    private var scanned: [TarMember]?
    private var hashChecked: ArchiveFile.HashCheck?

    public init(path: String, identities: [AgeIdentity] = []) { archive = ArchiveFile(path: path, identities: identities) }

    public var label: String { archive.path }

    /// An archive does not say which server its dump came from.
    public var originDatabase: String? { nil }

    /// Verifies the archive's hash (once); returns warnings (a missing JSON when `force`).
    public func check(force: Bool) throws -> [String] {
        let result = try hashChecked ?? archive.checkHash()
        hashChecked = result
        switch result {
        case .matches:
            return []
        case .missingManifest:
            guard force else { throw KuraError.missingManifest(archive: archive.path, manifest: archive.manifestPath) }
            return ["warning: no \(FileSystem.name(of: archive.manifestPath)) beside the archive; restoring without checking its hash"]
        }
    }

    /// Every member, the archive read once and checked whole (`ArchiveFile.scan`).
    func members() throws -> [TarMember] {
        if let scanned { return scanned }
        let members = try archive.scan()
        scanned = members
        return members
    }

    public func databaseDump() throws -> (entry: Entry, engine: DatabaseEngine)? {
        guard let dump = ArchiveFile.dumpMember(try members()) else { return nil }
        return (dump.entry, dump.path.hasSuffix(".sqlite3") ? .sqlite : .postgresql)
    }

    public func readDump(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let (dump, _) = try databaseDump() else { throw KuraError.noDatabase(source: label) }
        try archive.tarReader().forEachMember { member, content in
            if member.path == dump.path { try withoutActuallyEscaping(body) { try content($0) } }
        }
    }

    public func recordedTables() throws -> [TableStatistics]? {
        guard FileSystem.exists(archive.manifestPath) else { return nil }
        let engine = try databaseDump()?.engine ?? .postgresql
        return try ArchiveManifest.tables(json: try FileSystem.readFile(archive.manifestPath, limit: ArchiveManifest.maxFileSize),
                                          name: archive.manifestPath, engine: engine)
    }

    public func forEachFile(under subtree: String, _ body: (Entry, ContentStream) throws -> Void) throws {
        try archive.tarReader().forEachMember { member, content in
            guard member.kind == .file, member.path.hasPrefix(subtree + "/") else { return }
            try withoutActuallyEscaping(content) { try body(member.entry, $0) }
        }
    }

    public func conflicts(_ options: RestoreOptions) throws -> [String] {
        guard FileSystem.isDirectory(options.target) else { return [] }
        let directory = try TargetDirectory(path: options.target)
        return try members().compactMap { options.place($0.entry) }
            .filter { directory.wouldReplace($0.path, with: $0.kind) }
            .map(\.path)
    }

    public func restoreTree(_ options: RestoreOptions, progress: ProgressCounter? = nil,
                            cancellation: CancellationFlag = CancellationFlag()) throws -> RestoreResult {
        let started = Date()
        let selected = try members().compactMap { options.place($0.entry) }
        if let subtree = options.subtree, selected.isEmpty, options.include.isEmpty {
            throw KuraError.integrity(.archive(path: archive.path, .noFolder(subtree)))
        }
        if selected.isEmpty && !options.include.isEmpty {
            throw KuraError.pathNotInSnapshot(path: options.include.map(\.text).joined(separator: ", "), snapshot: archive.path)
        }
        if !options.force {
            let existing = try conflicts(options)
            if !existing.isEmpty { throw KuraError.wouldOverwrite(count: existing.count, examples: existing, target: options.target) }
        }
        // What the archive's headers announce is written, never more: a small archive that
        // inflates to more than the target's free space (a gzip bomb) is refused before writing.
        let needed = selected.reduce(Int64(0)) { total, entry in
            let (sum, overflow) = total.addingReportingOverflow(entry.size)
            return overflow ? .max : sum
        }
        if let available = FileSystem.availableBytes(near: options.target), needed > available {
            throw KuraError.notEnoughSpace(source: archive.path, needed: needed, available: available, target: options.target)
        }
        let writer = RestoreWriter(target: try TargetDirectory(path: options.target))
        var result = RestoreResult()
        try archive.tarReader().forEachMember { member, content in
            guard let entry = options.place(member.entry) else { return }
            try cancellation.check()
            // Below a symlink or a file of the target: never followed, reported, the rest restored.
            let written = try writer.skippingUnsafe(entry, into: &result.failed) {
                switch entry.kind {
                case .directory: try writer.makeDirectory(entry)
                case .symlink: try writer.write(entry) { _ in }
                case .file: try writer.write(entry, content: content)
                }
            }
            guard written else { return }
            switch entry.kind {
            case .directory: result.directories += 1
            case .symlink: result.symlinks += 1
            case .file:
                result.files += 1
                result.bytes += entry.size
                progress?.add(files: 1, bytes: entry.size, current: entry.path)
            }
        }
        writer.finish()
        result.durationSeconds = Date().timeIntervalSince(started)
        return result
    }
}

extension TarMember {
    /// The member as a tree entry (owner root, no chunks).
    var entry: Entry {
        let (kind, link): (Entry.Kind, String?) = switch self.kind {
        case .file: (.file, nil)
        case .directory: (.directory, nil)
        case .symlink(let target): (.symlink, target)
        }
        return Entry(path: path, kind: kind, mode: mode, uid: 0, gid: 0, mtimeNanoseconds: mtimeNanoseconds, ctimeNanoseconds: 0,
                     inode: 0, size: size, linkTarget: link)
    }
}
